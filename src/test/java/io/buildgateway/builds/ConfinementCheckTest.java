package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.hostpool.BuildJob;
import io.buildgateway.hostpool.BuildOutcome;
import io.buildgateway.shared.AuditRecord;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A confinement violation fails the build with the violation as its reason whether or not its event could be
 * appended at once (a review's finding, 2026-12-07: an append that threw became "build host error: …", hid the
 * violation and skipped the removal of the escaped images); an event not appended is kept for the transaction that
 * records the build's failure.
 */
class ConfinementCheckTest {

    private static final BuildJob JOB = new BuildJob("b-1", "host-a", Path.of("ctx"), "Dockerfile", null, Map.of(),
            Map.of(), false, "payments/app", "1", "payments", "base/busybox", List.of("base/busybox"));

    @Test
    void aViolationWhoseEventCannotBeAppendedStillFailsTheBuildWithTheViolation() {
        List<Object> appended = new ArrayList<>();
        ConfinementCheck check = new ConfinementCheck(event -> {
            throw new IllegalStateException("Failed to obtain JDBC Connection");
        });

        BuildOutcome outcome = check.violated(JOB, 1, List.of("pulled docker.io/library/alpine"), List.of("base/busybox"),
                List.of(), null, null, line -> { });

        assertThat(outcome.result()).isEqualTo(BuildOutcome.Result.FAILED);
        assertThat(outcome.reason()).startsWith("confinement violation: pulled docker.io/library/alpine");
        AuditRecord kept = check.unwritten("b-1", 1);
        assertThat(kept).isNotNull();
        assertThat(kept.action()).isEqualTo("build.confinement-violation");
        assertThat(kept.outcome()).isEqualTo(AuditRecord.Outcome.DENIED);
        assertThat(check.unwritten("b-1", 2)).as("another run's").isNull();

        check.written("b-1", 1);
        assertThat(check.unwritten("b-1", 1)).isNull();
        assertThat(appended).isEmpty();
    }

    @Test
    void anEventAppendedAtOnceIsNotWrittenAgain() {
        List<Object> appended = new ArrayList<>();
        ConfinementCheck check = new ConfinementCheck(appended::add);

        BuildOutcome outcome = check.violated(JOB, 1, List.of("v"), List.of(), List.of(), "step failed", null,
                line -> { });

        assertThat(outcome.reason()).isEqualTo("confinement violation: v (step failed)");
        assertThat(appended).hasSize(1);
        assertThat(check.unwritten("b-1", 1)).isNull();
    }

    @Test
    void anUnrecordedOutcomesEventIsWrittenOnItsOwn() {
        List<Object> appended = new ArrayList<>();
        boolean[] down = {true};
        ConfinementCheck check = new ConfinementCheck(event -> {
            if (down[0]) {
                throw new IllegalStateException("database away");
            }
            appended.add(event);
        });
        check.violated(JOB, 1, List.of("v"), List.of(), List.of(), null, null, line -> { });
        down[0] = false;

        check.writeAlone("b-1", 1);
        check.writeAlone("b-1", 1);

        assertThat(appended).hasSize(1);
    }
}
