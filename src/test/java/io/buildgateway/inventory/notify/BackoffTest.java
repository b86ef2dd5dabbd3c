package io.buildgateway.inventory.notify;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BackoffTest {

    @Test
    void defaultScheduleDoublesFromTenSecondsUpToTheLastAttempt() {
        Backoff backoff = Backoff.of(new NotificationProperties(null, null, null, null, null, null, null, null, null, null)
                .retry());
        List<Duration> waits = new ArrayList<>();
        for (int attempt = 1; attempt <= 8; attempt++) {
            waits.add(backoff.delayAfter(attempt));
        }
        assertThat(waits).containsExactly(Duration.ofSeconds(10), Duration.ofSeconds(20), Duration.ofSeconds(40),
                Duration.ofSeconds(80), Duration.ofSeconds(160), Duration.ofSeconds(320), Duration.ofSeconds(640),
                null);
    }

    @Test
    void delaysStopAtTheMaximum() {
        Backoff backoff = new Backoff(10, Duration.ofSeconds(10), Duration.ofMinutes(1));
        assertThat(backoff.delayAfter(3)).isEqualTo(Duration.ofSeconds(40));
        assertThat(backoff.delayAfter(4)).isEqualTo(Duration.ofMinutes(1));
        assertThat(backoff.delayAfter(9)).isEqualTo(Duration.ofMinutes(1));
        assertThat(backoff.delayAfter(10)).isNull();
    }

    @Test
    void manyAttemptsDoNotOverflow() {
        Backoff backoff = new Backoff(100, Duration.ofDays(1), Duration.ofDays(3));
        assertThat(backoff.delayAfter(99)).isEqualTo(Duration.ofDays(3));
    }

    @Test
    void oneAttemptMeansNoRetry() {
        assertThat(new Backoff(1, Duration.ofSeconds(1), Duration.ofSeconds(1)).delayAfter(1)).isNull();
    }
}
