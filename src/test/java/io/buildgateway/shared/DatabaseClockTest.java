package io.buildgateway.shared;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DatabaseClockTest {

    static final Instant EPOCH = Instant.parse("2026-12-06T12:00:00Z");

    /**
     * True time as nanoseconds since {@link #EPOCH}, which the JVM's monotonic clock reads; the host's wall clock
     * reads it plus {@code hostSkew}, and the database's clock reads it as it is.
     */
    static final class World {
        long nanos;
        Duration hostSkew = Duration.ZERO;

        Instant now() {
            return EPOCH.plusNanos(nanos);
        }

        final Clock host = hostClock(ZoneOffset.UTC);

        /** The host's wall clock, in {@code zone}. */
        Clock hostClock(ZoneId zone) {
            return new Clock() {
                @Override
                public Instant instant() {
                    return now().plus(hostSkew);
                }

                @Override
                public ZoneId getZone() {
                    return zone;
                }

                @Override
                public Clock withZone(ZoneId other) {
                    return hostClock(other);
                }
            };
        }

        /** The database answering in the middle of a round trip of {@code trip}. */
        Instant answer(Duration trip) {
            nanos += trip.toNanos() / 2;
            Instant at = now();
            nanos += trip.toNanos() - trip.toNanos() / 2;
            return at;
        }

        DatabaseClock clock(java.util.function.Supplier<Instant> database) {
            return new DatabaseClock(host, () -> nanos, database);
        }
    }

    @Test
    void beforeAnyMeasurementItIsTheHostsClock() {
        World w = new World();
        w.hostSkew = Duration.ofMinutes(3);
        DatabaseClock clock = w.clock(() -> {
            throw new IllegalStateException("database down");
        });
        assertThat(clock.sync()).isFalse();
        assertThat(clock.synced()).isFalse();
        assertThat(clock.sinceSync()).isNull();
        assertThat(clock.instant()).isEqualTo(w.now().plusSeconds(180));
        assertThat(clock.offset()).isZero();
    }

    @Test
    void aHostAheadOrBehindReadsTheDatabasesTimeAfterASync() {
        for (Duration skew : new Duration[] {Duration.ofMinutes(10), Duration.ofMinutes(-10), Duration.ofMillis(3),
            Duration.ofNanos(-1_500_000)}) {
            World w = new World();
            w.hostSkew = skew;
            DatabaseClock clock = w.clock(() -> w.answer(Duration.ofMillis(4)));
            assertThat(clock.sync()).isTrue();
            assertThat(clock.offset()).as("offset for a host %s ahead", skew).isEqualTo(skew.negated());
            w.nanos += 7_777_777;
            assertThat(clock.instant()).isEqualTo(w.now());
            assertThat(clock.millis()).as("millis as instant's, for %s", skew).isEqualTo(w.now().toEpochMilli());
        }
    }

    @Test
    void aStepOfTheHostsClockAfterASyncMovesNothing() {
        World w = new World();
        DatabaseClock clock = w.clock(() -> w.answer(Duration.ofMillis(2)));
        clock.sync();
        w.nanos += 1_000_000_000L;
        w.hostSkew = Duration.ofHours(1); // NTP steps the host's clock
        assertThat(clock.instant()).isEqualTo(w.now());
        // the next sync reports the new offset, and the time stays the database's
        assertThat(clock.sync()).isTrue();
        assertThat(clock.offset()).isEqualTo(Duration.ofHours(-1));
        assertThat(clock.instant()).isEqualTo(w.now());
    }

    @Test
    void theSampleWithTheShortestRoundTripDecides() {
        World w = new World();
        // Three samples: round trips of 300, 10 and 100 ms; the database answers at the very start of each, so taking
        // the middle is off by half the round trip: least for the 10 ms one.
        Deque<Duration> trips = new ArrayDeque<>(List.of(Duration.ofMillis(300), Duration.ofMillis(10),
                Duration.ofMillis(100)));
        AtomicInteger asked = new AtomicInteger();
        DatabaseClock clock = w.clock(() -> {
            asked.incrementAndGet();
            Instant at = w.now();
            w.nanos += trips.poll().toNanos();
            return at;
        });
        assertThat(clock.sync()).isTrue();
        assertThat(asked).hasValue(DatabaseClock.SAMPLES);
        assertThat(clock.instant()).isEqualTo(w.now().minusMillis(5));
    }

    @Test
    void answersSlowerThanTheBoundAreNotUsedAndAFailureKeepsTheLastMeasurement() {
        World w = new World();
        Duration[] trip = {Duration.ofMillis(2)};
        boolean[] down = {false};
        DatabaseClock clock = w.clock(() -> {
            if (down[0]) {
                throw new IllegalStateException("connection refused");
            }
            return w.answer(trip[0]).plusSeconds(30); // the database's clock 30 s ahead of true time
        });
        assertThat(clock.sync()).isTrue();
        // The database stalls: every answer takes longer than the bound, so nothing is learnt from them.
        trip[0] = DatabaseClock.MAX_ROUND_TRIP.plusMillis(2);
        assertThat(clock.sync()).isFalse();
        assertThat(clock.instant()).isEqualTo(w.now().plusSeconds(30));
        down[0] = true;
        w.nanos += 40_000_000_000L;
        for (int i = 0; i < DatabaseClock.WARN_FAILURES + 1; i++) {
            assertThat(clock.sync()).isFalse();
        }
        assertThat(clock.instant()).isEqualTo(w.now().plusSeconds(30));
        assertThat(clock.synced()).isTrue();
        assertThat(clock.sinceSync()).isGreaterThan(Duration.ofSeconds(40));
        down[0] = false;
        trip[0] = Duration.ofMillis(2);
        assertThat(clock.sync()).isTrue();
        assertThat(clock.sinceSync()).isLessThan(Duration.ofMillis(10)); // the middle of the first of the 3 samples
    }

    @Test
    void aSyncKeepsItsGoodSamplesWhenOthersAreTooSlowOrFail() {
        World w = new World();
        // a slow answer, then a fast one (5 s ahead), then the database goes away mid-sync
        Deque<Object> answers = new ArrayDeque<>(List.of(DatabaseClock.MAX_ROUND_TRIP.plusMillis(1),
                Duration.ofMillis(2), "down"));
        DatabaseClock clock = w.clock(() -> {
            Object next = answers.poll();
            if (next instanceof Duration trip) {
                return w.answer(trip).plusSeconds(5);
            }
            throw new IllegalStateException("connection reset");
        });
        assertThat(clock.sync()).isTrue();
        assertThat(answers).isEmpty();
        assertThat(clock.instant()).isEqualTo(w.now().plusSeconds(5));
    }

    @Test
    void aZonedViewReadsTheSameTime() {
        World w = new World();
        DatabaseClock clock = w.clock(() -> w.answer(Duration.ofMillis(2)).plusSeconds(90));
        clock.sync();
        Clock zoned = clock.withZone(ZoneId.of("Europe/Zurich"));
        assertThat(zoned.getZone()).isEqualTo(ZoneId.of("Europe/Zurich"));
        assertThat(zoned.instant()).isEqualTo(w.now().plusSeconds(90));
    }
}
