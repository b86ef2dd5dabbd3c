package io.buildgateway.provenance;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class AttestationsBackoffTest {

    @Test
    void doublesFromTheIntervalUpToTheMaximum() {
        Duration interval = Duration.ofSeconds(30);
        Duration max = Duration.ofMinutes(15);
        assertThat(Attestations.backoff(1, interval, max)).isEqualTo(Duration.ofSeconds(30));
        assertThat(Attestations.backoff(2, interval, max)).isEqualTo(Duration.ofMinutes(1));
        assertThat(Attestations.backoff(5, interval, max)).isEqualTo(Duration.ofMinutes(8));
        assertThat(Attestations.backoff(6, interval, max)).isEqualTo(Duration.ofMinutes(15));
        assertThat(Attestations.backoff(10_000, interval, max)).isEqualTo(Duration.ofMinutes(15));
    }
}
