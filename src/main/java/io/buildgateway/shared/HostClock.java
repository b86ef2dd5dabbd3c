package io.buildgateway.shared;

import java.time.Clock;

/**
 * This host's own clock: what {@link DatabaseClock} reads before its first measurement, and what the ages of files
 * the host wrote are judged by (the context store's retention, the scan work folder's leftovers). A bean of its own so
 * that a test can give a replica a wrong clock (a {@code @Primary HostClock}); everything else reads the gateway's
 * {@code Clock}, the database's time.
 */
public record HostClock(Clock clock) {
}
