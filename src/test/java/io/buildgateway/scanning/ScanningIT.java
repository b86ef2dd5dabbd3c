package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Verification and scanning between build and push, on the real daemon, registry, PostgreSQL and oscap: what passes
 * is pushed with an SBOM, vulnerabilities and a compliance result; what fails never reaches the registry.
 */
class ScanningIT extends IntegrationTest {

    @org.springframework.beans.factory.annotation.Autowired
    private ScanningProperties scanning;

    /** The test registry outlives a run: every run builds repositories of its own. */
    private static final String RUN = Long.toString(System.nanoTime() % 1_000_000_000L, 36);

    private String security() {
        return token(Set.of("SECURITY"), Set.of());
    }

    private JsonNode build(String token, String image, byte[] context) {
        Response accepted = submit(token, "image=" + image + "&tag=1&noCache=true", context);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        return awaitFinal(token, read(accepted).path("id").asString(), Duration.ofMinutes(4));
    }

    /** The registry never received the tag. */
    private void assertNotInRegistry(String repository) {
        Response manifest = send(HttpRequest.newBuilder(URI.create("http://" + registryAddress() + "/v2/"
                + repository + "/manifests/1")).header("Accept",
                "application/vnd.docker.distribution.manifest.v2+json").GET());
        assertThat(manifest.status()).as("registry answer for " + repository).isEqualTo(404);
    }

    /**
     * The refused image is in the registry under no name: its build's quarantine repository, to which the daemon
     * pushed it while it was checked, has no tag left (its manifest was deleted).
     */
    private void assertNotInRegistry(String repository, JsonNode build) {
        assertNotInRegistry(repository);
        // Without at least one quarantine repository the loop below checks nothing: the push into the quarantine
        // must have happened for "no tag left" to mean anything.
        List<String> quarantines = quarantineRepositories(build.path("id").asString());
        assertThat(quarantines).as("the build's quarantine repositories (one per run) in the registry's catalog")
                .isNotEmpty();
        for (String quarantine : quarantines) {
            assertThat(registryTags(quarantine)).as("tags left in " + quarantine).isEmpty();
            Response held = send(HttpRequest.newBuilder(URI.create("http://" + registryAddress() + "/v2/"
                    + quarantine + "/manifests/checking")).header("Accept",
                    "application/vnd.docker.distribution.manifest.v2+json").GET());
            assertThat(held.status()).as(quarantine).isEqualTo(404);
        }
    }

    private static String osv(String id, String modified, String ecosystem, String name, String fixed,
            String extra) {
        return """
                {"id":"%s","modified":"%s","aliases":["CVE-%s"],"summary":"test advisory",%s
                 "affected":[{"package":{"ecosystem":"%s","name":"%s"},
                   "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}%s]}]}]}
                """.formatted(id, modified, id.hashCode() & 0xffff, extra, ecosystem, name,
                fixed == null ? "" : ",{\"fixed\":\"" + fixed + "\"}");
    }

    /**
     * An advisory import that commits while a scan is about to record: the import holds the advisories' lock, the
     * scan's record waits for it, then matches once more and records (and judges) the new advisory. Here the test's
     * own transaction plays the import (the lock, then the import's rows); before (a review's finding, 2026-12-07)
     * the scan recorded what it had matched before, and the import's rematch had not seen its packages: the image
     * never showed the advisory.
     */
    @Test
    void anAdvisoryImportedWhileAScanRecordsIsMatchedByIt() throws Exception {
        String token = builder("scan");
        String id = "TEST-DEB-RACE-" + RUN;
        try (java.sql.Connection importing = jdbc.getDataSource().getConnection()) {
            importing.setAutoCommit(false);
            try (var lock = importing.prepareStatement("select pg_advisory_xact_lock(?)")) {
                lock.setLong(1, 0x6277_6164_7669_7331L); // ScanStore's advisories lock
                lock.execute();
            }
            Response accepted = submit(token, "image=scan/race-" + RUN + "&tag=1&noCache=true", Tars.dockerfile(
                    "FROM " + registryAddress() + "/base/debian:12\nUSER nobody\nHEALTHCHECK NONE\n"));
            assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
            eventually("the scan waiting to record", Duration.ofMinutes(3), () -> jdbc.queryForObject(
                    "select count(*) from pg_locks where locktype = 'advisory' and not granted and classid = 1651990884"
                    + " and objid = 1986622257", Long.class) > 0); // the high and low halves of the lock's key
            try (var advisory = importing.prepareStatement("insert into advisory (id, modified, aliases, summary,"
                    + " severity, document, imported_at) values (?, now(), '[]', 'test advisory', 'LOW', ?, now())");
                    var pkg = importing.prepareStatement("insert into advisory_package (advisory_id, ecosystem, name)"
                            + " values (?, 'Debian:12', 'tar')")) {
                advisory.setString(1, id);
                advisory.setString(2, osv(id, "2026-01-01T00:00:00Z", "Debian:12", "tar", "99:1.0-1",
                        "\"database_specific\":{\"severity\":\"LOW\"},"));
                advisory.execute();
                pkg.setString(1, id);
                pkg.execute();
            }
            importing.commit();
            JsonNode done = awaitFinal(token, read(accepted).path("id").asString(), Duration.ofMinutes(4));
            assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
            JsonNode scans = read(get(token, "/api/v1/images/" + done.path("imageDigest").asString() + "/scans"));
            assertThat(vulnerabilityIds(scans)).contains(id);
        } finally {
            jdbc.update("delete from advisory_package where advisory_id = ?", id);
            jdbc.update("delete from image_vulnerability where advisory_id = ?", id);
            jdbc.update("delete from advisory where id = ?", id);
        }
    }

