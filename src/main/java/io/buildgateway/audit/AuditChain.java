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

    /** A digest and a canonical-bytes buffer per thread: verification hashes every event of the chain. */
    private static final class Scratch {
        final MessageDigest sha;
        final CanonicalBytes bytes = new CanonicalBytes();

        Scratch() {
            try {
                sha = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 is required by every Java platform", e);
            }
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);
    private static final HexFormat HEX = HexFormat.of();

    /** {@code hex(SHA-256(prevHash as US-ASCII ‖ canonical(event) as UTF-8))}. */
    public static String hash(String prevHash, AuditEvent event) {
        Scratch s = SCRATCH.get();
        CanonicalBytes b = s.bytes.reset().ascii(prevHash).event(event);
        s.sha.reset();
        s.sha.update(b.buffer(), 0, b.length());
        return HEX.formatHex(s.sha.digest());
    }

    /** The same hash through the documented string form (what {@link #hash} must equal; for tests). */
    static String hashOfStrings(String prevHash, AuditEvent event) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(prevHash.getBytes(StandardCharsets.US_ASCII));
            sha.update(event.canonical().getBytes(StandardCharsets.UTF_8));
            return HEX.formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What a verification found. */
    public interface Result {
        boolean valid();

        long events();

        /** The highest sequence number seen (0 for an empty chain). */
        long lastSeq();

        /** The hash of the last event of the unbroken prefix of the chain (the genesis when it is empty). */
        String head();

        Long firstBrokenSeq();

        String reason();
    }

    /** Feeds events in sequence order; remembers the first break. */
    public static final class Verifier implements Result {
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

        @Override
        public boolean valid() {
            return firstBrokenSeq == null;
        }

        @Override
        public long events() {
            return events;
        }

        @Override
        public long lastSeq() {
            return lastSeq;
        }

        @Override
        public String head() {
            return head;
        }

        @Override
        public Long firstBrokenSeq() {
            return firstBrokenSeq;
        }

        @Override
        public String reason() {
            return reason;
        }
    }

    /**
     * The same verification as {@link Verifier}, with the hashing on other threads: the caller's thread checks the
     * sequence numbers and links ({@code prevHash} = the previous event's stored hash) in order, and hands events in
     * batches to the executor, whose tasks check {@code hash = SHA-256(prevHash ‖ canonical)} for each. Because every
     * event before the first break has its stored hash equal to the computed one, the first break and its reason are
     * the sequential verifier's (AuditFormatsTest compares the two). At most {@code inFlight} batches exist at a
     * time, so memory stays constant; events after a break in the links are not hashed.
     */
    public static final class ParallelVerifier implements Result {
        private final java.util.concurrent.Executor executor;
        private final int batchSize;
        private final java.util.concurrent.Semaphore inFlight;
        private final int permits;
        private java.util.List<AuditEvent> batch;
        private String prevStored = GENESIS;
        private long expectedSeq = 1;
        private long events;
        private long lastSeq;
        private Long linkBrokenSeq;
        private String linkReason;
        private String linkHead;
        private Long contentBrokenSeq;
        private String contentHead;
        private RuntimeException failure;
        private boolean finished;

        public ParallelVerifier(java.util.concurrent.Executor executor, int batchSize, int inFlight) {
            this.executor = executor;
            this.batchSize = batchSize;
            this.permits = inFlight;
            this.inFlight = new java.util.concurrent.Semaphore(inFlight);
            this.batch = new java.util.ArrayList<>(batchSize);
        }

        /** On the caller's thread, in sequence order. */
        public void accept(AuditEvent event) {
            events++;
            lastSeq = Math.max(lastSeq, event.seq());
            if (linkBrokenSeq != null) {
                return;
            }
            if (event.seq() != expectedSeq) {
                linkBroken(expectedSeq, "sequence gap: expected " + expectedSeq + ", found " + event.seq());
                return;
            }
            if (!prevStored.equals(event.prevHash())) {
                linkBroken(event.seq(), "prevHash does not match the hash of event " + (event.seq() - 1));
                return;
            }
            prevStored = event.hash() == null ? "" : event.hash();
            expectedSeq++;
            batch.add(event);
            if (batch.size() == batchSize) {
                submit();
            }
        }

        private void linkBroken(long seq, String why) {
            linkBrokenSeq = seq;
            linkReason = why;
            linkHead = prevStored;
        }

        private void submit() {
            java.util.List<AuditEvent> work = batch;
            batch = new java.util.ArrayList<>(batchSize);
            inFlight.acquireUninterruptibly();
            try {
                executor.execute(() -> {
                    try {
                        for (AuditEvent e : work) {
                            if (!hash(e.prevHash(), e).equals(e.hash())) {
                                contentBroken(e.seq(), e.prevHash());
                                return;
                            }
                        }
                    } catch (RuntimeException e) {
                        failed(e);
                    } finally {
                        inFlight.release();
                    }
                });
            } catch (RuntimeException e) {
                inFlight.release();
                throw e;
            }
        }

        private synchronized void contentBroken(long seq, String head) {
            if (contentBrokenSeq == null || seq < contentBrokenSeq) {
                contentBrokenSeq = seq;
                contentHead = head;
            }
        }

        private synchronized void failed(RuntimeException e) {
            if (failure == null) {
                failure = e;
            }
        }

        /** Waits for the hashing of everything accepted; call once, after the last event. */
        public ParallelVerifier finish() {
            if (!finished) {
                if (!batch.isEmpty()) {
                    submit();
                }
                inFlight.acquireUninterruptibly(permits);
                inFlight.release(permits);
                finished = true;
            }
            synchronized (this) {
                if (failure != null) {
                    throw failure;
                }
            }
            return this;
        }

        private boolean contentFirst() {
            return contentBrokenSeq != null && (linkBrokenSeq == null || contentBrokenSeq < linkBrokenSeq);
        }

        @Override
        public boolean valid() {
            return linkBrokenSeq == null && contentBrokenSeq == null;
        }

        @Override
        public long events() {
            return events;
        }

        @Override
        public long lastSeq() {
            return lastSeq;
        }

        @Override
        public synchronized String head() {
            return contentFirst() ? contentHead : linkBrokenSeq != null ? linkHead : prevStored;
        }

        @Override
        public synchronized Long firstBrokenSeq() {
            return contentFirst() ? contentBrokenSeq : linkBrokenSeq;
        }

        @Override
        public synchronized String reason() {
            return contentFirst() ? "content does not match its hash" : linkReason;
        }
    }
}
