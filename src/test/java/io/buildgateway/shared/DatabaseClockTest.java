package io.buildgateway.shared;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DatabaseClockTest {

    /** A host clock that moves only when told, and by a set step on each read when asked to. */
    static final class HostTime extends Clock {
        Instant now = Instant.parse("2026-12-06T12:00:00Z");
        /** Added after each read: the time a round trip takes, split over the reads around it. */
        final Deque<Duration> steps = new ArrayDeque<>();

        @Override
        public Instant instant() {
            Instant read = now;
            Duration step = steps.poll();
            if (step != null) {
                now = now.plus(step);
            }
            return read;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void beforeAnyMeasurementItIsTheHostsClock() {
        HostTime host = new HostTime();
        DatabaseClock clock = new DatabaseClock(host, () -> {
            throw new IllegalStateException("database down");
        });
        assertThat(clock.sync()).isFalse();
        assertThat(clock.synced()).isFalse();
        assertThat(clock.instant()).isEqualTo(host.now);
        assertThat(clock.offset()).isZero();
    }

    @Test
    void aHostAheadOrBehindReadsTheDatabasesTimeAfterASync() {
        for (Duration skew : new Duration[] {Duration.ofMinutes(10), Duration.ofMinutes(-10), Duration.ofMillis(3)}) {
            HostTime host = new HostTime();
            // The database answers in the middle of a 4 ms round trip: its time is the host's minus the skew.
            DatabaseClock clock = new DatabaseClock(host, () -> {
                host.now = host.now.plusMillis(2);
                Instant db = host.now.minus(skew);
                host.now = host.now.plusMillis(2);
                return db;
            });
            assertThat(clock.sync()).isTrue();
            assertThat(clock.offset()).as("offset for a host %s ahead", skew).isEqualTo(skew.negated());
            assertThat(clock.instant()).isEqualTo(host.now.minus(skew));
            assertThat(clock.millis()).isEqualTo(host.now.minus(skew).toEpochMilli());
        }
    }

    @Test
    void theSampleWithTheShortestRoundTripDecides() {
        HostTime host = new HostTime();
        Instant db = Instant.parse("2026-12-06T12:05:00Z");
        // Three samples: round trips of 300, 10 and 100 ms; the database answers at the very start of each, so the
        // midpoint guess is off by half the round trip: least for the 10 ms one.
        Deque<Duration> trips = new ArrayDeque<>(java.util.List.of(Duration.ofMillis(300), Duration.ofMillis(10),
                Duration.ofMillis(100)));
        AtomicInteger asked = new AtomicInteger();
        DatabaseClock clock = new DatabaseClock(host, () -> {
            asked.incrementAndGet();
            Instant answer = db.plus(Duration.between(Instant.parse("2026-12-06T12:00:00Z"), host.now));
            host.now = host.now.plus(trips.poll());
            return answer;
        });
        assertThat(clock.sync()).isTrue();
        assertThat(asked).hasValue(DatabaseClock.SAMPLES);
        // the true offset is +5 min; the 10 ms sample guesses 5 ms less
        assertThat(clock.offset()).isEqualTo(Duration.ofMinutes(5).minusMillis(5));
    }

    @Test
    void answersSlowerThanTheBoundAreNotUsedAndAFailureKeepsTheLastOffset() {
        HostTime host = new HostTime();
        Duration[] trip = {Duration.ofMillis(2)};
        boolean[] down = {false};
        DatabaseClock clock = new DatabaseClock(host, () -> {
            if (down[0]) {
                throw new IllegalStateException("connection refused");
            }
            Instant answer = host.now.plusSeconds(30).plus(trip[0].dividedBy(2));
            host.now = host.now.plus(trip[0]);
            return answer;
        });
        assertThat(clock.sync()).isTrue();
        assertThat(clock.offset()).isEqualTo(Duration.ofSeconds(30));
        // The database stalls: every answer takes longer than the bound, so nothing is learnt from them.
        trip[0] = DatabaseClock.MAX_ROUND_TRIP.plusMillis(2);
        assertThat(clock.sync()).isFalse();
        assertThat(clock.offset()).isEqualTo(Duration.ofSeconds(30));
        down[0] = true;
        assertThat(clock.sync()).isFalse();
        assertThat(clock.offset()).isEqualTo(Duration.ofSeconds(30));
        assertThat(clock.synced()).isTrue();
    }

    @Test
    void aZonedViewReadsTheSameCorrectedTime() {
        HostTime host = new HostTime();
        DatabaseClock clock = new DatabaseClock(host, () -> host.now.plusSeconds(90));
        clock.sync();
        Clock zoned = clock.withZone(ZoneId.of("Europe/Zurich"));
        assertThat(zoned.getZone()).isEqualTo(ZoneId.of("Europe/Zurich"));
        assertThat(zoned.instant()).isEqualTo(host.now.plusSeconds(90));
    }
}
