package io.buildgateway.shared.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class RefusalLimiterTest {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private final RefusalLimiter limiter = new RefusalLimiter(20, Duration.ofSeconds(10), 3);

    @Test
    void theFirstRefusalsAreAuditedThenTheSourceIsBlockedUntilItsWindowEnds() {
        for (int i = 0; i < 20; i++) {
            assertThat(limiter.blocked("10.0.0.1", T0.plusMillis(i))).isEmpty();
            assertThat(limiter.refused("10.0.0.1", T0.plusMillis(i))).isTrue();
        }
        // 200 more junk requests: each blocked before any other work, with the seconds left in the window.
        for (int i = 0; i < 200; i++) {
            assertThat(limiter.blocked("10.0.0.1", T0.plusSeconds(1))).hasValue(9);
        }
        assertThat(limiter.blocked("10.0.0.1", T0.plusMillis(9_500))).hasValue(1);
        // Another source is not affected.
        assertThat(limiter.blocked("10.0.0.2", T0.plusSeconds(1))).isEmpty();
        assertThat(limiter.refused("10.0.0.2", T0.plusSeconds(1))).isTrue();

        assertThat(limiter.closed(T0.plusSeconds(9))).isEmpty();
        List<RefusalLimiter.Aggregate> closed = limiter.closed(T0.plusSeconds(10));
        // One row for the noisy source; the quiet one had nothing that was not audited already.
        assertThat(closed).containsExactly(new RefusalLimiter.Aggregate("10.0.0.1", T0, T0.plusSeconds(10), 20, 20,
                201));
        assertThat(closed.get(0).notAuditedIndividually()).isEqualTo(201);
        // A new window: the source may try again.
        assertThat(limiter.blocked("10.0.0.1", T0.plusSeconds(10))).isEmpty();
    }

    @Test
    void refusalsPastTheCheckBeyondTheLimitAreCountedNotAudited() {
        for (int i = 0; i < 25; i++) {
            assertThat(limiter.refused("10.0.0.1", T0)).isEqualTo(i < 20);
        }
        assertThat(limiter.drain()).containsExactly(new RefusalLimiter.Aggregate("10.0.0.1", T0,
                T0.plusSeconds(10), 25, 20, 0));
        assertThat(limiter.trackedSources()).isZero();
    }

    @Test
    void aWindowThatEndsBeforeTheFlushIsKeptWhenANewOneStarts() {
        for (int i = 0; i < 21; i++) {
            limiter.refused("10.0.0.1", T0);
        }
        limiter.refused("10.0.0.1", T0.plusSeconds(11));

        assertThat(limiter.closed(T0.plusSeconds(12))).containsExactly(new RefusalLimiter.Aggregate("10.0.0.1", T0,
                T0.plusSeconds(10), 21, 20, 0));
    }

    @Test
    void memoryIsBoundedAndSourcesBeyondTheTableShareOneWindow() {
        limiter.refused("a", T0);
        limiter.refused("b", T0);
        limiter.refused("c", T0);
        for (int i = 0; i < 20; i++) {
            limiter.refused("spread-" + i, T0);
        }
        assertThat(limiter.trackedSources()).isEqualTo(4);
        // A source never seen before is limited with the overflow window; the tracked ones are not.
        assertThat(limiter.blocked("fresh", T0)).isPresent();
        assertThat(limiter.blocked("a", T0)).isEmpty();
        assertThat(limiter.closed(T0.plusSeconds(10))).extracting(RefusalLimiter.Aggregate::source)
                .containsExactly(RefusalLimiter.OVERFLOW);
        assertThat(limiter.trackedSources()).isZero();
    }
}
