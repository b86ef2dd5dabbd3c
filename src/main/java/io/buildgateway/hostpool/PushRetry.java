package io.buildgateway.hostpool;

import java.time.Duration;
import java.time.Instant;

/**
 * When a failed push is tried again (issue #17, "the registry down during a push"): after 1 s, then twice as long
 * each time up to 30 s, for as long as the next attempt starts before the build's deadline; a refusal by the
 * registry ({@code denied}: the push token's grant) is final at once, since asking again gets the same answer. A
 * build whose pushes all failed is FAILED with the last error and the number of attempts; nothing is recorded
 * (no inventory row, no provenance) for an image the registry did not take.
 */
final class PushRetry {

    static final Duration FIRST = Duration.ofSeconds(1);
    static final Duration MAX = Duration.ofSeconds(30);

    private int attempts;
    private Duration backoff = FIRST;

    /** Counts an attempt that failed; returns the wait before the next one, or null when the build gives up. */
    Duration afterFailure(String error, Instant now, Instant deadline) {
        attempts++;
        if (error != null && error.toLowerCase(java.util.Locale.ROOT).contains("denied")) {
            return null;
        }
        Duration wait = backoff;
        if (!now.plus(wait).isBefore(deadline)) {
            return null;
        }
        backoff = backoff.multipliedBy(2).compareTo(MAX) > 0 ? MAX : backoff.multipliedBy(2);
        return wait;
    }

    int attempts() {
        return attempts;
    }
}
