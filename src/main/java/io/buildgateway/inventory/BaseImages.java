package io.buildgateway.inventory;

import io.buildgateway.policy.PolicyEvaluator;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.Digest;
import io.buildgateway.shared.ImageReference;
import io.buildgateway.shared.RequestInfo;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Watches the approved base tags the inventory's images were built on (and any configured ones): asks the registry
 * for each tag's manifest digest (Registry API v2, {@code HEAD /v2/<repository>/manifests/<tag>}), records the
 * current and previous digest and when it changed, and on a change marks the dependent images and deployments stale
 * (by comparison, see {@link Deployments}), audits it, and starts rebuilds for the teams whose policy says
 * {@code autoRebuild: true} — OpenShift's ImageChange trigger, for uploaded contexts.
 */
@Service
class BaseImages {

    private static final Logger log = LoggerFactory.getLogger(BaseImages.class);
    private static final String ACCEPT = String.join(", ",
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json");

    private final JdbcClient db;
    private final InventoryProperties properties;
    private final Rebuilds rebuilds;
    private final PolicyEvaluator policy;
    private final OwnerNotices notices;
    private final ApplicationEventPublisher events;
    private final Clock clock;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
            .followRedirects(HttpClient.Redirect.NEVER).build();

    /** How long a replica's claim on a moved base's automatic rebuild lasts before another may take it. */
    static final Duration CLAIM = Duration.ofHours(1); // longer than any rebuild request; a dead replica's lapses
    /** The first key of the per-tag claim lock (two 32-bit keys: apart from the gateway's single 64-bit ones). */
    private static final int CLAIM_LOCK_CLASS = 0x62776263;
    /** Serialises the watch across replicas ("bgw_base"): one replica records a move, the others then see it. */
    static final long WATCH_LOCK = 0x6267775f62617365L;

    private final TransactionTemplate tx;

    BaseImages(JdbcClient db, InventoryProperties properties, Rebuilds rebuilds,
            PolicyEvaluator policy, OwnerNotices notices, ApplicationEventPublisher events,
            Clock clock, TransactionTemplate tx) {
        this.tx = tx;
        this.policy = policy;
        this.notices = notices;
        this.db = db;
        this.properties = properties;
        this.rebuilds = rebuilds;
        this.events = events;
        this.clock = clock;
    }

    record Change(String ref, String from, String to, List<Object> rebuilds) {
    }

    record Refresh(int checked, List<Change> changed, List<Map<String, String>> errors) {
    }

    @Scheduled(initialDelayString = "${gateway.inventory.base-watch-interval:5m}",
            fixedDelayString = "${gateway.inventory.base-watch-interval:5m}")
    void scheduled() {
        try {
            refresh(RequestInfo.system());
        } catch (RuntimeException e) {
            log.warn("base image watch failed; will retry", e);
        }
    }

    /**
     * Checks every watched tag now. The registry is asked first, outside any transaction (a move's audit event takes
     * the audit chain's lock until its transaction commits, so registry calls inside it held every replica's audited
     * writes for as long as the registry took: a review's finding, 2026-12-07); then what was found is recorded,
     * serialised across replicas by a transaction-scoped PostgreSQL advisory lock: a replica that waited for
     * another's watch reads the digests that one recorded and finds no change, and a tag another replica checked
     * after this one asked is left as that one found it (never moved back to an older answer). So a moved base is
     * recorded, audited, notified and rebuilt once, not once per replica.
     */
    synchronized Refresh refresh(RequestInfo info) {
        Set<String> refs = new LinkedHashSet<>(properties.watchedBases());
        refs.addAll(db.sql("select distinct base_ref from image where base_ref is not null order by base_ref")
                .query(String.class).list());
        refs.removeIf(String::isBlank);
        List<Answer> answers = new ArrayList<>();
        for (String ref : refs) {
            Instant asked = clock.instant().truncatedTo(ChronoUnit.MICROS);
            try {
                answers.add(new Answer(ref, asked, resolve(ref), null));
            } catch (IOException | RuntimeException e) {
                answers.add(new Answer(ref, asked, null, e.getMessage() == null ? e.getClass().getSimpleName()
                        : e.getMessage()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        Refresh found = tx.execute(s -> {
            db.sql("select pg_advisory_xact_lock(?) is not null").param(WATCH_LOCK).query(Boolean.class).single();
            return record(answers, info);
        });
        // Rebuilds are requested after the watch's transaction committed: a rebuild submits builds in transactions
        // of their own, which must see the recorded move (and whose rows the rebuild's links must see). Every move
        // still waiting for its rebuilds is taken (this watch's and any an earlier one could not request), once
        // across replicas: a base tag is claimed for CLAIM, all its pending moves at once, by one replica at a time
        // (a lock per tag, and no claim of it unexpired); only the moves this claim took are unflagged when every
        // team's rebuild is requested, or released on a failure; a claim whose replica died lapses.
        Map<String, List<Object>> requested = new LinkedHashMap<>();
        for (String ref : db.sql("select distinct ref from base_image_change where rebuild_pending")
                .query(String.class).list()) {
            Claim claim = tx.execute(st -> claim(ref));
            if (claim == null) {
                continue; // another replica's watch holds it
            }
            try {
                requested.put(ref, autoRebuild(ref, claim.movedAt().toInstant())); // moved twice: one
                db.sql("update base_image_change set rebuild_pending = false, rebuild_claimed_until = null"
                        + " where ref = ? and rebuild_claimed_until = ?").params(ref, claim.until()).update();
            } catch (RuntimeException e) {
                log.warn("the automatic rebuild of the images on {} could not be requested; asked again at the next"
                        + " watch: {}", ref, e.toString());
                requested.put(ref, List.of());
                try {
                    db.sql("update base_image_change set rebuild_claimed_until = null where ref = ? and"
                            + " rebuild_claimed_until = ?").params(ref, claim.until()).update();
                } catch (RuntimeException stillAway) {
                    // the claim lapses by itself
                }
            }
        }
        List<Change> changed = new ArrayList<>();
        for (Change c : found.changed()) {
            changed.add(new Change(c.ref(), c.from(), c.to(), requested.getOrDefault(c.ref(), List.of())));
        }
        return new Refresh(found.checked(), changed, found.errors());
    }

    /** A replica's claim on a base tag's pending moves: its expiry (which names it) and the latest move. */
    private record Claim(Timestamp until, Timestamp movedAt) {
    }

    /** Claims every pending move of the tag, unless another replica's claim of it has not lapsed (in a transaction). */
    private Claim claim(String ref) {
        db.sql("select pg_advisory_xact_lock(?, hashtext(?)) is not null").params(CLAIM_LOCK_CLASS, ref)
                .query(Boolean.class).single();
        if (db.sql("select exists (select 1 from base_image_change where ref = ? and rebuild_pending and"
                + " rebuild_claimed_until >= now())").param(ref).query(Boolean.class).single()) {
            return null;
        }
        List<Map<String, Object>> rows = db.sql("update base_image_change set rebuild_claimed_until = now() +"
                + " ?::interval where ref = ? and rebuild_pending returning changed_at, rebuild_claimed_until")
                .params(CLAIM.toSeconds() + " seconds", ref).query().listOfRows();
        if (rows.isEmpty()) {
            return null;
        }
        Timestamp movedAt = rows.stream().map(r -> (Timestamp) r.get("changed_at")).max(Timestamp::compareTo)
                .orElseThrow();
        return new Claim((Timestamp) rows.get(0).get("rebuild_claimed_until"), movedAt);
    }

    /** What the registry answered for a tag when it was asked: a digest, or why there is none. */
    private record Answer(String ref, Instant asked, String digest, String error) {
    }

    private Refresh record(List<Answer> answers, RequestInfo info) {
        List<Change> changed = new ArrayList<>();
        List<Map<String, String>> errors = new ArrayList<>();
        for (Answer answer : answers) {
            String ref = answer.ref();
            Instant now = answer.asked();
            Map<String, Object> row = db.sql("select digest, checked_at from base_image where ref = ?").param(ref)
                    .query().listOfRows().stream().findFirst().orElse(Map.of());
            Timestamp lastChecked = (Timestamp) row.get("checked_at");
            if (lastChecked != null && lastChecked.toInstant().isAfter(now)) {
                continue; // another replica asked the registry later than this one and recorded what it found
            }
            if (answer.error() != null) {
                String why = answer.error();
                errors.add(Map.of("ref", ref, "error", why));
                db.sql("""
                        insert into base_image (ref, checked_at, error) values (?, ?, ?)
                        on conflict (ref) do update set checked_at = excluded.checked_at, error = excluded.error
                        """).params(ref, Timestamp.from(now), why).update();
                continue;
            }
            String digest = answer.digest();
            String old = (String) row.get("digest");
            if (old == null) {
                db.sql("""
                        insert into base_image (ref, digest, checked_at) values (?, ?, ?)
                        on conflict (ref) do update set digest = excluded.digest, checked_at = excluded.checked_at,
                            error = null
                        """).params(ref, digest, Timestamp.from(now)).update();
            } else if (!old.equals(digest)) {
                db.sql("""
                        update base_image set previous_digest = digest, digest = ?, changed_at = ?, checked_at = ?,
                            error = null where ref = ?
                        """).params(digest, Timestamp.from(now), Timestamp.from(now), ref).update();
                db.sql("insert into base_image_change (ref, old_digest, new_digest, changed_at, rebuild_pending)"
                        + " values (?, ?, ?, ?, true)").params(ref, old, digest, Timestamp.from(now)).update();
                Map<String, Object> details = new LinkedHashMap<>();
                details.put("from", old);
                details.put("to", digest);
                details.put("dependentImages", db.sql("select count(*) from image where base_ref = ?").param(ref)
                        .query(Integer.class).single());
                events.publishEvent(new AuditRecord("base-image.changed", "base/" + ref, AuditRecord.Outcome.SUCCESS,
                        details, info));
                notices.baseChanged(ref, old, digest);
                changed.add(new Change(ref, old, digest, List.of()));
            } else {
                db.sql("update base_image set checked_at = ?, error = null where ref = ?")
                        .params(Timestamp.from(now), ref).update();
            }
        }
        return new Refresh(answers.size(), changed, errors);
    }

    /**
     * Rebuilds, for each team whose policy says so, the images built on a base that moved; a team whose automatic
     * rebuild of this move was already requested (by a watch that failed on a later team, or died before it could
     * unflag the move) is not rebuilt twice. The gateway's own doing, whoever's refresh found the move (or found it
     * still pending from an earlier watch): its events name the system, as the background watch's do, and as the
     * rebuild's {@code requested_by} ("gateway") says; the refresh's own events name its caller.
     */
    private List<Object> autoRebuild(String ref, Instant movedAt) {
        RequestInfo info = RequestInfo.system();
        List<Object> out = new ArrayList<>();
        String reason = "automatic: base image " + ref + " moved";
        for (String team : policy.autoRebuildTeams()) {
            if (team.isBlank()) {
                continue;
            }
            List<Object> earlier = db.sql("select id from rebuild where reason = ? and requested_at >= ? and"
                    + " cast(selector as jsonb) ->> 'team' = ?").params(reason, Timestamp.from(movedAt), team)
                    .query(Object.class).list();
            if (!earlier.isEmpty()) {
                out.addAll(earlier);
                continue;
            }
            List<Rebuilds.Target> targets = rebuilds.resolve(new Rebuilds.Selector(ref, null, null, null, null, team));
            if (!targets.isEmpty()) {
                out.add(rebuilds.request(new Rebuilds.Selector(ref, null, null, null, null, team),
                        reason, "gateway", info).id());
            }
        }
        return out;
    }

    /** The digest the registry serves for a tag. Only references on the gateway's registry are watched. */
    String resolve(String ref) throws IOException, InterruptedException {
        URI registry = URI.create(properties.registryUrl());
        String host = registry.getAuthority();
        ImageReference split = ImageReference.split(ref);
        String repository = split.repositoryOn(host);
        if (repository == null) {
            throw new IOException("not on the gateway's registry " + host);
        }
        if (split.digest() != null) {
            return split.digest(); // pinned by digest: it cannot move
        }
        String tag = split.manifestReference();
        HttpResponse<Void> r = http.send(HttpRequest.newBuilder(registry.resolve("/v2/" + repository + "/manifests/"
                + tag)).method("HEAD", HttpRequest.BodyPublishers.noBody()).header("Accept", ACCEPT)
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() != 200) {
            throw new IOException("registry answered HTTP " + r.statusCode() + " for " + ref);
        }
        String digest = r.headers().firstValue("Docker-Content-Digest").orElse("");
        if (!Digest.isValid(digest)) {
            throw new IOException("registry sent no usable Docker-Content-Digest for " + ref);
        }
        return digest;
    }

    List<Map<String, Object>> list() {
        Set<String> refs = new LinkedHashSet<>(properties.watchedBases());
        refs.removeIf(String::isBlank);
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        db.sql("select ref, digest, previous_digest, changed_at, checked_at, error from base_image order by ref")
                .query(rs -> {
                    Map<String, Object> b = new LinkedHashMap<>();
                    b.put("ref", rs.getString(1));
                    b.put("digest", rs.getString(2));
                    b.put("previousDigest", rs.getString(3));
                    b.put("changedAt", rs.getTimestamp(4) == null ? null : rs.getTimestamp(4).toInstant());
                    b.put("checkedAt", rs.getTimestamp(5) == null ? null : rs.getTimestamp(5).toInstant());
                    b.put("error", rs.getString(6));
                    b.put("dependentImages", 0);
                    out.put(rs.getString(1), b);
                });
        db.sql("select distinct base_ref from image where base_ref is not null").query(String.class).list()
                .forEach(refs::add);
        for (String ref : refs) {
            out.computeIfAbsent(ref, r -> {
                Map<String, Object> b = new LinkedHashMap<>();
                b.put("ref", r);
                b.put("digest", null);
                b.put("checkedAt", null);
                return b;
            }).put("dependentImages", db.sql("select count(*) from image where base_ref = ?").param(ref)
                    .query(Integer.class).single());
        }
        // By reference, whether checked yet or not: the order a page's cursor relies on.
        List<Map<String, Object>> sorted = new ArrayList<>(out.values());
        sorted.sort(java.util.Comparator.comparing(b -> String.valueOf(b.get("ref"))));
        return sorted;
    }
}
