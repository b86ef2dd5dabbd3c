package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class RetryAfterSpreadTest {

    @Test
    void withoutSpreadEveryClientIsToldTheConfiguredValue() {
        RetryAfterSpread spread = new RetryAfterSpread(Duration.ofSeconds(7), 0, new Random(1));
        for (int i = 0; i < 100; i++) {
            assertThat(spread.seconds()).isEqualTo(7);
        }
    }

    @Test
    void refusedClientsAreToldDifferentSecondsAroundTheConfiguredMean() {
        RetryAfterSpread spread = new RetryAfterSpread(Duration.ofSeconds(2), 0.5, new Random(42));
        TreeMap<Long, Integer> seen = new TreeMap<>();
        long sum = 0;
        int n = 30_000;
        for (int i = 0; i < n; i++) {
            long s = spread.seconds();
            seen.merge(s, 1, Integer::sum);
            sum += s;
        }
        assertThat(seen.keySet()).containsExactly(1L, 2L, 3L);
        // the same number of returns as without the spread, on average: the mean stays retry-after
        assertThat(sum / (double) n).isCloseTo(2.0, org.assertj.core.data.Offset.offset(0.03));
    }

    @Test
    void theRangeIsWholeSecondsAndNeverBelowOne() {
        RetryAfterSpread thirty = new RetryAfterSpread(Duration.ofSeconds(30), 0.5);
        assertThat(thirty.low()).isEqualTo(15);
        assertThat(thirty.high()).isEqualTo(45);
        for (int i = 0; i < 1000; i++) {
            assertThat(thirty.seconds()).isBetween(15L, 45L);
        }
        RetryAfterSpread one = new RetryAfterSpread(Duration.ofSeconds(1), 0.9);
        assertThat(one.low()).isEqualTo(1);
        RetryAfterSpread subSecond = new RetryAfterSpread(Duration.ofMillis(300), 0);
        assertThat(subSecond.seconds()).isEqualTo(1);
    }

    @Test
    void aSpreadOutsideItsRangeIsRefused() {
        assertThatThrownBy(() -> new RetryAfterSpread(Duration.ofSeconds(2), 1.0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RetryAfterSpread(Duration.ofSeconds(2), -0.1))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
