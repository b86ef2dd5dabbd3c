package io.buildgateway.inventory;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.auth.Role;
import io.buildgateway.scanning.versions.VersionOrderings;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;

/**
 * The security team's questions about images, combinable: by team, by package (optionally below a version, in the
 * package's own ecosystem ordering), by advisory or CVE id, by base (reference or digest), and "vulnerable with a
 * fix". Reads the scanning module's tables (packages, vulnerabilities) by build id in the same SQL, so one query
 * answers a combined question.
 */
@Service
class ImageQueries {

    /**
     * A package (at the versions asked) held by package rows of at least 1/DENSE of the images (5 %) is common: a
     * page of its images is found by walking the images in digest order; a rarer one by collecting its builds first.
     */
    private static final int DENSE = 20;

    private final JdbcClient db;

    ImageQueries(JdbcClient db) {
        this.db = db;
    }

    record Filter(String team, String packageName, String packageVersionBelow, String cve, String base,
            boolean fixable) {
    }

    /** One image as the list shows it (API.md's shape). */
    record ImageSummary(String digest, String ref, String team, String repository, List<String> tags,
            Instant builtAt, UUID buildId, List<Map<String, String>> base, Map<String, Integer> vulnerabilities,
            int deployments, String provenance) {
    }

    /**
     * One page of images the filter selects, in digest order after {@code after}: at most {@code limit}, each with
     * its summary. The selection is one query with the page's limit (a version filter asks one more first).
     */
    List<ImageSummary> list(Filter f, GatewayPrincipal principal, int limit, String after) {
        Selection s = select(f, principal, after);
        if (s == null) {
            return List.of();
        }
        List<Object> params = new ArrayList<>(s.params());
        params.add(limit);
        return db.sql("""
                select i.digest, i.repository, i.team, i.build_id, i.first_seen, i.base_ref, i.base_digest,
                    i.provenance
                from image i where 1 = 1""" + s.where() + " order by i.digest limit ?").params(params)
                .query(Inventory::entry).list().stream().map(this::summary).toList();
    }

    /** The digests of every image the filter selects, in digest order (what a rebuild needs: no summaries). */
    List<String> digests(Filter f, GatewayPrincipal principal) {
        Selection s = select(f, principal, null);
        if (s == null) {
            return List.of();
        }
        return db.sql("select i.digest from image i where 1 = 1" + s.where() + " order by i.digest")
                .params(s.params()).query(String.class).list();
    }

    /** The conditions on {@code image i} a filter makes, with their parameters. */
    private record Selection(String where, List<Object> params) {
    }

    /** The filter as SQL conditions; null when nothing can match. */
    private Selection select(Filter f, GatewayPrincipal principal, String after) {
        StringBuilder sql = new StringBuilder();
        List<Object> params = new ArrayList<>();
        if (!readsAll(principal)) {
            if (principal.teams().isEmpty()) {
                return null;
            }
            sql.append(" and i.team = any (?)");
            params.add(principal.teams().toArray(new String[0]));
        }
        if (f.team() != null) {
            sql.append(" and i.team = ?");
            params.add(f.team());
        }
        if (f.base() != null) {
            sql.append(" and (i.base_ref = ? or i.base_digest = ?)");
            params.add(f.base());
            params.add(f.base());
        }
        if (f.cve() != null) {
            // aliases is a JSON array of ids: containment finds an exact id through image_vulnerability_alias_ids
            // (what LIKE '%"<id>"%' matched, without reading every row). An advisory concerns a share of the images
            // at most, so its builds are collected from the two indexes first and then sorted.
            sql.append(" and i.build_id in (select v.build_id from image_vulnerability v where v.advisory_id = ?"
                    + " union all select v.build_id from image_vulnerability v"
                    + " where v.aliases::jsonb @> jsonb_build_array(?::text))");
            params.add(f.cve());
            params.add(f.cve().replace("%", ""));
        }
        if (f.packageVersionBelow() != null) {
            // The package's own ordering decides, in Java, which of its installed versions are below; the query then
            // asks for those (ecosystem, version) pairs, so that paging and the limit stay in SQL.
            if (f.packageName() == null) {
                return null;
            }
            Below below = versionsBelow(f.packageName(), f.packageVersionBelow());
            if (below.rows() == 0) {
                return null;
            }
            String[] ecosystems = below.versions().stream().map(v -> v[0]).toArray(String[]::new);
            String[] numbers = below.versions().stream().map(v -> v[1]).toArray(String[]::new);
            havingPackage(sql, params, f.packageName(), List.of(ecosystems, numbers), below.rows() >= common());
        } else if (f.packageName() != null) {
            havingPackage(sql, params, f.packageName(), List.of(), packageRows(f.packageName()) >= common());
        }
        if (f.fixable()) {
            sql.append(" and exists (select 1 from image_vulnerability v where v.build_id = i.build_id"
                    + " and v.fixed is not null)");
        }
        if (after != null) {
            sql.append(" and i.digest > ?");
            params.add(after);
        }
        return new Selection(sql.toString(), params);
    }

