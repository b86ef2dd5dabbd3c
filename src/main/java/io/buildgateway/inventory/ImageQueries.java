package io.buildgateway.inventory;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.auth.Role;
import io.buildgateway.scanning.versions.VersionOrdering;
import io.buildgateway.scanning.versions.VersionOrderings;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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

    private final JdbcClient db;

    ImageQueries(JdbcClient db) {
        this.db = db;
    }

    record Filter(String team, String packageName, String packageVersionBelow, String cve, String base,
            boolean fixable) {
    }

    /** One image as the list shows it (API.md's shape). */
    record ImageSummary(String digest, String ref, String team, String repository, List<String> tags,
            java.time.Instant builtAt, UUID buildId, List<Map<String, String>> base, Map<String, Integer> vulnerabilities,
            int deployments, String provenance) {
    }

    List<ImageSummary> list(Filter f, GatewayPrincipal principal, int limit, String after) {
        StringBuilder sql = new StringBuilder("""
                select i.digest, i.repository, i.team, i.build_id, i.first_seen, i.base_ref, i.base_digest,
                    i.provenance
                from image i where 1 = 1
                """);
        List<Object> params = new ArrayList<>();
        if (!readsAll(principal)) {
            if (principal.teams().isEmpty()) {
                return List.of();
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
            sql.append(" and exists (select 1 from image_vulnerability v where v.build_id = i.build_id"
                    + " and (v.advisory_id = ? or v.aliases like ?))");
            params.add(f.cve());
            params.add("%\"" + f.cve().replace("%", "").replace("_", "\\_") + "\"%");
        }
        if (f.packageName() != null) {
            sql.append(" and exists (select 1 from image_package p where p.build_id = i.build_id"
                    + " and (p.name = ? or p.advisory_name = ?))");
            params.add(f.packageName());
            params.add(f.packageName());
        }
        if (f.fixable()) {
            sql.append(" and exists (select 1 from image_vulnerability v where v.build_id = i.build_id"
                    + " and v.fixed is not null)");
        }
        if (after != null) {
            sql.append(" and i.digest > ?");
            params.add(after);
        }
        sql.append(" order by i.digest");
        List<Inventory.Entry> entries = db.sql(sql.toString()).params(params).query(Inventory::entry).list();
        List<ImageSummary> out = new ArrayList<>();
        for (Inventory.Entry e : entries) {
            if (out.size() >= limit) {
                break;
            }
            if (f.packageVersionBelow() != null && !hasPackageBelow(e.buildId(), f.packageName(),
                    f.packageVersionBelow())) {
                continue;
            }
            out.add(summary(e));
        }
        return out;
    }

    /** Whether the image holds the package at a version below {@code below} in the package's own ordering. */
    private boolean hasPackageBelow(UUID buildId, String name, String below) {
        if (buildId == null) {
            return false;
        }
        return db.sql("select ecosystem, version from image_package where build_id = ? and (name = ? or "
                + "advisory_name = ?)").params(buildId, name, name).query((rs, n) -> {
                    Optional<VersionOrdering> ordering = VersionOrderings.forEcosystem(rs.getString(1));
                    return ordering.isPresent() && ordering.get().compare(rs.getString(2), below) < 0;
                }).list().contains(Boolean.TRUE);
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
