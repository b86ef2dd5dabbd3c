package io.buildgateway.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The hash chain as a pure function: no Spring, no database. */
class AuditChainTest {

    private static List<AuditEvent> chain(int n) {
        List<AuditEvent> events = new ArrayList<>();
        String prev = AuditChain.GENESIS;
        for (int i = 1; i <= n; i++) {
            AuditEvent unsigned = new AuditEvent(i, Instant.parse("2026-01-01T00:00:00Z").plusSeconds(i), "alice",
                    "build.queued", "build/" + i, "SUCCESS", "127.0.0.1", "req-" + i,
                    CanonicalJson.write(Map.of("n", i, "b", List.of("x", "y"))), null, prev);
            String hash = AuditChain.hash(prev, unsigned);
            events.add(withHash(unsigned, hash));
            prev = hash;
        }
        return events;
    }

    private static AuditEvent withHash(AuditEvent e, String hash) {
        return new AuditEvent(e.seq(), e.at(), e.actor(), e.action(), e.target(), e.outcome(), e.sourceIp(),
                e.requestId(), e.details(), hash, e.prevHash());
    }

    private static AuditChain.Verifier verify(List<AuditEvent> events) {
        AuditChain.Verifier v = new AuditChain.Verifier();
        events.forEach(v::accept);
        return v;
    }

    @Test
    void anIntactChainVerifiesAndReportsItsHead() {
        List<AuditEvent> events = chain(5);

        AuditChain.Verifier v = verify(events);

        assertThat(v.valid()).isTrue();
        assertThat(v.events()).isEqualTo(5);
        assertThat(v.head()).isEqualTo(events.get(4).hash());
    }

    @Test
    void aChangedFieldIsFoundAtItsSequence() {
        List<AuditEvent> events = chain(5);
        AuditEvent e = events.get(2);
        events.set(2, new AuditEvent(e.seq(), e.at(), "mallory", e.action(), e.target(), e.outcome(), e.sourceIp(),
                e.requestId(), e.details(), e.hash(), e.prevHash()));

        AuditChain.Verifier v = verify(events);

        assertThat(v.valid()).isFalse();
        assertThat(v.firstBrokenSeq()).isEqualTo(3);
    }

    @Test
    void aRemovedEventIsAGap() {
        List<AuditEvent> events = chain(5);
        events.remove(1);

        AuditChain.Verifier v = verify(events);

        assertThat(v.firstBrokenSeq()).isEqualTo(2);
        assertThat(v.reason()).contains("gap");
    }

    @Test
    void aRehashedEventStillBreaksTheNextLink() {
        List<AuditEvent> events = chain(4);
        AuditEvent e = events.get(1);
        AuditEvent forged = new AuditEvent(e.seq(), e.at(), e.actor(), "token.issued", e.target(), e.outcome(),
                e.sourceIp(), e.requestId(), e.details(), null, e.prevHash());
        events.set(1, withHash(forged, AuditChain.hash(e.prevHash(), forged)));

        assertThat(verify(events).firstBrokenSeq()).isEqualTo(3);
    }

    @Test
    void canonicalJsonSortsKeysAndEscapesControlCharacters() {
        assertThat(CanonicalJson.write(Map.of("b", 1, "a", List.of(true, "q\"\n\u0001"))))
                .isEqualTo("{\"a\":[true,\"q\\\"\\n\\u0001\"],\"b\":1}");
    }
}
