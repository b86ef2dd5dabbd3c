package io.buildgateway.shared;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BuildPhasesTest {

    @Test
    void eachPhaseIsATimerWithItsTagAndTheBuildsTimesComeOutInPhaseOrderOnce() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        BuildPhases phases = new BuildPhases(meters);
        phases.record("b1", BuildPhases.PUSH, TimeUnit.MILLISECONDS.toNanos(30));
        phases.record("b1", BuildPhases.INTAKE, TimeUnit.MILLISECONDS.toNanos(5));
        phases.record("b1", BuildPhases.OPENSCAP, TimeUnit.MILLISECONDS.toNanos(7));
        phases.record("b2", BuildPhases.PUSH, TimeUnit.MILLISECONDS.toNanos(10));

        assertThat(meters.get("gateway.build.phase").tag("phase", "push").timer().count()).isEqualTo(2);
        assertThat(meters.get("gateway.build.phase").tag("phase", "push").timer().totalTime(TimeUnit.MILLISECONDS))
                .isEqualTo(40.0);
        assertThat(BuildPhases.lines(phases.take("b1")))
                .isEqualTo("Phase intake: 5 ms\nPhase openscap: 7 ms\nPhase push: 30 ms\n");
        assertThat(phases.take("b1")).isEmpty();
        assertThat(phases.take("b2")).containsEntry("push", 10L);
    }

    @Test
    void anUnknownPhaseIsAProgrammingError() {
        BuildPhases phases = new BuildPhases(new SimpleMeterRegistry());
        assertThatThrownBy(() -> phases.record("b", "coffee", 1)).isInstanceOf(IllegalArgumentException.class);
    }
}
