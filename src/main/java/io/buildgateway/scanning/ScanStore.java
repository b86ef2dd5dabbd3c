package io.buildgateway.scanning;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;
import tools.jackson.databind.json.JsonMapper;

/** The scanning tables (db/migration/V2): scans, their packages and vulnerabilities, and the advisories. */
@Repository
class ScanStore {

    private final JdbcClient db;
    private final JsonMapper json;

    ScanStore(JdbcClient db, JsonMapper json) {
        this.db = db;
        this.json = json;
    }

    /** A stored scan, as the API shows it (large columns are read separately). */
    record Scan(UUID buildId, String imageId, String imageDigest, String repository, String tag, String team,
            Instant scannedAt, boolean passed, String policyDigest, String baseImage, String baseImageId,
            String baseDigest, int baseLayers, String config, String findings, String distro, String complianceStatus,
            String complianceRules, String complianceMessage, String timings) {
    }

    void insert(Scan s, String sbom, List<io.buildgateway.scanning.compliance.ComplianceResult.Arf> arfs,
            List<Packages.Package> packages,
            List<VulnerabilityMatcher.Vulnerability> vulnerabilities) {
        replaceEarlierAttempt(s.buildId());
        db.sql("""
                insert into image_scan (build_id, image_id, image_digest, repository, tag, team, scanned_at, passed,
                    policy_digest, base_image, base_image_id, base_digest, base_layers, config, findings, distro, sbom,
                    compliance_status, compliance_rules, compliance_message, timings)
                values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
                .params(s.buildId(), s.imageId(), s.imageDigest(), s.repository(), s.tag(), s.team(),
                        Timestamp.from(s.scannedAt()), s.passed(), s.policyDigest(), s.baseImage(), s.baseImageId(),
                        s.baseDigest(), s.baseLayers(), s.config(), s.findings(), s.distro(), sbom, s.complianceStatus(),
                        s.complianceRules(), s.complianceMessage(), s.timings())
                .update();
        for (var arf : arfs) {
            db.sql("insert into image_compliance_arf (build_id, content, arf) values (?, ?, ?)")
                    .params(s.buildId(), arf.content(), arf.xml()).update();
        }
        for (Packages.Package p : packages) {
            db.sql("""
                    insert into image_package (build_id, type, ecosystem, name, advisory_name, version, purl, location)
                    values (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                    .params(s.buildId(), p.type(), p.ecosystem(), p.name(), p.advisoryName(), p.version(), p.purl(),
                            p.location())
                    .update();
        }
        // The versions installed per package name (binary and source), for the inventory's "below a version"
        // question (V6). Sorted, so that concurrent scans lock the rows they share in the same order.
        db.sql("""
                insert into package_version (name, ecosystem, version, package_rows)
                select name, ecosystem, version, count(*)
                from (select name, ecosystem, version from image_package where build_id = ?
                      union all select advisory_name, ecosystem, version from image_package where build_id = ?) p
                group by name, ecosystem, version order by name, ecosystem, version
                on conflict (name, ecosystem, version)
                do update set package_rows = package_version.package_rows + excluded.package_rows
                """).params(s.buildId(), s.buildId()).update();
        insertVulnerabilities(s.buildId(), vulnerabilities, s.scannedAt());
    }

    /**
     * A build re-queued after its replica was lost (issue #17, docs/operations.md) runs and is scanned again under the
     * same id: the earlier attempt's scan (never pushed, or the build would not have been re-queued) is replaced, its
     * package counts taken back, its packages, vulnerabilities and ARF results deleted with it (on delete cascade).
     */
    private void replaceEarlierAttempt(UUID buildId) {
        db.sql("""
                update package_version v set package_rows = v.package_rows - p.n
                from (select name, ecosystem, version, count(*) n
                      from (select name, ecosystem, version from image_package where build_id = ?
                            union all select advisory_name, ecosystem, version from image_package where build_id = ?) q
                      group by name, ecosystem, version) p
                where v.name = p.name and v.ecosystem = p.ecosystem and v.version = p.version
                """).params(buildId, buildId).update();
        db.sql("delete from image_scan where build_id = ?").param(buildId).update();
    }

    private void insertVulnerabilities(UUID buildId, Collection<VulnerabilityMatcher.Vulnerability> vulnerabilities,
            Instant at) {
        for (VulnerabilityMatcher.Vulnerability v : vulnerabilities) {
            db.sql("""
                    insert into image_vulnerability (build_id, advisory_id, aliases, ecosystem, package, installed,
                        fixed, severity, found_at)
                    values (?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing
                    """)
                    .params(buildId, v.advisoryId(), json.writeValueAsString(v.aliases()), v.ecosystem(),
                            v.packageName(), v.installed(), v.fixed(), v.severity(), Timestamp.from(at))
                    .update();
        }
    }

    /** The base evaluation the scan's compliance result was composed with (JSON), or null. */
    void composedWith(UUID buildId, String baseJson) {
        db.sql("update image_scan set compliance_base = ? where build_id = ?").params(baseJson, buildId).update();
    }

    Optional<String> composedWith(UUID buildId) {
        return db.sql("select compliance_base from image_scan where build_id = ?").param(buildId)
                .query((rs, n) -> Optional.ofNullable(rs.getString(1))).optional().flatMap(o -> o);
    }

    void pushed(UUID buildId, String digest) {
        db.sql("update image_scan set image_digest = ? where build_id = ?").params(digest, buildId).update();
    }

    /** The latest scan of an image, by manifest digest or image id. */
    Optional<Scan> find(String digest) {
        return db.sql("""
                select build_id, image_id, image_digest, repository, tag, team, scanned_at, passed, policy_digest,
                    base_image, base_image_id, base_digest, base_layers, config, findings, distro, compliance_status,
                    compliance_rules, compliance_message, timings
                from image_scan where image_digest = ? or image_id = ? order by scanned_at desc limit 1
                """)
                .params(digest, digest)
                .query((rs, n) -> new Scan(rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3),
                        rs.getString(4), rs.getString(5), rs.getString(6), rs.getTimestamp(7).toInstant(),
                        rs.getBoolean(8), rs.getString(9), rs.getString(10), rs.getString(11), rs.getString(12),
                        rs.getInt(13), rs.getString(14), rs.getString(15), rs.getString(16), rs.getString(17),
                        rs.getString(18), rs.getString(19), rs.getString(20)))
                .optional();
    }

