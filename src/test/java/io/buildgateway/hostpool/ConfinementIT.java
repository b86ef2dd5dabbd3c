package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.Canary;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Confinement that does not depend on the parser or the policy being right, on the real environment: the
 * user-namespaced daemon in its loopback-only network namespace, the forwarder, the token registry. Each test shows
 * what did not happen: a canary HTTP server in this JVM saw no request, another team's file reached neither the
 * image nor the log, the registry refused a read without a token and a push outside the token.
 */
class ConfinementIT extends IntegrationTest {

    private static final String RUN = Long.toString(System.nanoTime() % 1_000_000_000L, 36);
    @org.junit.jupiter.api.extension.RegisterExtension
    static final Canary canary = Canary.start(); // stopped after the class

    private static int canaryPort() {
        return canary.port();
    }

    /** curl inside the build daemon's network namespace; prints the HTTP status (000: no connection). */
    private static String curlInNamespace(String... args) {
        List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + require("BGW_NETNS"), "curl",
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5"));
        cmd.addAll(List.of(args));
        return runAnyExit(cmd.toArray(new String[0])).output().strip(); // 000 and exit 7 when nothing answers
    }

    private static RegistryTokens tokens() {
        return new RegistryTokens(new HostPoolProperties.Tokens(Path.of(require("BGW_TOKEN_KEY")),
                Path.of(require("BGW_TOKEN_CERT")), require("BGW_TOKEN_ISSUER"), require("BGW_TOKEN_SERVICE"),
                Duration.ofMinutes(10), List.of("base/")), Clock.systemUTC());
    }

    /** The error-severity rules the policy finds in {@code dockerfile} for {@code team}. */
    private List<String> blockingRules(String token, String team, String dockerfile) {
        return blockingRules(token, team, dockerfile, "");
    }

