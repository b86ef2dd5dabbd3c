package io.buildgateway.scanning.compliance;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.scanning.compliance.ComplianceResult.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The gateway's own baseline (config/compliance) evaluated by the real oscap on a real Debian 12 minbase root
 * filesystem: it passes as shipped, and each breakage fails exactly the rule about it. Needs root (the tar keeps
 * owners and setuid bits; the probes read /etc/shadow); skipped only when the tar or oscap is missing.
 */
class OpenScapIT {

    /** Made by scripts/env.sh (debootstrap of base/debian:12) in its cache, {@code BGW_CACHE} as there. */
    private static final Path TAR = Path.of(System.getenv().getOrDefault("BGW_CACHE", "/var/cache/build-gateway"),
            "debian-12-minbase.tar");
    private static final Path CONTENT = Path.of("config/compliance");
    private static final String PROFILE = "xccdf_io.buildgateway_profile_baseline";
    private static final String RULE = "xccdf_io.buildgateway_rule_";
    private static final List<String> RULES = List.of(RULE + "no-empty-passwords", RULE + "only-root-has-uid-0",
            RULE + "no-world-writable", RULE + "no-unexpected-setuid-setgid", RULE + "required-files");

    /** Not a JUnit @TempDir: its clean-up warns about each of the image's absolute links. */
    static Path tmp;
    static Path rootfs;
    static OpenScap oscap;

    /** Breaks the root filesystem in one way; closing the result repairs it. */
    @FunctionalInterface
    interface Breakage {
        AutoCloseable apply(Path root) throws Exception;
    }

    @BeforeAll
    static void extractDebian() throws Exception {
        // Both are what the test environment provides: their absence is a failure, never a silent skip.
        assertThat(TAR).as(TAR + " is missing: scripts/env.sh up test makes it (debootstrap bookworm minbase) in its"
                + " cache, BGW_CACHE (default /var/cache/build-gateway), when it imports base/debian:12 into the"
                + " registry; with base/debian:12 already there and the file gone, make it again with `debootstrap"
                + " --variant=minbase bookworm <dir>` and `tar -C <dir> -cf " + TAR + " .`, or set BGW_CACHE to the"
                + " cache env.sh used").isRegularFile();
        oscap = new OpenScap("oscap", CONTENT, PROFILE, Duration.ofMinutes(3));
        assertThat(oscap.available()).as("oscap is not installed: scripts/env.sh install test installs"
                + " openscap-scanner").isTrue();
        tmp = Files.createTempDirectory("openscap-it-");
        rootfs = Files.createDirectory(tmp.resolve("rootfs"));
        sh("tar", "-x", "-p", "--same-owner", "-C", rootfs.toString(), "-f", TAR.toString());
    }

    @AfterAll
    static void removeDebian() throws Exception {
        if (tmp != null) {
            sh("rm", "-rf", "--one-file-system", tmp.toString());
        }
    }

    private static void sh(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(String.join(" ", command) + ": " + out).isZero();
    }

    private static ComplianceResult evaluate() {
        long start = System.nanoTime();
        ComplianceResult result = oscap.evaluate(rootfs);
        System.out.printf("oscap evaluation: %d ms, %s: %s%n", (System.nanoTime() - start) / 1_000_000,
                result.status(), result.message());
        return result;
    }

    @Test
    void theCleanDebianRootFilesystemPassesEveryRule() throws IOException {
        String target = "chroot://" + rootfs.toRealPath();

        ComplianceResult result = evaluate();

        assertThat(result.status()).as(result.message()).isEqualTo(Status.PASSED);
        assertThat(result.rules()).extracting(RuleResult::ruleId).containsExactlyElementsOf(RULES);
        assertThat(result.rules()).allSatisfy(r -> {
            assertThat(r.result()).isEqualTo("pass");
            assertThat(r.benchmark()).isEqualTo("xccdf_io.buildgateway_benchmark_baseline");
            assertThat(r.title()).isNotBlank().isNotEqualTo(r.ruleId());
        });
        assertThat(result.rules()).extracting(RuleResult::severity)
                .containsExactly("high", "high", "medium", "high", "low");
        assertThat(result.arfs()).singleElement().satisfies(arf -> {
            assertThat(arf.content()).isEqualTo("gateway-baseline-xccdf.xml");
            assertThat(new String(arf.xml(), StandardCharsets.UTF_8)).startsWith("<?xml")
                    .contains("asset-report-collection").contains(target);
        });
    }

