package io.buildgateway.audit;

import io.buildgateway.shared.DaemonThreads;
import io.buildgateway.signing.GatewayKey;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.sql.Timestamp;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Signs the chain's head with the gateway key at start, every {@code gateway.audit.checkpoint-interval} (when the
 * head moved) and at shutdown, and writes the checkpoint to the {@code audit_checkpoint} table, the log (logger
 * {@code audit.checkpoint}), the checkpoint file and, when configured, syslog: outside the database, so that
 * truncating the trail's tail is detectable by {@link AuditVerification}.
 *
 * <p>The head is read under the chain's advisory lock, so a checkpoint names an event that committed. Before signing,
 * the head must extend the last checkpoint this gateway knows of (its own last one, else the file's, else the
 * table's): a chain that was cut or rewritten is never signed again, which would otherwise launder the tampering.
 */
@Component
class AuditCheckpoints {

    private static final Logger log = LoggerFactory.getLogger(AuditCheckpoints.class);
    private static final Logger checkpointLog = LoggerFactory.getLogger("audit.checkpoint");

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final GatewayKey key;
    private final AuditProperties properties;
    private final Clock clock;
    private final CheckpointFile file;
    private final AuditExport export;
    private final String replica = ManagementFactory.getRuntimeMXBean().getName();
    private final ScheduledExecutorService timer;
    private volatile Checkpoint lastSigned;
    /** Whether this key's first use is known to be in the trail (checked once per process, at its first checkpoint). */
    private volatile boolean keyRecorded;

    private final AuditTrail trail;

    AuditCheckpoints(JdbcTemplate jdbc, TransactionTemplate tx, GatewayKey key, AuditProperties properties,
            Clock clock, AuditExport export, AuditTrail trail) {
        this.trail = trail;
        this.jdbc = jdbc;
        this.tx = tx;
        this.key = key;
        this.properties = properties;
        this.clock = clock;
        this.export = export;
        this.file = properties.checkpointFile() == null || properties.checkpointFile().toString().isBlank() ? null
                : new CheckpointFile(properties.checkpointFile());
        this.timer = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("audit-checkpoint"));
    }

    /** The checkpoint file, or null when none is configured. */
    CheckpointFile file() {
        return file;
    }

    @EventListener(ApplicationReadyEvent.class)
    void start() {
        long every = properties.checkpointInterval().toMillis();
        timer.scheduleWithFixedDelay(() -> checkpointSafely("interval"), 0, every, TimeUnit.MILLISECONDS);
    }

    @PreDestroy
    void stop() throws InterruptedException {
        timer.shutdownNow();
        timer.awaitTermination(10, TimeUnit.SECONDS);
        checkpointSafely("shutdown");
    }

    private void checkpointSafely(String why) {
        try {
            checkpoint(why);
        } catch (RuntimeException e) {
            log.error("audit checkpoint ({}) failed: {}", why, e.toString());
        }
    }

    /**
     * Signs and writes the current head; returns it, or null when the chain is empty, the head has not moved since
     * this gateway's last checkpoint, or the chain does not extend the last known checkpoint (then logged as an
     * error).
     */
    Checkpoint checkpoint(String why) {
        Checkpoint signed = tx.execute(s -> {
            jdbc.queryForObject("select pg_advisory_xact_lock(?)", Object.class, AuditTrail.CHAIN_LOCK);
            recordKeyOnce();
            List<Object[]> head = jdbc.query("select seq, hash from audit_event order by seq desc limit 1",
                    (rs, i) -> new Object[] {rs.getLong(1), rs.getString(2)});
            if (head.isEmpty()) {
                return null;
            }
            long seq = (Long) head.get(0)[0];
            String hash = (String) head.get(0)[1];
            Checkpoint last = lastSigned;
            if (last != null && last.seq() == seq && last.hash().equals(hash)) {
                return null;
            }
            Checkpoint reference = last != null ? last : latestKnown();
            if (reference != null) {
                List<String> there = jdbc.queryForList("select hash from audit_event where seq = ?", String.class,
                        reference.seq());
                if (there.isEmpty() || !there.get(0).equals(reference.hash())) {
                    log.error("audit checkpoint refused: the chain (head seq {}) does not extend the last signed"
                            + " checkpoint (seq {}, hash {}); run GET /api/v1/audit/verify", seq, reference.seq(),
                            reference.hash());
                    return null;
                }
            }
            Checkpoint cp = Checkpoint.sign(seq, hash, clock.instant(), key);
            jdbc.update("insert into audit_checkpoint (seq, hash, at, key_id, payload, signature, replica)"
                    + " values (?,?,?,?,?,?,?)", cp.seq(), cp.hash(), Timestamp.from(cp.at()), cp.keyId(),
                    cp.payload(), cp.signature(), replica);
            return cp;
        });
        keyRecorded = true; // the transaction that recorded it (or found it) committed
        if (signed == null) {
            return null;
        }
        lastSigned = signed;
        String line = signed.line();
        checkpointLog.info("{} {}", why, line);
        if (file != null) {
            try {
                file.append(line);
            } catch (IOException e) {
                log.error("audit checkpoint seq {} could not be written to {}: {}", signed.seq(), file.path(),
                        e.toString());
            }
        }
        export.checkpoint(signed);
        return signed;
    }

    /**
     * Under the chain's lock, at this process's first checkpoint: a signing key that has signed no checkpoint and
     * has no {@code signing-key.first-used} event yet (a key generated on first start, a key file replaced, another
     * PKCS#11 key) gets that event, with its id and public key, which this checkpoint then covers. So a change of the
     * key that signs the trail is itself in the trail, once per key whichever replica starts first (the lock orders
     * them). Replicas that each hold a key of their own are each recorded once, not at every alternation.
     */
    private void recordKeyOnce() {
        if (keyRecorded) {
            return;
        }
        boolean known = !jdbc.queryForList("select 1 from audit_checkpoint where key_id = ? limit 1", Integer.class,
                key.keyId()).isEmpty() || !jdbc.queryForList("select 1 from audit_event where action ="
                + " 'signing-key.first-used' and target = ? limit 1", Integer.class, "signing-key/" + key.keyId())
                .isEmpty();
        if (known) {
            return;
        }
        java.util.Map<String, Object> details = new java.util.LinkedHashMap<>();
        details.put("keyId", key.keyId());
        details.put("publicKey", key.publicKeyPem());
        details.put("replica", replica);
        trail.append(new io.buildgateway.shared.AuditRecord("signing-key.first-used", "signing-key/" + key.keyId(),
                io.buildgateway.shared.AuditRecord.Outcome.SUCCESS, details,
                io.buildgateway.shared.RequestInfo.system()));
        log.warn("audit checkpoints are now also signed by key {}, which had signed none before (audited as"
                + " signing-key.first-used)", key.keyId());
    }

    /** The newest checkpoint with a valid signature: the file's last line when there is a file, else the table's. */
    private Checkpoint latestKnown() {
        Checkpoint found = null;
        if (file != null) {
            try {
                String line = file.last();
                found = line == null ? null : Checkpoint.parseLine(line);
            } catch (IOException | IllegalArgumentException e) {
                log.warn("the last line of the checkpoint file {} is not a checkpoint: {}", file.path(),
                        e.getMessage());
            }
        }
        if (found == null) {
            List<String[]> rows = jdbc.query("select payload, signature from audit_checkpoint"
                    + " order by seq desc, id desc limit 1", (rs, i) -> new String[] {rs.getString(1),
                    rs.getString(2)});
            try {
                found = rows.isEmpty() ? null : Checkpoint.of(rows.get(0)[0], rows.get(0)[1]);
            } catch (IllegalArgumentException e) {
                log.warn("the newest row of audit_checkpoint is not a checkpoint: {}", e.getMessage());
            }
        }
        if (found != null && !found.signedBy(key.publicKey())) {
            log.warn("the last known audit checkpoint (seq {}) is not signed by this gateway's key {}", found.seq(),
                    key.keyId());
            return null;
        }
        return found;
    }
}