    /** The installed (ecosystem, version) pairs of a package that are below a version, and how many rows hold them. */
    private record Below(List<String[]> versions, long rows) {
    }

    /**
     * The (ecosystem, version) pairs, among those installed anywhere for the package, that are below {@code below}
     * in the ecosystem's own ordering (ecosystems without a known ordering never count as below). The installed
     * versions come from package_version (V6), kept by each scan: a few rows, where reading them from image_package
     * meant every package row of the name.
     */
    private Below versionsBelow(String name, String below) {
        List<String[]> versions = new ArrayList<>();
        long[] rows = {0};
        db.sql("select ecosystem, version, package_rows from package_version where name = ?").param(name)
                .query(rs -> {
                    String ecosystem = rs.getString(1);
                    String version = rs.getString(2);
                    if (VersionOrderings.forEcosystem(ecosystem).map(o -> o.compare(version, below) < 0)
                            .orElse(false)) {
                        versions.add(new String[] {ecosystem, version});
                        rows[0] += rs.getLong(3);
                    }
                });
        return new Below(versions, rows[0]);
    }

    /**
     * "Holds the package (at one of these (ecosystem, version) pairs)": the name matches the binary or the source
     * package. Both forms answer the same; only the plan differs, and the planner cannot tell them apart by itself.
     */
    private static void havingPackage(StringBuilder sql, List<Object> params, String name, List<String[]> versions,
            boolean common) {
        String pairs = versions.isEmpty() ? ""
                : " and (p.ecosystem, p.version) in (select * from unnest(?::varchar[], ?::varchar[]))";
        if (common) {
            // Common: the images are walked in digest order until the page is full, each looked up in the two name
            // indexes (name, build_id). Written as scalar probes, which PostgreSQL runs per image; an EXISTS would be
            // planned as a hash of every build holding the package (500,000 rows for a common source package).
            sql.append(" and ((select true from image_package p where p.build_id = i.build_id and p.name = ?" + pairs
                    + " limit 1) or (select true from image_package p where p.build_id = i.build_id"
                    + " and p.advisory_name = ?" + pairs + " limit 1))");
        } else {
            // Rare: its few builds are collected from the two name indexes, then only those images sorted.
            sql.append(" and i.build_id in (select p.build_id from image_package p where p.name = ?" + pairs
                    + " union all select p.build_id from image_package p where p.advisory_name = ?" + pairs + ")");
        }
        params.add(name);
        params.addAll(versions);
        params.add(name);
        params.addAll(versions);
    }

    /** How many package rows make a package common: 1/DENSE of the images, by the planner's count (ANALYZE's). */
    private long common() {
        long images = db.sql("select greatest(reltuples, 0)::bigint from pg_class where oid = 'image'::regclass")
                .query(Long.class).single();
        return Math.max(1, images / DENSE);
    }

    /** The package's rows (as binary or source name), from the versions table (V6). */
    private long packageRows(String name) {
        return db.sql("select coalesce(sum(package_rows), 0) from package_version where name = ?").param(name)
                .query(Long.class).single();
    }

    ImageSummary summary(Inventory.Entry e) {
        List<String> tags = db.sql("select tag from image_tag where digest = ? and until is null order by tag")
                .param(e.digest()).query(String.class).list();
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (String s : List.of("critical", "high", "medium", "low")) {
            counts.put(s, 0);
        }
        if (e.buildId() != null) {
            db.sql("select severity, count(*) from image_vulnerability where build_id = ? group by severity")
                    .param(e.buildId()).query(rs -> {
                        counts.merge(rs.getString(1), rs.getInt(2), Integer::sum);
                    });
        }
        int deployments = db.sql("select count(*) from deployment where digest = ? and replaced_at is null")
                .param(e.digest()).query(Integer.class).single();
        List<Map<String, String>> base = new ArrayList<>();
        if (e.baseRef() != null) {
            Map<String, String> b = new LinkedHashMap<>();
            b.put("ref", e.baseRef());
            b.put("digest", e.baseDigest());
            base.add(b);
        }
        return new ImageSummary(e.digest(), e.repository() + "@" + e.digest(), e.team(), e.repository(), tags,
                e.firstSeen(), e.buildId(), base, counts, deployments, e.provenance());
    }

    static boolean readsAll(GatewayPrincipal p) {
        return p.readsAllTeams() || p.has(Role.DEPLOYER);
    }
}