    /** The same, with more of the lint's query ({@code &buildArg=…}). */
    private List<String> blockingRules(String token, String team, String dockerfile, String query) {
        JsonNode lint = read(send(request(token, "/api/v1/lint?image=" + team + "/app" + query)
                .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString(dockerfile))));
        List<String> rules = new ArrayList<>();
        for (JsonNode f : lint.path("findings")) {
            if (f.path("severity").asString().equals("error") && !rules.contains(f.path("rule").asString())) {
                rules.add(f.path("rule").asString());
            }
        }
        return rules;
    }

    private String policyDigest(String token) {
        return read(get(token, "/api/v1/policy")).path("digest").asString();
    }

    /**
     * Submits {@code dockerfile} ({@code image} and the rest of the query), expects it accepted and then FAILED for a
     * confinement violation with its one audit event; returns the final build.
     */
    private JsonNode leftItsConfinement(String token, String image, String dockerfile) {
        Response accepted = submit(token, "image=" + image, Tars.dockerfile(dockerfile));
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String id = read(accepted).path("id").asString();
        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("FAILED");
        assertThat(done.path("failureReason").asString()).as(done.toString()).contains("confinement violation");
        assertThat(auditCount("build.confinement-violation", "build/" + id)).isEqualTo(1);
        return done;
    }

    /** Writes a policy file and waits until the gateway has loaded it. */
    private void policy(String token, Path file, String content) throws Exception {
        String before = policyDigest(token);
        Files.writeString(file, content);
        eventually("the policy change being picked up", Duration.ofSeconds(15),
                () -> !policyDigest(token).equals(before));
    }

    @Test
    void aRemoteSourceThePolicyLetThroughIsNeverFetchedAndTheBuildFails() throws Exception {
        String team = "cfa" + RUN;
        String token = builder(team);
        String url = "http://127.0.0.1:" + canaryPort() + "/x-" + RUN;
        String dockerfile = "FROM " + registryAddress() + "/base/busybox\nADD " + url + " /x\nUSER 65534\n"
                + "HEALTHCHECK NONE\n";

        // The canary is reachable from this machine: a daemon outside the namespace (the plain one) fetches it.
        Path ctx = Files.createTempFile("canary", ".tar");
        Files.write(ctx, Tars.dockerfile("FROM scratch\nADD " + url + "-control /x\n"));
        run("curl", "-s", "--unix-socket", require("BGW_PLAIN_DOCKER_HOST").substring("unix://".length()), "-X",
                "POST", "-H", "Content-Type: application/x-tar", "--data-binary", "@" + ctx,
                "http://localhost/v1.41/build?networkmode=none&rm=1&forcerm=1");
        assertThat(canary.requests()).containsExactly("GET /x-" + RUN + "-control");
        // From inside the build daemon's namespace it is not there; the registry (through the forwarder) is.
        assertThat(curlInNamespace("http://127.0.0.1:" + canaryPort() + "/probe")).isEqualTo("000");
        assertThat(curlInNamespace("http://" + registryAddress() + "/v2/")).isEqualTo("401");
        canary.clear();

        // The policy lets the URL through for this team (every rule that would stop it is off).
        List<String> rules = blockingRules(token, team, dockerfile);
        Path file = POLICY.resolve("zz-confine-" + team + ".yaml");
        StringBuilder override = new StringBuilder("teams:\n  " + team + ":\n    rules:\n");
        rules.forEach(r -> override.append("      ").append(r).append(": \"off\"\n"));
        try {
            if (!rules.isEmpty()) {
                policy(token, file, override.toString());
            }
            assertThat(blockingRules(token, team, dockerfile)).isEmpty();

            Response accepted = submit(token, "image=" + team + "/app&tag=1&noCache=true",
                    Tars.dockerfile(dockerfile));
            assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
            String id = read(accepted).path("id").asString();
            JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));

            assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("FAILED");
            assertThat(done.path("failureReason").asString()).contains("confinement violation")
                    .contains("tried to reach http://127.0.0.1:" + canaryPort() + "/x-" + RUN);
            assertThat(canary.requests()).isEmpty();
            assertThat(auditCount("build.confinement-violation", "build/" + id)).isEqualTo(1);
            assertThat(jdbc.queryForObject("select outcome from audit_event where action ="
                    + " 'build.confinement-violation' and target = ?", String.class, "build/" + id))
                    .isEqualTo("DENIED");
            assertThat(get(token, "/api/v1/builds/" + id + "/logs").body()).contains("CONFINEMENT:");

            // The registry is reachable from the namespace, but an ADD of a URL of it is a remote fetch all the
            // same: the daemon's GET fails (ADD failed: failed to GET … with status 404 Not Found; 401 Unauthorized
            // for a path under /v2/), and that failed fetch is a violation too.
            String fromRegistry = "FROM " + registryAddress() + "/base/busybox\nADD http://" + registryAddress()
                    + "/x-" + RUN + " /x\nUSER 65534\nHEALTHCHECK NONE\n";
            assertThat(blockingRules(token, team, fromRegistry)).isEmpty();
            JsonNode done2 = leftItsConfinement(token, team + "/app&tag=2&noCache=true", fromRegistry);
            assertThat(done2.path("failureReason").asString()).as(done2.toString())
                    .contains("http://" + registryAddress() + "/x-" + RUN);

            // A URL made of a build arg the policy does not declare public: what the daemon tried to reach holds the
            // value, and it reaches neither the violation's audit event, nor the build's log, nor its reason.
            String secret = "s3cr3t" + RUN;
            String withArg = "FROM " + registryAddress() + "/base/busybox\nARG TOKEN\nADD http://127.0.0.1:"
                    + canaryPort() + "/y-${TOKEN} /x\nUSER 65534\nHEALTHCHECK NONE\n";
            List<String> more = new ArrayList<>(rules);
            for (String r : blockingRules(token, team, withArg, "&buildArg=TOKEN=" + secret)) {
                if (!more.contains(r)) {
                    more.add(r);
                }
            }
            StringBuilder wider = new StringBuilder("teams:\n  " + team + ":\n    rules:\n");
            more.forEach(r -> wider.append("      ").append(r).append(": \"off\"\n"));
            if (!more.equals(rules)) {
                policy(token, file, wider.toString());
            }
            JsonNode done3 = leftItsConfinement(token, team + "/app&tag=3&noCache=true&buildArg=TOKEN=" + secret,
                    withArg);
            String id3 = done3.path("id").asString();
            assertThat(done3.path("failureReason").asString()).as(done3.toString()).doesNotContain(secret);
            assertThat(jdbc.queryForObject("select cast(details as varchar) from audit_event where action ="
                    + " 'build.confinement-violation' and target = ?", String.class, "build/" + id3))
                    .contains("/y-").doesNotContain(secret);
            assertThat(get(token, "/api/v1/builds/" + id3 + "/logs").body()).contains("CONFINEMENT:")
                    .doesNotContain(secret);
            assertThat(jdbc.queryForObject("select count(*) from audit_event where cast(details as varchar) like ?",
                    Long.class, "%" + secret + "%")).isZero();
            assertThat(canary.requests()).isEmpty();
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void anotherTeamsImageApprovedByMistakeIsNotPulledAndItsSecretGoesNowhere() throws Exception {
        String teamB = "cfb" + RUN;
        String teamA = "cfc" + RUN;
        String secret = "confine-secret-" + RUN + "-" + Long.toHexString(System.nanoTime());
        String tokenB = builder(teamB);
        String tokenA = builder(teamA);

        // Team B's image, with a file only team B may read, built and pushed through the gateway (so the build host
        // also has it locally, under its registry name).
        JsonNode b = awaitFinal(tokenB, read(submit(tokenB, "image=" + teamB + "/secret&tag=1&noCache=true",
                Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\nRUN echo " + secret
                        + " > /opt-note\nUSER 65534\nHEALTHCHECK NONE\n"))).path("id").asString(), Duration.ofMinutes(3));
        assertThat(b.path("status").asString()).as(b.toString()).isEqualTo("SUCCEEDED");

        // By mistake, the policy approves team B's repositories as images anyone may build on.
        Path file = POLICY.resolve("zz-confine-" + teamB + ".yaml");
        String dockerfileA = "FROM " + registryAddress() + "/" + teamB + "/secret:1\nRUN cat /opt-note\n"
                + "USER 65534\nHEALTHCHECK NONE\n";
        try {
            policy(tokenA, file, "approvedImages:\n  - prefix: " + registryAddress() + "/" + teamB + "/\n");
            assertThat(blockingRules(tokenA, teamA, dockerfileA)).isEmpty();

            Response accepted = submit(tokenA, "image=" + teamA + "/app&tag=1&noCache=true",
                    Tars.dockerfile(dockerfileA));
            assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
            String id = read(accepted).path("id").asString();
            JsonNode done = awaitFinal(tokenA, id, Duration.ofMinutes(3));

            assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("FAILED");
            assertThat(done.path("failureReason").asString()).contains("confinement violation")
                    .contains(teamB + "/secret");
            String log = get(tokenA, "/api/v1/builds/" + id + "/logs").body();
            assertThat(log).contains("Not granted to the build daemon: " + registryAddress() + "/" + teamB)
                    .doesNotContain(secret);
            // On the BuildKit host (userns-1, the suite's only healthy one) the build is stopped before BuildKit runs
            // any step: BuildKit would take team B's image from the host's store without asking the registry.
            assertThat(done.path("host").asString()).isEqualTo("userns-1");
            assertThat(log).doesNotContain("RUN cat /opt-note").doesNotContainPattern("(?m)^\\| #\\d+ ");
            assertThat(done.toString()).doesNotContain(secret);
            assertThat(done.path("imageDigest").isMissingNode() || done.path("imageDigest").isNull()).isTrue();
            assertThat(auditCount("build.confinement-violation", "build/" + id)).isEqualTo(1);
            // No image of team A reached the registry.
            assertThat(run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                    "http://" + registryAddress() + "/v2/" + teamA + "/app/manifests/1")).isEqualTo("404");
            assertThat(jdbc.queryForObject("select count(*) from audit_event where details like ?", Long.class,
                    "%" + secret + "%")).isZero();
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void theRegistryTheDaemonReachesRefusesReadsWithoutATokenAndOutsideIt() throws java.io.IOException {
        String manifest = "http://" + registryAddress() + "/v2/base/busybox/manifests/latest";
        String accept = "Accept: application/vnd.docker.distribution.manifest.v2+json";
        // Anonymous: refused.
        assertThat(curlInNamespace("-H", accept, manifest)).isEqualTo("401");
        assertThat(curlInNamespace("http://" + registryAddress() + "/v2/_catalog")).isEqualTo("401");
        // A token of a build that may pull base/busybox: that and nothing else.
        String pull = tokens().mint("build/it-" + RUN, List.of(new RegistryTokens.Access("base/busybox",
                Set.of("pull"))), Duration.ofMinutes(2));
        assertThat(curlInNamespace("-H", accept, "-H", "Authorization: Bearer " + pull, manifest)).isEqualTo("200");
        assertThat(curlInNamespace("-H", accept, "-H", "Authorization: Bearer " + pull,
                "http://" + registryAddress() + "/v2/base/debian/manifests/12")).isEqualTo("401");
        // The same grant, but a broken signature, a token signed by another key (with its own self-signed
        // certificate in the chain, as an attacker would send it), or one for another service: refused.
        assertThat(curlInNamespace("-H", accept, "-H", "Authorization: Bearer " + pull.substring(0,
                pull.lastIndexOf('.') + 1) + "AAAA", manifest)).as("a broken signature").isEqualTo("401");
        java.util.List<RegistryTokens.Access> grant = List.of(new RegistryTokens.Access("base/busybox", Set.of("pull")));
        Path keys = Files.createTempDirectory("bgw-other-token-key");
        try {
            Path[] other = io.buildgateway.auth.TestCertificates.write(
                    io.buildgateway.auth.TestCertificates.ca("CN=not the gateway's token issuer"), keys, "other");
            String otherKey = new RegistryTokens(new HostPoolProperties.Tokens(other[1], other[0],
                    require("BGW_TOKEN_ISSUER"), require("BGW_TOKEN_SERVICE"), Duration.ofMinutes(10),
                    List.of("base/")), Clock.systemUTC()).mint("build/it-" + RUN, grant, Duration.ofMinutes(2));
            assertThat(curlInNamespace("-H", accept, "-H", "Authorization: Bearer " + otherKey, manifest))
                    .as("a token signed by another key").isEqualTo("401");
        } finally {
            org.springframework.util.FileSystemUtils.deleteRecursively(keys);
        }
        String otherService = new RegistryTokens(new HostPoolProperties.Tokens(Path.of(require("BGW_TOKEN_KEY")),
                Path.of(require("BGW_TOKEN_CERT")), require("BGW_TOKEN_ISSUER"),
                "another-service-" + RUN, Duration.ofMinutes(10), List.of("base/")), Clock.systemUTC())
                .mint("build/it-" + RUN, grant, Duration.ofMinutes(2));
        assertThat(curlInNamespace("-H", accept, "-H", "Authorization: Bearer " + otherService, manifest))
                .as("a token for another service").isEqualTo("401");
    }

    /** curl inside the build daemon's namespace, with the response's status line and headers (body discarded). */
    private static String curlHeadersInNamespace(String... args) {
        List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + require("BGW_NETNS"), "curl",
                "-s", "-D", "-", "-o", "/dev/null", "-m", "10"));
        cmd.addAll(List.of(args));
        return runAnyExit(cmd.toArray(new String[0])).output();
    }

    private static String v2(String path) {
        return "http://" + registryAddress() + "/v2/" + path;
    }

    /** Uploads {@code content} to {@code repository} in one request (202 upload start, then the PUT); its status. */
    private static String uploadBlob(String auth, String repository, byte[] content) throws java.io.IOException {
        String started = curlHeadersInNamespace("-X", "POST", "-H", auth, v2(repository + "/blobs/uploads/"));
        if (!started.startsWith("HTTP/1.1 202")) {
            return started.lines().findFirst().orElse("");
        }
        String location = started.lines().filter(l -> l.toLowerCase().startsWith("location:")).findFirst()
                .orElseThrow().substring("location:".length()).strip();
        location = location.startsWith("http") ? location : "http://" + registryAddress() + location;
        Path file = Files.createTempFile("blob", ".bin");
        try {
            Files.write(file, content);
            return curlInNamespace("-X", "PUT", "-H", auth, "-H", "Content-Type: application/octet-stream",
                    "--data-binary", "@" + file, location + (location.contains("?") ? "&" : "?") + "digest="
                    + digest(content));
        } finally {
            Files.delete(file);
        }
    }

    private static String digest(byte[] content) {
        try {
            return "sha256:" + java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(content));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** PUTs {@code manifest} as {@code repository:tag}; the status. */
    private static String putManifest(String auth, String repository, String tag, String manifest)
            throws java.io.IOException {
        Path file = Files.createTempFile("manifest", ".json");
        try {
            Files.writeString(file, manifest);
            return curlInNamespace("-X", "PUT", "-H", auth, "-H",
                    "Content-Type: application/vnd.docker.distribution.manifest.v2+json", "--data-binary",
                    "@" + file, v2(repository + "/manifests/" + tag));
        } finally {
            Files.delete(file);
        }
    }

    private static String bearer(com.github.dockerjava.api.model.AuthConfig auth) {
        assertThat(auth.getRegistrytoken()).as("a registry token, not the gateway's password").isNotBlank();
        return "Authorization: Bearer " + auth.getRegistrytoken();
    }

    @org.springframework.beans.factory.annotation.Autowired
    HostPoolProperties properties;

    @org.springframework.beans.factory.annotation.Autowired
    ImageRegistry imageRegistry;

    /**
     * The push token as production mints it (docs/security.md "Quarantine push"): {@link RegistryAuth#pushAuth} with
     * the plan of {@link BuildHost#prepare} and the run's quarantine repository that {@code BuildSequence} passes. It
     * pushes that repository and nothing else: not the team's repository the image is finally named in (the gateway
     * names it there itself, after its checks), not another build's quarantine, which it cannot read either.
     */
    @Test
    void thePushTokenPushesOnlyTheRunsQuarantineRepository() throws Exception {
        String team = "cfd" + RUN;
        String quarantinePrefix = properties.registry().quarantine();
        assertThat(quarantinePrefix).as("the suite's gateway pushes through a quarantine, as production").isNotEmpty();
        RegistryAuth auth = new RegistryAuth(properties, Clock.systemUTC());
        assertThat(auth.tokens()).isTrue();
        String registry = properties.registry().address();

        BuildJob job = new BuildJob(java.util.UUID.randomUUID().toString(), "userns-1", Path.of("ctx"), "Dockerfile",
                null, Map.of(), Map.of(), false, team + "/app", "1", team, registry + "/base/busybox");
        Confinement.Plan plan = Confinement.plan(job, registry, RegistryAuth.pullablePrefixes(properties),
                quarantinePrefix);
        String own = io.buildgateway.builds.QuarantineNames.of(quarantinePrefix, job.buildId(), 1);
        String pushOwn = bearer(auth.pushAuth(job, plan, own));

        // Another build, with its run's image in its quarantine, pushed with its own production token.
        BuildJob other = new BuildJob(java.util.UUID.randomUUID().toString(), "userns-1", Path.of("ctx"),
                "Dockerfile", null, Map.of(), Map.of(), false, team + "/app", "2", team, registry + "/base/busybox");
        Confinement.Plan otherPlan = Confinement.plan(other, registry, RegistryAuth.pullablePrefixes(properties),
                quarantinePrefix);
        String otherQuarantine = io.buildgateway.builds.QuarantineNames.of(quarantinePrefix, other.buildId(), 1);
        String pushOther = bearer(auth.pushAuth(other, otherPlan, otherQuarantine));

        byte[] layer = ("layer of " + RUN + " " + System.nanoTime()).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
                + "\"diff_ids\":[\"" + digest(layer) + "\"]},\"config\":{}}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        String manifest = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
                + "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":"
                + config.length + ",\"digest\":\"" + digest(config) + "\"},\"layers\":[{\"mediaType\":"
                + "\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":" + layer.length + ",\"digest\":\""
                + digest(layer) + "\"}]}";
        String accept = "Accept: application/vnd.docker.distribution.manifest.v2+json";
        String tag = io.buildgateway.builds.QuarantineNames.TAG;
        try {
            // Its run's quarantine: blobs and the manifest are accepted (a whole push, as the daemon makes it).
            assertThat(uploadBlob(pushOwn, own, layer)).as("a layer to its quarantine").isEqualTo("201");
            assertThat(uploadBlob(pushOwn, own, config)).as("the config to its quarantine").isEqualTo("201");
            assertThat(putManifest(pushOwn, own, tag, manifest)).as("the manifest to its quarantine").isEqualTo("201");
            assertThat(curlInNamespace("-H", accept, "-H", pushOwn, v2(own + "/manifests/" + tag))).isEqualTo("200");
            // The other build's token, likewise, in its own quarantine.
            assertThat(uploadBlob(pushOther, otherQuarantine, layer)).isEqualTo("201");
            assertThat(uploadBlob(pushOther, otherQuarantine, config)).isEqualTo("201");
            assertThat(putManifest(pushOther, otherQuarantine, tag, manifest)).isEqualTo("201");
            assertThat(curlInNamespace("-H", accept, "-H", pushOther, v2(otherQuarantine + "/manifests/" + tag)))
                    .isEqualTo("200");

            // The team's repository: no upload, no manifest. Control: a token minted the same way for the team's
            // repository (the push without quarantine, BuildSequence's other path) may start an upload there, so
            // the refusal is the token's scope and not the registry refusing the repository.
            String pushTeam = bearer(auth.pushAuth(job, plan, job.repository()));
            String control = curlHeadersInNamespace("-X", "POST", "-H", pushTeam,
                    v2(job.repository() + "/blobs/uploads/"));
            assertThat(control).as("control: a token for the team's repository").startsWith("HTTP/1.1 202");
            String location = control.lines().filter(l -> l.toLowerCase().startsWith("location:")).findFirst()
                    .orElseThrow().substring("location:".length()).strip();
            curlInNamespace("-X", "DELETE", "-H", pushTeam, location.startsWith("http") ? location
                    : "http://" + registryAddress() + location);
            assertThat(curlInNamespace("-X", "POST", "-H", pushOwn, v2(job.repository() + "/blobs/uploads/")))
                    .as("an upload to the team's repository").isEqualTo("401");
            assertThat(putManifest(pushOwn, job.repository(), "1", manifest)).as("a manifest to the team's repository")
                    .isEqualTo("401");

            // Another build's quarantine, and another run of its own build: no upload, no manifest, no read.
            String nextRun = io.buildgateway.builds.QuarantineNames.of(quarantinePrefix, job.buildId(), 2);
            for (String elsewhere : List.of(otherQuarantine, nextRun)) {
                assertThat(curlInNamespace("-X", "POST", "-H", pushOwn, v2(elsewhere + "/blobs/uploads/")))
                        .as("an upload to " + elsewhere).isEqualTo("401");
                assertThat(putManifest(pushOwn, elsewhere, tag, manifest)).as("a manifest to " + elsewhere)
                        .isEqualTo("401");
            }
            assertThat(curlInNamespace("-H", accept, "-H", pushOwn, v2(otherQuarantine + "/manifests/" + tag)))
                    .as("a read of another build's quarantine").isEqualTo("401");
            assertThat(curlInNamespace("-H", pushOwn, v2(otherQuarantine + "/blobs/" + digest(config))))
                    .as("a blob read from another build's quarantine").isEqualTo("401");
            // Nor does a cross-repository mount from it link anything: the registry starts a plain upload (202)
            // instead of mounting (201), as it does for a source the token may not pull.
            assertThat(curlHeadersInNamespace("-X", "POST", "-H", pushOwn, v2(own + "/blobs/uploads/?mount="
                    + digest(config) + "&from=" + otherQuarantine))).as("a mount from another build's quarantine")
                    .doesNotStartWith("HTTP/1.1 201");
            // Other repositories altogether, another team's or a base: refused.
            for (String elsewhere : List.of("cfe" + RUN + "/app", "base/busybox", team + "/other")) {
                assertThat(curlInNamespace("-X", "POST", "-H", pushOwn, v2(elsewhere + "/blobs/uploads/")))
                        .as(elsewhere).isEqualTo("401");
            }

            // The build's own pull token (production's, for the build) cannot push at all, not even its quarantine.
            String pull = "Authorization: Bearer " + auth.pullToken(job, plan);
            for (String repository : List.of(own, job.repository())) {
                assertThat(curlInNamespace("-X", "POST", "-H", pull, v2(repository + "/blobs/uploads/")))
                        .as("the pull token's upload to " + repository).isEqualTo("401");
            }
        } finally {
            for (String repository : List.of(own, otherQuarantine)) {
                try {
                    imageRegistry.deleteManifest(repository, tag);
                } catch (java.io.IOException | RuntimeException e) {
                    // a leftover of a fake build id under the quarantine, readable by no build
                }
            }
        }
    }
}
