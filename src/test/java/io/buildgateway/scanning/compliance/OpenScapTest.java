package io.buildgateway.scanning.compliance;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.scanning.compliance.ComplianceResult.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runner without a real oscap: a missing command, and a fake oscap (a shell script) for the process plumbing. */
class OpenScapTest {

    @TempDir
    Path tmp;

    private static final String RESULTS = """
            <Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="xccdf_t_benchmark_b">
              <Profile id="xccdf_t_profile_p"/>
              <Rule id="xccdf_t_rule_one" severity="high"><title>One</title></Rule>
              <TestResult id="r"><rule-result idref="xccdf_t_rule_one"><result>%s</result></rule-result></TestResult>
            </Benchmark>
            """;

    private Path content() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("content"));
        Files.writeString(dir.resolve("t-xccdf.xml"), RESULTS.formatted("notchecked"));
        Files.writeString(dir.resolve("t-oval.xml"), "<not-evaluated-on-its-own/>");
        Files.writeString(dir.resolve("README.md"), "# not content");
        return dir;
    }

    /**
     * A fake oscap: {@code --version} exits 0; {@code xccdf eval} records its arguments and OSCAP_ environment, writes
     * the results with the given rule result and an ARF, and exits with the given code after the given sleep.
     */
    private Path fakeOscap(String result, int exit, int sleepSeconds) throws IOException {
        Path script = tmp.resolve("fake-oscap");
        String results = RESULTS.formatted(result).replace("'", "");
        Files.writeString(script, """
                #!/bin/sh
                [ "$1" = "--version" ] && { echo "OpenSCAP command line tool (oscap) fake"; exit 0; }
                echo "$@" > %1$s/args
                env | grep '^OSCAP_' | sort > %1$s/env
                while [ $# -gt 0 ]; do
                  case "$1" in
                    --results) shift; printf '%%s' '%2$s' > "$1" ;;
                    --results-arf) shift; echo '<arf:asset-report-collection/>' > "$1" ;;
                  esac
                  shift
                done
                echo "evaluating"
                sleep %3$d
                exit %4$d
                """.formatted(tmp, results, sleepSeconds, exit));
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return script;
    }

    @Test
    void aMissingOscapIsNotRunNeverPassed() throws IOException {
        OpenScap oscap = new OpenScap(tmp.resolve("no-such-oscap").toString(), content(), null,
                Duration.ofSeconds(10));

        ComplianceResult result = oscap.evaluate(tmp);

        assertThat(oscap.available()).isFalse();
        assertThat(result.status()).isEqualTo(Status.NOT_RUN);
        assertThat(result.message()).contains("not available").contains("no-such-oscap");
        assertThat(result.rules()).isEmpty();
        assertThat(result.arfs()).isEmpty();
    }

    @Test
    void runsOscapOnEachContentFileWithTheProbeRootAndReadsItsResults() throws IOException {
        Path rootfs = Files.createDirectories(tmp.resolve("rootfs"));
        Path content = content();
        Files.writeString(content.resolve("u-ds.xml"), RESULTS.formatted("x"));
        OpenScap oscap = new OpenScap(fakeOscap("pass", 0, 0).toString(), content, "p", Duration.ofSeconds(20));

        ComplianceResult result = oscap.evaluate(rootfs);

        assertThat(result.status()).isEqualTo(Status.PASSED);
        assertThat(result.rules()).hasSize(2).allSatisfy(r -> {
            assertThat(r.ruleId()).isEqualTo("xccdf_t_rule_one");
            assertThat(r.title()).isEqualTo("One");
            assertThat(r.severity()).isEqualTo("high");
            assertThat(r.result()).isEqualTo("pass");
        });
        assertThat(result.arfs()).extracting(ComplianceResult.Arf::content).containsExactly("t-xccdf.xml", "u-ds.xml");
        assertThat(new String(result.arfs().get(0).xml(), StandardCharsets.UTF_8)).contains("asset-report-collection");
        assertThat(Files.readString(tmp.resolve("env"))).contains("OSCAP_PROBE_ROOT=" + rootfs.toRealPath());
        assertThat(Files.readString(tmp.resolve("args"))).startsWith("xccdf eval --profile p --results ")
                .contains("--results-arf ").endsWith(content.resolve("u-ds.xml").toAbsolutePath() + "\n");
    }

    @Test
    void aFailedRuleIsFailedAndAnOscapErrorIsAnError() throws IOException {
        Path content = content();

        ComplianceResult failed = new OpenScap(fakeOscap("fail", 2, 0).toString(), content, null,
                Duration.ofSeconds(20)).evaluate(tmp);
        ComplianceResult errored = new OpenScap(fakeOscap("pass", 1, 0).toString(), content, null,
                Duration.ofSeconds(20)).evaluate(tmp);
        ComplianceResult inconsistent = new OpenScap(fakeOscap("pass", 2, 0).toString(), content, null,
                Duration.ofSeconds(20)).evaluate(tmp);
        ComplianceResult nothingChecked = new OpenScap(fakeOscap("notapplicable", 0, 0).toString(), content, null,
                Duration.ofSeconds(20)).evaluate(tmp);
        ComplianceResult ruleError = new OpenScap(fakeOscap("error", 0, 0).toString(), content, null,
                Duration.ofSeconds(20)).evaluate(tmp);

        assertThat(failed.status()).isEqualTo(Status.FAILED);
        assertThat(failed.message()).contains("1 of 1 rules failed: xccdf_t_rule_one (high)");
        assertThat(errored.status()).isEqualTo(Status.ERROR);
        assertThat(errored.message()).contains("t-xccdf.xml: oscap exited with 1");
        assertThat(inconsistent.status()).isEqualTo(Status.ERROR);
        assertThat(nothingChecked.status()).isEqualTo(Status.ERROR);
        assertThat(nothingChecked.message()).contains("no rule was checked");
        assertThat(ruleError.status()).isEqualTo(Status.ERROR);
        assertThat(ruleError.message()).contains("xccdf_t_rule_one (error)");
    }

    @Test
    void killsOscapAtTheTimeout() throws IOException {
        OpenScap oscap = new OpenScap(fakeOscap("pass", 0, 60).toString(), content(), null, Duration.ofSeconds(2));
        assertThat(oscap.available()).isTrue();

        long start = System.nanoTime();
        ComplianceResult result = oscap.evaluate(tmp);

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
        assertThat(result.status()).isEqualTo(Status.ERROR);
        assertThat(result.message()).contains("did not finish within").contains("killed");
    }

    @Test
    void theBuildsDeadlineKillsOscapWhenItComesBeforeTheTimeout() throws IOException {
        OpenScap oscap = new OpenScap(fakeOscap("pass", 0, 60).toString(), content(), null, Duration.ofMinutes(10));
        assertThat(oscap.available()).isTrue();

        ComplianceResult result = oscap.evaluate(tmp, Duration.ofSeconds(1));

        assertThat(result.status()).isEqualTo(Status.ERROR);
        assertThat(result.message()).contains("did not finish within").contains("killed");
        assertThat(ProcessHandle.current().descendants().filter(p -> p.info().commandLine().orElse("")
                .contains("fake-oscap")).count()).isZero();
        // Nothing left of the deadline: not run at all.
        assertThat(oscap.evaluate(tmp, Duration.ZERO).message()).contains("not evaluated");
    }

    /**
     * A fake oscap that hangs on its first {@code xccdf eval} (a shell that starts a child, {@code sleep}, and a
     * grandchild, so that a tree must be killed) and succeeds on the later ones; each run's start is counted.
     */
    private Path hangsOnce(String result, int hangingRuns) throws IOException {
        Path script = fakeOscap(result, 0, 0);
        Path wrapper = tmp.resolve("hangs-once-oscap");
        Files.writeString(wrapper, """
                #!/bin/sh
                [ "$1" = "--version" ] && exec %1$s --version
                echo run >> %2$s/runs
                if [ "$(wc -l < %2$s/runs)" -le %3$d ]; then
                  sh -c 'sleep 300; echo grandchild-survived >> %2$s/survivors' &
                  sleep 300
                  echo survived >> %2$s/survivors
                fi
                exec %1$s "$@"
                """.formatted(script, tmp, hangingRuns));
        Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwx------"));
        return wrapper;
    }

    private static long fakeProcessesLeft() {
        return ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").contains("sleep 300")
                && ProcessHandle.current().descendants().anyMatch(d -> d.pid() == p.pid())
                || p.info().commandLine().orElse("").contains("hangs-once-oscap")).count();
    }

    @Test
    void anOscapRunThatTimesOutIsKilledWithItsTreeAndRunOnceMore() throws Exception {
        OpenScap oscap = new OpenScap(hangsOnce("pass", 1).toString(), content(), null,
                new OpenScap.RunLimit(Duration.ofSeconds(2), Duration.ZERO, Duration.ofSeconds(30)));
        List<String> notes = new java.util.ArrayList<>();

        long start = System.nanoTime();
        ComplianceResult result = oscap.evaluate(tmp, Duration.ofMinutes(1), "sha256:abc", notes::add);

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
        assertThat(result.status()).as(result.message()).isEqualTo(Status.PASSED);
        assertThat(Files.readAllLines(tmp.resolve("runs"))).hasSize(2);
        assertThat(notes).hasSize(2);
        assertThat(notes.get(0)).contains("t-xccdf.xml").contains("did not finish within PT2S").contains("once more");
        assertThat(notes.get(1)).contains("second run of t-xccdf.xml").contains("(passed)");
        Thread.sleep(500);
        assertThat(tmp.resolve("survivors")).doesNotExist();
        assertThat(fakeProcessesLeft()).isZero();
    }

    @Test
    void aFirstRunThatUsesNoCpuTimeIsKilledAsHungLongBeforeItsLimitAndRunOnceMore() throws Exception {
        // oscap 1.3.7 sometimes stops mid-run: here a tree that sleeps, so it uses no CPU time at all
        OpenScap oscap = new OpenScap(hangsOnce("pass", 1).toString(), content(), null,
                new OpenScap.RunLimit(Duration.ofSeconds(60), Duration.ZERO, Duration.ofSeconds(60)))
                .stallingAfter(Duration.ofSeconds(1));
        List<String> notes = new java.util.ArrayList<>();

        long start = System.nanoTime();
        ComplianceResult result = oscap.evaluate(tmp, Duration.ofMinutes(5), "sha256:abc", notes::add);

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
        assertThat(result.status()).as(result.message()).isEqualTo(Status.PASSED);
        assertThat(Files.readAllLines(tmp.resolve("runs"))).hasSize(2);
        assertThat(notes).hasSize(2);
        assertThat(notes.get(0)).contains("t-xccdf.xml").contains("hung (no CPU time for").contains("once more");
        assertThat(notes.get(1)).contains("second run of t-xccdf.xml").contains("(passed)");
        Thread.sleep(500);
        assertThat(tmp.resolve("survivors")).doesNotExist();
        assertThat(fakeProcessesLeft()).isZero();
    }

    @Test
    void aRunThatKeepsUsingCpuTimeIsNotTakenForHung() throws Exception {
        // busy for 3 s (a shell loop: CPU time grows), then the fake oscap's result
        Path script = fakeOscap("pass", 0, 0);
        Path busy = tmp.resolve("busy-oscap");
        Files.writeString(busy, """
                #!/bin/bash
                [ "$1" = "--version" ] && exec %1$s --version
                echo run >> %2$s/runs
                end=$((SECONDS + 3)); while [ $SECONDS -lt $end ]; do :; done
                exec %1$s "$@"
                """.formatted(script, tmp));
        Files.setPosixFilePermissions(busy, PosixFilePermissions.fromString("rwx------"));
        OpenScap oscap = new OpenScap(busy.toString(), content(), null,
                new OpenScap.RunLimit(Duration.ofSeconds(60), Duration.ZERO, Duration.ofSeconds(60)))
                .stallingAfter(Duration.ofSeconds(1));
        List<String> notes = new java.util.ArrayList<>();

        ComplianceResult result = oscap.evaluate(tmp, Duration.ofMinutes(5), "sha256:abc", notes::add);

        assertThat(result.status()).as(result.message()).isEqualTo(Status.PASSED);
        assertThat(Files.readAllLines(tmp.resolve("runs"))).hasSize(1);
        assertThat(notes).isEmpty();
    }

    @Test
    void theSecondRunIsNotJudgedByTheStallLimitOnlyByTheRunLimit() throws Exception {
        OpenScap oscap = new OpenScap(hangsOnce("pass", 2).toString(), content(), null,
                new OpenScap.RunLimit(Duration.ofSeconds(4), Duration.ZERO, Duration.ofSeconds(4)))
                .stallingAfter(Duration.ofSeconds(1));
        List<String> notes = new java.util.ArrayList<>();

        long start = System.nanoTime();
        ComplianceResult result = oscap.evaluate(tmp, Duration.ofMinutes(5), "sha256:abc", notes::add);

        // first run: hung after ~1 s; second run: waited out its 4 s limit, then an error
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofSeconds(4));
        assertThat(result.status()).isEqualTo(Status.ERROR);
        assertThat(notes.get(0)).contains("hung");
        assertThat(notes.get(1)).contains("timed out again");
        assertThat(fakeProcessesLeft()).isZero();
    }

    @Test
    void theStallLimitMustNotBeNegative() {
        OpenScap oscap = new OpenScap("oscap", Path.of("config/compliance"), null, Duration.ofSeconds(5));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> oscap.stallingAfter(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void onlyASecondTimeoutIsAnError() throws Exception {
        OpenScap oscap = new OpenScap(hangsOnce("pass", 2).toString(), content(), null,
                new OpenScap.RunLimit(Duration.ofSeconds(1), Duration.ZERO, Duration.ofSeconds(30)));
        List<String> notes = new java.util.ArrayList<>();

        ComplianceResult result = oscap.evaluate(tmp, null, "sha256:abc", notes::add);

        assertThat(result.status()).isEqualTo(Status.ERROR);
        assertThat(result.message()).contains("t-xccdf.xml: oscap did not finish within PT1S and was killed")
                .contains("killed again");
        assertThat(Files.readAllLines(tmp.resolve("runs"))).hasSize(2);
        assertThat(notes).hasSize(2);
        assertThat(notes.get(1)).contains("timed out again");
        assertThat(tmp.resolve("survivors")).doesNotExist();
        assertThat(fakeProcessesLeft()).isZero();
    }

    @Test
    void noRetryWhenTheBuildsDeadlineKilledIt() throws Exception {
        OpenScap oscap = new OpenScap(hangsOnce("pass", 1).toString(), content(), null,
                new OpenScap.RunLimit(Duration.ofSeconds(30), Duration.ZERO, Duration.ofSeconds(30)));

        ComplianceResult result = oscap.evaluate(tmp, Duration.ofSeconds(2), "sha256:abc", n -> { });

        assertThat(result.status()).isEqualTo(Status.ERROR);
        assertThat(result.message()).contains("did not finish within").contains("killed");
        assertThat(Files.readAllLines(tmp.resolve("runs"))).hasSize(1);
    }

    @Test
    void theRunLimitGrowsWithTheRootFilesystemBetweenItsFloorAndCeiling() throws IOException {
        OpenScap.RunLimit limit = new OpenScap.RunLimit(Duration.ofSeconds(30), Duration.ofSeconds(60),
                Duration.ofSeconds(120));

        assertThat(limit.forBytes(0)).isEqualTo(Duration.ofSeconds(30));
        assertThat(limit.forBytes(512L << 20)).isEqualTo(Duration.ofSeconds(60));
        assertThat(limit.forBytes(1L << 30)).isEqualTo(Duration.ofSeconds(90));
        assertThat(limit.forBytes(10L << 30)).isEqualTo(Duration.ofSeconds(120));
        assertThat(limit.forBytes(Long.MAX_VALUE)).isEqualTo(Duration.ofSeconds(120));
        assertThat(limit.forBytes(-1)).as("unknown size").isEqualTo(Duration.ofSeconds(120));
        assertThat(OpenScap.RunLimit.fixed(Duration.ofSeconds(5)).forBytes(1L << 40)).isEqualTo(Duration.ofSeconds(5));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new OpenScap.RunLimit(Duration.ofSeconds(30),
                Duration.ZERO, Duration.ofSeconds(10))).isInstanceOf(IllegalArgumentException.class);

        Path root = Files.createDirectories(tmp.resolve("sized"));
        Files.write(root.resolve("a"), new byte[3000]);
        Files.createDirectories(root.resolve("d"));
        Files.write(root.resolve("d/b"), new byte[1000]);
        Files.createLink(root.resolve("d/hard"), root.resolve("a"));
        Files.createSymbolicLink(root.resolve("link"), Path.of("/"));
        OpenScap.Size size = OpenScap.size(root);
        assertThat(size.bytes()).isEqualTo(7000); // a hard link is a file of the view; a symlink is not followed
        assertThat(size.files()).isEqualTo(4);
    }

    @Test
    void aProfileNoFileDeclaresAndAnEmptyFolderAreErrors() throws IOException {
        Path script = fakeOscap("pass", 0, 0);

        ComplianceResult unknownProfile = new OpenScap(script.toString(), content(), "nosuch", Duration.ofSeconds(5))
                .evaluate(tmp);
        ComplianceResult noContent = new OpenScap(script.toString(), Files.createDirectories(tmp.resolve("empty")),
                null, Duration.ofSeconds(5)).evaluate(tmp);
        ComplianceResult noRootfs = new OpenScap(script.toString(), content(), null, Duration.ofSeconds(5))
                .evaluate(tmp.resolve("missing"));

        assertThat(unknownProfile.status()).isEqualTo(Status.ERROR);
        assertThat(unknownProfile.message()).contains("profile nosuch is declared by none");
        assertThat(noContent.status()).isEqualTo(Status.ERROR);
        assertThat(noContent.message()).contains("no compliance content");
        assertThat(noRootfs.status()).isEqualTo(Status.ERROR);
    }

    @Test
    void anErrorWinsOverFailuresWhichStayListed() {
        RuleResult fail = new RuleResult("b", "r1", "R1", "high", "fail");
        RuleResult pass = new RuleResult("b", "r2", "R2", "low", "pass");
        OpenScap.Run failed = new OpenScap.Run("a-xccdf.xml", Status.FAILED, List.of(fail, pass), new byte[1], null);
        OpenScap.Run passed = new OpenScap.Run("b-ds.xml", Status.PASSED, List.of(pass), new byte[1], null);
        OpenScap.Run errored = OpenScap.Run.error("c-ds.xml", "oscap exited with 1: boom");

        ComplianceResult both = OpenScap.merge(List.of(failed, errored));
        ComplianceResult onlyFailed = OpenScap.merge(List.of(passed, failed));

        assertThat(both.status()).isEqualTo(Status.ERROR);
        assertThat(both.message()).contains("c-ds.xml: oscap exited with 1: boom").contains("r1 (high)");
        assertThat(both.rules()).containsExactly(fail, pass);
        assertThat(both.arfs()).extracting(ComplianceResult.Arf::content).containsExactly("a-xccdf.xml");
        assertThat(onlyFailed.status()).isEqualTo(Status.FAILED);
        assertThat(OpenScap.merge(List.of(passed)).status()).isEqualTo(Status.PASSED);
        assertThat(OpenScap.merge(List.of()).status()).isEqualTo(Status.ERROR);
    }

    @Test
    void keepsTheHeadAndTailOfALongOutput() {
        OpenScap.BoundedOutput output = new OpenScap.BoundedOutput(20);
        byte[] bytes = "0123456789abcdefghijklmnopqrstuvwxyz".getBytes(StandardCharsets.US_ASCII);
        output.write(bytes, bytes.length);

        assertThat(output.text()).isEqualTo("0123456789\n[... 16 bytes left out ...]\nqrstuvwxyz");
        assertThat(OpenScap.lastLines("a\n\nOpenSCAP Error: No profile matching suffix \"x\" [oscap.c:1]\nb\n"))
                .isEqualTo("OpenSCAP Error: No profile matching suffix \"x\" [oscap.c:1]");
    }
}