    String sbom(UUID buildId) {
        return db.sql("select sbom from image_scan where build_id = ?").param(buildId).query(String.class).single();
    }

    /** The ARF report of one content file, or the first when {@code content} is null. */
    Optional<byte[]> arf(UUID buildId, String content) {
        return db.sql("select arf from image_compliance_arf where build_id = ? and (cast(? as text) is null "
                + "or content = ?) order by content limit 1")
                .params(buildId, content, content).query((rs, n) -> rs.getBytes(1)).optional();
    }

    List<String> arfContents(UUID buildId) {
        return db.sql("select content from image_compliance_arf where build_id = ? order by content").param(buildId)
                .query(String.class).list();
    }

    record StoredVulnerability(String advisoryId, List<String> aliases, String ecosystem,
            @com.fasterxml.jackson.annotation.JsonProperty("package") String packageName,
            String installed, String fixed, String severity, Instant foundAt) {
    }

    List<StoredVulnerability> vulnerabilities(UUID buildId) {
        return db.sql("""
                select advisory_id, aliases, ecosystem, package, installed, fixed, severity, found_at
                from image_vulnerability where build_id = ? order by severity, advisory_id, package
                """)
                .param(buildId)
                .query((rs, n) -> new StoredVulnerability(rs.getString(1),
                        List.of(json.readValue(rs.getString(2), String[].class)), rs.getString(3), rs.getString(4),
                        rs.getString(5), rs.getString(6), rs.getString(7), rs.getTimestamp(8).toInstant()))
                .list();
    }

    // --- advisories ---

    /** The stored modification time and withdrawal of an advisory, if it is stored. */
    record AdvisoryState(Instant modified, Instant withdrawn) {
    }

    Optional<AdvisoryState> advisoryState(String id) {
        return db.sql("select modified, withdrawn from advisory where id = ?").param(id)
                .query((rs, n) -> new AdvisoryState(rs.getTimestamp(1).toInstant(),
                        rs.getTimestamp(2) == null ? null : rs.getTimestamp(2).toInstant()))
                .optional();
    }

