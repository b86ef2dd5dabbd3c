package io.buildgateway.scanning.compliance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.buildgateway.scanning.compliance.ComplianceResult.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Schema validation once per content file, with the real oscap on small root filesystems: oscap validates a content
 * file on its first run and later runs of the same bytes pass {@code --skip-valid}; invalid content is refused on
 * every run; the rule results are the same either way. The arguments are observed through the oscap command the
 * runner is given: a wrapper that logs them and executes the real oscap. Skipped only when oscap is not installed
 * ({@code make test} installs it before the tests run).
 */
class OpenScapSkipValidationTest {

    private static final Path SHIPPED = Path.of("config/compliance");
    private static final String OVAL = "gateway-baseline-oval.xml";
    private static final String XCCDF = "gateway-baseline-xccdf.xml";
    private static final String RULE = "xccdf_io.buildgateway_rule_";

    @TempDir
    Path tmp;

    Path content;
    Path rootfs;
    Path args;
    Path oscap;

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(new OpenScap("oscap", SHIPPED, null, Duration.ofSeconds(30)).available(),
                "oscap is not installed");
        content = Files.createDirectory(tmp.resolve("content"));
        for (String f : List.of(XCCDF, OVAL)) {
            Files.copy(SHIPPED.resolve(f), content.resolve(f));
        }
        rootfs = tinyRootfs(tmp.resolve("rootfs"));
        args = tmp.resolve("args");
        oscap = tmp.resolve("oscap-logging");
        // Logs each evaluation's arguments, runs the real oscap; sleeps afterwards while the file "hang" exists.
        Files.writeString(oscap, """
                #!/bin/sh
                [ "$1" = "--version" ] && exec oscap --version
                echo "$*" >> %1$s
                oscap "$@"
                rc=$?
                [ -e %2$s ] && sleep 60
                exit $rc
                """.formatted(args, tmp.resolve("hang")));
        Files.setPosixFilePermissions(oscap, PosixFilePermissions.fromString("rwx------"));
    }

    /** A few files that pass the baseline: the account databases, os-release through a relative link, /tmp. */
    static Path tinyRootfs(Path root) throws IOException {
        Files.createDirectories(root.resolve("etc"));
        Files.createDirectories(root.resolve("usr/lib"));
        Files.createDirectories(root.resolve("tmp"));
        Files.writeString(root.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        Files.writeString(root.resolve("etc/group"), "root:x:0:\n");
        Files.writeString(root.resolve("etc/shadow"), "root:*:19000:0:99999:7:::\n");
        Files.writeString(root.resolve("usr/lib/os-release"), "ID=test\n");
        Files.createSymbolicLink(root.resolve("etc/os-release"), Path.of("../usr/lib/os-release"));
        chmod(root.resolve("tmp"), "1777");
        return root;
    }

    private static void chmod(Path path, String mode) throws IOException {
        try {
            Process p = new ProcessBuilder("chmod", mode, path.toString()).redirectErrorStream(true).start();
            assertThat(p.waitFor()).isZero();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private OpenScap runner() {
        return new OpenScap(oscap.toString(), content, null, Duration.ofSeconds(60));
    }

    /** The arguments of each oscap evaluation so far, one line each. */
    private List<String> runs() throws IOException {
        return Files.exists(args) ? Files.readAllLines(args) : List.of();
    }

    private static List<String> ruleResults(ComplianceResult result) {
        return result.rules().stream().map(r -> r.ruleId() + "=" + r.result()).toList();
    }

    /** An attribute the OVAL schema does not allow: oscap refuses it when validating, reads it when not. */
    private void breakOval() throws IOException {
        String oval = Files.readString(content.resolve(OVAL));
        assertThat(oval).contains("<definition class=");
        Files.writeString(content.resolve(OVAL), oval.replaceFirst("<definition class=",
                "<definition unknown=\"x\" class="));
    }

    @Test
    void anInvalidOvalFileIsRefusedOnEveryRunNotJustTheFirst() throws Exception {
        breakOval();
        // What the test rests on: without validation, oscap evaluates this file and every rule passes.
        ProcessBuilder skipping = new ProcessBuilder("oscap", "xccdf", "eval", "--skip-valid", "--results",
                tmp.resolve("direct.xml").toString(), content.resolve(XCCDF).toString()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).directory(tmp.toFile());
        skipping.environment().put("OSCAP_PROBE_ROOT", rootfs.toRealPath().toString()); // never the host's
        Process direct = skipping.start();
        if (!direct.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
            direct.destroyForcibly();
        }
        assertThat(direct.waitFor()).as("oscap --skip-valid on the invalid OVAL").isZero();
        OpenScap runner = runner();

        for (int i = 1; i <= 3; i++) {
            ComplianceResult result = runner.evaluate(rootfs);

            assertThat(result.status()).as("run " + i + ": " + result.message()).isEqualTo(Status.ERROR);
            assertThat(result.message()).contains("oscap exited with 1").contains(OVAL)
                    .contains("attribute 'unknown' is not allowed");
            assertThat(result.rules()).isEmpty();
        }
        assertThat(runs()).hasSize(3).noneMatch(a -> a.contains("--skip-valid"));
    }

    @Test
    void theFirstRunValidatesAndLaterRunsOfTheSameBytesSkipIt() throws Exception {
        OpenScap runner = runner();

        assertThat(runner.evaluate(rootfs).status()).isEqualTo(Status.PASSED);
        assertThat(runner.evaluate(rootfs).status()).isEqualTo(Status.PASSED);
        assertThat(runner.evaluate(rootfs).status()).isEqualTo(Status.PASSED);

        assertThat(runs()).hasSize(3);
        assertThat(runs().get(0)).startsWith("xccdf eval --results ").doesNotContain("--skip-valid");
        assertThat(runs().subList(1, 3)).allSatisfy(a -> assertThat(a).startsWith("xccdf eval --skip-valid --results ")
                .endsWith(content.resolve(XCCDF).toAbsolutePath().toString()));

        // Other bytes in the folder (here the OVAL file the XCCDF file refers to): validated again, then skipped.
        Files.writeString(content.resolve(OVAL), Files.readString(content.resolve(OVAL)) + "\n<!-- edited -->\n");
        assertThat(runner.evaluate(rootfs).status()).isEqualTo(Status.PASSED);
        assertThat(runner.evaluate(rootfs).status()).isEqualTo(Status.PASSED);
        assertThat(runs()).hasSize(5);
        assertThat(runs().get(3)).doesNotContain("--skip-valid");
        assertThat(runs().get(4)).contains("--skip-valid");

        // Broken after it was validated: the new bytes are validated, and refused, every time.
        breakOval();
        assertThat(runner.evaluate(rootfs).message()).contains("attribute 'unknown' is not allowed");
        assertThat(runner.evaluate(rootfs).message()).contains("attribute 'unknown' is not allowed");
        assertThat(runs().subList(5, 7)).noneMatch(a -> a.contains("--skip-valid"));

        // A runner of its own (another gateway's memory) validates for itself.
        Files.delete(args);
        Files.writeString(content.resolve(OVAL), Files.readString(SHIPPED.resolve(OVAL)));
        assertThat(runner().evaluate(rootfs).status()).isEqualTo(Status.PASSED);
        assertThat(runs()).singleElement().asString().doesNotContain("--skip-valid");
    }

    @Test
    void aKilledRunValidatesNothing() throws Exception {
        OpenScap runner = runner();
        Files.writeString(tmp.resolve("hang"), ""); // oscap runs to its end, then the wrapper hangs

        ComplianceResult killed = runner.evaluate(rootfs, Duration.ofSeconds(4));

        assertThat(killed.status()).isEqualTo(Status.ERROR);
        assertThat(killed.message()).contains("killed");
        Files.delete(tmp.resolve("hang"));
        assertThat(runner.evaluate(rootfs).status()).isEqualTo(Status.PASSED);
        assertThat(runner.evaluate(rootfs).status()).isEqualTo(Status.PASSED);
        assertThat(runs()).hasSize(3);
        assertThat(runs().subList(0, 2)).noneMatch(a -> a.contains("--skip-valid"));
        assertThat(runs().get(2)).contains("--skip-valid");
    }

    @Test
    void theSameRuleResultsWithAndWithoutValidation() throws Exception {
        OpenScap runner = runner();
        ComplianceResult cleanValidated = runner.evaluate(rootfs);
        ComplianceResult cleanSkipped = runner.evaluate(rootfs);
        // Broken twice over: a second uid 0 account and a world-writable file outside the scratch areas.
        Files.writeString(rootfs.resolve("etc/passwd"), "toor:x:0:0:toor:/root:/bin/sh\n",
                java.nio.file.StandardOpenOption.APPEND);
        Files.createDirectories(rootfs.resolve("opt"));
        Files.writeString(rootfs.resolve("opt/shared"), "x");
        chmod(rootfs.resolve("opt/shared"), "0666");
        ComplianceResult brokenSkipped = runner.evaluate(rootfs);
        ComplianceResult brokenValidated = runner().evaluate(rootfs);

        assertThat(runs()).hasSize(4);
        assertThat(runs()).extracting(a -> a.contains("--skip-valid")).containsExactly(false, true, true, false);
        assertThat(cleanValidated.status()).as(cleanValidated.message()).isEqualTo(Status.PASSED);
        assertThat(cleanSkipped.status()).isEqualTo(Status.PASSED);
        assertThat(cleanSkipped.rules()).isEqualTo(cleanValidated.rules()).hasSize(5);
        assertThat(cleanSkipped.message()).isEqualTo(cleanValidated.message());
        assertThat(brokenValidated.status()).isEqualTo(Status.FAILED);
        assertThat(brokenSkipped.status()).isEqualTo(Status.FAILED);
        assertThat(ruleResults(brokenSkipped)).isEqualTo(ruleResults(brokenValidated));
        assertThat(brokenSkipped.rules()).isEqualTo(brokenValidated.rules());
        assertThat(brokenSkipped.failedRules()).extracting(RuleResult::ruleId)
                .containsExactly(RULE + "only-root-has-uid-0", RULE + "no-world-writable");
        assertThat(brokenSkipped.message()).isEqualTo(brokenValidated.message());
        assertThat(new String(brokenSkipped.arfs().get(0).xml(), StandardCharsets.UTF_8))
                .contains("asset-report-collection");
    }

    @Test
    void concurrentRunsPassAndLaterOnesSkipValidation() throws Exception {
        OpenScap runner = runner();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<ComplianceResult>> results = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                results.add(pool.submit(() -> runner.evaluate(rootfs)));
            }
            for (Future<ComplianceResult> f : results) {
                assertThat(f.get().status()).isEqualTo(Status.PASSED);
            }
        } finally {
            pool.shutdownNow();
        }
        // The first to start validated (the others may have started after it finished, and skipped).
        assertThat(runs()).hasSize(3);
        assertThat(runs().get(0)).doesNotContain("--skip-valid");

        assertThat(runner.evaluate(rootfs).status()).isEqualTo(Status.PASSED);
        assertThat(runs().get(3)).contains("--skip-valid");
    }
}
