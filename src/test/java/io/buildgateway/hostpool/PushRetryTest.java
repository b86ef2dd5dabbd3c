package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class PushRetryTest {

    private static final Instant T0 = Instant.parse("2026-12-02T10:00:00Z");

    @Test
    void backsOffDoublingUpToThirtySecondsWhileTheNextAttemptStartsBeforeTheDeadline() {
        PushRetry retry = new PushRetry();
        Instant deadline = T0.plusSeconds(120);
        Instant now = T0;
        StringBuilder waits = new StringBuilder();
        Duration wait;
        while ((wait = retry.afterFailure("dial unix /run/registry.sock: connect: connection refused", now,
                deadline)) != null) {
            waits.append(wait.toSeconds()).append(' ');
            now = now.plus(wait).plusSeconds(1); // each attempt itself takes a second
        }
        assertThat(waits.toString().trim()).isEqualTo("1 2 4 8 16 30 30");
        assertThat(retry.attempts()).isEqualTo(8);
        assertThat(now).isBefore(deadline);
    }

    @Test
    void aRefusalOfTheRegistryIsFinalAtOnce() {
        PushRetry retry = new PushRetry();
        assertThat(retry.afterFailure("denied: requested access to the resource is denied", T0,
                T0.plusSeconds(600))).isNull();
        assertThat(retry.attempts()).isEqualTo(1);
    }

    @Test
    void noAttemptIsScheduledAtOrPastTheDeadline() {
        PushRetry retry = new PushRetry();
        assertThat(retry.afterFailure("EOF", T0, T0.plusSeconds(1))).isNull();
        assertThat(new PushRetry().afterFailure("EOF", T0, T0.plusMillis(1001))).isEqualTo(Duration.ofSeconds(1));
    }
}
