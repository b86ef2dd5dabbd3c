package io.buildgateway.audit;

import io.buildgateway.shared.DaemonThreads;
import io.buildgateway.shared.Problem;
import io.buildgateway.signing.GatewayKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Verifies the whole trail in constant memory: streams the chain through {@link AuditChain.Verifier}, then compares it,
 * in the same snapshot, with every signed checkpoint in the {@code audit_checkpoint} table and in the checkpoint file.
 * A checkpoint that disagrees with the chain is either forged (its signature does not verify: the evidence was
 * tampered with) or proves that the chain lost or replaced events: beyond the chain's end (the tail was truncated,
 * {@code firstBrokenSeq} = the first missing seq) or at a seq whose event is no longer the one signed
 * ({@code firstBrokenSeq} = the first seq after the last checkpoint that still agrees). One verification runs at a
 * time per replica; while its thread reads, {@link AuditChain.ParallelVerifier} hashes on the other processors.
 */
@Component
class AuditVerification {

    private static final Logger log = LoggerFactory.getLogger(AuditVerification.class);
    private static final int LOOKUP_BATCH = 1000;
    private static final int HASH_BATCH = 1000;
    /** Threads that hash while the readers read. */
    private static final int HASHERS = Math.max(1, Runtime.getRuntime().availableProcessors());
    private static final int IN_FLIGHT = 2 * HASHERS + 2;
    /** Connections that read ranges of the chain at once, each range at least {@link #minPerReader} events. */
    private static final int READERS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

    private final DataSource dataSource;
    private final GatewayKey key;
    private final AuditCheckpoints checkpoints;
    private final Semaphore running = new Semaphore(1);
    private final ExecutorService hashers = Executors.newFixedThreadPool(HASHERS, DaemonThreads.named("audit-verify-hash"));
    private final ExecutorService readerPool = Executors.newCachedThreadPool(DaemonThreads.named("audit-verify-read"));
    private volatile long minPerReader = 100_000;

    AuditVerification(DataSource dataSource, GatewayKey key, AuditCheckpoints checkpoints) {
        this.dataSource = dataSource;
        this.key = key;
        this.checkpoints = checkpoints;
    }

    /** Below this many events per connection, one connection reads the whole chain (tests lower it). */
    void minPerReader(long events) {
        this.minPerReader = Math.max(1, events);
    }

    Verification verify() {
        if (!running.tryAcquire()) {
            throw new Problem(429, "verification-running", "Too Many Requests", "a verification of the audit trail"
                    + " is already running on this gateway replica; try again when it has ended")
                    .with("retryAfterSeconds", 5);
        }
        try {
            Verification v = ChainReader.inSnapshot(dataSource, this::verify);
            if (!v.valid()) {
                log.error("audit trail verification failed: first broken seq {}: {}", v.firstBrokenSeq(), v.reason());
            }
            return v;
        } catch (SQLException e) {
            throw new IllegalStateException("reading the audit trail failed: " + e.getMessage(), e);
        } finally {
            running.release();
        }
    }

