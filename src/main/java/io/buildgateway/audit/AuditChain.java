package io.buildgateway.audit;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;

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

    private static final byte[] HEX_DIGITS = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] GENESIS_BYTES = GENESIS.getBytes(StandardCharsets.US_ASCII);

    /** Whether the event's stored hash is {@code hex(SHA-256(its stored prevHash ‖ canonical))}, from its bytes. */
    static boolean hashMatches(RawEvent e) {
        byte[] stored = e.hash();
        if (stored == null || stored.length != 64 || e.prevHash() == null) {
            return false;
        }
        Scratch s = SCRATCH.get();
        CanonicalBytes b = s.bytes.reset().bytes(e.prevHash()).event(e);
        s.sha.reset();
        s.sha.update(b.buffer(), 0, b.length());
        byte[] d = s.sha.digest();
        for (int i = 0; i < 32; i++) {
            if (stored[2 * i] != HEX_DIGITS[(d[i] >> 4) & 0xf] || stored[2 * i + 1] != HEX_DIGITS[d[i] & 0xf]) {
                return false;
            }
        }
        return true;
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
     * The same verification as {@link Verifier}, on events read as bytes ({@link RawEvent}) and with the hashing on
     * other threads: the caller's thread checks the sequence numbers and links ({@code prevHash} = the previous event's
     * stored hash) in order, and hands events in batches to the executor, whose tasks check {@code hash =
     * SHA-256(prevHash ‖ canonical)} for each. Because every event before the first break has its stored hash equal
     * to the computed one, the first break, its reason and the head are the sequential verifier's (AuditFormatsTest
     * compares the two). At most {@code inFlight} batches exist at a time, so memory stays constant; events after a
     * break in the links are not hashed.
     */
    public static final class ParallelVerifier implements Result {
        private final Executor executor;
        private final int batchSize;
        private final Semaphore inFlight;
        private final int permits;
        private List<RawEvent> batch;
        private byte[] prevStored;
        private byte[] firstPrevHash;
        private long expectedSeq;
        private long firstSeq = -1;
        private long events;
        private long lastSeq;
        private Long linkBrokenSeq;
        private String linkReason;
        private byte[] linkHead;
        private Long contentBrokenSeq;
        private byte[] contentHead;
        private RuntimeException failure;
        private boolean finished;

        public ParallelVerifier(Executor executor, int batchSize, int inFlight) {
            this(executor, batchSize, inFlight, 1, GENESIS_BYTES);
        }

        /**
         * A verifier of the part of the chain from {@code startSeq}; {@code startPrevHash} is the stored hash of the
         * event before it, or null when another verifier reads that part (then the first event's link is not checked
         * here: see {@link #firstPrevHash()}).
         */
        ParallelVerifier(Executor executor, int batchSize, int inFlight, long startSeq,
                byte[] startPrevHash) {
            this.executor = executor;
            this.expectedSeq = startSeq;
            this.prevStored = startPrevHash;
            this.batchSize = batchSize;
            this.permits = inFlight;
            this.inFlight = new Semaphore(inFlight);
            this.batch = new ArrayList<>(batchSize);
        }

        /** On the caller's thread, in sequence order. */
        void accept(RawEvent event) {
            if (events++ == 0) {
                firstSeq = event.seq();
            }
            lastSeq = Math.max(lastSeq, event.seq());
            if (linkBrokenSeq != null) {
                return;
            }
            if (event.seq() != expectedSeq) {
                linkBroken(expectedSeq, "sequence gap: expected " + expectedSeq + ", found " + event.seq());
                return;
            }
            if (prevStored == null) {
                firstPrevHash = event.prevHash(); // the link to the previous part, checked by the caller
            } else if (!Arrays.equals(prevStored, event.prevHash())) {
                linkBroken(event.seq(), "prevHash does not match the hash of event " + (event.seq() - 1));
                return;
            }
            prevStored = event.hash() == null ? new byte[0] : event.hash();
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
            List<RawEvent> work = batch;
            batch = new ArrayList<>(batchSize);
            inFlight.acquireUninterruptibly();
            try {
                executor.execute(() -> {
                    try {
                        for (RawEvent e : work) {
                            if (!hashMatches(e)) {
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

        private synchronized void contentBroken(long seq, byte[] head) {
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

        /** Waits for the hashing of everything accepted; call after the last event. */
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

        /** The seq of the first event read (-1 when none). */
        long firstSeq() {
            return firstSeq;
        }

        /** The seq the next event would have had (one past the last event of the unbroken part). */
        long nextSeq() {
            return expectedSeq;
        }

        /** The first event's stored prevHash when this verifier was started without one. */
        byte[] firstPrevHash() {
            return firstPrevHash;
        }

        /** The stored hash of the last event accepted before any break in the links. */
        byte[] lastStoredHash() {
            return prevStored;
        }

        private boolean contentFirst() {
            return contentBrokenSeq != null && (linkBrokenSeq == null || contentBrokenSeq < linkBrokenSeq);
        }

        @Override
        public synchronized boolean valid() {
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
            byte[] head = contentFirst() ? contentHead : linkBrokenSeq != null ? linkHead : prevStored;
            return head == null ? null : new String(head, StandardCharsets.UTF_8);
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

    /** A part of the chain, {@code from} to {@code to} (inclusive), checked by its own finished verifier. */
    record Part(long from, long to, ParallelVerifier verifier) {
    }

    /**
     * Joins the results of consecutive parts (the first from seq 1 with the genesis as its previous hash, the others
     * started without one) into the result one verifier over the whole chain would have given: the first part with a
     * break decides, where a break may also be at a part's start (its first event does not link to the previous
     * part's last) or at a part's end (the previous part stopped short of its last seq: a gap).
     */
    static Result combine(List<Part> parts) {
        long events = 0;
        long lastSeq = 0;
        for (Part p : parts) {
            events += p.verifier().events();
            lastSeq = Math.max(lastSeq, p.verifier().lastSeq());
        }
        byte[] prevLast = GENESIS_BYTES;
        for (int i = 0; i < parts.size(); i++) {
            Part p = parts.get(i);
            ParallelVerifier v = p.verifier();
            String previous = new String(prevLast, StandardCharsets.UTF_8);
            if (i > 0) {
                Part before = parts.get(i - 1);
                boolean more = !"nothing".equals(firstSeqFrom(parts, i));
                if (!more) {
                    break; // the chain ends in an earlier part: nothing follows that could be out of place
                }
                if (before.verifier().nextSeq() != p.from()) { // the previous part ended short of its last seq
                    long expected = before.verifier().nextSeq();
                    return new Combined(events, lastSeq, previous, expected, "sequence gap: expected " + expected
                            + ", found " + firstSeqFrom(parts, i));
                }
                if (v.firstPrevHash() != null && !Arrays.equals(v.firstPrevHash(), prevLast)) {
                    return new Combined(events, lastSeq, previous, p.from(), "prevHash does not match the hash of"
                            + " event " + (p.from() - 1));
                }
            }
            if (v.firstBrokenSeq() != null) {
                return new Combined(events, lastSeq, v.head() != null ? v.head() : previous, v.firstBrokenSeq(),
                        v.reason());
            }
            if (v.events() > 0) {
                prevLast = v.lastStoredHash();
            }
        }
        return new Combined(events, lastSeq, new String(prevLast, StandardCharsets.UTF_8), null, null);
    }

    private static String firstSeqFrom(List<Part> parts, int i) {
        for (int j = i; j < parts.size(); j++) {
            if (parts.get(j).verifier().events() > 0) {
                return Long.toString(parts.get(j).verifier().firstSeq());
            }
        }
        return "nothing";
    }

    private record Combined(long events, long lastSeq, String head, Long firstBrokenSeq, String reason)
            implements Result {
        @Override
        public boolean valid() {
            return firstBrokenSeq == null;
        }
    }
}
