package io.buildgateway.provenance;

import io.buildgateway.hostpool.ImageRegistry;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.DaemonThreads;
import io.buildgateway.shared.Digest;
import io.buildgateway.shared.RequestInfo;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;
import org.springframework.transaction.event.TransactionPhase;
import org.springframework.transaction.event.TransactionalEventListener;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Stores each signed provenance in the registry as the image's cosign attestation, once its build's transaction has
 * committed, and tries again (backing off) until the registry has it. A try is claimed in the database first (its
 * next attempt moved past the try's own duration), so replicas never push the same attestation at once. Each
 * success is audited {@code provenance.attached}, each failure {@code provenance.attach-failed}; the health
 * {@code provenance} and the gauge {@code gateway.provenance.unattached} show what is still waiting.
 */
@Component
class Attestations {

    private static final Logger log = LoggerFactory.getLogger(Attestations.class);
    private static final Duration CLAIM = Duration.ofMinutes(2);

    private final JdbcClient db;
    private final ImageRegistry registry;
    private final ProvenanceProperties properties;
    private final ApplicationEventPublisher events;
    private final TransactionTemplate tx;
    private final Clock clock;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(DaemonThreads.named("provenance-attach"));

    Attestations(JdbcClient db, ImageRegistry registry, ProvenanceProperties properties,
            ApplicationEventPublisher events, TransactionTemplate tx, Clock clock, MeterRegistry meters) {
        this.db = db;
        this.registry = registry;
        this.properties = properties;
        this.events = events;
        this.tx = tx;
        this.clock = clock;
        Gauge.builder("gateway.provenance.unattached", this, Attestations::unattachedCountQuietly)
                .description("signed provenance not yet stored in the registry").register(meters);
    }

    @PreDestroy
    void stop() {
        worker.shutdownNow();
    }

    @TransactionalEventListener(phase = TransactionPhase.AFTER_COMMIT)
    void committed(Provenance.Signed signed) {
        if (properties.attach()) {
            worker.execute(() -> attachQuietly(signed.imageDigest(), signed.buildId()));
        }
    }

    @Scheduled(initialDelayString = "${gateway.provenance.retry-interval:30s}",
            fixedDelayString = "${gateway.provenance.retry-interval:30s}")
    void retryDue() {
        if (!properties.attach()) {
            return;
        }
        List<Map<String, Object>> due;
        try {
            due = db.sql("""
                    select image_digest, build_id from image_provenance
                    where attached_at is null and next_attempt_at <= ? order by next_attempt_at limit 50
                    """).param(Timestamp.from(clock.instant())).query().listOfRows();
        } catch (RuntimeException e) {
            // The next run asks again; a database that is away (a restart) is not worth a stack trace every 30 s.
            if (io.buildgateway.shared.DatabaseUnavailable.is(e)) {
                log.info("attestations due for a retry not read: the database cannot be reached; the next run asks"
                        + " again");
            } else {
                log.warn("attestations due for a retry not read; the next run asks again", e);
            }
            return;
        }
        for (Map<String, Object> row : due) {
            worker.execute(() -> attachQuietly((String) row.get("image_digest"), (UUID) row.get("build_id")));
        }
    }

    long unattached() {
        return db.sql("select count(*) from image_provenance where attached_at is null").query(Long.class).single();
    }

    /** How many wait longer than the grace, and since when the oldest waits. */
    record Backlog(long overdue, Instant oldest) {
    }

    Backlog backlog() {
        Instant before = clock.instant().minus(properties.attachGrace());
        return db.sql("select count(*), min(signed_at) from image_provenance where attached_at is null"
                + " and signed_at < ?").param(Timestamp.from(before))
                .query((rs, n) -> new Backlog(rs.getLong(1),
                        rs.getTimestamp(2) == null ? null : rs.getTimestamp(2).toInstant())).single();
    }

    private double unattachedCountQuietly() {
        try {
            return unattached();
        } catch (RuntimeException e) {
            return Double.NaN;
        }
    }

    private void attachQuietly(String imageDigest, UUID buildId) {
        try {
            attach(imageDigest, buildId);
        } catch (RuntimeException e) {
            log.warn("attaching the provenance of {} (build {}) failed unexpectedly", imageDigest, buildId, e);
        }
    }

    /** The claimed row: what to push. */
    private record Claimed(String repository, String envelope, int attempts) {
    }

    /** One try: claim, push, record the result. Returns whether the registry now holds the attestation. */
    boolean attach(String imageDigest, UUID buildId) {
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        Optional<Claimed> claimed = tx.execute(s -> db.sql("""
                update image_provenance set attach_attempts = attach_attempts + 1, next_attempt_at = ?
                where image_digest = ? and build_id = ? and attached_at is null
                  and (next_attempt_at is null or next_attempt_at <= ?)
                returning repository, envelope, attach_attempts
                """).params(Timestamp.from(now.plus(CLAIM)), imageDigest, buildId, Timestamp.from(now))
                .query((rs, n) -> new Claimed(rs.getString(1), rs.getString(2), rs.getInt(3))).optional());
        if (claimed == null || claimed.isEmpty()) {
            return false; // attached already, or another replica is on it
        }
        Claimed c = claimed.get();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("buildId", buildId.toString());
        details.put("repository", registry.address() + "/" + c.repository());
        details.put("tag", CosignAttestation.tag(Digest.parse(imageDigest)));
        details.put("attempt", c.attempts());
        try {
            String manifest = push(Digest.parse(imageDigest), c.repository(),
                    c.envelope().getBytes(StandardCharsets.UTF_8));
            details.put("manifestDigest", manifest);
            Instant done = clock.instant().truncatedTo(ChronoUnit.MICROS);
            tx.executeWithoutResult(s -> {
                db.sql("""
                        update image_provenance set attached_at = ?, attach_error = null, next_attempt_at = null
                        where image_digest = ? and build_id = ?
                        """).params(Timestamp.from(done), imageDigest, buildId).update();
                events.publishEvent(new AuditRecord("provenance.attached", "image/" + imageDigest,
                        AuditRecord.Outcome.SUCCESS, details, RequestInfo.system()));
            });
            log.info("provenance of {} stored in the registry as {}:{}", imageDigest, c.repository(),
                    details.get("tag"));
            return true;
        } catch (IOException | RuntimeException e) {
            String error = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            Instant next = clock.instant().plus(backoff(c.attempts())).truncatedTo(ChronoUnit.MICROS);
            details.put("error", error);
            details.put("nextAttemptAt", next.toString());
            tx.executeWithoutResult(s -> {
                db.sql("""
                        update image_provenance set attach_error = ?, next_attempt_at = ?
                        where image_digest = ? and build_id = ?
                        """).params(error, Timestamp.from(next), imageDigest, buildId).update();
                events.publishEvent(new AuditRecord("provenance.attach-failed", "image/" + imageDigest,
                        AuditRecord.Outcome.FAILED, details, RequestInfo.system()));
            });
            log.warn("could not store the provenance of {} in the registry (try {}), next try at {}: {}",
                    imageDigest, c.attempts(), next, error);
            return false;
        }
    }

    Duration backoff(int attempts) {
        return backoff(attempts, properties.retryInterval(), properties.maxBackoff());
    }

    /** interval × 2^(attempts-1), at most max. */
    static Duration backoff(int attempts, Duration interval, Duration max) {
        Duration d = interval;
        for (int i = 1; i < attempts && d.compareTo(max) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(max) > 0 ? max : d;
    }

    /** Adds the envelope to the image's {@code .att} manifest; returns the manifest's digest. */
    private String push(Digest image, String repository, byte[] envelope) throws IOException {
        String tag = CosignAttestation.tag(image);
        Optional<byte[]> existing = registry.manifest(repository, tag, CosignAttestation.MANIFEST_TYPE,
                "application/vnd.docker.distribution.manifest.v2+json").map(ImageRegistry.Manifest::body);
        String layer = registry.pushBlob(repository, envelope);
        Optional<CosignAttestation.Update> update = CosignAttestation.adding(existing, layer, envelope.length,
                ProvenanceStatement.PREDICATE_TYPE);
        if (update.isEmpty()) {
            return CosignAttestation.sha256(existing.get());
        }
        registry.pushBlob(repository, update.get().config());
        return registry.putManifest(repository, tag, CosignAttestation.MANIFEST_TYPE, update.get().manifest());
    }
}
