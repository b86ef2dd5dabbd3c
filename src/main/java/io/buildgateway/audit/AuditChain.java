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

    /** One digest per thread: verification hashes every event of the chain. */
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    });

    public static String hash(String prevHash, AuditEvent event) {
        MessageDigest sha = SHA256.get();
        sha.reset();
        sha.update(prevHash.getBytes(StandardCharsets.US_ASCII));
        sha.update(event.canonical().getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Feeds events in sequence order; remembers the first break. */
    public static final class Verifier {
        private String head = GENESIS;
        private long expectedSeq = 1;
        private long events;
        private long lastSeq;
        private Long firstBrokenSeq;
        private String reason;

        public void accept(AuditEvent event) {
            events++;
            lastSeq = Math.max(lastSeq, event.seq());
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

        /** The highest sequence number seen (0 for an empty chain). */
        public long lastSeq() {
            return lastSeq;
        }

        /** The hash of the last event of the unbroken prefix of the chain (the genesis when it is empty). */
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
