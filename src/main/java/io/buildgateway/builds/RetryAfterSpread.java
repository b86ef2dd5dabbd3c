package io.buildgateway.builds;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * The {@code Retry-After} of a 429 at the queue's limits, spread around {@code gateway.builds.retry-after} (issue #17,
 * latency under load): the clients a full quota refuses at one moment are told to come back at different seconds,
 * uniformly within {@code retry-after × (1 ± spread)} (whole seconds, at least 1), so they do not all come back in the
 * same instant. With one value for all, a team's flood of CI clients stays in step — refused together, back together
 * — and every return is a burst of requests that a status read or an accepted submission queues behind. The mean
 * wait stays {@code retry-after} (the range is symmetric), so the refused clients make as many requests as before,
 * only not at once. {@code gateway.builds.retry-after-spread} 0 gives every client {@code retry-after} exactly.
 */
final class RetryAfterSpread {

    private final long base;
    private final long low;
    private final long high;
    private final RandomGenerator random;

    /** Drawing from each calling thread's {@link java.util.concurrent.ThreadLocalRandom}. */
    RetryAfterSpread(Duration retryAfter, double spread) {
        this(retryAfter, spread, null);
    }

    RetryAfterSpread(Duration retryAfter, double spread, RandomGenerator random) {
        if (spread < 0 || spread >= 1) {
            throw new IllegalArgumentException("gateway.builds.retry-after-spread must be at least 0 and below 1: "
                    + spread);
        }
        this.base = Math.max(1, retryAfter.toSeconds());
        long delta = Math.round(base * spread);
        this.low = Math.max(1, base - delta);
        this.high = base + delta;
        this.random = random;
    }

    /** The seconds to tell one refused client: within [low, high]. */
    long seconds() {
        if (low == high) {
            return low;
        }
        return (random != null ? random : java.util.concurrent.ThreadLocalRandom.current()).nextLong(low, high + 1);
    }

    long low() {
        return low;
    }

    long high() {
        return high;
    }
}
