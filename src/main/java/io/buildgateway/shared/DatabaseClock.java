package io.buildgateway.shared;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's clock: this host's clock corrected by its measured offset to the database's
 * ({@code clock_timestamp()}), so that every replica reads one time, whatever its own clock says (issue #17, "clock
 * skew between replicas"; docs/operations.md, "Clock skew between replicas").
 *
 * <p>Why: token expiry, notification claims and retries, quota windows, the time a build was requested and the
 * registry tokens the gateway mints were each judged by the replica's own clock, so a replica S ahead refused a token
 * S early, and one S behind accepted it S late. The leases were already the database's time; now everything is.
 *
 * <p>How: {@link #sync} asks the database for its time {@value #SAMPLES} times, keeps the answer with the shortest
 * round trip and takes the database's time to be read in the middle of it; the error is at most half that round trip.
 * A sample whose round trip exceeds {@link #MAX_ROUND_TRIP} is not used. Until a first sync succeeds, and while the
 * database cannot be reached, the last offset stays (zero at first): time never stops or depends on the database
 * being up. Reading the clock costs one volatile read beside the host's clock.
 */
public final class DatabaseClock extends Clock {

    private static final Logger log = LoggerFactory.getLogger(DatabaseClock.class);
    static final int SAMPLES = 3;
    /** A slower answer says more about the load than about the time. */
    static final Duration MAX_ROUND_TRIP = Duration.ofMillis(500);
    /** An offset this large is logged as a warning when first seen (and again when it moves by as much). */
    static final Duration WARN_OFFSET = Duration.ofSeconds(1);

    private final Clock host;
    private final Supplier<Instant> database;
    private volatile long offsetNanos;
    private volatile boolean synced;
    private long warnedAtNanos;

    /**
     * @param host this host's clock
     * @param database the database's current time, read on each call (a round trip); may throw
     */
    public DatabaseClock(Clock host, Supplier<Instant> database) {
        this.host = host;
        this.database = database;
    }

    /**
     * Measures the offset again. Returns whether a sample was taken; false (offset unchanged) when the database could
     * not be asked or every answer was too slow.
     */
    public boolean sync() {
        long bestRoundTrip = Long.MAX_VALUE;
        long bestOffset = 0;
        for (int i = 0; i < SAMPLES; i++) {
            Instant before;
            Instant db;
            Instant after;
            try {
                before = host.instant();
                db = database.get();
                after = host.instant();
            } catch (RuntimeException e) {
                log.debug("the database's clock could not be read ({}); the offset stays {}", e.toString(), offset());
                break;
            }
            long roundTrip = Duration.between(before, after).toNanos();
            if (db == null || roundTrip < 0 || roundTrip > MAX_ROUND_TRIP.toNanos() || roundTrip >= bestRoundTrip) {
                continue;
            }
            bestRoundTrip = roundTrip;
            bestOffset = Duration.between(before.plusNanos(roundTrip / 2), db).toNanos();
        }
        if (bestRoundTrip == Long.MAX_VALUE) {
            return false;
        }
        offsetNanos = bestOffset;
        synced = true;
        warnIfLarge(bestOffset, bestRoundTrip);
        return true;
    }

    private synchronized void warnIfLarge(long offset, long roundTrip) {
        if (Math.abs(offset) >= WARN_OFFSET.toNanos() && Math.abs(offset - warnedAtNanos) >= WARN_OFFSET.toNanos()) {
            log.warn("this host's clock is {} ms {} the database's (within {} ms); the gateway uses the database's"
                    + " time, but other programs on this host do not: check its time synchronisation",
                    Math.abs(offset) / 1_000_000, offset > 0 ? "behind" : "ahead of", roundTrip / 2_000_000);
            warnedAtNanos = offset;
        }
    }

    /** The database's time minus this host's, as last measured (zero before the first measurement). */
    public Duration offset() {
        return Duration.ofNanos(offsetNanos);
    }

    /** Whether a measurement succeeded at least once. */
    public boolean synced() {
        return synced;
    }

    @Override
    public Instant instant() {
        return host.instant().plusNanos(offsetNanos);
    }

    @Override
    public long millis() {
        return host.millis() + offsetNanos / 1_000_000;
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        DatabaseClock corrected = this;
        return new Clock() {
            @Override
            public Instant instant() {
                return corrected.instant();
            }

            @Override
            public ZoneId getZone() {
                return zone;
            }

            @Override
            public Clock withZone(ZoneId other) {
                return corrected.withZone(other);
            }
        };
    }
}
