package io.buildgateway.inventory;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.RequestInfo;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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
        return find(id).orElseThrow();
    }

    /** What a page cursor must be. */
    static final String AFTER = "cursor must be the nextCursor of a previous page (the id of its last deployment)";

    /** Which current deployments a list shows; null fields do not narrow. */
    record Query(String environment, String digest, boolean staleOnly, Set<String> teams) {
    }

    /** A page of the list, and whether more follow it (then ask again after the last item's id). */
    record Page(List<View> items, boolean more) {
    }

    /**
     * Current deployments (what runs now), unknown provenance first, then by environment, cluster, namespace and
     * workload: at most {@code limit} after the deployment {@code after} (null: from the start). {@code staleOnly}
     * keeps those needing action; {@code teams} (null for all) those running the teams' images.
     *
     * <p>Staleness is decided in the database, a page at a time. Unknown provenance is a reason by itself, so those
     * deployments are one part of the list (few: from the partial index on unknown images). The others are read in
     * list order in bounded chunks of {@code deployment_current} (the page and some slack, then sized by the share
     * kept so far): each chunk's rows are tested with three index probes (base moved, tag moved, an advisory with a
     * fix) until the page is full, so a page costs the rows it passes over, never the whole fleet. The reasons' details are built for the page's rows only.
     *
     * @throws Problem (400) when {@code after} names no deployment
     */
    Page list(Query q, UUID after, int limit) {
        Key from = null;
        if (after != null) {
            from = db.sql("""
                    select i.provenance = 'unknown', d.environment, d.cluster, d.namespace, d.workload
                    from deployment d join image i on i.digest = d.digest where d.id = ?""").param(after)
                    .query((rs, n) -> new Key(rs.getBoolean(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            rs.getString(5)))
                    .optional().orElseThrow(() -> Problem.badRequest("invalid-parameter", AFTER));
        }
        List<View> out = new ArrayList<>();
        if ((from == null || from.unknown()) && q.teams() == null) { // (an image of unknown provenance has no team)
            out.addAll(unknown(q, from, limit + 1));
        }
        Key lower = from == null || from.unknown() ? null : from;
        int size = limit + 1 + SLACK;
        while (out.size() <= limit) {
            Chunk chunk = chunk(q, lower, size);
            int before = out.size();
            if (chunk.ids().length > 0) {
                out.addAll(rows(q, chunk.ids(), limit + 1 - before));
            }
            if (chunk.ids().length < size || out.size() > limit) {
                break; // the end of the list, or the page is full
            }
            // The next chunk as large as this one's share of kept rows says the rest of the page needs, with room.
            int kept = Math.max(1, out.size() - before);
            lower = chunk.last();
            size = (int) Math.min(MAX_CHUNK, (long) (limit + 1 - out.size()) * size / kept * 5 / 4 + SLACK);
        }
        return out.size() > limit ? new Page(List.copyOf(out.subList(0, limit)), true) : new Page(out, false);
    }

    /** One current deployment, by id. */
    Optional<View> find(UUID id) {
        return db.sql(DETAILS + CURRENT + " and d.id = ?) p").param(id).query(this::view).optional();
    }

    /** The daily digest reads the whole fleet: in fewer, larger pages than the API serves. */
    private static final int DIGEST_PAGE = 5000;

    /** Every stale current deployment, unknown provenance first (a page at a time: the daily digest's input). */
    List<View> allStale() {
        List<View> out = new ArrayList<>();
        Page page = list(new Query(null, null, true, null), null, DIGEST_PAGE);
        out.addAll(page.items());
        while (page.more()) {
            page = list(new Query(null, null, true, null), out.get(out.size() - 1).id(), DIGEST_PAGE);
            out.addAll(page.items());
        }
        return out;
    }

    /** Where a deployment stands in the list order. */
    private record Key(boolean unknown, String environment, String cluster, String namespace, String workload) {
    }

    /**
     * The reasons' details of some current deployments: {@link #CURRENT} narrowed to a page (a derived table {@code p}),
     * then per row which tags moved away from its digest and which advisories with a fix affect its build.
     */
    private static final String DETAILS = """
            select p.*,
                (select string_agg(t_now.repository || ':' || t_now.tag || '=' || t_now.digest, ','
                                   order by t_now.repository, t_now.tag)
                   from image_tag t_old join image_tag t_now on t_now.repository = t_old.repository
                     and t_now.tag = t_old.tag and t_now.until is null
                   where t_old.digest = p.digest and t_now.digest <> p.digest) as superseded,
                (select string_agg(distinct v.advisory_id, ',') from image_vulnerability v
                   where v.build_id = p.build_id and v.fixed is not null) as fixable
            from (""";

    /** Current deployments with their image and where its base tag points now. */
    private static final String CURRENT = """
            select d.id, d.environment, d.cluster, d.namespace, d.workload, d.image_ref, d.digest, i.team,
                i.provenance, d.deployed_at, d.deployed_by, d.replaced_at, i.build_id, i.base_ref, i.base_digest,
                b.digest as base_now
            from deployment d
            join image i on i.digest = d.digest
            left join base_image b on b.ref = i.base_ref
            where d.replaced_at is null""";

    /** "Stale" for an image the gateway built: the three reasons besides provenance, each an index probe. */
    private static final String STALE = """
             and ((i.base_digest <> b.digest)
              or exists (select 1 from image_tag t_old join image_tag t_now on t_now.repository = t_old.repository
                           and t_now.tag = t_old.tag and t_now.until is null
                         where t_old.digest = d.digest and t_now.digest <> d.digest)
              or exists (select 1 from image_vulnerability v where v.build_id = i.build_id and v.fixed is not null))
            """;

    /**
     * A chunk of the list is the page plus this many (most deployments of a real fleet are stale, and when the
     * question is stale=false all are kept), then sized by the share of the last chunk's rows kept; at most MAX_CHUNK.
     */
    private static final int SLACK = 64;
    private static final int MAX_CHUNK = 20_000;

    /** The ids of some deployments in list order, and the position of the last of them. */
    private record Chunk(UUID[] ids, Key last) {
    }

    /**
     * The next {@code size} current deployments of the query after {@code lower}, whatever their image: an index scan
     * of {@code deployment_current} from that position (for a team or an image, a sort of its deployments).
     */
    private Chunk chunk(Query q, Key lower, int size) {
        StringBuilder where = new StringBuilder();
        List<Object> params = new ArrayList<>();
        narrow(q, where, params);
        after(lower, where, params);
        params.add(size);
        List<UUID> ids = new ArrayList<>();
        Key[] last = {null};
        db.sql("select d.id, d.environment, d.cluster, d.namespace, d.workload from deployment d"
                + " where d.replaced_at is null" + where + " order by d.environment, d.cluster, d.namespace,"
                + " d.workload limit ?").params(params).query(rs -> {
                    ids.add(rs.getObject(1, UUID.class));
                    last[0] = new Key(false, rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5));
                });
        return new Chunk(ids.toArray(new UUID[0]), last[0]);
    }

    /**
     * Of a chunk, the deployments of the gateway's images the query keeps (stale ones, when it asks), in list order,
     * at most {@code limit}, with the reasons' details. The chunk is named by its ids, so that the planner knows how
     * few rows it joins (a range of the list it overestimates, and then hashes every image).
     */
    private List<View> rows(Query q, UUID[] ids, int limit) {
        StringBuilder where = new StringBuilder(" and d.id = any (?) and i.provenance <> 'unknown'");
        List<Object> params = new ArrayList<>();
        params.add(ids);
        if (q.staleOnly()) {
            where.append(STALE);
        }
        params.add(limit);
        return query(where, params);
    }

    /**
     * The deployments of images of unknown provenance the query keeps (all stale), after {@code lower}: those few
     * images first (their partial index), then their deployments (deployment_digest).
     */
    private List<View> unknown(Query q, Key lower, int limit) {
        StringBuilder where = new StringBuilder(" and i.provenance = 'unknown'"
                + " and d.digest = any (array(select u.digest from image u where u.provenance = 'unknown'))");
        List<Object> params = new ArrayList<>();
        narrow(q, where, params);
        after(lower, where, params);
        params.add(limit);
        return query(where, params);
    }

    private List<View> query(StringBuilder where, List<Object> params) {
        return db.sql(DETAILS + CURRENT + where + " order by d.environment, d.cluster, d.namespace, d.workload"
                + " limit ?) p order by p.environment, p.cluster, p.namespace, p.workload").params(params)
                .query(this::view).list();
    }

    /** The query's conditions on {@code deployment d}. */
    private static void narrow(Query q, StringBuilder where, List<Object> params) {
        if (q.environment() != null) {
            where.append(" and d.environment = ?");
            params.add(q.environment());
        }
        if (q.digest() != null) {
            where.append(" and d.digest = ?");
            params.add(q.digest());
        }
        if (q.teams() != null) {
            // The teams' images first (image_team), then their deployments (deployment_digest), sorted: a team has a
            // small share of the fleet, which a walk in list order would pass over, joining each row's image.
            where.append(" and d.digest = any (array(select t.digest from image t where t.team = any (?)))");
            params.add(q.teams().toArray(new String[0]));
        }
    }

    private static void after(Key lower, StringBuilder where, List<Object> params) {
        if (lower != null) {
            where.append(" and (d.environment, d.cluster, d.namespace, d.workload) > (?, ?, ?, ?)");
            params.addAll(List.of(lower.environment(), lower.cluster(), lower.namespace(), lower.workload()));
        }
    }

    /** A row of {@link #DETAILS} as a deployment with its reasons, in the order the API has always listed them. */
    private View view(ResultSet rs, int n) throws SQLException {
        List<Map<String, Object>> reasons = new ArrayList<>();
        String provenance = rs.getString("provenance");
        if ("unknown".equals(provenance)) {
            reasons.add(Map.of("reason", "unknown-provenance",
                    "detail", "the image was not built by the gateway: no policy, verification or scan record"));
        }
        String superseded = rs.getString("superseded");
        if (superseded != null) {
            reasons.add(Map.of("reason", "newer-build", "detail",
                    "the tag now points to a newer build: " + superseded));
        }
        String baseDigest = rs.getString("base_digest");
        String baseNow = rs.getString("base_now");
        if (baseDigest != null && baseNow != null && !baseDigest.equals(baseNow)) {
            reasons.add(Map.of("reason", "base-changed", "detail", "built on " + rs.getString("base_ref") + " at "
                    + baseDigest + "; the tag now points to " + baseNow));
        }
        String fixable = rs.getString("fixable");
        if (fixable != null) {
            reasons.add(Map.of("reason", "fixable-vulnerability", "detail",
                    "affected by advisories with a fixed version: " + fixable));
        }
        return new View(rs.getObject("id", UUID.class), rs.getString("environment"), rs.getString("cluster"),
                rs.getString("namespace"), rs.getString("workload"), rs.getString("image_ref"), rs.getString("digest"),
                rs.getString("team"), provenance, rs.getTimestamp("deployed_at").toInstant(),
                rs.getString("deployed_by"),
                rs.getTimestamp("replaced_at") == null ? null : rs.getTimestamp("replaced_at").toInstant(),
                !reasons.isEmpty(), reasons);
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