    /**
     * The advisories' lock (transaction-scoped): an import holds it alone for its whole transaction; a scan's record
     * holds it shared while it matches once more and writes its packages. So an import either committed before the
     * scan's last match (which sees it) or waits and then matches the scan's committed packages: a scan running
     * beside an import no longer misses the import's advisories for good (a review's finding, 2026-12-07).
     */
    void holdAdvisories(boolean alone) {
        db.sql(alone ? "select pg_advisory_xact_lock(?) is not null" : "select pg_advisory_xact_lock_shared(?) is not"
                + " null").param(ADVISORIES_LOCK).query(Boolean.class).single();
    }

    private static final long ADVISORIES_LOCK = 0x6277_6164_7669_7331L;

    void saveAdvisory(Osv osv, String document, Instant at) {
        db.sql("delete from advisory where id = ?").param(osv.id()).update();
        db.sql("""
                insert into advisory (id, modified, published, withdrawn, aliases, summary, severity, document,
                    imported_at)
                values (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
                .params(osv.id(), Timestamp.from(osv.modified()), ts(osv.published()), ts(osv.withdrawn()),
                        json.writeValueAsString(osv.aliases()), osv.summary(), osv.severity(), document,
                        Timestamp.from(at))
                .update();
        for (Osv.Affected a : osv.affected()) {
            db.sql("insert into advisory_package (advisory_id, ecosystem, name) values (?, ?, ?)")
                    .params(osv.id(), a.ecosystem(), VulnerabilityMatcher.normalName(a.ecosystem(), a.name()))
                    .update();
        }
    }

    /** The stored advisory documents that name any of these packages (as their advisories name them). */
    List<String> advisoryDocumentsFor(Collection<String> packageNames) {
        if (packageNames.isEmpty()) {
            return List.of();
        }
        return db.sql("""
                select a.document from advisory a
                where a.withdrawn is null and exists (select 1 from advisory_package p
                    where p.advisory_id = a.id and p.name = any (?))
                """)
                .param(packageNames.toArray(new String[0]))
                .query(String.class).list();
    }

    /** Every stored package named like one of these, with the build whose scan holds it. */
    Map<UUID, List<Packages.Package>> packagesNamed(Collection<String> names) {
        Map<UUID, List<Packages.Package>> out = new java.util.HashMap<>();
        if (names.isEmpty()) {
            return out;
        }
        db.sql("""
                select build_id, type, ecosystem, name, advisory_name, version, purl, location
                from image_package where advisory_name = any (?)
                """)
                .param(names.toArray(new String[0]))
                .query(rs -> {
                    out.computeIfAbsent(rs.getObject(1, UUID.class), k -> new java.util.ArrayList<>())
                            .add(new Packages.Package(rs.getString(2), rs.getString(3), rs.getString(4),
                                    rs.getString(6), rs.getString(5), rs.getString(7), rs.getString(8)));
                });
        return out;
    }

    /**
     * Replaces what one advisory says about the images: matches that no longer hold go, new ones are recorded, and
     * those that still hold keep the time they were first found. Returns how many images it now affects.
     */
    int replaceMatches(String advisoryId, Map<UUID, List<VulnerabilityMatcher.Vulnerability>> matches, Instant at) {
        java.util.Set<String> keep = new java.util.HashSet<>();
        matches.forEach((build, vulns) -> vulns.forEach(v -> keep.add(build + "\0" + v.packageName() + "\0"
                + v.installed())));
        db.sql("select build_id, package, installed from image_vulnerability where advisory_id = ?").param(advisoryId)
                .query(rs -> {
                    String key = rs.getString(1) + "\0" + rs.getString(2) + "\0" + rs.getString(3);
                    if (!keep.contains(key)) {
                        db.sql("""
                                delete from image_vulnerability
                                where advisory_id = ? and build_id = ? and package = ? and installed = ?
                                """)
                                .params(advisoryId, rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3))
                                .update();
                    }
                });
        matches.forEach((build, vulns) -> insertVulnerabilities(build, vulns, at));
        return (int) matches.values().stream().filter(v -> !v.isEmpty()).count();
    }

    private static Timestamp ts(Instant i) {
        return i == null ? null : Timestamp.from(i);
    }
}