    @Test
    void aDebianImageGetsItsSbomVulnerabilitiesAndComplianceAndLaterAdvisoriesMarkItWithoutRebuild() {
        String token = builder("scan");
        String security = security();
        // Low severity: recorded, not blocking (the shipped policy blocks critical with a fix).
        Response first = postJson(security, "/api/v1/advisories", osv("TEST-DEB-1", "2026-01-01T00:00:00Z",
                "Debian:12", "tar", "99:1.0-1", "\"database_specific\":{\"severity\":\"LOW\"},"));
        assertThat(first.status()).as(first.body()).isEqualTo(200);
        assertThat(read(first).path("imported").asInt()).isEqualTo(1);

        JsonNode done = build(token, "scan/deb-" + RUN, Tars.dockerfile("FROM " + registryAddress()
                + "/base/debian:12\nUSER nobody\nHEALTHCHECK NONE\n"));
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
        String digest = done.path("imageDigest").asString();

        Response sbom = get(token, "/api/v1/images/" + digest + "/sbom");
        assertThat(sbom.status()).isEqualTo(200);
        assertThat(sbom.header("Content-Type")).startsWith("application/vnd.cyclonedx+json");
        JsonNode bom = read(sbom);
        assertThat(bom.path("bomFormat").asString()).isEqualTo("CycloneDX");
        assertThat(bom.path("specVersion").asString()).isEqualTo("1.6");
        List<String> purls = new ArrayList<>();
        bom.path("components").forEach(c -> purls.add(c.path("purl").asString()));
        assertThat(purls).hasSizeBetween(80, 120)
                .anyMatch(p -> p.startsWith("pkg:deb/debian/bash@"))
                .anyMatch(p -> p.startsWith("pkg:deb/debian/libc6@") && p.contains("distro=debian-12"));

        JsonNode scans = read(get(token, "/api/v1/images/" + digest + "/scans"));
        assertThat(scans.path("passed").asBoolean()).isTrue();
        assertThat(scans.path("configuration").path("summary").path("uid").asInt()).isEqualTo(65534);
        assertThat(scans.path("base").path("layers").asInt()).isEqualTo(1);
        assertThat(scans.path("compliance").path("status").asString()).isEqualTo("passed");
        assertThat(scans.path("compliance").path("rules").size()).isGreaterThanOrEqualTo(5);
        assertThat(vulnerabilityIds(scans)).containsExactly("TEST-DEB-1");
        assertThat(scans.path("vulnerabilities").path("items").get(0).path("package").asString()).isEqualTo("tar");
        assertThat(scans.path("vulnerabilities").path("items").get(0).path("fixed").asString())
                .isEqualTo("99:1.0-1");
        assertThat(get(token, "/api/v1/images/" + digest + "/scans/compliance/arf").body())
                .contains("arf:asset-report-collection");

        // A later advisory marks the stored image: no rebuild.
        Response later = postJson(security, "/api/v1/advisories", "[" + osv("TEST-DEB-2", "2026-02-01T00:00:00Z",
                "Debian", "bash", null, "") + "]");
        assertThat(read(later).path("affectedImages").asInt()).isGreaterThanOrEqualTo(1);
        assertThat(vulnerabilityIds(read(get(token, "/api/v1/images/" + digest + "/scans"))))
                .containsExactlyInAnyOrder("TEST-DEB-1", "TEST-DEB-2");

        // The same document again changes nothing; a newer withdrawal removes the match.
        assertThat(read(postJson(security, "/api/v1/advisories", osv("TEST-DEB-2", "2026-02-01T00:00:00Z",
                "Debian", "bash", null, ""))).path("unchanged").asInt()).isEqualTo(1);
        assertThat(read(postJson(security, "/api/v1/advisories", osv("TEST-DEB-2", "2026-03-01T00:00:00Z",
                "Debian", "bash", null, "\"withdrawn\":\"2026-03-01T00:00:00Z\","))).path("withdrawn").asInt())
                .isEqualTo(1);
        assertThat(vulnerabilityIds(read(get(token, "/api/v1/images/" + digest + "/scans"))))
                .containsExactly("TEST-DEB-1");
        assertThat(jdbc.queryForObject("select count(*) from audit_event where action = 'image.verified' and "
                + "target = ?", Long.class, "build/" + done.path("id").asString())).isEqualTo(1);
    }

