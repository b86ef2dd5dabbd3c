package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.EnvironmentUse;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;

/**
 * Controlled egress end to end (issue #14): the whole gateway with its egress proxy, the real build host (dockerd 26,
 * user namespaces, its own network namespace with the egress bridge and forwarder), the registry and PostgreSQL, and
 * the test mirrors of scripts/env.sh. A Debian build installs a package from the apt mirror and succeeds, with every
 * fetch in {@code GET …/fetches}, the audit trail and the provenance; a fetch outside the allowlist fails the step
 * with the proxy's line in the log; another team's allowlist does not apply (network none); the canary sees no
 * request; the proxy's secret is in neither the image, the log nor the audit trail.
 */
@EnvironmentUse(holds = EnvironmentUse.EGRESS_RELAY)
class EgressBuildIT extends IntegrationTest {

    private static final String RUN = UUID.randomUUID().toString().substring(0, 6);

    @Autowired
    private io.buildgateway.egress.EgressProxy proxy;

    /** The relay of scripts/env.sh leads to this gateway's egress listener (a free port). */
    @BeforeEach
    void tellTheRelay() throws Exception {
        Files.writeString(Path.of(require("BGW_EGRESS_PORT_FILE")), Integer.toString(proxy.listenPort()));
    }

    private String mirror() {
        return require("BGW_MIRROR_URL");
    }

    private String canaryRequests() throws Exception {
        Path log = Path.of(require("BGW_CANARY_LOG"));
        return Files.exists(log) ? Files.readString(log) : "";
    }

    private String policyDigest(String token) {
        return read(get(token, "/api/v1/policy")).path("digest").asString();
    }

    /** Gives the team an allowlist (or none) and switches off the lint rules that would block the Dockerfile. */
    private void policy(String token, String team, List<String> egress, String dockerfile) throws Exception {
        policy(token, team, egress, dockerfile, List.of());
    }

    /**
     * The same; {@code add-url-outside-egress} stays on unless named in {@code alsoOff} (a test that wants the
     * proxy's own check at run time switches the policy's earlier one off).
     */
    private void policy(String token, String team, List<String> egress, String dockerfile, List<String> alsoOff)
            throws Exception {
        String before = policyDigest(token);
        StringBuilder doc = new StringBuilder("teams:\n  " + team + ":\n");
        if (!egress.isEmpty()) {
            doc.append("    egress:\n");
            egress.forEach(e -> doc.append("      - \"").append(e).append("\"\n"));
        }
        List<String> blocking = new ArrayList<>(blockingRules(token, team, dockerfile));
        blocking.remove("add-url-outside-egress");
        blocking.addAll(alsoOff);
        if (!blocking.isEmpty()) {
            doc.append("    rules:\n");
            blocking.forEach(r -> doc.append("      ").append(r).append(": \"off\"\n"));
        }
        Files.writeString(POLICY.resolve("zz-egress-" + team + ".yaml"), doc.toString());
        eventually("the policy change being picked up", Duration.ofSeconds(15),
                () -> !policyDigest(token).equals(before));
    }