    /**
     * Reads the chain with up to {@link #READERS} connections at once, each a range of seqs in the snapshot this
     * transaction exports (so all see the same state), each range through its own {@link
     * AuditChain.ParallelVerifier}; {@link AuditChain#combine} joins them as one sequential pass would have.
     * {@code hash} false reads the same rows the same way without verifying them (the bench's baseline).
     */
    AuditChain.Result readChain(Connection c, boolean hash) throws SQLException {
        long max;
        try (PreparedStatement ps = c.prepareStatement("select coalesce(max(seq), 0) from audit_event");
                ResultSet rs = ps.executeQuery()) {
            rs.next();
            max = rs.getLong(1);
        }
        int n = (int) Math.max(1, Math.min(READERS, max / minPerReader));
        String snapshot = null;
        if (n > 1) {
            try (PreparedStatement ps = c.prepareStatement("select pg_export_snapshot()");
                    ResultSet rs = ps.executeQuery()) {
                rs.next();
                snapshot = rs.getString(1);
            }
        }
        long size = (max + n - 1) / n;
        List<AuditChain.Part> parts = new ArrayList<>();
        List<Future<Long>> others = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long from = i * size + 1;
            long to = i == n - 1 ? Long.MAX_VALUE : (i + 1) * size;
            AuditChain.ParallelVerifier v = i == 0
                    ? new AuditChain.ParallelVerifier(hashers, HASH_BATCH, IN_FLIGHT)
                    : new AuditChain.ParallelVerifier(hashers, HASH_BATCH, IN_FLIGHT, from, null);
            parts.add(new AuditChain.Part(from, to, v));
            Consumer<RawEvent> sink = hash ? v::accept : e -> { };
            if (i > 0) {
                String shared = snapshot;
                others.add(readerPool.submit(() -> ChainReader.inSnapshot(dataSource, shared,
                        conn -> ChainReader.forEachRaw(conn, from - 1, to, sink))));
            }
        }
        long read = ChainReader.forEachRaw(c, 0, parts.get(0).to(), hash ? parts.get(0).verifier()::accept
                : e -> { });
        for (Future<Long> f : others) {
            try {
                read += f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while verifying the audit trail", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof SQLException sql) {
                    throw sql;
                }
                throw new IllegalStateException("reading the audit trail failed: " + e.getCause(), e.getCause());
            }
        }
        for (AuditChain.Part p : parts) {
            p.verifier().finish();
        }
        return hash ? AuditChain.combine(parts) : new Counted(read);
    }

    /** Rows read without verifying them. */
    private record Counted(long events) implements AuditChain.Result {
        @Override
        public boolean valid() {
            return true;
        }

        @Override
        public long lastSeq() {
            return 0;
        }

        @Override
        public String head() {
            return null;
        }

        @Override
        public Long firstBrokenSeq() {
            return null;
        }

        @Override
        public String reason() {
            return null;
        }
    }

    private Verification verify(Connection c) throws SQLException {
        AuditChain.Result chain = readChain(c, true);
        Findings findings = new Findings();
        if (!chain.valid()) {
            findings.broken(chain.firstBrokenSeq(), chain.reason());
        }
        Latest table = checkTable(c, chain, findings);
        Latest file = checkpoints.file() == null ? null : checkFile(c, chain, findings);
        // The newest checkpoint of each source must be genuine, even when it agrees with the chain.
        for (Latest latest : new Latest[] {table, file}) {
            if (latest != null && !latest.signed) {
                findings.forged("the newest checkpoint in the " + latest.source + " (seq " + latest.checkpoint.seq()
                        + ") is not signed by this gateway's key " + key.keyId());
            }
        }
        Latest reported = file != null ? file : table;
        Verification.CheckpointStatus status = reported == null ? null
                : new Verification.CheckpointStatus(reported.checkpoint.seq(), reported.checkpoint.hash(),
                        reported.checkpoint.at(), reported.checkpoint.keyId(), reported.source,
                        reported.matches && reported.signed);
        return new Verification(findings.valid(), chain.events(), chain.head(), findings.firstBrokenSeq,
                findings.reason(), status);
    }

    /** The newest checkpoint of a source, and whether the chain agrees with it. */
    private record Latest(String source, Checkpoint checkpoint, boolean matches, boolean signed) {
    }

    /** Streams the table's checkpoints with the chain's hash at each one's seq. */
    private Latest checkTable(Connection c, AuditChain.Result chain, Findings findings) throws SQLException {
        Comparison cmp = new Comparison("table", chain, findings);
        try (PreparedStatement ps = c.prepareStatement("select c.id, c.seq, c.hash, c.payload, c.signature, e.hash"
                + " from audit_checkpoint c left join audit_event e on e.seq = c.seq order by c.seq, c.id",
                ResultSet.TYPE_FORWARD_ONLY, ResultSet.CONCUR_READ_ONLY)) {
            ps.setFetchSize(ChainReader.FETCH_SIZE);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String where = "audit_checkpoint row " + rs.getLong(1);
                    Checkpoint cp;
                    try {
                        cp = Checkpoint.of(rs.getString(4), rs.getString(5));
                    } catch (IllegalArgumentException e) {
                        findings.forged(where + " does not hold a checkpoint payload");
                        continue;
                    }
                    if (cp.seq() != rs.getLong(2) || !cp.hash().equals(rs.getString(3))) {
                        findings.forged(where + " was altered: its seq/hash columns differ from its signed payload");
                        continue;
                    }
                    cmp.compare(cp, rs.getString(6), where);
                }
            }
        }
        return cmp.latest();
    }

    /** Reads the checkpoint file in order, looking the chain's hashes up a batch of lines at a time. */
    private Latest checkFile(Connection c, AuditChain.Result chain, Findings findings) throws SQLException {
        Comparison cmp = new Comparison("file", chain, findings);
        List<Object[]> batch = new ArrayList<>(LOOKUP_BATCH);
        try {
            checkpoints.file().forEach((number, text) -> {
                String where = "checkpoint file " + checkpoints.file().path() + " line " + number;
                try {
                    batch.add(new Object[] {Checkpoint.parseLine(text), where});
                } catch (IllegalArgumentException e) {
                    findings.forged(where + " is not a checkpoint");
                }
                if (batch.size() == LOOKUP_BATCH) {
                    lookUp(c, batch, cmp);
                }
            });
        } catch (IOException e) {
            findings.forged("the checkpoint file " + checkpoints.file().path() + " cannot be read: " + e.getMessage());
        } catch (UncheckedIOException e) {
            throw new IllegalStateException(e);
        }
        lookUp(c, batch, cmp);
        return cmp.latest();
    }

    private static void lookUp(Connection c, List<Object[]> batch, Comparison cmp) {
        if (batch.isEmpty()) {
            return;
        }
        Map<Long, String> hashes = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("select seq, hash from audit_event where seq = any(?)")) {
            Array seqs = c.createArrayOf("bigint", batch.stream().map(b -> ((Checkpoint) b[0]).seq()).toArray());
            ps.setArray(1, seqs);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    hashes.put(rs.getLong(1), rs.getString(2));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("looking up checkpointed events failed: " + e.getMessage(), e);
        }
        for (Object[] b : batch) {
            Checkpoint cp = (Checkpoint) b[0];
            cmp.compare(cp, hashes.get(cp.seq()), (String) b[1]);
        }
        batch.clear();
    }

    /** Compares one source's checkpoints, in their order, with the chain. */
    private final class Comparison {
        private final String source;
        private final long lastSeq;
        private final Long chainBroken;
        private final Findings findings;
        private long lastAgreeing;
        private Checkpoint latest;
        private boolean latestMatches;

        Comparison(String source, AuditChain.Result chain, Findings findings) {
            this.source = source;
            this.lastSeq = chain.lastSeq();
            this.chainBroken = chain.firstBrokenSeq();
            this.findings = findings;
        }

        void compare(Checkpoint cp, String chainHash, String where) {
            latest = cp;
            latestMatches = cp.hash().equals(chainHash);
            if (latestMatches) {
                lastAgreeing = Math.max(lastAgreeing, cp.seq());
                return;
            }
            if (chainBroken != null && chainBroken <= cp.seq() && cp.seq() <= lastSeq) {
                return; // the chain itself is broken at or before this seq: that is the first break
            }
            // The chain disagrees: is the checkpoint genuine? A forged one is tampered evidence, not a broken chain.
            if (!cp.signedBy(key.publicKey())) {
                findings.forged(where + " (seq " + cp.seq() + ") is not signed by this gateway's key " + key.keyId());
                return;
            }
            if (chainHash == null && cp.seq() > lastSeq) {
                findings.broken(lastSeq + 1, "the trail ends at seq " + lastSeq + " but " + where + " signed seq "
                        + cp.seq() + " at " + cp.at() + ": events " + (lastSeq + 1) + " to " + cp.seq()
                        + " were removed");
            } else if (chainHash == null) {
                findings.broken(cp.seq(), "event " + cp.seq() + ", signed by " + where + ", is missing");
            } else {
                findings.broken(lastAgreeing + 1, "event " + cp.seq() + " is not the event " + where + " signed at "
                        + cp.at() + " (hash " + cp.hash() + "): the events after seq " + lastAgreeing
                        + " were replaced");
            }
        }

        Latest latest() {
            return latest == null ? null : new Latest(source, latest, latestMatches,
                    latest.signedBy(key.publicKey()));
        }
    }

    /** The earliest break wins; forged checkpoints make the trail invalid without naming a seq of the chain. */
    private static final class Findings {
        private Long firstBrokenSeq;
        private String brokenReason;
        private String forgedReason;

        void broken(long seq, String why) {
            if (firstBrokenSeq == null || seq < firstBrokenSeq) {
                firstBrokenSeq = seq;
                brokenReason = why;
            }
        }

        void forged(String why) {
            if (forgedReason == null) {
                forgedReason = why;
            }
        }

        boolean valid() {
            return firstBrokenSeq == null && forgedReason == null;
        }

        String reason() {
            return brokenReason != null ? brokenReason : forgedReason;
        }
    }
}
