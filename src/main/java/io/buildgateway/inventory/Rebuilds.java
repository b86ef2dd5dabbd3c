package io.buildgateway.inventory;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.auth.Role;
import io.buildgateway.builds.BuildSubmissions;
import io.buildgateway.builds.BuildView;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.Digest;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.RequestInfo;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.json.JsonMapper;

/**
 * Rebuilds by selector: the images a selector picks (by base, package, advisory, or explicit digests — several
 * criteria narrow each other) resolve to the repositories and tags they were pushed as, and each of those gets one
 * rebuild of its latest successful build, from that build's stored context, with no cache and the base pulled
 * afresh. A dry run lists the targets without queuing anything.
 */
@Service
class Rebuilds {


    private final JdbcClient db;
    private final ImageQueries images;
    private final BuildSubmissions builds;
    private final ApplicationEventPublisher events;
    private final JsonMapper json;
    private final Clock clock;
    private final TransactionTemplate tx;

    Rebuilds(JdbcClient db, ImageQueries images, BuildSubmissions builds, ApplicationEventPublisher events,
            JsonMapper json, Clock clock, TransactionTemplate tx) {
        this.tx = tx;
        this.db = db;
        this.images = images;
        this.builds = builds;
        this.events = events;
        this.json = json;
        this.clock = clock;
    }

    /** API.md names the package {@code package} (a Java keyword): read under that name as well. */
    record Selector(String base, @com.fasterxml.jackson.annotation.JsonAlias("package") String packageName, String packageVersionBelow, String cve, List<String> images,
            String team) {
    }

    /** A repository and tag to rebuild, from its latest successful build. */
    record Target(String repository, String tag, UUID originBuildId, String currentDigest) {
    }

    List<Target> resolve(Selector s) {
        boolean any = s.base() != null || s.packageName() != null || s.cve() != null || s.team() != null
                || (s.images() != null && !s.images().isEmpty());
        if (!any) {
            throw Problem.badRequest("invalid-selector",
                    "a selector needs at least one of base, package, cve, images (rebuilding everything is refused)");
        }
        for (String value : java.util.Arrays.asList(s.base(), s.packageName(), s.packageVersionBelow(), s.cve(),
                s.team())) {
            if (value != null && value.indexOf('\u0000') >= 0) {
                throw Problem.badRequest("invalid-selector", "a selector value holds the character U+0000");
            }
        }
        if (s.packageVersionBelow() != null && s.packageName() == null) {
            throw Problem.badRequest("invalid-selector", "packageVersionBelow needs package");
        }
        if (s.images() != null && !s.images().isEmpty()) {
            for (String d : s.images()) {
                if (d == null || !Digest.isValid(d)) {
                    throw Problem.badRequest("invalid-selector", "images must be sha256:<64 hex> digests");
                }
            }
        }
        ImageQueries.Filter filter = new ImageQueries.Filter(s.team(), s.packageName(), s.packageVersionBelow(),
                s.cve(), s.base(), false);
        boolean onlyImages = s.base() == null && s.packageName() == null && s.cve() == null && s.team() == null;
        Set<String> digests = new LinkedHashSet<>();
        if (onlyImages) {
            digests.addAll(s.images());
        } else {
            GatewayPrincipal all = new GatewayPrincipal(null, "rebuild",
                    Set.of(Role.SECURITY), Set.of());
            digests.addAll(images.digests(filter, all));
            if (s.images() != null && !s.images().isEmpty()) {
                digests.retainAll(s.images());
            }
        }
        // Every repository and tag the selected images were pushed as (first-selected image first), each with its
        // latest successful build and where the tag points now: one statement for the whole selection.
        return db.sql("""
                with selected as (select digest, n from unnest(?::varchar[]) with ordinality as s (digest, n)),
                pushed as (select t.repository, t.tag, min(s.n) as n from image_tag t
                    join selected s on s.digest = t.digest group by t.repository, t.tag)
                select p.repository, p.tag, latest.id, cur.digest from pushed p
                cross join lateral (select b.id from build b
                    where b.image = p.repository and b.tag = p.tag and b.status = 'SUCCEEDED'
                    order by b.finished_at desc limit 1) latest
                left join image_tag cur on cur.repository = p.repository and cur.tag = p.tag and cur.until is null
                order by p.n, p.repository, p.tag
                """).param(digests.toArray(new String[0]))
                .query((rs, n) -> new Target(rs.getString(1), rs.getString(2), rs.getObject(3, UUID.class),
                        rs.getString(4))).list();
    }

    record Requested(UUID id, String reason, String requestedBy, List<UUID> builds, List<Map<String, Object>> targets) {
    }

