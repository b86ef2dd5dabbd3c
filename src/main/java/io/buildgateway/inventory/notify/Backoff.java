package io.buildgateway.inventory.notify;

import java.time.Duration;

/**
 * When a transiently failed delivery is tried again: after attempt {@code n} (1-based) fails, wait
 * {@code initialDelay × 2^(n-1)}, never more than {@code maxDelay}; after {@code maxAttempts} attempts, give up.
 * Deterministic on purpose (no jitter): the schedule in docs/notifications.md is exactly what happens.
 */
record Backoff(int maxAttempts, Duration initialDelay, Duration maxDelay) {

    static Backoff of(NotificationProperties.Retry retry) {
        return new Backoff(retry.maxAttempts(), retry.initialDelay(), retry.maxDelay());
    }

    /** The wait after the {@code attempts}-th failed attempt, or null when no attempt is left. */
    Duration delayAfter(int attempts) {
        if (attempts >= maxAttempts) {
            return null;
        }
        Duration delay = initialDelay;
        // Doubling stops at maxDelay, so a large attempt count cannot overflow.
        for (int i = 1; i < attempts && delay.compareTo(maxDelay) < 0; i++) {
            delay = delay.multipliedBy(2);
        }
        return delay.compareTo(maxDelay) > 0 ? maxDelay : delay;
    }
}
