package io.buildgateway.audit;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The hash chain as pure functions: {@code hash = SHA-256(prevHash ‖ canonical event)}, with a genesis of 64 zeros.
 * {@link Verifier} checks a stream of events in constant memory.
 */
public final class AuditChain {

    public static final String GENESIS = "0".repeat(64);

    private AuditChain() {
    }

    public static String hash(String prevHash, AuditEvent event) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(prevHash.getBytes(StandardCharsets.US_ASCII));
            sha.update(event.canonical().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }

    /** Feeds events in sequence order; remembers the first break. */
    public static final class Verifier {
        private String head = GENESIS;
        private long expectedSeq = 1;
        private long events;
        private Long firstBrokenSeq;
        private String reason;

        public void accept(AuditEvent event) {
            events++;
            if (firstBrokenSeq != null) {
                return;
            }
            if (event.seq() != expectedSeq) {
                fail(expectedSeq, "sequence gap: expected " + expectedSeq + ", found " + event.seq());
                return;
            }
            if (!head.equals(event.prevHash())) {
                fail(event.seq(), "prevHash does not match the hash of event " + (event.seq() - 1));
                return;
            }
            String computed = hash(head, event);
            if (!computed.equals(event.hash())) {
                fail(event.seq(), "content does not match its hash");
                return;
            }
            head = computed;
            expectedSeq++;
        }

        private void fail(long seq, String why) {
            firstBrokenSeq = seq;
            reason = why;
        }

        public boolean valid() {
            return firstBrokenSeq == null;
        }

        public long events() {
            return events;
        }

        public String head() {
            return head;
        }

        public Long firstBrokenSeq() {
            return firstBrokenSeq;
        }

        public String reason() {
            return reason;
        }
    }
}