    @Test
    void aDeliberatelyBrokenImageFailsComplianceAndIsNotPushed() {
        String token = builder("scan");
        JsonNode done = build(token, "scan/broken-" + RUN, Tars.dockerfile("FROM " + registryAddress()
                + "/base/debian:12\nRUN echo 'backdoor:x:0:0::/root:/bin/sh' >> /etc/passwd\nUSER nobody\n"
                + "HEALTHCHECK NONE\n"));
        assertThat(done.path("status").asString()).isEqualTo("FAILED");
        assertThat(done.path("failureReason").asString()).contains("image-compliance").contains("uid");
        assertNotInRegistry("scan/broken-" + RUN, done);
        assertThat(get(token, "/api/v1/builds/" + done.path("id").asString() + "/logs").body())
                .contains("Verification FAILED");
    }

    @Test
    void aSetuidBinaryTheDockerfilePolicyCannotSeeIsBlockedBeforePush() {
        // chmod behind find -exec: no RUN-line rule sees it (the daemon strips setuid bits from COPY'd files, so
        // RUN is the way in); the image's layer shows it.
        String token = builder("scan");
        JsonNode done = build(token, "scan/setuid-" + RUN, Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                + "RUN mkdir -p /opt/bin && cp /bin/busybox /opt/bin/tool && find /opt/bin/tool -exec chmod 4755 {} +\n"
                + "USER 65534\nHEALTHCHECK NONE\n"));
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("FAILED");
        assertThat(done.path("failureReason").asString()).contains("layer-setuid-added")
                .contains("/opt/bin/tool");
        assertNotInRegistry("scan/setuid-" + RUN, done);
        assertThat(auditCount("image.refused", "build/" + done.path("id").asString())).isEqualTo(1);
    }

    @Test
    void aPrivateKeyALaterLayerDeletesIsBlockedBeforePush() {
        // The key is written by a command no Dockerfile rule can read (a PEM decoded from base64) and deleted by the
        // next step: the final filesystem holds no key, the layer that added it still does, and anyone who pulls the
        // image can read that layer. Accepted at submission (the build runs), refused by the image's own layers.
        String pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU" + RUN
                + "\n-----END OPENSSH PRIVATE KEY-----\n";
        String encoded = java.util.Base64.getEncoder().encodeToString(pem.getBytes(
                java.nio.charset.StandardCharsets.UTF_8));
        String token = builder("scan");
        JsonNode done = build(token, "scan/keylayer-" + RUN, Tars.dockerfile("FROM " + registryAddress()
                + "/base/busybox\nRUN mkdir -p /opt/app && echo " + encoded + " | base64 -d > /opt/app/deploy.dat\n"
                + "RUN rm /opt/app/deploy.dat\nUSER 65534\nHEALTHCHECK NONE\n"));
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("FAILED");
        assertThat(done.path("failureReason").asString()).contains("layer-credential-file")
                .contains("/opt/app/deploy.dat");
        assertNotInRegistry("scan/keylayer-" + RUN, done);
        String id = done.path("id").asString();
        assertThat(auditCount("image.refused", "build/" + id)).isEqualTo(1);
        // The key's own text is named by its path, never quoted.
        assertThat(get(token, "/api/v1/builds/" + id + "/logs").body()).contains("layer-credential-file")
                .doesNotContain("b3BlbnNzaC1rZXktdjEAAAAABG5vbmU" + RUN);
        assertThat(done.toString()).doesNotContain("b3BlbnNzaC1rZXktdjEAAAAABG5vbmU" + RUN);
    }

    @Test
    void aUserFromTheBasesEnvironmentIsJudgedByItsValueBeforeTheBuild() {
        // U keeps a variable of the base's environment (PATH). A lint cannot know it and only warns
        // (final-user-unresolved); a build reads the base's Env with its triggers, so U is "0", as BuildKit makes it
        // (built once on dockerd 26 before the gateway read the base's Env: the image's User was 0 and image-user-root
        // refused it before the push), and the submission is refused.
        String token = builder("scan");
        String dockerfile = "FROM " + registryAddress() + "/base/busybox\nENV U=${PATH:+0}\nUSER $U\nHEALTHCHECK NONE\n";
        Response lint = send(request(token, "/api/v1/lint?image=scan/userenv-" + RUN).header("Content-Type",
                "text/plain").POST(java.net.http.HttpRequest.BodyPublishers.ofString(dockerfile)));
        assertThat(lint.body()).contains("final-user-unresolved").doesNotContain("final-user-root");
        Response refused = submit(token, "image=scan/userenv-" + RUN + "&tag=1&noCache=true", Tars.dockerfile(dockerfile));
        JsonNode problem = problem(refused, 422);
        assertThat(problem.path("findings").toString()).contains("final-user-root").contains("resolves to '0'");
    }

    @Test
    void deletingAProtectedFileIsBlockedBeforePush() {
        String token = builder("scan");
        JsonNode done = build(token, "scan/noshadow-" + RUN, Tars.dockerfile("FROM " + registryAddress()
                + "/base/busybox\nRUN rm /etc/shadow\nUSER 65534\nHEALTHCHECK NONE\n"));
        assertThat(done.path("status").asString()).isEqualTo("FAILED");
        assertThat(done.path("failureReason").asString()).contains("layer-protected-path").contains("/etc/shadow");
        assertNotInRegistry("scan/noshadow-" + RUN, done);
    }

    @Test
    void swappingTheBaseLayersByIndirectionIsBlockedBeforePush() {
        // The Dockerfile only pulls the approved base, but the final image is a fresh one with the base's content
        // copied in: none of the approved base's layers (nor its verified digest) is in it.
        String token = builder("scan");
        JsonNode done = build(token, "scan/swapped-" + RUN, Tars.dockerfile("FROM " + registryAddress()
                + "/base/busybox AS approved\nFROM scratch\nCOPY --from=approved /bin /bin\n"
                + "COPY --from=approved /etc /etc\nUSER 65534\nHEALTHCHECK NONE\n"));
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("FAILED");
        assertThat(done.path("failureReason").asString()).contains("image-base-lineage");
        assertNotInRegistry("scan/swapped-" + RUN, done);
    }

    @Test
    void aCriticalFixableVulnerabilityBlocksThePushUntilThePolicyAllowsIt() throws Exception {
        String token = builder("scan");
        String security = security();
        Response imported = postJson(security, "/api/v1/advisories", osv("TEST-MVN-1", "2026-01-01T00:00:00Z",
                "Maven", "com.acme:vuln-lib", "1.1", "\"severity\":[{\"type\":\"CVSS_V3\","
                        + "\"score\":\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\"}],"));
        assertThat(imported.status()).as(imported.body()).isEqualTo(200);
        byte[] jar = PackagesTest.jar(java.util.Map.of("META-INF/maven/com.acme/vuln-lib/pom.properties",
                "groupId=com.acme\nartifactId=vuln-lib\nversion=1.0\n"));
        byte[] context = Tars.tar().file("Dockerfile", "FROM " + registryAddress() + "/base/busybox\n"
                + "COPY vuln-lib-1.0.jar /app/lib/\nUSER 65534\nHEALTHCHECK NONE\n")
                .file("vuln-lib-1.0.jar", jar).bytes();
        JsonNode refused = build(token, "scan/vulnerable-" + RUN, context);
        assertThat(refused.path("status").asString()).isEqualTo("FAILED");
        assertThat(refused.path("failureReason").asString()).contains("image-vulnerability").contains("TEST-MVN-1")
                .contains("fixed in 1.1");
        assertNotInRegistry("scan/vulnerable-" + RUN);

        Files.writeString(POLICY.resolve("zz-allow.yaml"), """
                vulnerabilities:
                  allow:
                    - id: TEST-MVN-1
                      package: com.acme:vuln-lib
                      reason: not reachable, fix scheduled
                      approver: security-team
                      expires: 2099-01-01
                """);
        try {
            sleep(1500); // the policy reloads within 300 ms in tests
            JsonNode allowed = build(token, "scan/vulnerable-" + RUN, context);
            assertThat(allowed.path("status").asString()).as(allowed.toString()).isEqualTo("SUCCEEDED");
            JsonNode scans = read(get(token, "/api/v1/images/" + allowed.path("imageDigest").asString() + "/scans"));
            assertThat(vulnerabilityIds(scans)).containsExactly("TEST-MVN-1");
            assertThat(scans.path("configuration").path("findings").toString()).contains("\"waived\":true")
                    .contains("not reachable");
        } finally {
            Files.delete(POLICY.resolve("zz-allow.yaml"));
        }
    }

    @Test
    void anImageWithMoreFilesThanTheLimitFailsWithTheLimitsReasonIsNotPushedAndLeavesNoExtraction() {
        // The tests' limit is 20,000 entries (IntegrationTest); one RUN step adds 20,001 empty files.
        String token = builder("scan");
        JsonNode done = build(token, "scan/many-" + RUN, Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                + "RUN mkdir /many && cd /many && seq 1 20001 | xargs touch\nUSER 65534\nHEALTHCHECK NONE\n"));
        String buildId = done.path("id").asString();
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("FAILED");
        assertThat(done.path("failureReason").asString()).startsWith("image verification stopped: ")
                .contains("has more than 20000 files (limit gateway.scanning.max-files)");
        assertNotInRegistry("scan/many-" + RUN, done);
        assertThat(get(token, "/api/v1/builds/" + buildId + "/logs").body()).contains("Verification STOPPED");

        // Recorded and audited like any refusal, with no packages claimed from an image that was not read in full.
        Map<String, Object> scan = jdbc.queryForMap("select passed, findings, compliance_status from image_scan "
                + "where build_id = ?::uuid", buildId);
        assertThat(scan.get("passed")).isEqualTo(false);
        assertThat(scan.get("findings").toString()).contains("image-unreadable").contains("max-files");
        assertThat(jdbc.queryForObject("select count(*) from image_package where build_id = ?::uuid", Long.class,
                buildId)).isZero();
        assertThat(auditCount("image.refused", "build/" + buildId)).isEqualTo(1);
        assertThat(jdbc.queryForObject("select details::text from audit_event where action = 'image.refused' and "
                + "target = ?", String.class, "build/" + buildId)).contains("max-files");
        // The extraction for OpenSCAP stopped too, and its folder is gone.
        assertThat(scanning.workDir().resolve(buildId)).doesNotExist();
    }

    @Test
    void advisoryImportRefusesBadInputAndChangesNothing() {
        String security = security();
        long before = jdbc.queryForObject("select count(*) from advisory", Long.class);
        problem(postJson(builder("scan"), "/api/v1/advisories", osv("TEST-X", "2026-01-01T00:00:00Z", "npm", "x",
                null, "")), 403);
        problem(postJson(security, "/api/v1/advisories", "{not json"), 400);
        problem(postJson(security, "/api/v1/advisories", "[]"), 400);
        problem(postJson(security, "/api/v1/advisories", "\"text\""), 400);
        // One good and one broken document: the import is refused as a whole.
        JsonNode p = problem(postJson(security, "/api/v1/advisories", "[" + osv("TEST-GOOD", "2026-01-01T00:00:00Z",
                "npm", "x", null, "") + ",{\"id\":\"TEST-BAD\"}]"), 400);
        assertThat(p.path("detail").asString()).contains("TEST-BAD").contains("modified");
        problem(postJson(security, "/api/v1/advisories", "{\"id\":\"T\",\"modified\":\"yesterday\"}"), 400);
        assertThat(jdbc.queryForObject("select count(*) from advisory", Long.class)).isEqualTo(before);
    }

    @Test
    void imageEndpointsCheckDigestsAndTeams() {
        String token = builder("scan-a");
        problem(get(token, "/api/v1/images/latest/sbom"), 400);
        problem(get(token, "/api/v1/images/sha256:" + "0".repeat(64) + "/scans"), 404);
        JsonNode done = build(token, "scan-a/small-" + RUN, Tars.dockerfile("FROM " + registryAddress()
                + "/base/busybox\nUSER 65534\nHEALTHCHECK NONE\n"));
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
        String digest = done.path("imageDigest").asString();
        problem(get(builder("scan-b"), "/api/v1/images/" + digest + "/sbom"), 403);
        assertThat(get(token(Set.of("AUDITOR"), Set.of()), "/api/v1/images/" + digest + "/scans").status())
                .isEqualTo(200);
        assertThat(get(token, "/api/v1/images/" + digest + "/sbom").status()).isEqualTo(200);
    }

    @org.springframework.beans.factory.annotation.Autowired
    private io.micrometer.core.instrument.MeterRegistry meters;

    @Test
    void anIdenticalRebuildReusesTheComplianceResultAndEveryBuildReportsItsPhases() {
        String token = builder("scan");
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\nUSER 65534\n"
                + "LABEL run=" + RUN + "\nHEALTHCHECK NONE\n");
        long openscapBefore = phaseCount("openscap");
        long provenanceBefore = phaseCount("provenance");
        JsonNode first = build(token, "scan/again-" + RUN, context);
        JsonNode second = build(token, "scan/again-" + RUN, context);
        assertThat(first.path("status").asString()).as(first.toString()).isEqualTo("SUCCEEDED");
        assertThat(second.path("status").asString()).as(second.toString()).isEqualTo("SUCCEEDED");
        JsonNode a = read(get(token, "/api/v1/images/" + first.path("imageDigest").asString() + "/scans"));
        JsonNode b = read(get(token, "/api/v1/images/" + second.path("imageDigest").asString() + "/scans"));
        // The same layers (no step adds one), so the same root filesystem: the second build's result is the first's.
        assertThat(b.path("timings").path("complianceReused").asLong()).isEqualTo(1);
        assertThat(b.path("timings").has("oscapMs")).isFalse();
        assertThat(b.path("compliance").path("status").asString()).isEqualTo("passed")
                .isEqualTo(a.path("compliance").path("status").asString());
        assertThat(b.path("compliance").path("rules")).isEqualTo(a.path("compliance").path("rules"));
        assertThat(get(token, "/api/v1/images/" + second.path("imageDigest").asString() + "/scans/compliance/arf")
                .body()).contains("arf:asset-report-collection");

        String log = get(token, "/api/v1/builds/" + second.path("id").asString() + "/logs").body();
        // Provenance is signed in the transaction that ends the build: its line follows the final one (and may come
        // after this read), its timer is counted below.
        for (String phase : List.of("intake", "policy", "build", "verify", "sbom", "vulnerabilities", "openscap",
                "push")) {
            assertThat(log).containsPattern("Phase " + phase + ": \\d+ ms");
        }
        assertThat(log.indexOf("Phase push:")).isLessThan(log.indexOf("Succeeded:"));
        // Other tests' builds may run meanwhile: at least these two.
        assertThat(phaseCount("openscap")).isGreaterThanOrEqualTo(openscapBefore + 2);
        assertThat(phaseCount("provenance")).isGreaterThanOrEqualTo(provenanceBefore + 2);
    }

    @org.springframework.beans.factory.annotation.Autowired
    private ImageScanner scanner;

    @Test
    void aDerivedDebianImageIsEvaluatedOverItsBasesEvaluationAndKeepsItsVerdict() throws Exception {
        String token = builder("scan");
        String from = "FROM " + registryAddress() + "/base/debian:12\n";
        // The first image on the base: composed if an earlier build's base evaluation is kept, else evaluated in
        // full, and the base's own layers evaluated in the background for the images that follow.
        JsonNode first = build(token, "scan/compose-" + RUN, Tars.dockerfile(from + "RUN echo " + RUN
                + "-1 > /srv/one\nUSER nobody\nHEALTHCHECK NONE\n"));
        assertThat(first.path("status").asString()).as(first.toString()).isEqualTo("SUCCEEDED");
        eventually("the base's evaluation ended", Duration.ofMinutes(2), () -> scanner.baseEvaluationsRunning() == 0);

        JsonNode clean = build(token, "scan/compose-" + RUN, Tars.dockerfile(from + "RUN echo " + RUN
                + "-2 > /srv/two && mkdir /srv/data && chmod 0750 /srv/data\nUSER nobody\nHEALTHCHECK NONE\n"));
        assertThat(clean.path("status").asString()).as(clean.toString()).isEqualTo("SUCCEEDED");
        JsonNode scan = read(get(token, "/api/v1/images/" + clean.path("imageDigest").asString() + "/scans"));
        assertThat(scan.path("timings").path("complianceComposed").asLong()).as(scan.toString()).isEqualTo(1);
        assertThat(scan.path("timings").path("complianceReused").asLong()).isZero();
        JsonNode composedWith = scan.path("compliance").path("composedWith");
        assertThat(composedWith.path("baseLayers").asInt()).isEqualTo(scan.path("base").path("layers").asInt())
                .isPositive();
        // Composed: only the part of the merged tree the delta view reads was laid out (PartialRootfs), not Debian's
        // thousands of files, and no layout of the base was started at the build's start.
        JsonNode timings = scan.path("timings");
        assertThat(timings.path("rootfsPartial").asLong()).as(scan.toString()).isEqualTo(1);
        assertThat(timings.path("rootfsPartialPaths").asLong()).as(scan.toString()).isPositive().isLessThan(500);
        assertThat(timings.has("rootfsMs")).as("the whole view was not laid out: " + timings).isFalse();
        assertThat(composedWith.path("contents").toString()).contains("gateway-baseline-xccdf.xml");
        assertThat(scan.path("compliance").path("status").asString()).isEqualTo("passed");
        assertThat(scan.path("compliance").path("rules")).hasSize(5);
        // the delta run's ARF and the base's it points to
        assertThat(scan.path("compliance").path("arf").toString()).contains("\"gateway-baseline-xccdf.xml\"")
                .contains("base:gateway-baseline-xccdf.xml");
        String baseArf = get(token, "/api/v1/images/" + clean.path("imageDigest").asString()
                + "/scans/compliance/arf?content=base:gateway-baseline-xccdf.xml").body();
        assertThat(baseArf).contains("arf:asset-report-collection");
        assertThat(get(token, "/api/v1/builds/" + clean.path("id").asString() + "/logs").body())
                .contains("composed over the base's evaluation");

        // Without the base's stored result (lost, or not yet evaluated) an image is evaluated in full: the base's
        // files, which the layer cache holds, are laid out from the build's start, and the scan takes that over.
        try (var results = Files.list(scanning.workDir().resolve("compliance-results"))) {
            for (var r : results.toList()) {
                Files.delete(r);
            }
        }
        // A build that fails at its own step is never scanned: what its start laid out goes when it ends.
        JsonNode failed = build(token, "scan/compose-failed-" + RUN, Tars.dockerfile(from + "RUN echo " + RUN
                + " && false\nUSER nobody\nHEALTHCHECK NONE\n"));
        assertThat(failed.path("status").asString()).as(failed.toString()).isEqualTo("FAILED");
        assertThat(failed.path("failureReason").asString()).startsWith("build failed");
        assertThat(scanning.workDir().resolve(failed.path("id").asString())).doesNotExist();
        JsonNode full = build(token, "scan/compose-" + RUN, Tars.dockerfile(from + "RUN echo " + RUN
                + "-3 > /srv/three\nUSER nobody\nHEALTHCHECK NONE\n"));
        assertThat(full.path("status").asString()).as(full.toString()).isEqualTo("SUCCEEDED");
        JsonNode fullScan = read(get(token, "/api/v1/images/" + full.path("imageDigest").asString() + "/scans"));
        JsonNode fullTimings = fullScan.path("timings");
        assertThat(fullTimings.path("complianceComposed").asLong()).as(fullScan.toString()).isZero();
        assertThat(fullTimings.path("rootfsEarlyAtStart").asLong()).as(fullScan.toString()).isEqualTo(1);
        assertThat(fullTimings.path("rootfsEarlyLayers").asInt()).as(fullScan.toString())
                .isEqualTo(fullScan.path("base").path("layers").asInt());
        eventually("the base's evaluation ended", Duration.ofMinutes(2), () -> scanner.baseEvaluationsRunning() == 0);

        // composed, and still refused for what its own layer did
        JsonNode broken = build(token, "scan/compose-bad-" + RUN, Tars.dockerfile(from
                + "RUN echo 'toor:x:0:0::/root:/bin/sh' >> /etc/passwd && echo " + RUN
                + " > /srv/three\nUSER nobody\nHEALTHCHECK NONE\n"));
        assertThat(broken.path("status").asString()).isEqualTo("FAILED");
        assertThat(broken.path("failureReason").asString()).contains("image-compliance").contains("uid");
        assertThat(get(token, "/api/v1/builds/" + broken.path("id").asString() + "/logs").body())
                .contains("compliance: failed (composed over the base's evaluation of "
                        + composedWith.path("baseLayers").asInt() + " layer(s))")
                .contains("only-root-has-uid-0");
        assertNotInRegistry("scan/compose-bad-" + RUN, broken);
    }

    /**
     * Issue #13: a build on a base this gateway has read before reads only its own layer, from its quarantine copy in
     * the registry (the base's ~50 MB of blobs are not read again), and finds, lists and evaluates what the same
     * build read from {@code docker save} does. The image is refused for what its own layer adds, so that there are
     * findings to compare.
     */
    @Test
    void aSecondBuildOnABaseReadsOnlyItsOwnLayerFromTheRegistryAndFindsWhatTheSaveStreamFinds() {
        String token = builder("scan");
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/debian:12\nRUN echo " + RUN
                + " > /srv/own && cp /bin/true /srv/tool && find /srv/tool -exec chmod 4755 {} +"
                + " && chmod 0666 /srv/own\n"
                + "USER nobody\nHEALTHCHECK NONE\n");
        scanner.forgetLayerAudits(); // the first build reads every layer from docker save
        JsonNode saved = build(token, "scan/from-registry-" + RUN, context);
        JsonNode fromRegistry = build(token, "scan/from-registry-" + RUN, context);
        for (JsonNode b : List.of(saved, fromRegistry)) {
            assertThat(b.path("status").asString()).as(b.toString()).isEqualTo("FAILED");
            assertThat(b.path("failureReason").asString()).contains("layer-setuid-added");
        }
        Map<String, Object> a = scanRow(saved);
        Map<String, Object> b = scanRow(fromRegistry);
        JsonNode ta = json.readTree((String) a.get("timings"));
        JsonNode tb = json.readTree((String) b.get("timings"));
        int baseLayers = ((Number) b.get("base_layers")).intValue();
        int layers = json.readTree((String) b.get("config")).path("layers").asInt();
        assertThat(baseLayers).isPositive();
        assertThat(layers).isEqualTo(baseLayers + 1);

        assertThat(ta.path("layersFromSave").asLong()).as(ta.toString()).isEqualTo(1);
        assertThat(ta.has("layersFromRegistry")).as(ta.toString()).isFalse();
        assertThat(tb.has("layersFromSave")).as(tb.toString()).isFalse();
        assertThat(tb.path("layersFromRegistry").asLong()).as(tb.toString()).isEqualTo(1);
        assertThat(tb.path("layersReused").asLong()).as(tb.toString()).isEqualTo(baseLayers);
        // its own layer (a few KB compressed), not the base's tens of MB
        assertThat(tb.path("registryBytes").asLong()).as(tb.toString()).isPositive().isLessThan(1L << 20);

        assertThat(json.readTree((String) b.get("findings"))).isEqualTo(json.readTree((String) a.get("findings")))
                .isNotEmpty();
        assertThat(packages(fromRegistry)).isEqualTo(packages(saved)).hasSizeGreaterThan(50);
        assertThat(b.get("distro")).isEqualTo(a.get("distro"));
        assertThat(b.get("compliance_status")).isEqualTo(a.get("compliance_status"));
        assertThat(json.readTree((String) b.get("compliance_rules")))
                .isEqualTo(json.readTree((String) a.get("compliance_rules")));
        assertNotInRegistry("scan/from-registry-" + RUN, fromRegistry);
    }

    private Map<String, Object> scanRow(JsonNode build) {
        return jdbc.queryForMap("select findings, timings, config, base_layers, distro, compliance_status,"
                + " compliance_rules from image_scan where build_id = ?::uuid", build.path("id").asString());
    }

    private List<String> packages(JsonNode build) {
        return jdbc.queryForList("select type || ' ' || name || ' ' || version || ' ' || coalesce(purl, '') || ' '"
                + " || coalesce(location, '') from image_package where build_id = ?::uuid order by 1", String.class,
                build.path("id").asString());
    }

    private long phaseCount(String phase) {
        return meters.find("gateway.build.phase").tag("phase", phase).timers().stream()
                .mapToLong(io.micrometer.core.instrument.Timer::count).sum();
    }

    private static List<String> vulnerabilityIds(JsonNode scans) {
        List<String> ids = new ArrayList<>();
        scans.path("vulnerabilities").path("items").forEach(v -> ids.add(v.path("advisoryId").asString()));
        return ids;
    }
}
