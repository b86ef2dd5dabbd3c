package io.buildgateway.shared;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's clock: the database's time ({@code clock_timestamp()}), as last measured, carried forward by this
 * JVM's monotonic clock ({@code System.nanoTime}), so that every replica reads one time whatever its host's clock says
 * (issue #17, "clock skew between replicas"; docs/operations.md, "Clock skew between replicas").
 *
 * <p>Why: token expiry, notification claims and retries, build deadlines, the time a build was requested and the
 * registry tokens the gateway mints were each judged by the replica's own clock, so a replica S ahead refused a token
 * S early, and one S behind accepted it S late. The leases were already the database's time; now everything is.
 *
 * <p>How: {@link #sync} asks the database for its time {@value #SAMPLES} times, keeps the answer with the shortest
 * round trip and takes the database's time to be read in the middle of it; the error is at most half that round trip.
 * A sample whose round trip exceeds {@link #MAX_ROUND_TRIP} is not used. Between syncs the time advances by the
 * monotonic clock, so a step of the host's clock (NTP) moves nothing; each sync corrects the monotonic clock's drift
 * (parts per million). Until a first sync succeeds the host's clock is read as it is: time never waits for the
 * database. While the database cannot be asked, the last measurement goes on; {@link #sinceSync} tells how long ago
 * it was, and a run of failed syncs is logged as a warning.
 */
public final class DatabaseClock extends Clock {

    private static final Logger log = LoggerFactory.getLogger(DatabaseClock.class);
    static final int SAMPLES = 3;
    /** A slower answer says more about the load than about the time. */
    static final Duration MAX_ROUND_TRIP = Duration.ofMillis(500);
    /** An offset this large is logged as a warning when first seen (and again when it moves by as much). */
    static final Duration WARN_OFFSET = Duration.ofSeconds(1);
    /** Failed syncs in a row before a warning (once per run of failures). */
    static final int WARN_FAILURES = 3;

    /** One measurement: the database's time read at {@code nanos} of the monotonic clock. */
    private record Base(Instant database, long nanos, long offsetNanos) {
    }

    private final Clock host;
    private final LongSupplier nanoTime;
    private final Supplier<Instant> database;
    private volatile Base base;
    private long warnedAtNanos;
    private int failures;

    /**
     * @param host this host's clock (read before the first sync, and to report the offset)
     * @param database the database's current time, read on each call (a round trip); may throw
     */
    public DatabaseClock(Clock host, Supplier<Instant> database) {
        this(host, System::nanoTime, database);
    }

    DatabaseClock(Clock host, LongSupplier nanoTime, Supplier<Instant> database) {
        this.host = host;
        this.nanoTime = nanoTime;
        this.database = database;
    }

    /**
     * Measures the database's time again. Returns whether a sample was taken; false (the last measurement goes on)
     * when the database could not be asked or every answer was too slow.
     */
    public boolean sync() {
        long bestRoundTrip = Long.MAX_VALUE;
        Base best = null;
        String why = "every answer took longer than " + MAX_ROUND_TRIP.toMillis() + " ms";
        for (int i = 0; i < SAMPLES; i++) {
            long before;
            Instant db;
            long after;
            Instant hostNow;
            try {
                before = nanoTime.getAsLong();
                db = database.get();
                after = nanoTime.getAsLong();
                hostNow = host.instant();
            } catch (RuntimeException e) {
                why = "the database could not be asked (" + e.getClass().getSimpleName() + ")";
                break;
            }
            long roundTrip = after - before;
            if (db == null || roundTrip < 0 || roundTrip > MAX_ROUND_TRIP.toNanos() || roundTrip >= bestRoundTrip) {
                continue;
            }
            bestRoundTrip = roundTrip;
            long mid = before + roundTrip / 2;
            // the host's clock as it read at mid (it was read at after): for the offset reported, not for the time
            Instant hostAtMid = hostNow.minusNanos(after - mid);
            best = new Base(db, mid, Duration.between(hostAtMid, db).toNanos());
        }
        if (best == null) {
            failed(why);
            return false;
        }
        base = best;
        recovered(best.offsetNanos(), bestRoundTrip);
        return true;
    }

    private synchronized void failed(String why) {
        failures++;
        if (failures == WARN_FAILURES) {
            log.warn("the database's time could not be measured {} times in a row ({}); the clock goes on from {}",
                    failures, why, base == null ? "this host's clock (never measured)"
                            : "the measurement of " + sinceSync().toSeconds() + " s ago");
        } else {
            log.debug("the database's time could not be measured ({})", why);
        }
    }

    private synchronized void recovered(long offset, long roundTrip) {
        if (failures >= WARN_FAILURES) {
            log.info("the database's time is measured again after {} failed attempts", failures);
        }
        failures = 0;
        if (Math.abs(offset) < WARN_OFFSET.toNanos()) {
            warnedAtNanos = 0; // back in step: the next large offset is warned of again
        } else if (Math.abs(offset - warnedAtNanos) >= WARN_OFFSET.toNanos()) {
            log.warn("this host's clock is {} ms {} the database's (within {} ms); the gateway uses the database's"
                    + " time, but other programs on this host do not: check its time synchronisation",
                    Math.abs(offset) / 1_000_000, offset > 0 ? "behind" : "ahead of", roundTrip / 2_000_000);
            warnedAtNanos = offset;
        }
    }

    /** The database's time minus this host's clock, as last measured (zero before the first measurement). */
    public Duration offset() {
        Base b = base;
        return b == null ? Duration.ZERO : Duration.ofNanos(b.offsetNanos());
    }

    /** Whether a measurement succeeded at least once. */
    public boolean synced() {
        return base != null;
    }

    /** How long ago the last successful measurement was; null before the first. */
    public Duration sinceSync() {
        Base b = base;
        return b == null ? null : Duration.ofNanos(nanoTime.getAsLong() - b.nanos());
    }

    @Override
    public Instant instant() {
        Base b = base;
        return b == null ? host.instant() : b.database().plusNanos(nanoTime.getAsLong() - b.nanos());
    }

    @Override
    public long millis() {
        return instant().toEpochMilli();
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