    static Stream<Arguments> breakages() {
        return Stream.of(
                Arguments.of("a second uid 0 account", RULE + "only-root-has-uid-0", (Breakage) root ->
                        append(root.resolve("etc/passwd"), "toor:x:0:0:toor:/root:/bin/sh\n")),
                Arguments.of("uid 00 counts as 0", RULE + "only-root-has-uid-0", (Breakage) root ->
                        append(root.resolve("etc/passwd"), "toor:x:00:0:toor:/root:/bin/sh\n")),
                Arguments.of("an empty password in /etc/shadow", RULE + "no-empty-passwords", (Breakage) root ->
                        replace(root.resolve("etc/shadow"), "\ngames:*:", "\ngames::")),
                Arguments.of("an empty password field in /etc/passwd", RULE + "no-empty-passwords", (Breakage) root ->
                        replace(root.resolve("etc/passwd"), "\ngames:x:", "\ngames::")),
                Arguments.of("a world-writable file in /usr/local/bin", RULE + "no-world-writable", (Breakage) root ->
                        file(root.resolve("usr/local/bin/tool"), "0777")),
                Arguments.of("a world-writable directory in /opt", RULE + "no-world-writable", (Breakage) root ->
                        directory(root.resolve("opt/shared"), "0777")),
                Arguments.of("a sticky world-writable directory outside the scratch areas", RULE + "no-world-writable",
                        (Breakage) root -> directory(root.resolve("var/cache/shared"), "1777")),
                Arguments.of("a setuid file at /usr/local/bin/evil", RULE + "no-unexpected-setuid-setgid",
                        (Breakage) root -> file(root.resolve("usr/local/bin/evil"), "4755")),
                Arguments.of("a setgid file in a new top-level folder", RULE + "no-unexpected-setuid-setgid",
                        (Breakage) root -> {
                            AutoCloseable dir = directory(root.resolve("app"), "0755");
                            AutoCloseable tool = file(root.resolve("app/tool"), "2755");
                            return () -> {
                                tool.close();
                                dir.close();
                            };
                        }),
                Arguments.of("/etc/os-release removed", RULE + "required-files", (Breakage) root ->
                        move(root.resolve("etc/os-release"), root.resolve("root/os-release.link"))),
                Arguments.of("/etc/os-release an absolute link to nothing in the image (the host has it)",
                        RULE + "required-files", (Breakage) root -> {
                            AutoCloseable restore = move(root.resolve("usr/lib/os-release"),
                                    root.resolve("root/os-release"));
                            AutoCloseable link = move(root.resolve("etc/os-release"),
                                    root.resolve("root/os-release.link"));
                            Files.createSymbolicLink(root.resolve("etc/os-release"), Path.of("/usr/lib/os-release"));
                            return () -> {
                                Files.delete(root.resolve("etc/os-release"));
                                link.close();
                                restore.close();
                            };
                        }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("breakages")
    void eachBreakageFailsExactlyItsRule(String name, String rule, Breakage breakage) throws Exception {
        ComplianceResult result;
        try (AutoCloseable repair = breakage.apply(rootfs)) {
            result = evaluate();
        }

        assertThat(result.status()).as(result.message()).isEqualTo(Status.FAILED);
        assertThat(result.failedRules()).extracting(RuleResult::ruleId).containsExactly(rule);
        assertThat(result.rules()).extracting(RuleResult::ruleId).containsExactlyElementsOf(RULES);
        assertThat(result.rules()).filteredOn(r -> !r.ruleId().equals(rule)).extracting(RuleResult::result)
                .containsOnly("pass");
        assertThat(result.message()).contains(rule);
    }

    @Test
    void aFileOfTheSkippedDataTreesAndOneInTmpAreNotChecked() throws Exception {
        try (AutoCloseable setuid = file(rootfs.resolve("usr/share/man/evil"), "4755");
                AutoCloseable scratch = file(rootfs.resolve("tmp/scratch"), "0666")) {
            assertThat(evaluate().status()).isEqualTo(Status.PASSED);
        }
        try (AutoCloseable setuid = file(rootfs.resolve("usr/share/perl5/evil"), "4755")) {
            assertThat(evaluate().failedRules()).extracting(RuleResult::ruleId)
                    .containsExactly(RULE + "no-unexpected-setuid-setgid");
        }
    }

    @Test
    void evaluatesADataStreamNextToTheXccdfFile() throws Exception {
        Path content = Files.createDirectory(tmp.resolve("content"));
        for (String f : List.of("gateway-baseline-xccdf.xml", "gateway-baseline-oval.xml")) {
            Files.copy(CONTENT.resolve(f), content.resolve(f));
        }
        sh("oscap", "ds", "sds-compose", content.resolve("gateway-baseline-xccdf.xml").toString(),
                content.resolve("baseline-ds.xml").toString());

        ComplianceResult result;
        try (AutoCloseable evil = file(rootfs.resolve("usr/local/bin/evil"), "4755")) {
            result = new OpenScap("oscap", content, "baseline", Duration.ofMinutes(3)).evaluate(rootfs);
        }

        assertThat(result.status()).isEqualTo(Status.FAILED);
        assertThat(result.arfs()).extracting(ComplianceResult.Arf::content)
                .containsExactly("baseline-ds.xml", "gateway-baseline-xccdf.xml");
        assertThat(result.rules()).hasSize(10);
        assertThat(result.failedRules()).extracting(RuleResult::ruleId)
                .containsExactly(RULE + "no-unexpected-setuid-setgid", RULE + "no-unexpected-setuid-setgid");
    }

    @Test
    void aTooShortTimeoutKillsOscapAndIsAnError() {
        OpenScap hasty = new OpenScap("oscap", CONTENT, PROFILE, Duration.ofMillis(200));

        ComplianceResult result = hasty.evaluate(rootfs);

        assertThat(result.status()).isEqualTo(Status.ERROR);
        assertThat(result.message()).contains("killed");
    }

    private static AutoCloseable append(Path file, String text) throws IOException {
        byte[] before = Files.readAllBytes(file);
        Files.writeString(file, text, StandardOpenOption.APPEND);
        return () -> Files.write(file, before);
    }

    private static AutoCloseable replace(Path file, String from, String to) throws IOException {
        byte[] before = Files.readAllBytes(file);
        String text = new String(before, StandardCharsets.UTF_8);
        assertThat(text).contains(from);
        Files.writeString(file, text.replace(from, to));
        return () -> Files.write(file, before);
    }

    private static AutoCloseable file(Path file, String mode) throws Exception {
        Files.copy(rootfs.resolve("usr/bin/true"), file);
        sh("chmod", mode, file.toString());
        return () -> Files.delete(file);
    }

    private static AutoCloseable directory(Path dir, String mode) throws Exception {
        Files.createDirectory(dir);
        sh("chmod", mode, dir.toString());
        return () -> Files.delete(dir);
    }

    private static AutoCloseable move(Path from, Path to) throws IOException {
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        return () -> Files.move(to, from, StandardCopyOption.ATOMIC_MOVE);
    }
}
