package io.buildgateway.builds;

import io.buildgateway.intake.IntakeProperties;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.Digest;
import io.buildgateway.shared.RequestInfo;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Prunes the context store. A context is kept while any of these needs it: a queued or running build; the latest
 * successful build of each repository and tag (rebuilds start from it); any build requested within the retention
 * period (gateway.builds.context-retention). Files younger than the retention period are never touched either, so a
 * context being received (its build row is written after the file) is safe. Each pruning run is audited.
 */
@Component
class ContextRetention {

    private static final Logger log = LoggerFactory.getLogger(ContextRetention.class);

    private final JdbcClient db;
    private final Path store;
    private final BuildProperties properties;
    private final ApplicationEventPublisher events;
    private final TransactionTemplate tx;
    private final Clock clock;
    /** The host's own clock, for the stored files' times (the host's), where the database's time would be off. */
    private final Clock host;

    ContextRetention(JdbcClient db, IntakeProperties intakeProperties,
            BuildProperties properties, ApplicationEventPublisher events, TransactionTemplate tx, Clock clock,
            io.buildgateway.shared.HostClock host) {
        this.db = db;
        this.store = intakeProperties.storeDir().toAbsolutePath().normalize();
        this.properties = properties;
        this.events = events;
        this.tx = tx;
        this.clock = clock;
        this.host = host.clock();
    }

    @Scheduled(initialDelayString = "${gateway.builds.retention-interval:1h}",
            fixedDelayString = "${gateway.builds.retention-interval:1h}")
    void scheduled() {
        try {
            prune();
        } catch (RuntimeException e) {
            log.warn("context pruning failed; will retry", e);
        }
    }

    record Pruned(int files, long bytes, List<String> digests) {
    }

    Pruned prune() {
        Instant now = clock.instant();
        Instant keepAfter = now.minus(properties.contextRetention());
        Instant fileKeepAfter = host.instant().minus(properties.contextRetention());
        // A rejected build keeps its digest and findings, never its context (deleted when it was rejected).
        Set<String> needed = new HashSet<>(db.sql("select distinct context_digest from build "
                + "where status in ('QUEUED', 'RUNNING') or (requested_at > ? and status <> 'REJECTED')")
                .param(java.sql.Timestamp.from(keepAfter)).query(String.class).list());
        needed.addAll(db.sql("select distinct built_context_digest from build where built_context_digest is not null "
                + "and (status in ('QUEUED', 'RUNNING') or requested_at > ?)")
                .param(java.sql.Timestamp.from(keepAfter)).query(String.class).list());
        needed.addAll(latestSucceeded());
        List<String> deleted = new ArrayList<>();
        long bytes = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(store, "*.ctx")) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                String digest = "sha256:" + name.substring(0, name.length() - ".ctx".length());
                if (!Digest.isValid(digest) || needed.contains(digest)
                        || !Files.getLastModifiedTime(file).toInstant().isBefore(fileKeepAfter)) {
                    continue;
                }
                long size = Files.size(file);
                if (Files.deleteIfExists(file)) {
                    deleted.add(digest);
                    bytes += size;
                }
            }
        } catch (IOException | java.nio.file.DirectoryIteratorException e) {
            log.warn("context store {} could not be listed (the contexts deleted before are audited)", store,
                    e.toString());
        } finally {
            // What was deleted is audited whatever ended the listing; through a short database outage too (a file
            // deleted cannot be found again by the next run, so its event is written now or never).
            if (!deleted.isEmpty()) {
                audit(deleted, bytes);
            }
        }
        return new Pruned(deleted.size(), bytes, deleted);
    }

    /** The audit of one run's deletions ({@code context.pruned}). */
    void audit(List<String> deleted, long bytes) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("files", deleted.size());
        details.put("bytes", bytes);
        details.put("retention", properties.contextRetention().toString());
        details.put("digests", deleted.stream().limit(100).toList());
        try {
            io.buildgateway.shared.DatabaseUnavailable.retrying(() -> tx.executeWithoutResult(s ->
                    events.publishEvent(new AuditRecord("context.pruned", "contexts", AuditRecord.Outcome.SUCCESS,
                            details, RequestInfo.system()))), java.time.Duration.ofMinutes(2),
                    "the audit of pruned contexts");
        } catch (RuntimeException e) {
            // The files are gone, and the next run cannot find them again: the log is where the deletion stays (every
            // digest, where the event names the first 100; docs/audit.md, removals).
            log.error("context.pruned could not be audited: {} contexts ({} bytes) older than {} were deleted;"
                    + " their digests follow, 100 per line", deleted.size(), bytes, properties.contextRetention(), e);
            // in lines a log pipeline keeps whole (journald cuts lines at 48 KB, Docker's json-file at 16 KB)
            for (int from = 0; from < deleted.size(); from += 100) {
                log.error("context.pruned could not be audited: deleted {}", deleted.subList(from,
                        Math.min(deleted.size(), from + 100)));
            }
            throw e;
        }
        log.info("pruned {} contexts ({} bytes) older than {}", deleted.size(), bytes,
                properties.contextRetention());
    }

    /** The context of the latest successful build of every repository and tag. */
    private List<String> latestSucceeded() {
        return db.sql("""
                select distinct on (image, tag) context_digest from build where status = 'SUCCEEDED'
                order by image, tag, finished_at desc
                """).query(String.class).list();
    }
}
