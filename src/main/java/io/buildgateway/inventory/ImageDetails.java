package io.buildgateway.inventory;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The parts of {@code GET /api/v1/images/{digest}} beyond the list's summary, as API.md lists them: the image's
 * configuration (user, exposed ports, entrypoint), its base lineage, the result of its scan, and the builds that
 * produced it. Read from the scan and build records; an image of unknown provenance has none of them.
 */
@Component
class ImageDetails {

    private final JdbcClient db;
    private final JsonMapper json;

    ImageDetails(JdbcClient db, JsonMapper json) {
        this.db = db;
        this.json = json;
    }

    record Details(Map<String, Object> config, Map<String, Object> baseLineage, Map<String, Object> scan,
            List<Map<String, Object>> builds) {
    }

    Details of(String digest) {
        Optional<Map<String, Object>[]> latest = db.sql("""
                select s.config, s.passed, s.scanned_at, s.policy_digest, s.distro, s.compliance_status,
                    s.base_image, s.base_image_id, s.base_layers, s.image_id, i.base_digest, b.pulled_images
                from image_scan s
                join build b on b.id = s.build_id
                left join image i on i.digest = s.image_digest
                where s.image_digest = ?
                order by s.scanned_at desc
                limit 1
                """).param(digest).query((rs, n) -> scanParts(rs)).optional();
        List<Map<String, Object>> builds = db.sql("""
                select b.id, b.status, b.requested_by, b.requested_at, b.finished_at, b.rebuild_of, b.host
                from image_scan s join build b on b.id = s.build_id
                where s.image_digest = ?
                order by b.requested_at desc
                limit 20
                """).param(digest).query((rs, n) -> {
                    Map<String, Object> b = new LinkedHashMap<>();
                    b.put("id", rs.getObject("id"));
                    b.put("status", rs.getString("status"));
                    b.put("requestedBy", rs.getString("requested_by"));
                    b.put("requestedAt", instant(rs, "requested_at"));
                    b.put("finishedAt", instant(rs, "finished_at"));
                    b.put("rebuildOf", rs.getObject("rebuild_of"));
                    b.put("host", rs.getString("host"));
                    b.put("href", "/api/v1/builds/" + rs.getObject("id"));
                    return b;
                }).list();
        return latest.map(p -> new Details(p[0], p[1], p[2], builds))
                .orElseGet(() -> new Details(null, null, null, builds));
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object>[] scanParts(ResultSet rs) throws SQLException {
        Map<String, Object> config = json.convertValue(json.readTree(rs.getString("config")), Map.class);
        Map<String, Object> lineage = new LinkedHashMap<>();
        lineage.put("ref", rs.getString("base_image"));
        lineage.put("digest", rs.getString("base_digest"));
        lineage.put("imageId", rs.getString("base_image_id"));
        lineage.put("baseLayers", rs.getInt("base_layers"));
        String pulled = rs.getString("pulled_images");
        JsonNode images = pulled == null ? null : json.readTree(pulled);
        lineage.put("pulled", images == null ? List.of() : json.convertValue(images, List.class));
        Map<String, Object> scan = new LinkedHashMap<>();
        scan.put("passed", rs.getBoolean("passed"));
        scan.put("scannedAt", instant(rs, "scanned_at"));
        scan.put("policyDigest", rs.getString("policy_digest"));
        scan.put("distro", rs.getString("distro"));
        scan.put("compliance", rs.getString("compliance_status"));
        scan.put("imageId", rs.getString("image_id"));
        return new Map[] {config, lineage, scan};
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }
}
