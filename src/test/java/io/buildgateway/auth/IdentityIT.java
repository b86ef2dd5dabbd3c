package io.buildgateway.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.support.DockerCli;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Enterprise identity on the real environment, over real TLS: JWTs of an identity provider (a real HTTP JWKS
 * endpoint in this JVM, real RSA signatures) build through the gateway, client certificates made by the test
 * authenticate machine clients, and the token lifecycle (per-role lifetimes, rotation with grace, last use, the
 * expiring list). This class runs its own gateway (TLS on, OIDC and mTLS configured) with its own database.
 */
class IdentityIT extends IntegrationTest {

    static final Path OWN_DATA = Path.of("target", "it-data", "identity-" + ProcessHandle.current().pid() + "-"
            + UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();
    static final TestIdentityProvider IDP = TestIdentityProvider.start();
    static final TestCertificates.Identity CA = TestCertificates.ca("CN=Identity IT CA,O=Example");
    static final TestCertificates.Identity SERVER = TestCertificates.server(CA);
    static final String CI_SUBJECT = "CN=ci-agent-idit,OU=CI,O=Example";
    static final TestCertificates.Identity CI_AGENT = TestCertificates.client(CA, CI_SUBJECT);
    static final TestCertificates.Identity STRANGER = TestCertificates.client(CA, "CN=stranger,OU=CI,O=Example");
    static final TestCertificates.Identity ROGUE = TestCertificates.client(
            TestCertificates.ca("CN=Rogue CA,O=Elsewhere"), CI_SUBJECT);

    private final HttpClient https = client(null);

    /**
     * This gateway's own PostgreSQL: IntegrationTest's data folder belongs to the shared context of the other ITs,
     * which may be alive in the same JVM (its dynamic properties win over a subclass's, so the folder cannot be
     * redirected). The gateway runs on it as on an external database (spring.datasource.url).
     */
    static final EmbeddedPostgres POSTGRES = startPostgres();

    private static EmbeddedPostgres startPostgres() {
        try {
            Files.createDirectories(OWN_DATA);
            File log = OWN_DATA.resolve("postgres.log").toFile();
            return EmbeddedPostgres.builder().setDataDirectory(OWN_DATA.resolve("postgres"))
                    .setCleanDataDirectory(false).setServerConfig("max_connections", "100")
                    .setOutputRedirector(ProcessBuilder.Redirect.appendTo(log))
                    .setErrorRedirector(ProcessBuilder.Redirect.appendTo(log)).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @DynamicPropertySource
    static void identity(DynamicPropertyRegistry registry) {
        registry.add("spring.datasource.url", () -> POSTGRES.getJdbcUrl("postgres", "postgres"));
        registry.add("spring.datasource.username", () -> "postgres");
        // Its own database holds its own audit chain: its checkpoints, export file and syslog stay out of the suite's
        // (AuditApiIT once found this chain's checkpoint in the shared file and took it for the main chain's).
        ownGateway(registry, OWN_DATA);
        registry.add("gateway.intake.store-dir", () -> OWN_DATA.resolve("contexts").toString());
        registry.add("gateway.builds.logs-dir", () -> OWN_DATA.resolve("logs").toString());
        // TLS with client certificates wanted, not needed: people use bearer tokens, CI agents may use certificates.
        Path[] server = TestCertificates.write(SERVER, OWN_DATA.resolve("tls"), "server");
        Path[] ca = TestCertificates.write(CA, OWN_DATA.resolve("tls"), "client-ca");
        registry.add("spring.ssl.bundle.pem.gateway.keystore.certificate", () -> "file:" + server[0]);
        registry.add("spring.ssl.bundle.pem.gateway.keystore.private-key", () -> "file:" + server[1]);
        registry.add("spring.ssl.bundle.pem.gateway.truststore.certificate", () -> "file:" + ca[0]);
        registry.add("server.ssl.bundle", () -> "gateway");
        registry.add("server.ssl.client-auth", () -> "want");
        // The Docker Engine API port with the same TLS (DOCKER_TLS_VERIFY with the CI agent's certificate).
        registry.add("gateway.docker-api.ssl-bundle", () -> "gateway");
        registry.add("gateway.docker-api.client-auth", () -> "want");
        registry.add("gateway.auth.mtls.clients[0].subject", () -> CI_SUBJECT);
        registry.add("gateway.auth.mtls.clients[0].roles[0]", () -> "BUILDER");
        registry.add("gateway.auth.mtls.clients[0].teams[0]", () -> "idit");
        // The identity provider, Keycloak-shaped.
        registry.add("gateway.auth.oidc.issuer-uri", IDP::issuer);
        registry.add("gateway.auth.oidc.jwk-set-uri", IDP::jwksUri);
        registry.add("gateway.auth.oidc.audiences[0]", () -> TestIdentityProvider.AUDIENCE);
        registry.add("gateway.auth.oidc.roles-claim", () -> "realm_access.roles");
        registry.add("gateway.auth.oidc.role-map.gateway-builders[0]", () -> "BUILDER");
        registry.add("gateway.auth.oidc.role-map.gateway-admins[0]", () -> "ADMIN");
        registry.add("gateway.auth.oidc.role-map.gateway-auditors[0]", () -> "AUDITOR");
        registry.add("gateway.auth.oidc.team-prefix", () -> "team-");
        // Lifecycle: a stricter limit for builders and admins than the default.
        registry.add("gateway.auth.max-token-lifetime.default", () -> "365d");
        registry.add("gateway.auth.max-token-lifetime.BUILDER", () -> "30d");
        registry.add("gateway.auth.max-token-lifetime.ADMIN", () -> "7d");
        registry.add("gateway.auth.rotation-grace-period", () -> "2h");
    }

    @AfterAll
    static void stopIdentityProvider() {
        IDP.close();
    }

    @Override
    protected String base() {
        return "https://localhost:" + port;
    }

    @Override
    protected Response send(HttpRequest.Builder request) {
        return send(https, request);
    }

    private static HttpClient client(TestCertificates.Identity certificate) {
        return client(certificate, false);
    }

    private static HttpClient client(TestCertificates.Identity certificate, boolean always) {
        SSLContext tls = TestCertificates.clientContext(CA, certificate, always);
        return HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(5)).build();
    }

    private Response send(HttpClient client, HttpRequest.Builder request) {
        try {
            HttpResponse<String> r = client.send(request.timeout(Duration.ofMinutes(2)).build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            return new Response(r.statusCode(), r.headers().map(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private Map<String, Object> auditOf(Response r) {
        return jdbc.queryForMap("select * from audit_event where request_id = ?", r.header("X-Request-Id"));
    }

    private byte[] busybox(String line) {
        return Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\nRUN echo " + line
                + " > /hello.txt\nUSER 65534\n");
    }

    // ---- OIDC -----------------------------------------------------------------------------------------------------

    @Test
    void aJwtWithTheBuilderGroupBuildsForItsTeam() {
        String jwt = IDP.token("alice", List.of("gateway-builders", "team-idit"));

        Response accepted = submit(jwt, "image=idit/hello&tag=oidc", busybox("oidc"));

        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        JsonNode build = read(accepted);
        assertThat(build.path("requestedBy").asString()).isEqualTo("oidc:alice");
        JsonNode done = awaitFinal(jwt, build.path("id").asString(), Duration.ofMinutes(3));
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
        assertThat(done.path("imageRef").asString()).startsWith(registryAddress() + "/idit/hello@sha256:");
        assertThat(auditOf(accepted)).containsEntry("actor", "oidc:alice").containsEntry("action", "build.queued");
        // The team rule holds for identity-provider callers as for tokens.
        problem(submit(jwt, "image=payments/hello&tag=oidc", busybox("other")), 403);
    }

    @Test
    void aJwtOfAnotherIssuerOrExpiredIs401AndAuditedAsDenied() {
        String wrongIssuer = IDP.token(c -> c.issuer("https://sso.elsewhere.example/realms/corp")
                .claim("preferred_username", "mallory").claim("groups", List.of("gateway-admins")));
        Instant past = Instant.now().minus(Duration.ofHours(1));
        String expired = IDP.token(c -> c.issueTime(Date.from(past)).expirationTime(Date.from(past.plusSeconds(300)))
                .claim("preferred_username", "alice").claim("groups", List.of("gateway-builders", "team-idit")));

        Response r1 = get(wrongIssuer, "/api/v1/builds");
        Response r2 = submit(expired, "image=idit/hello&tag=late", busybox("late"));

        assertThat(problem(r1, 401).path("detail").asString()).contains("not issued by the configured identity provider");
        assertThat(problem(r2, 401).path("detail").asString()).contains("expired");
        for (Response r : List.of(r1, r2)) {
            Map<String, Object> row = auditOf(r);
            assertThat(row).containsEntry("outcome", "DENIED").containsEntry("actor", "anonymous");
            assertThat(row.get("details").toString()).doesNotContain(wrongIssuer).doesNotContain(expired);
        }
        assertThat(jdbc.queryForObject("select count(*) from build where tag = 'late'", Long.class)).isZero();
    }

    @Test
    void forgedAndForeignAudienceJwtsAre401() {
        problem(get(IDP.forged("alice", List.of("gateway-admins")), "/api/v1/tokens"), 401);
        String payroll = IDP.token(c -> c.audience("payroll").claim("groups", List.of("gateway-admins")));
        assertThat(problem(get(payroll, "/api/v1/tokens"), 401).path("detail").asString())
                .contains("not meant for the gateway");
    }

    @Test
    void aJwtWithoutAMappedRoleIs403WithTheCallerNamedInTheTrail() {
        Response r = get(IDP.token("bob", List.of("team-idit", "staff")), "/api/v1/builds");

        JsonNode p = problem(r, 403);
        assertThat(p.path("detail").asString()).contains("oidc:bob").contains("role-map");
        assertThat(auditOf(r)).containsEntry("actor", "oidc:bob").containsEntry("outcome", "DENIED");
    }

    @Test
    void anIdentityProviderOutageBeforeItsKeysWereReadIs503AndAuditedThenRecovers(
            @Autowired GatewayAuthentication authentication) throws ReflectiveOperationException {
        // As after a start while the provider was down: the gateway has no keys yet (the decoder is built on first
        // use), so a JWT cannot be checked at all. Not the caller's fault: 503 with Retry-After, audited.
        forgetTheIdentityProvidersKeys(authentication);
        long before = summarisedRefusals("identity-provider-unavailable", "FAILED", d -> true, 0);
        String jwt = IDP.token("alice", List.of("gateway-builders", "team-idit"));
        IDP.down(true);
        Response refused;
        try {
            refused = get(jwt, "/api/v1/builds");
        } finally {
            IDP.down(false);
        }

        JsonNode p = problem(refused, 503);
        assertThat(p.path("type").asString()).endsWith("identity-provider-unavailable");
        assertThat(p.path("detail").asString()).contains("cannot be fetched").doesNotContain(jwt);
        assertThat(refused.header("Retry-After")).isEqualTo("30");
        // In the per-second summary of deliberate 5xx, outcome FAILED, never the token.
        assertThat(summarisedRefusals("identity-provider-unavailable", "FAILED", d -> true,
                before + 1)).isEqualTo(before + 1);
        assertThat(jdbc.queryForObject("select count(*) from audit_event where cast(details as varchar) like ?",
                Long.class, "%" + jwt.substring(jwt.lastIndexOf('.') + 1) + "%")).isZero();
        // The provider is back: the same token works without a restart.
        Response later = get(jwt, "/api/v1/builds");
        assertThat(later.status()).as(later.body()).isEqualTo(200);
    }

    /** Drops the gateway's decoder (and with it the keys it read), as a gateway that has not read them yet. */
    private static void forgetTheIdentityProvidersKeys(GatewayAuthentication authentication)
            throws ReflectiveOperationException {
        java.lang.reflect.Field oidc = GatewayAuthentication.class.getDeclaredField("oidc");
        oidc.setAccessible(true);
        java.lang.reflect.Field decoder = OidcAuthenticator.class.getDeclaredField("decoder");
        decoder.setAccessible(true);
        decoder.set(oidc.get(authentication), null);
    }

    @Test
    void rolesComeFromNestedClaimsToo() {
        String auditor = IDP.token(c -> c.claim("preferred_username", "ivy")
                .claim("realm_access", Map.of("roles", List.of("gateway-auditors"))));

        assertThat(get(auditor, "/api/v1/builds").status()).isEqualTo(200);
        assertThat(get(auditor, "/api/v1/tokens").status()).isEqualTo(200); // reads all but token secrets
        problem(postJson(auditor, "/api/v1/teams", "{\"name\":\"ivys\"}"), 403);
        assertThat(get(IDP.token("root", List.of("gateway-admins")), "/api/v1/tokens").status()).isEqualTo(200);
    }

    // ---- mutual TLS -----------------------------------------------------------------------------------------------

    @Test
    void aMappedClientCertificateAuthenticatesAMachineClient() {
        HttpClient agent = client(CI_AGENT);

        Response list = send(agent, request(null, "/api/v1/builds?team=idit").GET());
        Response foreign = send(agent, request(null, "/api/v1/builds?image=payments/x&tag=1")
                .header("Content-Type", "application/x-tar").POST(HttpRequest.BodyPublishers.ofByteArray(busybox("x"))));

        assertThat(list.status()).as(list.body()).isEqualTo(200);
        problem(foreign, 403);
        assertThat(auditOf(foreign)).containsEntry("actor", "mtls:ci-agent-idit");
        problem(send(agent, request(null, "/api/v1/tokens").GET()), 403);
        // A bearer credential, when sent, takes precedence over the certificate.
        assertThat(send(agent, request(ADMIN_SECRET, "/api/v1/tokens").GET()).status()).isEqualTo(200);
    }

    @Test
    void aMachineClientBuildsWithItsCertificate() {
        Response accepted = send(client(CI_AGENT), request(null, "/api/v1/builds?image=idit/agent&tag=mtls")
                .header("Content-Type", "application/x-tar").POST(HttpRequest.BodyPublishers.ofByteArray(busybox("ci"))));

        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        JsonNode build = read(accepted);
        assertThat(build.path("requestedBy").asString()).isEqualTo("mtls:ci-agent-idit");
        JsonNode done = awaitFinal(ADMIN_SECRET, build.path("id").asString(), Duration.ofMinutes(3));
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
    }

    /** DOCKER_CERT_PATH for a client certificate: ca.pem (the gateway's issuer), cert.pem, key.pem. */
    private static Path dockerCertPath(TestCertificates.Identity client, String name) throws IOException {
        Path dir = OWN_DATA.resolve("docker-certs").resolve(name);
        Path[] files = TestCertificates.write(client, dir, "client");
        Files.move(files[0], dir.resolve("cert.pem"));
        Files.move(files[1], dir.resolve("key.pem"));
        Files.writeString(dir.resolve("ca.pem"), TestCertificates.pem(CA.certificate()));
        Files.createDirectories(dir.resolve("config"));
        Files.writeString(dir.resolve("config").resolve("config.json"), "{}");
        return dir;
    }

    @Autowired
    WebServerApplicationContext webServer;

    private DockerCli.Run dockerBuild(TestCertificates.Identity client, String name, String image) throws IOException {
        Path certs = dockerCertPath(client, name);
        Path context = OWN_DATA.resolve("docker-ctx-" + name);
        Files.createDirectories(context);
        Files.writeString(context.resolve("Dockerfile"), "FROM " + registryAddress()
                + "/base/busybox\nUSER 65534\n");
        return DockerCli.run(certs.resolve("config"), "tcp://127.0.0.1:" + DockerCli.enginePort(webServer),
                Map.of("DOCKER_TLS_VERIFY", "1", "DOCKER_CERT_PATH", certs.toString()), "build", "-t", image,
                context.toString());
    }

    @Test
    void theDockerCliBuildsWithAMappedClientCertificateOverTls() throws IOException {
        DockerCli.Run run = dockerBuild(CI_AGENT, "agent", "idit/docker-tls:1");

        assertThat(run.exit()).as(run.output()).isZero();
        assertThat(run.output()).contains("Successfully built and pushed " + registryAddress() + "/idit/docker-tls:1");
        assertThat(jdbc.queryForObject("select requested_by from build where image = 'idit/docker-tls'",
                String.class)).isEqualTo("mtls:ci-agent-idit");
    }

    @Test
    void theDockerCliWithAnUnmappedOrForeignCertificateBuildsNothing() throws IOException {
        DockerCli.Run stranger = dockerBuild(STRANGER, "stranger", "idit/docker-stranger:1");
        assertThat(stranger.exit()).as(stranger.output()).isNotZero();
        assertThat(stranger.output()).contains("CN=stranger").contains("not mapped");

        DockerCli.Run rogue = dockerBuild(ROGUE, "rogue", "idit/docker-rogue:1");
        assertThat(rogue.exit()).as(rogue.output()).isNotZero();
        assertThat(jdbc.queryForObject("select count(*) from build where image in ('idit/docker-stranger',"
                + " 'idit/docker-rogue')", Long.class)).isZero();
    }

    @Test
    void aClientCertificateNotInTheMapIs401() {
        Response r = send(client(STRANGER), request(null, "/api/v1/builds").GET());

        JsonNode p = problem(r, 401);
        assertThat(p.path("detail").asString()).contains("CN=stranger").contains("not mapped");
        assertThat(auditOf(r)).containsEntry("outcome", "DENIED");
        // Without a certificate and without a token: the usual 401.
        problem(get(null, "/api/v1/builds"), 401);
        assertThat(get(null, "/actuator/health/liveness").status()).isEqualTo(200);
    }

    @Test
    void aCertificateFromAnotherCaWithAMappedSubjectAuthenticatesNobody() {
        // A well-behaved client sends no certificate when the server names other CAs: it is anonymous.
        problem(send(client(ROGUE), request(null, "/api/v1/builds").GET()), 401);
        // One that insists is refused in the handshake: the subject alone is never enough.
        HttpClient insisting = client(ROGUE, true);
        assertThatThrownBy(() -> send(insisting, request(null, "/api/v1/builds").GET()))
                .isInstanceOf(UncheckedIOException.class);
        // The same insisting client with the real certificate works: the refusal is the CA, not the insisting.
        assertThat(send(client(CI_AGENT, true), request(null, "/api/v1/builds").GET()).status()).isEqualTo(200);
    }

    // ---- token lifecycle ------------------------------------------------------------------------------------------

    private JsonNode issue(String body) {
        Response r = postJson(ADMIN_SECRET, "/api/v1/tokens", body);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return read(r);
    }

    @Test
    void theLongestLifetimeDependsOnTheRoles() {
        Instant now = Instant.now();
        JsonNode p = problem(postJson(ADMIN_SECRET, "/api/v1/tokens", "{\"name\":\"too-long\",\"roles\":[\"BUILDER\"],"
                + "\"teams\":[\"idit\"],\"expiresAt\":\"" + now.plus(Duration.ofDays(40)) + "\"}"), 400);
        assertThat(p.path("detail").asString()).contains("30 days");

        Instant builderExpiry = Instant.parse(issue("{\"name\":\"builder-max\",\"roles\":[\"BUILDER\"]}")
                .path("expiresAt").asString());
        Instant auditorExpiry = Instant.parse(issue("{\"name\":\"auditor-max\",\"roles\":[\"AUDITOR\"]}")
                .path("expiresAt").asString());
        Instant mixedExpiry = Instant.parse(issue("{\"name\":\"mixed\",\"roles\":[\"AUDITOR\",\"ADMIN\"]}")
                .path("expiresAt").asString());

        assertThat(builderExpiry).isBetween(now.plus(Duration.ofDays(30)).minusSeconds(60),
                now.plus(Duration.ofDays(30)).plusSeconds(60));
        assertThat(auditorExpiry).isAfter(now.plus(Duration.ofDays(364)));
        assertThat(mixedExpiry).isBefore(now.plus(Duration.ofDays(7)).plusSeconds(60));
    }

    @Test
    void rotationReturnsANewSecretAndRetiresTheOldAfterTheGracePeriod() {
        JsonNode token = issue("{\"name\":\"ci-rotating\",\"roles\":[\"AUDITOR\"]}");
        String id = token.path("id").asString();
        String s0 = token.path("token").asString();

        Response first = postJson(ADMIN_SECRET, "/api/v1/tokens/" + id + "/rotate", "{\"gracePeriod\":\"PT1H\"}");

        assertThat(first.status()).as(first.body()).isEqualTo(200);
        JsonNode rotated = read(first);
        String s1 = rotated.path("token").asString();
        assertThat(rotated.path("id").asString()).isEqualTo(id);
        assertThat(s1).startsWith("bgw_").isNotEqualTo(s0);
        assertThat(Instant.parse(rotated.path("previousSecretRetiresAt").asString()))
                .isBetween(Instant.now().plus(Duration.ofMinutes(59)), Instant.now().plus(Duration.ofMinutes(61)));
        // Both secrets work during the grace period, as the same token; the admin sees the old one still in use.
        assertThat(findToken(id).path("previousSecretLastUsedAt").isNull()).isTrue();
        assertThat(get(s0, "/api/v1/builds").status()).isEqualTo(200);
        assertThat(get(s1, "/api/v1/builds").status()).isEqualTo(200);
        assertThat(findToken(id).path("previousSecretLastUsedAt").isNull()).isFalse();

        // The token rotates itself, with no grace: the secret it used is retired at once, the oldest is gone.
        Response second = postJson(s1, "/api/v1/tokens/" + id + "/rotate", "{\"gracePeriod\":\"PT0S\"}");

        assertThat(second.status()).as(second.body()).isEqualTo(200);
        String s2 = read(second).path("token").asString();
        assertThat(get(s2, "/api/v1/builds").status()).isEqualTo(200);
        assertThat(problem(get(s1, "/api/v1/builds"), 401).path("detail").asString()).contains("retired");
        problem(get(s0, "/api/v1/builds"), 401);
        assertThat(auditCount("token.rotated", "token/" + id)).isEqualTo(2);
        String trail = String.join("\n", jdbc.queryForList(
                "select details from audit_event where target = ?", String.class, "token/" + id));
        assertThat(trail).doesNotContain(s0).doesNotContain(s1).doesNotContain(s2).contains("\"self\"");
        JsonNode listed = findToken(id);
        assertThat(listed.path("rotatedAt").isNull()).isFalse();
        assertThat(listed.toString()).doesNotContain(s2);
    }

    @Test
    void aTokenRotatingItselfNeverGetsALongerLife() {
        JsonNode token = issue("{\"name\":\"self-renewing\",\"roles\":[\"BUILDER\"],\"teams\":[\"idit\"],"
                + "\"expiresAt\":\"" + Instant.now().plus(Duration.ofDays(2)) + "\"}");
        String id = token.path("id").asString();
        Instant original = Instant.parse(token.path("expiresAt").asString());

        // Again and again, with and without asking: the expiry stays where it was.
        String secret = token.path("token").asString();
        for (int i = 0; i < 3; i++) {
            Response r = postJson(secret, "/api/v1/tokens/" + id + "/rotate", "{\"gracePeriod\":\"PT0S\"}");
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(Instant.parse(read(r).path("expiresAt").asString())).isEqualTo(original);
            secret = read(r).path("token").asString();
        }
        JsonNode longer = problem(postJson(secret, "/api/v1/tokens/" + id + "/rotate",
                "{\"expiresAt\":\"" + original.plus(Duration.ofDays(1)) + "\"}"), 400);
        assertThat(longer.path("detail").asString()).contains("keeps its expiry");
        assertThat(Instant.parse(findToken(id).path("expiresAt").asString())).isEqualTo(original);
        // Shorter is allowed.
        Instant sooner = original.minus(Duration.ofDays(1));
        Response shorter = postJson(secret, "/api/v1/tokens/" + id + "/rotate", "{\"expiresAt\":\"" + sooner + "\"}");
        assertThat(shorter.status()).as(shorter.body()).isEqualTo(200);
        assertThat(Instant.parse(read(shorter).path("expiresAt").asString())).isEqualTo(sooner);

        // An ADMIN rotating it may set a new expiry within the per-role maximum (BUILDER: 30 days here), and only
        // when asked: a rotation that names no expiry keeps it.
        Response kept = postJson(ADMIN_SECRET, "/api/v1/tokens/" + id + "/rotate", "{}");
        assertThat(Instant.parse(read(kept).path("expiresAt").asString())).isEqualTo(sooner);
        Instant later = Instant.now().plus(Duration.ofDays(20)).truncatedTo(ChronoUnit.SECONDS);
        Response extended = postJson(ADMIN_SECRET, "/api/v1/tokens/" + id + "/rotate",
                "{\"expiresAt\":\"" + later + "\"}");
        assertThat(extended.status()).as(extended.body()).isEqualTo(200);
        assertThat(Instant.parse(read(extended).path("expiresAt").asString())).isEqualTo(later);
        problem(postJson(ADMIN_SECRET, "/api/v1/tokens/" + id + "/rotate",
                "{\"expiresAt\":\"" + Instant.now().plus(Duration.ofDays(31)) + "\"}"), 400);
        assertThat(auditCount("token.rotated", "token/" + id)).isEqualTo(6);
    }

    @Test
    void rotationWithoutABodyUsesTheConfiguredGracePeriod() {
        String id = issue("{\"name\":\"default-grace\",\"roles\":[\"DEPLOYER\"]}").path("id").asString();

        Response r = send(request(ADMIN_SECRET, "/api/v1/tokens/" + id + "/rotate")
                .POST(HttpRequest.BodyPublishers.noBody()));

        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(Instant.parse(read(r).path("previousSecretRetiresAt").asString()))
                .isBetween(Instant.now().plus(Duration.ofMinutes(119)), Instant.now().plus(Duration.ofMinutes(121)));
    }

    @Test
    void onlyAnAdminOrTheTokenItselfRotatesAndOnlyALiveToken() {
        JsonNode a = issue("{\"name\":\"rot-a\",\"roles\":[\"BUILDER\"],\"teams\":[\"idit\"]}");
        JsonNode b = issue("{\"name\":\"rot-b\",\"roles\":[\"BUILDER\"],\"teams\":[\"idit\"]}");
        String aId = a.path("id").asString();
        String bId = b.path("id").asString();

        problem(postJson(a.path("token").asString(), "/api/v1/tokens/" + bId + "/rotate", "{}"), 403);
        problem(postJson(IDP.token("alice", List.of("gateway-builders")), "/api/v1/tokens/" + bId + "/rotate", "{}"),
                403);
        problem(postJson(ADMIN_SECRET, "/api/v1/tokens/" + aId + "/rotate", "{\"gracePeriod\":\"P30D\"}"), 400);
        problem(postJson(ADMIN_SECRET, "/api/v1/tokens/" + aId + "/rotate",
                "{\"expiresAt\":\"" + Instant.now().plus(Duration.ofDays(60)) + "\"}"), 400);
        problem(postJson(ADMIN_SECRET, "/api/v1/tokens/" + UUID.randomUUID() + "/rotate", "{}"), 404);
        assertThat(send(request(ADMIN_SECRET, "/api/v1/tokens/" + bId).DELETE()).status()).isEqualTo(204);
        problem(postJson(ADMIN_SECRET, "/api/v1/tokens/" + bId + "/rotate", "{}"), 409);
        // A token that authenticates with its retiring secret may not rotate itself again.
        String aNew = read(postJson(ADMIN_SECRET, "/api/v1/tokens/" + aId + "/rotate", "{}")).path("token").asString();
        problem(postJson(a.path("token").asString(), "/api/v1/tokens/" + aId + "/rotate", "{}"), 403);
        assertThat(postJson(aNew, "/api/v1/tokens/" + aId + "/rotate", "{}").status()).isEqualTo(200);
        assertThat(auditCount("token.rotated", "token/" + aId)).isEqualTo(2);
    }

    @Test
    void lastUseIsRecordedAtMostOncePerResolution() {
        JsonNode token = issue("{\"name\":\"last-used\",\"roles\":[\"AUDITOR\"]}");
        String id = token.path("id").asString();
        String secret = token.path("token").asString();
        assertThat(findToken(id).path("lastUsedAt").isNull()).isTrue();

        get(secret, "/api/v1/builds");
        Instant first = jdbc.queryForObject("select last_used_at from api_token where id = ?::uuid",
                Timestamp.class, id).toInstant();
        for (int i = 0; i < 5; i++) {
            get(secret, "/api/v1/builds");
        }
        Instant after = jdbc.queryForObject("select last_used_at from api_token where id = ?::uuid",
                Timestamp.class, id).toInstant();

        assertThat(after).isEqualTo(first);
        assertThat(Instant.parse(findToken(id).path("lastUsedAt").asString())).isEqualTo(first);
    }

    @Test
    void adminsListTheTokensAboutToExpire() {
        Instant now = Instant.now();
        String soon = issue("{\"name\":\"expires-soon\",\"roles\":[\"AUDITOR\"],\"expiresAt\":\""
                + now.plus(Duration.ofDays(3)) + "\"}").path("id").asString();
        String later = issue("{\"name\":\"expires-later\",\"roles\":[\"AUDITOR\"],\"expiresAt\":\""
                + now.plus(Duration.ofDays(20)) + "\"}").path("id").asString();
        String revoked = issue("{\"name\":\"expires-revoked\",\"roles\":[\"AUDITOR\"],\"expiresAt\":\""
                + now.plus(Duration.ofDays(2)) + "\"}").path("id").asString();
        send(request(ADMIN_SECRET, "/api/v1/tokens/" + revoked).DELETE());

        Response week = get(ADMIN_SECRET, "/api/v1/tokens/expiring?within=P7D");
        Response fortnight = get(ADMIN_SECRET, "/api/v1/tokens/expiring");

        assertThat(week.status()).isEqualTo(200);
        assertThat(ids(week)).contains(soon).doesNotContain(later, revoked);
        assertThat(ids(fortnight)).contains(soon).doesNotContain(later, revoked);
        assertThat(ids(get(ADMIN_SECRET, "/api/v1/tokens/expiring?within=P30D"))).contains(soon, later);
        assertThat(week.body()).doesNotContain("\"token\"");
        problem(get(ADMIN_SECRET, "/api/v1/tokens/expiring?within=two-weeks"), 400);
        // An AUDITOR reads all but token secrets (API.md); a builder reads no tokens.
        assertThat(ids(get(token(Set.of("AUDITOR"), Set.of()), "/api/v1/tokens/expiring"))).contains(soon);
        problem(get(token(Set.of("BUILDER"), Set.of("idit")), "/api/v1/tokens/expiring"), 403);
    }

    private List<String> ids(Response r) {
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        List<String> ids = new ArrayList<>();
        read(r).forEach(t -> ids.add(t.path("id").asString()));
        return ids;
    }

    private JsonNode findToken(String id) {
        for (JsonNode t : read(get(ADMIN_SECRET, "/api/v1/tokens?limit=500")).path("items")) {
            if (t.path("id").asString().equals(id)) {
                return t;
            }
        }
        throw new AssertionError("token " + id + " is not listed");
    }
}
