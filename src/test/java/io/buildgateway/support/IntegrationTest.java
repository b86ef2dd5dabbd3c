package io.buildgateway.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Integration tests run the whole gateway against the real environment that {@code make test} brings up
 * (scripts/env.sh): a user-namespaced dockerd, a plain dockerd without user namespaces, a registry, and an
 * embedded PostgreSQL 17. Without that environment they fail with a message that says how to get it.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
public abstract class IntegrationTest {

    public static final String ADMIN_SECRET = "it-admin-" + UUID.randomUUID();
    /** The metrics scrape token of the suite's gateway (gateway.auth.scrape-token). */
    public static final String SCRAPE_SECRET = "it-scrape-" + UUID.randomUUID();
    /** A data folder of this JVM's own, so that a run never shares its PostgreSQL or store with another. */
    public static final Path DATA = Path.of("target", "it-data", "run-" + ProcessHandle.current().pid() + "-"
            + UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();

    /** A copy of config/policy for this run, so that tests can change the policy and watch it reload. */
    public static final Path POLICY = copyPolicy();

    /** The webhook of team "inv" (the inventory tests' team): a real HTTP receiver in this JVM. */
    public static final Webhooks WEBHOOKS = Webhooks.start();

    /** The SIEM: the audit trail is exported to this syslog receiver over TLS, and to {@link #AUDIT_EXPORT_FILE}. */
    public static final SyslogReceiver SYSLOG = SyslogReceiver.tls(DATA.resolve("syslog"));
    public static final Path AUDIT_EXPORT_FILE = DATA.resolve("audit").resolve("export.jsonl");

    @LocalServerPort
    protected int port;
    @Autowired
    protected JdbcTemplate jdbc;
    @Autowired
    protected JsonMapper json;

    protected final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @DynamicPropertySource
    static void environment(DynamicPropertyRegistry registry) {
        // A few values are placeholders with the suite's value as default, so that a test class that needs a gateway
        // of its own (GatewayImageIT: another data folder, larger contexts) sets them under the bgw.it.* names in a
        // @DynamicPropertySource of its own: the same names in two such methods would collide, and the superclass's
        // method runs last.
        registry.add("gateway.data-dir", () -> "${bgw.it.data-dir:" + DATA + "}");
        registry.add("gateway.policy.dir", POLICY::toString);
        registry.add("gateway.notifications.webhooks[0].team", () -> "inv");
        registry.add("gateway.notifications.webhooks[0].url", WEBHOOKS::url);
        registry.add("gateway.notifications.webhooks[0].secret", () -> Webhooks.SECRET);
        registry.add("gateway.notifications.poll-interval", () -> "200ms");
        registry.add("gateway.audit.export.poll-interval", () -> "200ms");
        registry.add("gateway.audit.export.retry-max", () -> "1s");
        registry.add("gateway.audit.export.file.path", () -> "${bgw.it.audit-export-file:" + AUDIT_EXPORT_FILE + "}");
        registry.add("gateway.audit.export.syslog.host", () -> "${bgw.it.syslog-host:127.0.0.1}");
        registry.add("gateway.audit.export.syslog.port", SYSLOG::port);
        registry.add("gateway.audit.export.syslog.tls", () -> "true");
        registry.add("gateway.audit.export.syslog.trust-certificates", () -> SYSLOG.trustPem().toString());
        // Image filesystems for OpenSCAP: in memory when the machine has a tmpfs, as make run does.
        registry.add("gateway.scanning.work-dir", () -> java.nio.file.Files.isWritable(Path.of("/dev/shm"))
                ? "/dev/shm/bgw-it-" + ProcessHandle.current().pid() : DATA.resolve("scans").toString());
        // About three times the entries of base/debian:12 (6,800), so that ScanningIT can go over it cheaply.
        registry.add("gateway.scanning.max-files", () -> "20000");
        registry.add("gateway.policy.reload-interval", () -> "300ms");
        registry.add("gateway.auth.bootstrap-token", () -> ADMIN_SECRET);
        registry.add("gateway.auth.scrape-token", () -> SCRAPE_SECRET);
        // A placeholder: TeamImageSweepIT's gateway of its own names the same registry another way (localhost:port),
        // so that its sweep of the shared build host takes only the names it put there under that spelling.
        registry.add("gateway.hostpool.registry.address", () -> "${bgw.it.registry-address:" + registryAddress()
                + "}");
        // No periodic sweep of team images' names off the shared build host: other test classes (and other JVMs on
        // the same daemon, whose running builds this gateway's database does not know) put names there on purpose;
        // TeamImageSweepIT runs the sweep itself.
        registry.add("gateway.hostpool.team-image-sweep", () -> "0s");
        // The build daemon reaches only the token registry (scripts/env.sh): the gateway mints its tokens.
        registry.add("gateway.hostpool.registry.tokens.key-path", () -> require("BGW_TOKEN_KEY"));
        registry.add("gateway.hostpool.registry.tokens.certificate-path", () -> require("BGW_TOKEN_CERT"));
        registry.add("gateway.hostpool.registry.tokens.issuer", () -> require("BGW_TOKEN_ISSUER"));
        registry.add("gateway.hostpool.registry.tokens.service", () -> require("BGW_TOKEN_SERVICE"));
        registry.add("gateway.policy.approved-base-prefixes[0]", () -> registryAddress() + "/base/");
        // The first host, which the least-loaded choice prefers among equally loaded ones, is a bgw.it.host0.*
        // placeholder: BuildHostImageIT puts the build host container there (and userns-1 after the others).
        registry.add("gateway.hostpool.hosts[0].name", () -> "${bgw.it.host0.name:userns-1}");
        registry.add("gateway.hostpool.hosts[0].endpoint", () -> "${bgw.it.host0.endpoint:"
                + require("BGW_DOCKER_HOST") + "}");
        registry.add("gateway.hostpool.hosts[0].capacity", () -> "2");
        registry.add("gateway.hostpool.hosts[0].tls-cert-path", () -> "${bgw.it.host0.tls-cert-path:}");
        // Controlled egress (issue #14): where the build host's steps reach the egress proxy (scripts/env.sh's
        // bridge and forwarder); the proxy listens on a free port, which EgressBuildIT tells the relay.
        registry.add("gateway.hostpool.hosts[0].egress-address", () -> System.getenv()
                .getOrDefault("BGW_EGRESS_STEP_ADDRESS", ""));
        registry.add("gateway.egress.listen", () -> "${bgw.it.egress-listen:127.0.0.1:0}");
        registry.add("gateway.egress.head-timeout", () -> "3s"); // EgressProxyIT waits it out
        // A cap on its BuildKit cache that the suite's builds stay below: every build ends with the cache read (shown
        // by GET /api/v1/hosts); BuildCachePruneIT prunes below a small cap of its own.
        registry.add("gateway.hostpool.hosts[0].build-cache-max", () -> "20GB");
        registry.add("gateway.hostpool.hosts[1].name", () -> "plain-1");
        registry.add("gateway.hostpool.hosts[1].endpoint", () -> require("BGW_PLAIN_DOCKER_HOST"));
        registry.add("gateway.hostpool.hosts[1].capacity", () -> "4");
        // Debian 12's dockerd 20.10 with user namespaces (scripts/env.sh): refused for BuildKit builds as too old.
        registry.add("gateway.hostpool.hosts[2].name", () -> "old-1");
        registry.add("gateway.hostpool.hosts[2].endpoint", () -> require("BGW_OLD_DOCKER_HOST"));
        registry.add("gateway.hostpool.hosts[2].capacity", () -> "4");
        registry.add("gateway.hostpool.health-interval", () -> "2s");
        registry.add("gateway.hostpool.build.timeout", () -> "${bgw.it.build-timeout:5m}");
        registry.add("gateway.builds.dispatch-interval", () -> "200ms");
        // Builds whose lease lapsed (BuildLeaseIT, ReplicasIT) are decided within a second of it.
        registry.add("gateway.builds.lease-check-interval", () -> "1s");
        // Only explicit refreshes watch the bases in tests: several Spring contexts share one database, and a
        // scheduled watch in one of them would record a move another test is waiting to see.
        registry.add("gateway.inventory.base-watch-interval", () -> "24h");
        registry.add("gateway.replica-name", () -> "replica-a");
        registry.add("gateway.intake.max-context-size", () -> "${bgw.it.max-context-size:32MB}");
        registry.add("gateway.intake.max-uncompressed-size", () -> "${bgw.it.max-uncompressed-size:64MB}");
        registry.add("gateway.intake.max-entries", () -> "2000");
        // Every test talks from 127.0.0.1, and many are refused on purpose: the per-source limit of refusals is
        // tested on a gateway of its own (BuilderAbuseIT), not here.
        registry.add("gateway.web.refusal-limit.limit", () -> "1000000");
        // The Docker Engine API on a free port of its own, loopback only (DockerCliIT drives the real Docker CLI).
        registry.add("gateway.docker-api.enabled", () -> "true");
        registry.add("gateway.docker-api.port", () -> "0");
        registry.add("gateway.docker-api.address", () -> "127.0.0.1");
        // The warm-up before readiness runs in every test context (WarmUpIT checks the one of its context), kept to
        // ten rounds: each context of the suite pays it once (~10 contexts; 3 s each made make test ~20 s longer).
        registry.add("gateway.warmup.max-duration", () -> "3s");
        registry.add("gateway.warmup.rounds", () -> "10");
    }

    public static String registryAddress() {
        return require("BGW_REGISTRY");
    }

    public static String require(String name) {
        String value = System.getenv(name);
        if (value == null || value.isBlank()) {
            fail(name + " is not set: integration tests need the real environment; run them with `make test` "
                    + "(or `scripts/env.sh up test --plain-host && source .state/test/env.sh` first)");
        }
        return value;
    }

    protected String base() {
        return "http://localhost:" + port;
    }

    // ---- HTTP helpers -------------------------------------------------------------------------------------------

    public record Response(int status, Map<String, List<String>> headers, String body) {
        public String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name)).findFirst()
                    .map(e -> e.getValue().get(0)).orElse(null);
        }
    }

    /**
     * Puts the manifest of {@code from:fromTag} under {@code to:toTag} through the registry's own API (its blobs
     * mounted across): as a push would, without a daemon and without the build hosts' scoped tokens.
     */
    protected void copyManifest(String from, String fromTag, String to, String toTag) {
        String registry = "http://" + registryAddress();
        String accept = "application/vnd.oci.image.manifest.v1+json, "
                + "application/vnd.docker.distribution.manifest.v2+json";
        Response m = send(HttpRequest.newBuilder(URI.create(registry + "/v2/" + from + "/manifests/" + fromTag))
                .header("Accept", accept).GET());
        assertThat(m.status()).as(m.body()).isEqualTo(200);
        JsonNode manifest = json.readTree(m.body());
        List<String> blobs = new java.util.ArrayList<>();
        blobs.add(manifest.path("config").path("digest").asString());
        manifest.path("layers").forEach(l -> blobs.add(l.path("digest").asString()));
        for (String blob : blobs) {
            Response mounted = send(HttpRequest.newBuilder(URI.create(registry + "/v2/" + to + "/blobs/uploads/?mount="
                    + blob + "&from=" + from)).POST(HttpRequest.BodyPublishers.noBody()));
            assertThat(mounted.status()).as(mounted.body()).isEqualTo(201);
        }
        Response put = send(HttpRequest.newBuilder(URI.create(registry + "/v2/" + to + "/manifests/" + toTag))
                .header("Content-Type", m.header("Content-Type"))
                .PUT(HttpRequest.BodyPublishers.ofString(m.body())));
        assertThat(put.status()).as(put.body()).isEqualTo(201);
    }

    protected Response send(HttpRequest.Builder request) {
        try {
            HttpResponse<String> r = http.send(request.timeout(Duration.ofMinutes(2)).build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            return new Response(r.statusCode(), r.headers().map(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    protected HttpRequest.Builder request(String token, String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    protected Response get(String token, String path) {
        return send(request(token, path).GET());
    }

    protected Response postJson(String token, String path, String body) {
        return send(request(token, path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    protected Response submit(String token, String query, byte[] context) {
        return send(request(token, "/api/v1/builds?" + query).header("Content-Type", "application/x-tar")
                .POST(HttpRequest.BodyPublishers.ofByteArray(context)));
    }

    /**
     * The registry's quarantine repositories of a build ({@code gateway-quarantine/<build id>/<run>}, one per run),
     * from the registry's catalog.
     */
    protected List<String> quarantineRepositories(String buildId) {
        // A page at a time: the registry refuses more than its catalog.maxentries (1,000) in one answer, and the
        // suite makes a quarantine repository per build run.
        List<String> found = new java.util.ArrayList<>();
        String page = "/v2/_catalog?n=1000";
        while (page != null) {
            Response catalog = send(HttpRequest.newBuilder(URI.create("http://" + registryAddress() + page)).GET());
            if (catalog.status() != 200) {
                throw new AssertionError("registry catalog: " + catalog.status() + " " + catalog.body());
            }
            for (JsonNode name : read(catalog).path("repositories")) {
                if (name.asString().startsWith("gateway-quarantine/" + buildId + "/")) {
                    found.add(name.asString());
                }
            }
            String link = catalog.header("Link");
            java.util.regex.Matcher next = link == null ? null
                    : java.util.regex.Pattern.compile("<([^>]+)>;\\s*rel=\"next\"").matcher(link);
            page = next != null && next.find() ? next.group(1) : null;
        }
        return found;
    }

    protected JsonNode read(Response r) {
        return json.readTree(r.body());
    }

    /** Asserts a problem+json of the given status and returns it. */
    protected JsonNode problem(Response r, int status) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.header("Content-Type")).startsWith("application/problem+json");
        JsonNode p = read(r);
        assertThat(p.path("status").asInt()).isEqualTo(status);
        assertThat(p.path("type").asString()).startsWith("https://");
        assertThat(p.path("title").asString()).isNotBlank();
        assertThat(p.path("detail").asString()).isNotBlank();
        assertThat(r.body()).doesNotContain("Exception").doesNotContain("at io.").doesNotContain("SQL");
        return p;
    }

    // ---- tokens -------------------------------------------------------------------------------------------------

    protected String token(Set<String> roles, Set<String> teams) {
        String body = json.writeValueAsString(Map.of("name", "t-" + UUID.randomUUID().toString().substring(0, 8),
                "roles", roles, "teams", teams));
        Response r = postJson(ADMIN_SECRET, "/api/v1/tokens", body);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return read(r).path("token").asString();
    }

    protected String builder(String... teams) {
        return token(Set.of("BUILDER"), Set.of(teams));
    }

    // ---- builds -------------------------------------------------------------------------------------------------

    protected JsonNode awaitFinal(String token, String buildId, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode build = read(get(token, "/api/v1/builds/" + buildId));
            String status = build.path("status").asString();
            if (Set.of("SUCCEEDED", "FAILED", "REJECTED", "CANCELLED").contains(status)) {
                return build;
            }
            sleep(200);
        }
        return fail("build " + buildId + " did not finish within " + timeout + "; log:\n"
                + get(token, "/api/v1/builds/" + buildId + "/logs").body());
    }

    /**
     * Waits for the build's end and asserts that it succeeded; when it did not, the failure names the build's status,
     * reason and log (a bare "expected SUCCEEDED but was FAILED" from CI said nothing about why).
     */
    protected JsonNode awaitSucceeded(String token, String buildId, Duration timeout) {
        JsonNode build = awaitFinal(token, buildId, timeout);
        if (!"SUCCEEDED".equals(build.path("status").asString())) {
            fail("build " + buildId + " ended " + build.path("status").asString() + ": " + build
                    + "\nlog:\n" + get(token, "/api/v1/builds/" + buildId + "/logs").body());
        }
        return build;
    }

    /** Polls until the condition holds; fails, naming what never happened, when the timeout passes first. */
    protected static void eventually(String what, Duration timeout, java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail(what + " did not happen within " + timeout);
            }
            sleep(100);
        }
    }

    protected static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * How many refusals of a problem type the audit trail counts in its {@code http.refused-summary} events (outcome
     * {@code outcome}) whose details pass {@code which}: the sum of their counts, read until it reaches
     * {@code expected} or 10 s have passed (the summaries are written once a second).
     */
    protected long summarisedRefusals(String problem, String outcome, java.util.function.Predicate<JsonNode> which,
            long expected) {
        return summarisedRefusals(jdbc, json, problem, outcome, which, expected);
    }

    /** {@link #summarisedRefusals(String, String, java.util.function.Predicate, long)} for a test of its own. */
    public static long summarisedRefusals(JdbcTemplate jdbc, JsonMapper json, String problem, String outcome,
            java.util.function.Predicate<JsonNode> which, long expected) {
        long end = System.nanoTime() + 10_000_000_000L;
        while (true) {
            long n = jdbc.queryForList("select cast(details as varchar) from audit_event"
                    + " where action = 'http.refused-summary' and outcome = ? and details like ?", String.class,
                    outcome, "%\"" + problem + "\"%").stream().map(json::readTree)
                    .filter(d -> d.path("problem").asString().equals(problem)).filter(which)
                    .mapToLong(d -> d.path("count").asLong()).sum();
            if (n >= expected || System.nanoTime() > end) {
                return n;
            }
            sleep(100);
        }
    }

    /**
     * Makes a running build look lost, as the database sees a replica that stopped renewing: its lease lapsed a
     * second ago under {@code owner}; {@code alsoSet} (SQL assignments, or empty) sets more of the row.
     */
    protected void loseLease(String buildId, String owner, String alsoSet) {
        jdbc.update("update build set lease_owner = ?, lease_expires_at = now() - interval '1 second'"
                + (alsoSet.isEmpty() ? "" : ", " + alsoSet) + " where id = ?::uuid", owner, buildId);
    }

    protected long auditCount(String action, String target) {
        return jdbc.queryForObject("select count(*) from audit_event where action = ? and target = ?", Long.class,
                action, target);
    }

    private static Path copyPolicy() {
        try {
            Path dir = java.nio.file.Files.createDirectories(DATA.resolve("policy"));
            try (var files = java.nio.file.Files.list(Path.of("config", "policy"))) {
                for (Path f : files.toList()) {
                    java.nio.file.Files.copy(f, dir.resolve(f.getFileName()));
                }
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Runs a command (curl against a daemon socket, a docker build, kill…) and returns its output, standard error
     * included; fails the test, with the command and its output, when it exits other than 0. A helper that ignored
     * the exit code let a failed {@code docker build} or {@code push} pass as "nothing changed" (InventoryIT,
     * 2026-12-06): the step a test relies on must have happened.
     */
    protected static String run(String... command) {
        Ran ran = runAnyExit(command);
        if (ran.exit() != 0) {
            throw new AssertionError("`" + String.join(" ", command) + "` exited " + ran.exit() + ": " + ran.output());
        }
        return ran.output();
    }

    /**
     * For a test class with a gateway of its own: its Spring context starts an embedded PostgreSQL in its data folder,
     * so it needs a folder of its own, and its own audit chain goes to no sink of the suite's (AuditApiIT reads those
     * as the main gateway's): the data folder, an audit export file in it, no syslog.
     */
    protected static void ownGateway(DynamicPropertyRegistry registry, Path dataDir) {
        registry.add("bgw.it.data-dir", dataDir::toString);
        registry.add("bgw.it.audit-export-file", () -> dataDir.resolve("audit").resolve("export.jsonl").toString());
        registry.add("bgw.it.syslog-host", () -> "");
    }

    /**
     * The environment's Docker CLI on the suite's build host, with the environment's CLI configuration: the host
     * reaches the registry with tokens only, and that configuration carries one (for {@code base/*}, where a test may
     * push a base of its own).
     */
    protected static String environmentDocker(String... args) {
        List<String> cmd = new java.util.ArrayList<>(List.of("docker", "--config", require("BGW_DOCKER_CONFIG"), "-H",
                require("BGW_DOCKER_HOST")));
        cmd.addAll(List.of(args));
        return run(cmd.toArray(new String[0]));
    }

    /**
     * The registry's digest of a tag's manifest, from its Docker-Content-Digest header (the registry's own word), or
     * {@code none: HTTP <status>} when it has no such tag.
     */
    protected String registryDigest(String repository, String tag) {
        Response r = send(HttpRequest.newBuilder(URI.create("http://" + registryAddress() + "/v2/" + repository
                + "/manifests/" + tag)).header("Accept", "application/vnd.oci.image.manifest.v1+json,"
                + " application/vnd.docker.distribution.manifest.v2+json").method("HEAD",
                HttpRequest.BodyPublishers.noBody()));
        String digest = r.header("Docker-Content-Digest");
        return r.status() == 200 && digest != null ? digest : "none: HTTP " + r.status();
    }

    /** The content of {@code path} (no leading slash) in the pushed image, from the topmost layer holding it. */
    protected String fileIn(String repository, String digest, String path) {
        String registry = "http://" + registryAddress();
        Response m = send(HttpRequest.newBuilder(URI.create(registry + "/v2/" + repository + "/manifests/" + digest))
                .header("Accept", "application/vnd.oci.image.manifest.v1+json, "
                        + "application/vnd.docker.distribution.manifest.v2+json").GET());
        assertThat(m.status()).as(m.body()).isEqualTo(200);
        List<JsonNode> layers = new java.util.ArrayList<>();
        json.readTree(m.body()).path("layers").forEach(layers::add);
        java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder()
                .followRedirects(java.net.http.HttpClient.Redirect.NORMAL).build();
        for (int i = layers.size() - 1; i >= 0; i--) {
            try {
                java.net.http.HttpResponse<byte[]> blob = client.send(HttpRequest.newBuilder(URI.create(registry
                        + "/v2/" + repository + "/blobs/" + layers.get(i).path("digest").asString())).GET().build(),
                        java.net.http.HttpResponse.BodyHandlers.ofByteArray());
                assertThat(blob.statusCode()).isEqualTo(200);
                try (var tar = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(
                        new org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream(
                                new java.io.ByteArrayInputStream(blob.body())))) {
                    org.apache.commons.compress.archivers.tar.TarArchiveEntry e;
                    while ((e = tar.getNextEntry()) != null) {
                        String name = e.getName().startsWith("./") ? e.getName().substring(2) : e.getName();
                        if (name.equals(path) && e.isFile()) {
                            return new String(tar.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
                        }
                    }
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        return null;
    }

    /** The tags of {@code repository}, the registry's word (none when it holds no manifest by tag, or is unknown). */
    protected List<String> registryTags(String repository) {
        Response tags = send(HttpRequest.newBuilder(URI.create("http://" + registryAddress() + "/v2/" + repository
                + "/tags/list")).GET());
        if (tags.status() == 404) {
            return List.of();
        }
        assertThat(tags.status()).as(tags.body()).isEqualTo(200);
        List<String> out = new java.util.ArrayList<>();
        read(tags).path("tags").forEach(t -> out.add(t.asString()));
        return out;
    }

    /**
     * What the daemon at {@code socket} (a unix socket path) lists with the gateway's label {@code
     * io.buildgateway.build-id=<buildId>}, as JSON: {@code images}, or {@code containers} (stopped ones too).
     */
    protected static String labelled(String socket, String kind, String buildId) {
        String filters = java.net.URLEncoder.encode("{\"label\":[\"io.buildgateway.build-id=" + buildId + "\"]}",
                StandardCharsets.UTF_8);
        return run("curl", "-s", "--unix-socket", socket, "http://localhost/" + kind + "/json?"
                + (kind.equals("containers") ? "all=1&" : "") + "filters=" + filters).strip();
    }

    /**
     * Stores {@code from}'s image ({@code latest}, a single image) under {@code to:tag} with its config changed by
     * {@code edit} (given the config's inner {@code config} object): the layers mounted across, the new config
     * uploaded, the manifest stored, all through the registry's own API, no daemon. Returns the manifest's digest.
     */
    protected String pushDerivedImage(String from, String to, String tag,
            java.util.function.Consumer<tools.jackson.databind.node.ObjectNode> edit) {
        String registry = "http://" + registryAddress();
        String accept = "application/vnd.oci.image.manifest.v1+json, "
                + "application/vnd.docker.distribution.manifest.v2+json";
        Response m = send(HttpRequest.newBuilder(URI.create(registry + "/v2/" + from + "/manifests/latest"))
                .header("Accept", accept).GET());
        assertThat(m.status()).as(m.body()).isEqualTo(200);
        tools.jackson.databind.node.ObjectNode manifest = (tools.jackson.databind.node.ObjectNode) json.readTree(
                m.body());
        assertThat(manifest.has("layers")).as("a single image, not an index: %s", m.body()).isTrue();
        Response c = send(HttpRequest.newBuilder(URI.create(registry + "/v2/" + from + "/blobs/"
                + manifest.path("config").path("digest").asString())).GET());
        assertThat(c.status()).isEqualTo(200);
        tools.jackson.databind.node.ObjectNode config = (tools.jackson.databind.node.ObjectNode) json.readTree(
                c.body());
        edit.accept(config.has("config") && config.get("config").isObject()
                ? (tools.jackson.databind.node.ObjectNode) config.get("config") : config.putObject("config"));
        byte[] newConfig = json.writeValueAsBytes(config);
        String configDigest = uploadBlob(to, newConfig);
        for (JsonNode layer : manifest.path("layers")) {
            Response mounted = send(HttpRequest.newBuilder(URI.create(registry + "/v2/" + to + "/blobs/uploads/?mount="
                    + layer.path("digest").asString() + "&from=" + from)).POST(HttpRequest.BodyPublishers.noBody()));
            assertThat(mounted.status()).as(mounted.body()).isEqualTo(201);
        }
        ((tools.jackson.databind.node.ObjectNode) manifest.get("config")).put("digest", configDigest)
                .put("size", newConfig.length);
        byte[] body = json.writeValueAsString(manifest).getBytes(StandardCharsets.UTF_8);
        Response stored = send(HttpRequest.newBuilder(URI.create(registry + "/v2/" + to + "/manifests/" + tag))
                .header("Content-Type", m.header("Content-Type")).PUT(HttpRequest.BodyPublishers.ofByteArray(body)));
        assertThat(stored.status()).as(stored.body()).isEqualTo(201);
        return "sha256:" + sha256Hex(body);
    }

    /** Uploads {@code blob} into {@code repository} of the registry (a monolithic upload); returns its digest. */
    protected String uploadBlob(String repository, byte[] blob) {
        String registry = "http://" + registryAddress();
        String digest = "sha256:" + sha256Hex(blob);
        Response start = send(HttpRequest.newBuilder(URI.create(registry + "/v2/" + repository + "/blobs/uploads/"))
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(start.status()).as(start.body()).isEqualTo(202);
        String location = start.header("Location");
        URI upload = location.startsWith("http") ? URI.create(location) : URI.create(registry + location);
        Response put = send(HttpRequest.newBuilder(URI.create(upload + (upload.getRawQuery() == null ? "?" : "&")
                + "digest=" + digest)).header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(blob)));
        assertThat(put.status()).as(put.body()).isEqualTo(201);
        return digest;
    }

    /** Lower-case hex SHA-256, computed here rather than by the gateway's code that a test checks. */
    protected static String sha256Hex(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    protected static String sha256Hex(String text) {
        return sha256Hex(text.getBytes(StandardCharsets.UTF_8));
    }

    /** What a command printed (standard output and error) and its exit code. */
    protected record Ran(int exit, String output) {
    }

    /**
     * {@link #run} for a command whose failure is an outcome the test judges itself: curl {@code -w %{http_code}}
     * prints {@code 000} and exits 7 when nothing answers (the confinement tests expect exactly that), findmnt exits
     * 1 for a path that is not mounted, a cleanup's umount of what is already gone.
     */
    protected static Ran runAnyExit(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return new Ran(p.waitFor(), out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    // ---- the environment's build host, for the fault tests that kill its daemon ---------------------------------

    /** Kills the environment's user-namespaced build host's dockerd ({@code kill -9}), as a crash would. */
    protected void killBuildHostDaemon() throws IOException {
        long pid = Long.parseLong(Files.readString(Path.of(require("BGW_STATE"), "host1", "docker.pid")).strip());
        run("kill", "-9", Long.toString(pid));
        // SIGKILL is not the end: a daemon in the middle of a mount or a write ends when the kernel lets it, and a
        // dockerd started again meanwhile refuses to run beside its pid file's live process ("process with PID …
        // is still running": make test, 2026-12-04, left host1 down for every later test), a zombie included.
        Path stat = Path.of("/proc", Long.toString(pid), "stat");
        eventually("dockerd " + pid + " ending after kill -9", Duration.ofSeconds(60), () -> !Files.exists(stat));
    }

    /**
     * Starts again what of the environment is not running (the killed daemon, say) with {@code scripts/env.sh up},
     * as an operator or the host's supervisor would, on this environment's registry port. The script is that of the
     * checkout the environment belongs to (BGW_STATE is its {@code .state/test}), run there: from another worktree,
     * {@code scripts/env.sh up} brought up an environment of that worktree (and stopped at the registry port taken),
     * and the shared one kept its killed daemon for every later class (2026-12-07).
     */
    protected void startEnvironmentAgain() throws IOException, InterruptedException {
        Path root = Path.of(require("BGW_STATE")).toAbsolutePath().normalize().getParent().getParent();
        ProcessBuilder up = new ProcessBuilder(root.resolve("scripts").resolve("env.sh").toString(), "up", "test",
                "--plain-host").directory(root.toFile()).redirectErrorStream(true);
        up.environment().put("BGW_REGISTRY_PORT", registryAddress().substring(registryAddress().lastIndexOf(':') + 1));
        Process p = up.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
    }

    /** A build host's record in {@code GET /api/v1/hosts}. */
    protected JsonNode host(String name) {
        for (JsonNode h : read(get(ADMIN_SECRET, "/api/v1/hosts"))) {
            if (h.path("name").asString().equals(name)) {
                return h;
            }
        }
        throw new AssertionError("no host " + name);
    }
}
