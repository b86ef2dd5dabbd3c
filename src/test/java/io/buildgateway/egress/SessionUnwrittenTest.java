package io.buildgateway.egress;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A fetch, tunnel or refusal whose record and audit event cannot be written (the database away) is kept and written
 * later, in order, not dropped with a log line (a review's finding, 2026-12-07).
 */
class SessionUnwrittenTest {

    private final AtomicBoolean down = new AtomicBoolean(true);
    private final List<Long> written = new ArrayList<>();
    private final AtomicInteger unwritten = new AtomicInteger();
    private final AtomicInteger lost = new AtomicInteger();

    private final EgressRecords records = new EgressRecords(null, null, null, null) {
        @Override
        void fetched(UUID build, long seq, EgressRecord.Fetch f) {
            write(seq);
        }

        @Override
        void tunnelled(UUID build, long seq, EgressRecord.Tunnel t) {
            write(seq);
        }

        @Override
        void refused(UUID build, long seq, EgressRecord.Refusal r, String team, String policyDigest) {
            write(seq);
        }

        private void write(long seq) {
            if (down.get()) {
                throw new IllegalStateException("Failed to obtain JDBC Connection");
            }
            written.add(seq);
        }
    };

    private Session session() {
        EgressGrant grant = new EgressGrant(UUID.randomUUID(), "payments", "sha256:p", List.of("https://example.org/"),
                false, Map.of(), Set.of());
        return new Session(grant, "secret", Allowlist.of(grant.allow()), line -> { }, records, Clock.systemUTC(),
                "http://x", build -> { }, () -> null, Duration.ofSeconds(1), unwritten::incrementAndGet,
                lost::incrementAndGet);
    }

    @Test
    void recordsWrittenWhileTheDatabaseIsAwayAreWrittenLaterInOrder() {
        Session session = session();
        session.fetched("https://example.org/a", 200, 1, "sha256:a");
        session.refused("https://evil.example/", Allowlist.NOT_ALLOWED);
        assertThat(written).isEmpty();
        assertThat(unwritten.get()).isEqualTo(2);

        down.set(false);
        session.tunnelled("example.org", 443, 1, 2, java.time.Instant.now());

        assertThat(written).containsExactly(1L, 2L, 3L);
        session.close();
        assertThat(lost.get()).isZero();
    }

    @Test
    void whatIsStillUnwrittenAtCloseIsWrittenThenOrCountedLost() {
        Session session = session();
        session.fetched("https://example.org/a", 200, 1, "sha256:a");
        down.set(false);

        session.close();

        assertThat(written).containsExactly(1L);
        assertThat(lost.get()).isZero();
    }
}