    /**
     * Queues the rebuilds; a target that cannot be rebuilt (its context gone, say) is reported SKIPPED, not fatal.
     * Each rebuild is recorded with its own {@code build.queued} event as it is queued (it reads the stored context
     * and the registry, so not inside a transaction); then the rebuild itself, its links to those builds and its
     * {@code rebuild.requested} event are written in one transaction: all of them or none.
     */
    Requested request(Selector selector, String reason, String requestedBy, RequestInfo info) {
        if (reason == null || reason.isBlank() || reason.length() > 1000 || reason.indexOf('\u0000') >= 0) {
            throw Problem.badRequest("invalid-rebuild", "reason is required (at most 1000 characters, no U+0000)");
        }
        List<Target> targets = resolve(selector);
        UUID id = UUID.randomUUID();
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        List<UUID> queued = new ArrayList<>();
        List<Target> linked = new ArrayList<>();
        List<Map<String, Object>> outcome = new ArrayList<>();
        for (Target t : targets) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("repository", t.repository());
            o.put("tag", t.tag());
            o.put("originBuildId", t.originBuildId());
            try {
                BuildView b = builds.rebuild(t.originBuildId(), requestedBy, reason, info);
                queued.add(b.id());
                linked.add(t);
                o.put("buildId", b.id());
                o.put("status", b.status());
            } catch (Problem p) {
                o.put("status", "SKIPPED");
                o.put("reason", p.getMessage());
            } catch (RuntimeException e) {
                if (io.buildgateway.shared.DatabaseUnavailable.is(e)) {
                    throw e; // 503; the builds queued so far are each recorded and audited (docs/operations.md)
                }
                // One target's failure (its context removed by retention while it was read, say) does not end the
                // others, nor leave the rebuild without its record and event.
                org.slf4j.LoggerFactory.getLogger(Rebuilds.class).warn("rebuild {}: {}:{} (from build {}) could not"
                        + " be queued", id, t.repository(), t.tag(), t.originBuildId(), e);
                o.put("status", "SKIPPED");
                o.put("reason", "the rebuild could not be queued (the gateway's log of rebuild " + id + " says why)");
            }
            outcome.add(o);
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("reason", reason);
        details.put("selector", selector);
        details.put("builds", queued.stream().map(UUID::toString).toList());
        details.put("targets", targets.size());
        String selectorJson = json.writeValueAsString(selector);
        tx.executeWithoutResult(status -> {
            db.sql("insert into rebuild (id, reason, requested_by, selector, requested_at) values (?, ?, ?, ?, ?)")
                    .params(id, reason, requestedBy, selectorJson, Timestamp.from(now)).update();
            for (int k = 0; k < linked.size(); k++) {
                Target t = linked.get(k);
                db.sql("insert into rebuild_build (rebuild_id, build_id, origin_build_id, repository, tag) "
                        + "values (?, ?, ?, ?, ?)").params(id, queued.get(k), t.originBuildId(), t.repository(),
                        t.tag()).update();
            }
            events.publishEvent(new AuditRecord("rebuild.requested", "rebuild/" + id, AuditRecord.Outcome.SUCCESS,
                    details, info));
        });
        return new Requested(id, reason, requestedBy, queued, outcome);
    }

    Map<String, Object> find(UUID id) {
        Map<String, Object> r = db.sql("select id, reason, requested_by, selector, requested_at from rebuild "
                + "where id = ?").param(id).query().listOfRows().stream().findFirst()
                .orElseThrow(() -> Problem.notFound("rebuild " + id));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", r.get("id"));
        out.put("reason", r.get("reason"));
        out.put("requestedBy", r.get("requested_by"));
        out.put("requestedAt", ((Timestamp) r.get("requested_at")).toInstant());
        out.put("selector", json.readTree((String) r.get("selector")));
        out.put("builds", db.sql("""
                select rb.build_id, rb.repository, rb.tag, rb.origin_build_id, b.status, b.image_digest,
                    b.failure_reason
                from rebuild_build rb join build b on b.id = rb.build_id where rb.rebuild_id = ?
                order by rb.repository, rb.tag
                """).param(id).query((rs, n) -> {
                    Map<String, Object> b = new LinkedHashMap<>();
                    b.put("id", rs.getObject(1, UUID.class));
                    b.put("repository", rs.getString(2));
                    b.put("tag", rs.getString(3));
                    b.put("rebuildOf", rs.getObject(4, UUID.class));
                    b.put("status", rs.getString(5));
                    b.put("imageDigest", rs.getString(6));
                    b.put("failureReason", rs.getString(7));
                    return b;
                }).list());
        return out;
    }
}