    private List<String> blockingRules(String token, String team, String dockerfile) {
        JsonNode lint = read(send(request(token, "/api/v1/lint?image=" + team + "/app")
                .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString(dockerfile))));
        List<String> rules = new ArrayList<>();
        for (JsonNode f : lint.path("findings")) {
            if (f.path("severity").asString().equals("error") && !rules.contains(f.path("rule").asString())) {
                rules.add(f.path("rule").asString());
            }
        }
        return rules;
    }

    private JsonNode build(String token, String team, String dockerfile) {
        Response accepted = submit(token, "image=" + team + "/app&tag=1&noCache=true", Tars.dockerfile(dockerfile));
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        return awaitFinal(token, read(accepted).path("id").asString(), Duration.ofMinutes(6));
    }

    private String log(String token, String id) {
        return get(token, "/api/v1/builds/" + id + "/logs").body();
    }

    @Test
    void aDebianBuildInstallsFromTheAptMirrorAndEveryFetchIsRecorded() throws Exception {
        String team = "ega" + RUN;
        String token = builder(team);
        String dockerfile = "FROM " + registryAddress() + "/base/debian:12\n"
                + "RUN echo 'deb [trusted=yes] " + mirror() + "/debian stable main' > /etc/apt/sources.list"
                + " && apt-get update && apt-get install -y --no-install-recommends hello"
                + " && rm -rf /var/lib/apt/lists/* && hello\n"
                + "USER 65534\nHEALTHCHECK NONE\n";
        policy(token, team, List.of(mirror() + "/debian/"), dockerfile);
        String canaryBefore = canaryRequests();

        JsonNode done = build(token, team, dockerfile);
        String id = done.path("id").asString();
        String log = log(token, id);
        assertThat(done.path("status").asString()).as(log).isEqualTo("SUCCEEDED");
        assertThat(log).contains("Hello, world!").contains("network to the egress proxy only");

        JsonNode fetches = read(get(token, "/api/v1/builds/" + id + "/fetches"));
        List<String> urls = new ArrayList<>();
        for (JsonNode f : fetches.path("fetches")) {
            urls.add(f.path("url").asString());
            if (f.path("status").asInt() == 200) {
                assertThat(f.path("sha256").asString()).matches("(sha256:)?[0-9a-f]{64}");
            }
        }
        assertThat(urls).anyMatch(u -> u.matches(java.util.regex.Pattern.quote(mirror())
                + "/debian/pool/main/hello_[^/]+\\.deb"))
                .anyMatch(u -> u.startsWith(mirror() + "/debian/dists/stable/main/binary-amd64/Packages"));
        assertThat(auditCount("build.fetch", "build/" + id)).isGreaterThanOrEqualTo(2);

        String digest = done.path("imageDigest").asString();
        JsonNode provenance = read(get(token, "/api/v1/images/" + digest + "/provenance"));
        // A DSSE envelope: the in-toto statement is its base64 payload.
        String statement = new String(java.util.Base64.getDecoder().decode(provenance.path("payload").asString()),
                java.nio.charset.StandardCharsets.UTF_8);
        assertThat(statement).contains("hello_").contains("egress-proxy");

        // The proxy's credentials: neither in the log, nor in the audit trail, nor in the pushed image.
        String user = "build-" + id + ":";
        assertThat(log).doesNotContainPattern(java.util.regex.Pattern.quote(user) + "(?!\\[egress proxy secret\\])");
        String audit = jdbc.queryForList("select details::text from audit_event where target = ?", String.class,
                "build/" + id).toString();
        assertThat(audit).doesNotContain(user);
        String image = imageConfig(done.path("imageRef").asString());
        assertThat(image).contains("hello").doesNotContain(user).doesNotContain("HTTP_PROXY")
                .doesNotContain(require("BGW_EGRESS_STEP_ADDRESS"));
        assertThat(canaryRequests()).isEqualTo(canaryBefore);
    }

    @Test
    void aFetchOutsideTheAllowlistFailsTheStepWithTheProxysLine() throws Exception {
        String team = "egr" + RUN;
        String token = builder(team);
        String canary = require("BGW_CANARY_URL");
        String dockerfile = "FROM " + registryAddress() + "/base/debian:12\n"
                + "RUN echo 'deb [trusted=yes] " + canary + "/debian stable main' > /etc/apt/sources.list"
                + " && apt-get update && apt-get install -y --no-install-recommends hello\n"
                + "USER 65534\nHEALTHCHECK NONE\n";
        policy(token, team, List.of(mirror() + "/debian/"), dockerfile);
        String canaryBefore = canaryRequests();

        JsonNode done = build(token, team, dockerfile);
        String id = done.path("id").asString();
        String log = log(token, id);
        assertThat(done.path("status").asString()).as(log).isEqualTo("FAILED");
        assertThat(log).contains("egress refused: " + canary + "/debian/").contains("team " + team);
        assertThat(auditCount("build.egress-refused", "build/" + id)).isGreaterThanOrEqualTo(1);
        assertThat(canaryRequests()).isEqualTo(canaryBefore);
    }

    /**
     * The probe is a real TCP connect (bash's /dev/tcp: the image's /bin/sh is dash, which has none), and the positive
     * control is the same Dockerfile built for the team that has the allowlist: its step reaches the forwarder. Only
     * then does "unreachable" for the team without one mean the network, not the probe.
     */
    @Test
    void anotherTeamsAllowlistDoesNotApplyAndATeamWithoutOneBuildsWithNetworkNone() throws Exception {
        String withList = "egw" + RUN;
        String without = "egn" + RUN;
        String token = builder(withList, without);
        String address = require("BGW_EGRESS_STEP_ADDRESS");
        String dockerfile = "FROM " + registryAddress() + "/base/debian:12\n"
                + "RUN timeout 10 bash -c 'exec 3<>/dev/tcp/" + address.replace(':', '/') + "' 2>/dev/null"
                + " && echo proxy-reach''ed || echo proxy-unreach''able\n"
                + "USER 65534\nHEALTHCHECK NONE\n";
        policy(token, withList, List.of(mirror() + "/debian/"), dockerfile);
        policy(token, without, List.of(), dockerfile);

        JsonNode control = build(token, withList, dockerfile);
        String controlLog = log(token, control.path("id").asString());
        assertThat(control.path("status").asString()).as(controlLog).isEqualTo("SUCCEEDED");
        assertThat(controlLog).as("the team with the allowlist reaches the forwarder (the probe's positive control)")
                .contains("network to the egress proxy only").containsPattern("(?m)proxy-reached$")
                .doesNotContain("proxy-unreachable");

        JsonNode done = build(token, without, dockerfile);
        String log = log(token, done.path("id").asString());
        assertThat(done.path("status").asString()).as(log).isEqualTo("SUCCEEDED");
        assertThat(log).contains("(network none, user namespaces on)").contains("proxy-unreachable")
                .doesNotContainPattern("(?m)proxy-reached$");
    }

    /** The Maven mirror's one library: {@code <mirror>/maven2/org/slf4j/slf4j-api/<v>/slf4j-api-<v>} and its version. */
    private String[] mavenArtifact() throws Exception {
        String listing = http.send(HttpRequest.newBuilder(URI.create(mirror() + "/maven2/org/slf4j/slf4j-api/"))
                .build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("href=\"([0-9][^\"/]*)/\"").matcher(listing);
        assertThat(m.find()).as("a version of slf4j-api in the Maven mirror: " + listing).isTrue();
        String v = m.group(1);
        return new String[] {mirror() + "/maven2/org/slf4j/slf4j-api/" + v + "/slf4j-api-" + v, v};
    }

    /** slf4j-api's jar in the test's Maven mirror: its URL, file name and SHA-256. */
    private record MirroredJar(String url, String name, String sha256) {
    }

    private MirroredJar mirroredJar() throws Exception {
        String[] artifact = mavenArtifact();
        String url = artifact[0] + ".jar";
        return new MirroredJar(url, "slf4j-api-" + artifact[1] + ".jar", sha256Of(url));
    }

    /** The build's fetch of {@code url} is in its audit trail and its provenance, with the digest. */
    private void assertFetchInAuditAndProvenance(String token, JsonNode done, String url, String sha)
            throws Exception {
        String id = done.path("id").asString();
        assertThat(jdbc.queryForList("select details::text from audit_event where target = ? and action = ?",
                String.class, "build/" + id, "build.fetch").toString()).contains(url).contains(sha);
        assertThat(provenanceOf(token, done)).contains(url).contains(sha);
    }

    private String sha256Of(String url) throws Exception {
        byte[] body = http.send(HttpRequest.newBuilder(URI.create(url)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofByteArray()).body();
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(body));
    }

    private static String sha256Hex(JsonNode fetch) {
        String s = fetch.path("sha256").asString();
        return s.startsWith("sha256:") ? s.substring(7) : s;
    }

    private String provenanceOf(String token, JsonNode done) {
        JsonNode provenance = read(get(token, "/api/v1/images/" + done.path("imageDigest").asString()
                + "/provenance"));
        return new String(java.util.Base64.getDecoder().decode(provenance.path("payload").asString()),
                java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void addOfAnAllowlistedUrlIsFetchedThroughTheProxyAndRecordedWithItsDigest() throws Exception {
        String team = "egd" + RUN;
        String token = builder(team);
        MirroredJar mirrored = mirroredJar();
        String jarUrl = mirrored.url();
        String jarName = mirrored.name();
        String sha = mirrored.sha256();
        String dockerfile = "FROM " + registryAddress() + "/base/debian:12\n"
                + "ADD --checksum=sha256:" + sha + " " + jarUrl + " /opt/lib/\n"
                + "RUN stat -c 'mode %a owner %u' /opt/lib/" + jarName + " && sha256sum /opt/lib/" + jarName + "\n"
                + "USER 65534\nHEALTHCHECK NONE\n";
        policy(token, team, List.of(mirror() + "/maven2/"), dockerfile);
        String canaryBefore = canaryRequests();

        JsonNode done = build(token, team, dockerfile);
        String id = done.path("id").asString();
        String log = log(token, id);
        assertThat(done.path("status").asString()).as(log).isEqualTo("SUCCEEDED");
        // ADD's meaning kept: the file under its URL's name in the folder, mode 0600, root's, the same bytes.
        assertThat(log).contains("ADD " + jarUrl + ": fetched by the gateway through the egress proxy")
                .contains("mode 600 owner 0").contains(sha + "  /opt/lib/" + jarName);

        JsonNode fetches = read(get(token, "/api/v1/builds/" + id + "/fetches"));
        JsonNode jar = null;
        for (JsonNode f : fetches.path("fetches")) {
            if (f.path("url").asString().equals(jarUrl)) {
                jar = f;
            }
        }
        assertThat(jar).as(fetches.toString()).isNotNull();
        assertThat(jar.path("status").asInt()).isEqualTo(200);
        assertThat(sha256Hex(jar)).isEqualTo(sha);
        assertFetchInAuditAndProvenance(token, done, jarUrl, sha);
        assertThat(canaryRequests()).isEqualTo(canaryBefore);
    }

    @Test
    void anOnbuildAddOfAnEarlierStageIsFetchedThroughTheProxyWhenItFires() throws Exception {
        String team = "egt" + RUN;
        String token = builder(team);
        MirroredJar mirrored = mirroredJar();
        String jarUrl = mirrored.url();
        String jarName = mirrored.name();
        String sha = mirrored.sha256();
        String dockerfile = "FROM " + registryAddress() + "/base/debian:12 AS tools\n"
                + "ONBUILD ADD --chown=1:2 --checksum=sha256:" + sha + " " + jarUrl + " /opt/lib/\n"
                + "FROM tools\n"
                + "RUN stat -c 'mode %a owner %u:%g' /opt/lib/" + jarName + " && sha256sum /opt/lib/" + jarName + "\n"
                + "USER 65534\nHEALTHCHECK NONE\n";
        policy(token, team, List.of(mirror() + "/maven2/"), dockerfile);
        String canaryBefore = canaryRequests();

        JsonNode done = build(token, team, dockerfile);
        String id = done.path("id").asString();
        String log = log(token, id);
        assertThat(done.path("status").asString()).as(log).isEqualTo("SUCCEEDED");
        // The trigger fired in the second stage as ADD would: under its URL's name, mode 0600, --chown kept.
        assertThat(log).contains("ADD " + jarUrl + ": fetched by the gateway through the egress proxy")
                .contains("mode 600 owner 1:2").contains(sha + "  /opt/lib/" + jarName);
        JsonNode fetches = read(get(token, "/api/v1/builds/" + id + "/fetches"));
        assertThat(fetches.path("fetches").findValuesAsString("url")).as(fetches.toString()).containsExactly(jarUrl);
        assertThat(sha256Hex(fetches.path("fetches").get(0))).isEqualTo(sha);
        assertFetchInAuditAndProvenance(token, done, jarUrl, sha);
        // The pushed image is the second stage's: no trigger of the first one in its config; its history shows the
        // trigger as it ran, the COPY of the fetched file (as for a plain ADD <url>).
        assertThat(imageConfig(done.path("imageRef").asString())).doesNotContain("\"OnBuild\":[\"")
                .contains("COPY --chown=1:2 .buildgateway-add-" + id + "/1/" + jarName + " /opt/lib/");
        assertThat(canaryRequests()).isEqualTo(canaryBefore);
    }

    @Test
    void anOnbuildAddOutsideTheAllowlistIsRefusedAndTheCanarySeesNothing() throws Exception {
        String team = "egu" + RUN;
        String token = builder(team);
        String canary = require("BGW_CANARY_URL");
        String dockerfile = "FROM " + registryAddress() + "/base/debian:12 AS tools\n"
                + "ONBUILD ADD --checksum=sha256:" + "0".repeat(64) + " " + canary + "/trigger.jar /opt/lib/\n"
                + "FROM tools\nUSER 65534\nHEALTHCHECK NONE\n";
        String canaryBefore = canaryRequests();
        // The policy refuses it at submission, at the ONBUILD line ...
        policy(token, team, List.of(mirror() + "/maven2/"), dockerfile);
        Response refused = submit(token, "image=" + team + "/app&tag=1", Tars.dockerfile(dockerfile));
        assertThat(refused.status()).as(refused.body()).isEqualTo(422);
        assertThat(read(refused).path("findings").findValuesAsString("rule")).contains("add-url-outside-egress");
        // ... and with that rule off, the proxy refuses the fetch before the daemon runs.
        policy(token, team, List.of(mirror() + "/maven2/"), dockerfile, List.of("add-url-outside-egress"));
        JsonNode done = build(token, team, dockerfile);
        String id = done.path("id").asString();
        String log = log(token, id);
        assertThat(done.path("status").asString()).as(log).isEqualTo("FAILED");
        assertThat(log).contains("egress refused: " + canary + "/trigger.jar is not in the egress allowlist of team "
                + team);
        assertThat(auditCount("build.egress-refused", "build/" + id)).isEqualTo(1);
        assertThat(canaryRequests()).isEqualTo(canaryBefore);
    }

    @Test
    void addOfAUrlOutsideTheAllowlistFailsWithTheProxysLineAndTheCanarySeesNothing() throws Exception {
        String team = "egc" + RUN;
        String token = builder(team);
        String canary = require("BGW_CANARY_URL");
        String dockerfile = "FROM " + registryAddress() + "/base/debian:12\n"
                + "ADD --checksum=sha256:" + "0".repeat(64) + " " + canary + "/lib.jar /opt/lib/\n"
                + "USER 65534\nHEALTHCHECK NONE\n";
        // The policy refuses it at submission (add-url-outside-egress, below); off here to reach the proxy's check.
        policy(token, team, List.of(mirror() + "/maven2/"), dockerfile, List.of("add-url-outside-egress"));
        String canaryBefore = canaryRequests();

        JsonNode done = build(token, team, dockerfile);
        String id = done.path("id").asString();
        String log = log(token, id);
        assertThat(done.path("status").asString()).as(log).isEqualTo("FAILED");
        assertThat(log).contains("egress refused: " + canary + "/lib.jar is not in the egress allowlist of team "
                + team);
        assertThat(done.path("failureReason").asString()).contains("egress refused: " + canary + "/lib.jar");
        assertThat(auditCount("build.egress-refused", "build/" + id)).isEqualTo(1);
        assertThat(canaryRequests()).isEqualTo(canaryBefore);
    }

    @Test
    void aTeamWithoutAnAllowlistHasItsAddOfAUrlRefusedByThePolicy() throws Exception {
        String team = "egp" + RUN;
        String token = builder(team);
        String jarUrl = mavenArtifact()[0] + ".jar";
        String dockerfile = "FROM " + registryAddress() + "/base/debian:12\n"
                + "ADD --checksum=sha256:" + sha256Of(jarUrl) + " " + jarUrl + " /opt/lib/\n"
                + "USER 65534\nHEALTHCHECK NONE\n";
        policy(token, team, List.of(), dockerfile);

        Response refused = submit(token, "image=" + team + "/app&tag=1", Tars.dockerfile(dockerfile));
        assertThat(refused.status()).as(refused.body()).isEqualTo(422);
        assertThat(read(refused).path("findings").findValuesAsString("rule")).contains("add-url-outside-egress");
        assertThat(refused.body()).contains("not in the egress allowlist of team " + team);
    }

    @Test
    void anotherTeamsAllowlistDoesNotApplyToAdd() throws Exception {
        String team = "ego" + RUN;
        String other = "egm" + RUN;
        String token = builder(team, other);
        String jarUrl = mavenArtifact()[0] + ".jar";
        String dockerfile = "FROM " + registryAddress() + "/base/debian:12\n"
                + "ADD --checksum=sha256:" + sha256Of(jarUrl) + " " + jarUrl + " /opt/lib/\n"
                + "USER 65534\nHEALTHCHECK NONE\n";
        policy(token, other, List.of(mirror() + "/maven2/"), dockerfile);
        policy(token, team, List.of(mirror() + "/debian/"), dockerfile, List.of("add-url-outside-egress"));

        JsonNode done = build(token, team, dockerfile);
        String id = done.path("id").asString();
        String log = log(token, id);
        assertThat(done.path("status").asString()).as(log).isEqualTo("FAILED");
        assertThat(log).contains("egress refused: " + jarUrl + " is not in the egress allowlist of team " + team);
        assertThat(read(get(token, "/api/v1/builds/" + id + "/fetches")).path("fetches")).isEmpty();
    }

    @Test
    void aJavaBuildResolvesAPomAndAJarFromTheMavenMirror() throws Exception {
        String team = "egj" + RUN;
        String token = builder(team);
        String[] artifact = mavenArtifact();
        String dockerfile = "FROM " + registryAddress() + "/base/debian-jre-tools:12\n"
                + "COPY Resolver.class /opt/resolver/\n"
                + "RUN java -cp /opt/resolver Resolver " + mirror() + "/maven2 org.slf4j:slf4j-api:" + artifact[1]
                + " /opt/m2\n"
                + "USER 65534\nHEALTHCHECK NONE\n";
        policy(token, team, List.of(mirror() + "/maven2/"), dockerfile);
        String canaryBefore = canaryRequests();

        Response accepted = submit(token, "image=" + team + "/app&tag=1&noCache=true", Tars.tar()
                .file("Dockerfile", dockerfile).file("Resolver.class", resolverClass()).bytes());
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        JsonNode done = awaitFinal(token, read(accepted).path("id").asString(), Duration.ofMinutes(6));
        String id = done.path("id").asString();
        String log = log(token, id);
        assertThat(done.path("status").asString()).as(log).isEqualTo("SUCCEEDED");
        assertThat(log).contains("resolved " + artifact[0] + ".pom").contains("resolved " + artifact[0] + ".jar")
                .contains("jar entries: ");

        JsonNode fetches = read(get(token, "/api/v1/builds/" + id + "/fetches"));
        String audit = jdbc.queryForList("select details::text from audit_event where target = ? and action = ?",
                String.class, "build/" + id, "build.fetch").toString();
        String provenance = provenanceOf(token, done);
        for (String ext : List.of("pom", "jar")) {
            String url = artifact[0] + "." + ext;
            String sha = sha256Of(url);
            JsonNode found = null;
            for (JsonNode f : fetches.path("fetches")) {
                if (f.path("url").asString().equals(url)) {
                    found = f;
                }
            }
            assertThat(found).as(url + " in " + fetches).isNotNull();
            assertThat(sha256Hex(found)).isEqualTo(sha);
            assertThat(audit).contains(url).contains(sha);
            assertThat(provenance).contains(url).contains(sha);
        }
        assertThat(canaryRequests()).isEqualTo(canaryBefore);
    }

    /** The test's resolver (src/test/resources/…/egress/Resolver.java), compiled for Java 17. */
    private static byte[] resolverClass() throws Exception {
        Path dir = Files.createTempDirectory("resolver");
        Path source = dir.resolve("Resolver.java");
        try (var in = EgressBuildIT.class.getResourceAsStream("egress/Resolver.java")) {
            Files.copy(in, source);
        }
        int rc = javax.tools.ToolProvider.getSystemJavaCompiler().run(null, null, null, "--release", "17", "-d",
                dir.toString(), source.toString());
        assertThat(rc).as("javac Resolver.java").isZero();
        return Files.readAllBytes(dir.resolve("Resolver.class"));
    }

    /** The pushed image's configuration blob (history included), from the open registry. */
    private String imageConfig(String imageRef) throws Exception {
        String name = imageRef.substring(registryAddress().length() + 1, imageRef.indexOf('@'));
        String digest = imageRef.substring(imageRef.indexOf('@') + 1);
        String manifest = http.send(HttpRequest.newBuilder(URI.create("http://" + registryAddress() + "/v2/" + name
                + "/manifests/" + digest)).header("Accept", "application/vnd.oci.image.manifest.v1+json,"
                + "application/vnd.docker.distribution.manifest.v2+json").build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        String config = json.readTree(manifest).path("config").path("digest").asString();
        return http.send(HttpRequest.newBuilder(URI.create("http://" + registryAddress() + "/v2/" + name
                + "/blobs/" + config)).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }
}
