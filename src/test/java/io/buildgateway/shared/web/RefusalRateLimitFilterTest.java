package io.buildgateway.shared.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.shared.AuditRecord;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.mock.web.MockHttpServletRequest;
import tools.jackson.databind.json.JsonMapper;

/**
 * A window's {@code request.rate-limited} aggregate that cannot be written (the database away) is kept and written at
 * a later flush: the refusals it counts are in no individual event, so dropping it would hide them (docs/audit.md:
 * every refusal is in exactly one count).
 */
class RefusalRateLimitFilterTest {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final int LIMIT = 5;

    private final List<AuditRecord> published = new CopyOnWriteArrayList<>();
    private final AtomicInteger failPublishing = new AtomicInteger();
    private final AtomicInteger tries = new AtomicInteger();
    private volatile boolean connectionRefused;
    private final ApplicationEventPublisher events = event -> {
        tries.incrementAndGet();
        if (failPublishing.getAndDecrement() > 0) {
            throw connectionRefused ? new org.springframework.dao.DataAccessResourceFailureException("away",
                    new java.sql.SQLTransientConnectionException("connection refused"))
                    : new IllegalStateException("database away");
        }
        published.add((AuditRecord) event);
    };
    private Instant now = T0;
    private final Clock clock = new Clock() {
        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    };

    private RefusalRateLimitFilter filter(int maxSources) {
        ProblemResponses problems = new ProblemResponses(JsonMapper.builder().build(), events, null,
                new RefusalSummaries(events, clock));
        return new RefusalRateLimitFilter(new RefusalLimitProperties(LIMIT, Duration.ofSeconds(10), maxSources,
                Duration.ofSeconds(1)), problems, events, clock);
    }

    private static MockHttpServletRequest from(String address) {
        MockHttpServletRequest request = new MockHttpServletRequest("GET", "/api/v1/builds");
        request.setRemoteAddr(address);
        return request;
    }

    @Test
    void anAggregateThatCouldNotBeWrittenIsKeptAndWrittenAtTheNextFlushOnce() {
        RefusalRateLimitFilter filter = filter(100);
        int n = 12;
        for (int i = 0; i < n; i++) {
            filter.auditIndividually(from("10.0.0.9"));
        }
        now = T0.plusSeconds(10);
        failPublishing.set(1);
        filter.flushEndedWindows();
        assertThat(published).isEmpty();

        // The database is back.
        filter.flushEndedWindows();
        filter.flushEndedWindows();

        assertThat(published).singleElement().satisfies(r -> {
            assertThat(r.action()).isEqualTo("request.rate-limited");
            assertThat(r.target()).isEqualTo("source/10.0.0.9");
            assertThat(new java.util.HashMap<String, Object>(r.details()))
                    .containsEntry("count", (long) (n - LIMIT)).containsEntry("refusals", (long) n)
                    .containsEntry("windowStart", T0.toString())
                    .containsEntry("windowEnd", T0.plusSeconds(10).toString());
        });
    }

    @Test
    void keptAggregatesAreBoundedAndEveryRefusalStaysInExactlyOneCount() {
        RefusalRateLimitFilter filter = filter(2);
        // Three windows of two sources, none of which can be written: what is kept joins per source, and beyond
        // maxSources kept sources under the overflow source, so memory stays bounded.
        failPublishing.set(Integer.MAX_VALUE);
        long expected = 0;
        for (int window = 0; window < 3; window++) {
            for (String source : List.of("10.0.0." + window, "10.0.1." + window)) {
                for (int i = 0; i < LIMIT + 2; i++) {
                    filter.auditIndividually(from(source));
                }
                expected += 2;
            }
            now = now.plusSeconds(10);
            filter.flushEndedWindows();
        }
        assertThat(published).isEmpty();

        failPublishing.set(0);
        filter.flushEndedWindows();
        filter.flushEndedWindows();

        assertThat(published).as("two kept sources and the overflow").hasSize(3).allSatisfy(r -> assertThat(r.action()).isEqualTo("request.rate-limited"));
        assertThat(published.stream().mapToLong(r -> (Long) r.details().get("count")).sum()).isEqualTo(expected);
        assertThat(published.stream().mapToLong(r -> (Long) r.details().get("refusals")).sum())
                .isEqualTo(6L * (LIMIT + 2));
    }

    /**
     * The database away (no connection): after the first aggregate fails, the others are kept without being tried,
     * each try being a wait for a connection on the scheduler's one thread (a review's find, 2026-12-07). All are
     * written once it is back.
     */
    @Test
    void withTheDatabaseAwayOnlyTheFirstAggregateIsTriedAndAllAreWrittenLater() {
        RefusalRateLimitFilter filter = filter(100);
        for (String source : List.of("10.0.2.1", "10.0.2.2", "10.0.2.3")) {
            for (int i = 0; i < LIMIT + 1; i++) {
                filter.auditIndividually(from(source));
            }
        }
        now = T0.plusSeconds(10);
        connectionRefused = true;
        failPublishing.set(Integer.MAX_VALUE);
        tries.set(0);
        filter.flushEndedWindows();
        assertThat(tries.get()).as("tries while the database is away").isEqualTo(1);

        failPublishing.set(0);
        filter.flushEndedWindows();
        assertThat(published).hasSize(3).allSatisfy(r -> assertThat(r.details().get("count")).isEqualTo(1L));
    }
}
