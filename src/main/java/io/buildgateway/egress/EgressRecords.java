package io.buildgateway.egress;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.RequestInfo;
import io.buildgateway.shared.web.RefusalSummaries;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The records of what builds fetched, tunnelled and were refused through the egress proxy ({@code build_fetch},
 * {@code build_tunnel}, {@code build_egress_refusal}, V13): each written as it happens, in one transaction with its
 * audit event, so a crash loses nothing that passed. Read by {@code GET /api/v1/builds/{id}/fetches} (the caller's
 * access is checked by the builds module first) and by pinned builds.
 */
@Service
public class EgressRecords {

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final ApplicationEventPublisher events;
    private final RefusalSummaries summaries;

    EgressRecords(JdbcTemplate jdbc, TransactionTemplate tx, ApplicationEventPublisher events,
            RefusalSummaries summaries) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.events = events;
        this.summaries = summaries;
    }

    void fetched(UUID build, long seq, EgressRecord.Fetch f) {
        tx.executeWithoutResult(s -> {
            jdbc.update("insert into build_fetch (build_id, seq, url, status, size, sha256, fetched_at)"
                    + " values (?, ?, ?, ?, ?, ?, ?)", build, seq, f.url(), f.status(), f.size(), f.sha256(),
                    Timestamp.from(f.at()));
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("url", f.url());
            details.put("status", f.status());
            details.put("size", f.size());
            details.put("sha256", f.sha256());
            events.publishEvent(new AuditRecord("build.fetch", "build/" + build, Outcome.SUCCESS, details,
                    RequestInfo.system()));
        });
    }

    void tunnelled(UUID build, long seq, EgressRecord.Tunnel t) {
        tx.executeWithoutResult(s -> {
            jdbc.update("insert into build_tunnel (build_id, seq, host, port, bytes_out, bytes_in, opened_at)"
                    + " values (?, ?, ?, ?, ?, ?, ?)", build, seq, t.host(), t.port(), t.bytesOut(), t.bytesIn(),
                    Timestamp.from(t.at()));
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("host", t.host());
            details.put("port", t.port());
            details.put("bytesOut", t.bytesOut());
            details.put("bytesIn", t.bytesIn());
            events.publishEvent(new AuditRecord("build.egress-tunnel", "build/" + build, Outcome.SUCCESS, details,
                    RequestInfo.system()));
        });
    }

    void refused(UUID build, long seq, EgressRecord.Refusal r, String team, String policyDigest) {
        tx.executeWithoutResult(s -> {
            jdbc.update("insert into build_egress_refusal (build_id, seq, url, reason, refused_at)"
                    + " values (?, ?, ?, ?, ?)", build, seq, r.url(), r.reason(), Timestamp.from(r.at()));
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("url", r.url());
            details.put("reason", r.reason());
            details.put("team", team);
            details.put("policyDigest", policyDigest);
            events.publishEvent(new AuditRecord("build.egress-refused", "build/" + build, Outcome.DENIED, details,
                    RequestInfo.system()));
        });
    }

    /** A proxy request without valid build credentials (407): audited with where it came from, never the secret. */
    void unauthenticated(String source, String reason) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("reason", reason);
        events.publishEvent(new AuditRecord("egress.proxy-auth-failed", "egress", Outcome.DENIED, details,
                new RequestInfo(RequestInfo.SYSTEM, source, null)));
    }

    /**
     * A request the proxy cannot read as HTTP (400): audited with where it came from and the parser's reason, never
     * the request's own bytes (they may carry credentials).
     */
    void malformed(String source, String reason) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("reason", reason);
        events.publishEvent(new AuditRecord("egress.proxy-refused", "egress", Outcome.REJECTED, details,
                new RequestInfo(RequestInfo.SYSTEM, source, null)));
    }

    /**
     * A connection turned away because every worker of the proxy was busy (503): counted in the per-second refusal
     * summary of the audit trail ({@code http.refused-summary}, outcome FAILED, target {@code egress}), not a row
     * each, since it happens exactly when connections flood in. Nothing of the request was read.
     */
    void busy(String source, int workers) {
        summaries.count(new Problem(503, "egress-proxy-busy", "Service unavailable", "all " + workers
                + " workers of the egress proxy were busy; the connection was turned away"), "-", "egress",
                new RequestInfo(RequestInfo.SYSTEM, source, null));
    }

    /** The highest sequence number of the build's fetches, tunnels and refusals (0 when none). */
    long lastSeq(UUID build) {
        Long last = jdbc.queryForObject("select greatest((select max(seq) from build_fetch where build_id = ?),"
                + " (select max(seq) from build_tunnel where build_id = ?),"
                + " (select max(seq) from build_egress_refusal where build_id = ?))", Long.class, build, build, build);
        return last == null ? 0 : last;
    }

    /** Everything recorded for a build, each list in the order it happened. */
    @Transactional(readOnly = true)
    public EgressRecord of(UUID build) {
        List<EgressRecord.Fetch> fetches = jdbc.query("select url, status, size, sha256, fetched_at from build_fetch"
                + " where build_id = ? order by seq", (rs, i) -> new EgressRecord.Fetch(rs.getString(1), rs.getInt(2),
                        rs.getLong(3), rs.getString(4), rs.getTimestamp(5).toInstant()), build);
        List<EgressRecord.Tunnel> tunnels = jdbc.query("select host, port, bytes_out, bytes_in, opened_at"
                + " from build_tunnel where build_id = ? order by seq", (rs, i) -> new EgressRecord.Tunnel(
                        rs.getString(1), rs.getInt(2), rs.getLong(3), rs.getLong(4), rs.getTimestamp(5).toInstant()),
                build);
        List<EgressRecord.Refusal> refusals = jdbc.query("select url, reason, refused_at from build_egress_refusal"
                + " where build_id = ? order by seq", (rs, i) -> new EgressRecord.Refusal(rs.getString(1),
                        rs.getString(2), rs.getTimestamp(3).toInstant()), build);
        return new EgressRecord(fetches, tunnels, refusals);
    }

    /**
     * What a build pinned to {@code build} may fetch: each URL that build fetched with status 200, with the SHA-256
     * of its body (the last one, if it fetched a URL more than once).
     */
    @Transactional(readOnly = true)
    public Map<String, String> pinnedFrom(UUID build) {
        Map<String, String> out = new LinkedHashMap<>();
        jdbc.query("select url, sha256 from build_fetch where build_id = ? and status = 200 order by seq",
                rs -> {
                    out.put(rs.getString(1), rs.getString(2));
                }, build);
        return out;
    }

    /** The difference between two builds' fetches (docs/egress.md "Pinning and the diff"). */
    public record Diff(UUID build, UUID against, List<EgressRecord.Fetch> added, List<EgressRecord.Fetch> removed,
            List<Change> changed, int unchanged) {
    }

    /** A URL both builds fetched whose response differs: before is {@code against}'s, after is {@code build}'s. */
    public record Change(String url, Version before, Version after) {
    }

    public record Version(int status, long size, String sha256) {
        static Version of(EgressRecord.Fetch f) {
            return new Version(f.status(), f.size(), f.sha256());
        }
    }

    /**
     * {@code build}'s fetches against {@code against}'s, by URL (the last response of each URL in each build):
     * added = fetched only by {@code build}, removed = only by {@code against}, changed = status or digest differ.
     */
    public static Diff diff(UUID build, EgressRecord after, UUID against, EgressRecord before) {
        Map<String, EgressRecord.Fetch> a = lastByUrl(after.fetches());
        Map<String, EgressRecord.Fetch> b = lastByUrl(before.fetches());
        List<EgressRecord.Fetch> added = new ArrayList<>();
        List<EgressRecord.Fetch> removed = new ArrayList<>();
        List<Change> changed = new ArrayList<>();
        int unchanged = 0;
        for (EgressRecord.Fetch f : a.values()) {
            EgressRecord.Fetch old = b.get(f.url());
            if (old == null) {
                added.add(f);
            } else if (old.status() != f.status() || !old.sha256().equals(f.sha256())) {
                changed.add(new Change(f.url(), Version.of(old), Version.of(f)));
            } else {
                unchanged++;
            }
        }
        for (EgressRecord.Fetch f : b.values()) {
            if (!a.containsKey(f.url())) {
                removed.add(f);
            }
        }
        return new Diff(build, against, added, removed, changed, unchanged);
    }

    private static Map<String, EgressRecord.Fetch> lastByUrl(List<EgressRecord.Fetch> fetches) {
        Map<String, EgressRecord.Fetch> out = new LinkedHashMap<>();
        for (EgressRecord.Fetch f : fetches) {
            out.remove(f.url());
            out.put(f.url(), f);
        }
        return out;
    }

}
