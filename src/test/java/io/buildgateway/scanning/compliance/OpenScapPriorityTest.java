package io.buildgateway.scanning.compliance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.buildgateway.scanning.compliance.ComplianceResult.Status;
import io.buildgateway.shared.BackgroundPriority;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * OpenSCAP runs below the API's CPU priority (issue #17, gateway.background.nice), observed by the real oscap's
 * wrapper, which records the nice value it runs at and its session's autogroup before executing oscap.
 */
class OpenScapPriorityTest {

    private static final Path SHIPPED = Path.of("config/compliance");

    @TempDir
    Path tmp;

    @Test
    void anEvaluationRunsAtTheBackgroundNiceValueInASessionOfItsOwnAndStillPasses() throws Exception {
        assumeTrue(new OpenScap("oscap", SHIPPED, null, Duration.ofSeconds(30)).available(), "oscap is not installed");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/nice")) && Files.isExecutable(Path.of("/usr/bin/setsid")),
                "nice(1) and setsid(1)");
        Path seen = tmp.resolve("seen");
        Path oscap = tmp.resolve("oscap-priority");
        Files.writeString(oscap, """
                #!/bin/sh
                [ "$1" = "--version" ] && exec oscap --version
                { cut -d' ' -f19 /proc/$$/stat; cat /proc/$$/autogroup 2>/dev/null || echo none; } >> %s
                exec oscap "$@"
                """.formatted(seen));
        Files.setPosixFilePermissions(oscap, PosixFilePermissions.fromString("rwx------"));
        Path rootfs = OpenScapSkipValidationTest.tinyRootfs(tmp.resolve("rootfs"));

        ComplianceResult result = new OpenScap(oscap.toString(), SHIPPED, null, Duration.ofSeconds(60))
                .runningAt(new BackgroundPriority(10)).evaluate(rootfs);

        assertThat(result.status()).isEqualTo(Status.PASSED);
        List<String> lines = Files.readAllLines(seen);
        assertThat(lines.get(0)).isEqualTo("10");
        if (Files.readString(Path.of("/proc/sys/kernel/sched_autogroup_enabled")).strip().equals("1")) {
            // the wrapper may read its autogroup before the gateway lowered it; the nice value is there from the start
            assertThat(lines.get(1)).startsWith("/autogroup-");
        }
        // The gateway's own session is never lowered.
        assertThat(Files.readString(Path.of("/proc/self/autogroup"))).doesNotContain("nice 10");
    }
}
