package io.buildgateway.inventory;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.RequestInfo;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/**
 * What runs where. Recording a deployment replaces the workload's previous one (which becomes history); an image the
 * gateway did not build is accepted and flagged as unknown provenance. A deployment is stale, with its reasons, when
 * its image is superseded by a newer push of the same repository and tag, was built on a base whose tag has since
 * moved, is affected by an advisory with a fix, or is of unknown provenance.
 */
@Service
class Deployments {

    private static final Pattern IMAGE = Pattern.compile(
            "([a-z0-9][a-z0-9._:/-]{0,250}?)(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@(sha256:[0-9a-f]{64})");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    private final JdbcClient db;
    private final ApplicationEventPublisher events;
    private final Clock clock;

    Deployments(JdbcClient db, ApplicationEventPublisher events, Clock clock) {
        this.db = db;
        this.events = events;
        this.clock = clock;
    }

    record NewDeployment(String environment, String cluster, String namespace, String workload, String image) {
    }

    /** A deployment with why it needs action (empty when it does not). */
    record View(UUID id, String environment, String cluster, String namespace, String workload, String image,
            String digest, String team, String provenance, Instant deployedAt, String deployedBy, Instant replacedAt,
            boolean stale, List<Map<String, Object>> reasons) {
    }

    @Transactional
    View record(NewDeployment d, GatewayPrincipal principal, RequestInfo info) {
        for (Map.Entry<String, String> f : Map.of("environment", nz(d.environment()), "cluster", nz(d.cluster()),
                "namespace", nz(d.namespace()), "workload", nz(d.workload())).entrySet()) {
            if (!NAME.matcher(f.getValue()).matches()) {
                throw Problem.badRequest("invalid-deployment", f.getKey()
                        + " must be 1 to 63 characters: letters, digits, '.', '_' or '-', starting with a letter or digit");
            }
        }
        Matcher m = IMAGE.matcher(nz(d.image()));
        if (!m.matches()) {
            throw Problem.badRequest("invalid-deployment",
                    "image must be a reference pinned by digest: <registry>/<repository>[:<tag>]@sha256:<64 hex>");
        }
        String repositoryRef = m.group(1);
        String digest = m.group(2);
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        int known = db.sql("select count(*) from image where digest = ?").param(digest).query(Integer.class).single();
        if (known == 0) {
            db.sql("""
                    insert into image (digest, repository, team, first_seen, provenance)
                    values (?, ?, null, ?, 'unknown')
                    """).params(digest, repositoryRef, Timestamp.from(now)).update();
        }
        UUID previous = db.sql("""
                update deployment set replaced_at = ?
                where environment = ? and cluster = ? and namespace = ? and workload = ? and replaced_at is null
                returning id
                """).params(Timestamp.from(now), d.environment(), d.cluster(), d.namespace(), d.workload())
                .query(UUID.class).optional().orElse(null);
        UUID id = UUID.randomUUID();
        db.sql("""
                insert into deployment (id, environment, cluster, namespace, workload, image_ref, digest, deployed_at,
                    deployed_by)
                values (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).params(id, d.environment(), d.cluster(), d.namespace(), d.workload(), d.image(), digest,
                Timestamp.from(now), principal.name()).update();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("environment", d.environment());
        details.put("cluster", d.cluster());
        details.put("namespace", d.namespace());
        details.put("workload", d.workload());
        details.put("image", d.image());
        details.put("provenance", known == 0 ? "unknown" : "gateway");
        details.put("replaces", previous == null ? null : previous.toString());
        events.publishEvent(new AuditRecord("deployment.recorded", "deployment/" + id, AuditRecord.Outcome.SUCCESS,
                details, info));
        return list(null, false, true, null).stream().filter(v -> v.id().equals(id)).findFirst().orElseThrow();
    }

    /**
     * Deployments, unknown provenance first. {@code current} limits to what runs now; {@code stale} to those
     * needing action; {@code teams} (null for all) to deployments of those teams' images.
     */
    List<View> list(String environment, boolean staleOnly, boolean current, java.util.Set<String> teams) {
        StringBuilder sql = new StringBuilder("""
                select d.id, d.environment, d.cluster, d.namespace, d.workload, d.image_ref, d.digest, i.team,
                    coalesce(i.provenance, 'unknown'), d.deployed_at, d.deployed_by, d.replaced_at, i.build_id,
                    i.base_ref, i.base_digest, b.digest,
                    (select string_agg(t_now.repository || ':' || t_now.tag || '=' || t_now.digest, ',')
                       from image_tag t_old join image_tag t_now on t_now.repository = t_old.repository
                         and t_now.tag = t_old.tag and t_now.until is null
                       where t_old.digest = d.digest and t_now.digest <> d.digest),
                    (select string_agg(distinct v.advisory_id, ',') from image_vulnerability v
                       where v.build_id = i.build_id and v.fixed is not null)
                from deployment d
                left join image i on i.digest = d.digest
                left join base_image b on b.ref = i.base_ref
                where 1 = 1
                """);
        List<Object> params = new ArrayList<>();
        if (current) {
            sql.append(" and d.replaced_at is null");
        }
        if (environment != null) {
            sql.append(" and d.environment = ?");
            params.add(environment);
        }
        if (teams != null) {
            sql.append(" and i.team = any (?)");
            params.add(teams.toArray(new String[0]));
        }
        sql.append(" order by (coalesce(i.provenance, 'unknown') = 'unknown') desc, d.environment, d.cluster,"
                + " d.namespace, d.workload, d.deployed_at desc");
        List<View> out = new ArrayList<>();
        db.sql(sql.toString()).params(params).query(rs -> {
            List<Map<String, Object>> reasons = new ArrayList<>();
            if ("unknown".equals(rs.getString(9))) {
                reasons.add(Map.of("reason", "unknown-provenance",
                        "detail", "the image was not built by the gateway: no policy, verification or scan record"));
            }
            String superseded = rs.getString(17);
            if (superseded != null) {
                reasons.add(Map.of("reason", "newer-build", "detail",
                        "the tag now points to a newer build: " + superseded));
            }
            String baseDigest = rs.getString(15);
            String baseNow = rs.getString(16);
            if (baseDigest != null && baseNow != null && !baseDigest.equals(baseNow)) {
                reasons.add(Map.of("reason", "base-changed", "detail", "built on " + rs.getString(14) + " at "
                        + baseDigest + "; the tag now points to " + baseNow));
            }
            String fixable = rs.getString(18);
            if (fixable != null) {
                reasons.add(Map.of("reason", "fixable-vulnerability", "detail",
                        "affected by advisories with a fixed version: " + fixable));
            }
            if (staleOnly && reasons.isEmpty()) {
                return;
            }
            out.add(new View(rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3), rs.getString(4),
                    rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8), rs.getString(9),
                    rs.getTimestamp(10).toInstant(), rs.getString(11),
                    rs.getTimestamp(12) == null ? null : rs.getTimestamp(12).toInstant(), !reasons.isEmpty(),
                    reasons));
        });
        return out;
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
