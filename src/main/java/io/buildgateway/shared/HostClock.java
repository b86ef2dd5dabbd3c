package io.buildgateway.shared;

import java.time.Clock;

/**
 * This host's own clock, which {@link DatabaseClock} corrects. A bean of its own so that a test can give a replica a
 * wrong clock (a {@code @Primary HostClock}) and see the correction at work; nothing else should use it.
 */
public record HostClock(Clock clock) {
}
