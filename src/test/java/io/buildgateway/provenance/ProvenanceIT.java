package io.buildgateway.provenance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.signing.GatewayKey;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Signed provenance end to end on the real environment: a multi-stage build from two approved bases through the
 * gateway, its provenance from the API verified with the gateway's public key (and refused with one byte changed),
 * every required field checked against the build and the registry, and the same provenance found as the image's
 * cosign attestation in the registry and verified there, by this test and by scripts/verify-provenance.sh.
 */
class ProvenanceIT extends IntegrationTest {

    private static final String RUN = Long.toString(System.nanoTime() % 1_000_000_000L, 36);

    private static final String DOCKERFILE = """
            FROM %1$s/base/debian:12 AS build
            ARG VERSION
            RUN echo "version $VERSION" > /built.txt
            FROM %1$s/base/busybox:recipe-2 AS runtime
            COPY --from=build /built.txt /srv/built.txt
            USER nobody
            HEALTHCHECK NONE
            """;

    @Test
    void everyPushedImageHasProvenanceSignedByTheGatewayInTheApiAndInTheRegistry() throws Exception {
        String token = builder("prov");
        String image = "prov/app-" + RUN;
        byte[] context = Tars.tar().file("build/Dockerfile", DOCKERFILE.formatted(registryAddress()))
                .file("README", "context\n").bytes();
        Response accepted = submit(token, "image=" + image + "&tag=v1&dockerfile=build/Dockerfile&target=runtime"
                + "&buildArg=VERSION=1.2.3&label=owner=prov&noCache=true", context);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        JsonNode build = awaitFinal(token, read(accepted).path("id").asString(), Duration.ofMinutes(4));
        assertThat(build.path("status").asString()).as(build.toString()).isEqualTo("SUCCEEDED");
        String buildId = build.path("id").asString();
        String digest = build.path("imageDigest").asString();
        String imageRef = build.path("imageRef").asString();

        JsonNode key = read(get(token, "/api/v1/signing-key"));
        PublicKey publicKey = GatewayKey.publicKeyFromPem(key.path("publicKey").asString());

        // --- the API serves the DSSE envelope; it verifies with the gateway's public key -----------------------------
        Response served = get(token, "/api/v1/images/" + digest + "/provenance");
        assertThat(served.status()).as(served.body()).isEqualTo(200);
        assertThat(served.header("Content-Type")).startsWith("application/json");
        Dsse.Envelope envelope = Dsse.Envelope.parse(served.body().getBytes(StandardCharsets.UTF_8));
        assertThat(envelope.payloadType()).isEqualTo("application/vnd.in-toto+json");
        assertThat(envelope.signatures()).singleElement().extracting(Dsse.Signature::keyid)
                .isEqualTo(key.path("keyId").asString());
        JsonNode statement = json.readTree(Dsse.verify(publicKey, envelope, Dsse.IN_TOTO));

        // --- and fails when one byte changes, in the payload or in the signature ---------------------------------------
        byte[] payload = envelope.payloadBytes();
        payload[payload.length / 2] ^= 0x01;
        Dsse.Envelope changedPayload = new Dsse.Envelope(envelope.payloadType(),
                Base64.getEncoder().encodeToString(payload), envelope.signatures());
        assertThatThrownBy(() -> Dsse.verify(publicKey, changedPayload, Dsse.IN_TOTO))
                .isInstanceOf(Dsse.VerificationException.class);
        byte[] sig = Base64.getDecoder().decode(envelope.signatures().get(0).sig());
        sig[sig.length - 1] ^= 0x01;
        Dsse.Envelope changedSignature = new Dsse.Envelope(envelope.payloadType(), envelope.payload(),
                List.of(new Dsse.Signature(envelope.signatures().get(0).keyid(), Base64.getEncoder().encodeToString(sig))));
        assertThatThrownBy(() -> Dsse.verify(publicKey, changedSignature, Dsse.IN_TOTO))
                .isInstanceOf(Dsse.VerificationException.class);

        // --- every required field -----------------------------------------------------------------------------------
        assertThat(statement.path("_type").asString()).isEqualTo("https://in-toto.io/Statement/v1");
        assertThat(statement.path("predicateType").asString()).isEqualTo("https://slsa.dev/provenance/v1");
        assertThat(statement.path("subject")).hasSize(1);
        assertThat(statement.path("subject").get(0).path("name").asString()).isEqualTo(registryAddress() + "/" + image);
        assertThat("sha256:" + statement.path("subject").get(0).path("digest").path("sha256").asString())
                .isEqualTo(digest);
        JsonNode definition = statement.path("predicate").path("buildDefinition");
        assertThat(definition.path("buildType").asString()).isEqualTo(ProvenanceStatement.BUILD_TYPE);
        JsonNode external = definition.path("externalParameters");
        assertThat(external.path("image").asString()).isEqualTo(image);
        assertThat(external.path("tag").asString()).isEqualTo("v1");
        assertThat(external.path("dockerfile").asString()).isEqualTo("build/Dockerfile");
        assertThat(external.path("target").asString()).isEqualTo("runtime");
        assertThat(external.path("buildArgs").path("VERSION").asString()).isEqualTo("1.2.3");
        assertThat(external.path("labels").path("owner").asString()).isEqualTo("prov");
        assertThat(external.path("labels").has("io.buildgateway.build-id")).isFalse();
        assertThat(external.path("context").path("digest").asString()).isEqualTo(build.path("contextDigest").asString());
        assertThat(external.path("context").path("location").asString())
                .isEqualTo("urn:buildgateway:context:" + build.path("contextDigest").asString());
        JsonNode internal = definition.path("internalParameters");
        assertThat(internal.path("policyDigest").asString()).isEqualTo(build.path("policyDigest").asString());
        assertThat(internal.path("host").asString()).isEqualTo("userns-1").isEqualTo(build.path("host").asString());
        assertThat(internal.path("usernsRemap").asBoolean()).isTrue();
        assertThat(internal.path("networkMode").asString()).isEqualTo("none");

        JsonNode deps = definition.path("resolvedDependencies");
        assertThat(deps.get(0).path("name").asString()).isEqualTo("context");
        assertThat("sha256:" + deps.get(0).path("digest").path("sha256").asString())
                .isEqualTo(build.path("contextDigest").asString());
        assertThat(deps.get(1).path("name").asString()).isEqualTo("built-context");
        assertThat("sha256:" + deps.get(1).path("digest").path("sha256").asString())
                .isEqualTo(build.path("builtContextDigest").asString())
                .isNotEqualTo(build.path("contextDigest").asString());
        String debian = registryDigest("base/debian", "12");
        String busybox = registryDigest("base/busybox", "recipe-2");
        List<String> pulled = new ArrayList<>();
        for (JsonNode d : deps) {
            pulled.add(d.path("name").asString() + "@sha256:" + d.path("digest").path("sha256").asString());
        }
        assertThat(pulled).contains(registryAddress() + "/base/debian:12@" + debian,
                registryAddress() + "/base/busybox:recipe-2@" + busybox);
        assertThat(deps).hasSize(4);

        JsonNode runDetails = statement.path("predicate").path("runDetails");
        assertThat(runDetails.path("builder").path("id").asString()).isEqualTo("urn:buildgateway:builder:local");
        assertThat(runDetails.path("metadata").path("invocationId").asString()).isEqualTo(buildId);
        Instant started = Instant.parse(runDetails.path("metadata").path("startedOn").asString());
        Instant finished = Instant.parse(runDetails.path("metadata").path("finishedOn").asString());
        assertThat(started).isBefore(finished);
        assertThat(Duration.between(Instant.parse(build.path("startedAt").asString()), started).abs())
                .isLessThan(Duration.ofMillis(1));
        assertThat(Duration.between(Instant.parse(build.path("finishedAt").asString()), finished).abs())
                .isLessThan(Duration.ofMillis(1));
        assertThat(auditCount("provenance.signed", "image/" + digest)).isEqualTo(1);

        // --- who may read it: as the image ------------------------------------------------------------------------------
        problem(get(builder("other"), "/api/v1/images/" + digest + "/provenance"), 403);
        assertThat(get(token(Set.of("DEPLOYER"), Set.of()), "/api/v1/images/" + digest + "/provenance").status())
                .isEqualTo(200);
        problem(get(token, "/api/v1/images/sha256:" + "0".repeat(64) + "/provenance"), 404);
        problem(get(token, "/api/v1/images/latest/provenance"), 400);
        problem(get(null, "/api/v1/images/" + digest + "/provenance"), 401);
        Response byBuild = get(token, "/api/v1/images/" + digest + "/provenance?buildId=" + buildId);
        assertThat(byBuild.body()).isEqualTo(served.body());
        assertThat(byBuild.header("X-Build-Id")).isEqualTo(buildId);
        problem(get(token, "/api/v1/images/" + digest + "/provenance?buildId=" + java.util.UUID.randomUUID()), 404);
        problem(get(token, "/api/v1/images/" + digest + "/provenance?buildId=nope"), 400);

        // --- the registry holds it as the image's cosign attestation ---------------------------------------------------
        eventually("the provenance stored in the registry", Duration.ofSeconds(30),
                () -> auditCount("provenance.attached", "image/" + digest) == 1);
        String hex = digest.substring("sha256:".length());
        HttpResponse<byte[]> manifest = registry("/v2/" + image + "/manifests/sha256-" + hex + ".att",
                "application/vnd.oci.image.manifest.v1+json");
        assertThat(manifest.statusCode()).isEqualTo(200);
        JsonNode att = json.readTree(manifest.body());
        assertThat(att.path("mediaType").asString()).isEqualTo("application/vnd.oci.image.manifest.v1+json");
        JsonNode layer = att.path("layers").get(0);
        assertThat(layer.path("mediaType").asString()).isEqualTo("application/vnd.dsse.envelope.v1+json");
        assertThat(layer.path("annotations").path("predicateType").asString())
                .isEqualTo("https://slsa.dev/provenance/v1");
        byte[] blob = registry("/v2/" + image + "/blobs/" + layer.path("digest").asString(), "*/*").body();
        assertThat(CosignAttestation.sha256(blob)).isEqualTo(layer.path("digest").asString());
        assertThat(new String(blob, StandardCharsets.UTF_8)).isEqualTo(served.body());
        assertThat(Dsse.verify(publicKey, Dsse.Envelope.parse(blob), Dsse.IN_TOTO)).isEqualTo(envelope.payloadBytes());

        // --- the operators' no-cosign path: scripts/verify-provenance.sh, against the real registry ----------------------
        Path dir = Files.createTempDirectory("verify-provenance");
        Path pub = Files.writeString(dir.resolve("gateway.pub"), key.path("publicKey").asString());
        Script ok = script("--key", pub.toString(), "--builder-id", "urn:buildgateway:builder:local", imageRef);
        assertThat(ok.exit()).as(ok.output()).isZero();
        assertThat(ok.output()).contains("verified SLSA provenance of " + digest).contains(buildId)
                .contains("1 of 1 provenance attestation(s) verified");
        Path fromApi = Files.writeString(dir.resolve("provenance.json"), served.body());
        assertThat(script("--key", pub.toString(), "--envelope", fromApi.toString(), digest).exit()).isZero();

        // The script refuses: one changed byte, another key, another image's digest, another builder id.
        Path tampered = Files.writeString(dir.resolve("tampered.json"), new String(changedPayload.toJson(),
                StandardCharsets.UTF_8));
        Script refused = script("--key", pub.toString(), "--envelope", tampered.toString(), digest);
        assertThat(refused.exit()).as(refused.output()).isEqualTo(1);
        assertThat(refused.output()).contains("no signature verifies");
        Path otherKey = Files.writeString(dir.resolve("other.pub"), GatewayKey.generate().publicKeyPem());
        assertThat(script("--key", otherKey.toString(), imageRef).exit()).isEqualTo(1);
        assertThat(script("--key", pub.toString(), "--envelope", fromApi.toString(), "sha256:" + "0".repeat(64))
                .output()).contains("about another image");
        assertThat(script("--key", pub.toString(), "--builder-id", "https://elsewhere", imageRef).exit()).isEqualTo(1);
    }

    @org.springframework.beans.factory.annotation.Autowired
    Attestations attestations;
    @org.springframework.beans.factory.annotation.Autowired
    ProvenanceHealth health;

    /**
     * A provenance the registry cannot take yet is recorded with its error, audited, not hammered, shown by the health,
     * and stored on a later try. (The failure is made by a repository name the registry client refuses; the
     * bookkeeping is the same for any failure.)
     */
    @Test
    void anAttestationThatCannotBeStoredIsRetriedAndShownUntilItIs() {
        java.util.UUID buildId = java.util.UUID.randomUUID();
        String digest = "sha256:" + CosignAttestation.sha256(buildId.toString().getBytes(StandardCharsets.UTF_8))
                .substring("sha256:".length());
        String repository = "prov/retry-" + RUN;
        jdbc.update("""
                insert into build (id, image, tag, team, status, requested_by, requested_at, context_digest,
                    context_size, dockerfile, build_args, labels)
                values (?, ?, 'v1', 'prov', 'SUCCEEDED', 'it', now(), ?, 0, 'Dockerfile', '{}', '{}')
                """, buildId, repository, "sha256:" + "0".repeat(64));
        GatewayKey key = GatewayKey.generate();
        String envelope = new String(Dsse.sign(key, Dsse.IN_TOTO, "{}".getBytes(StandardCharsets.UTF_8)).toJson(),
                StandardCharsets.UTF_8);
        jdbc.update("""
                insert into image_provenance (image_digest, build_id, repository, team, predicate_type, key_id,
                    envelope, payload_digest, signed_at, next_attempt_at)
                values (?, ?, 'prov/Not-A-Repository', 'prov', 'https://slsa.dev/provenance/v1', ?, ?, ?,
                    now() - interval '1 hour', now() - interval '1 second')
                """, digest, buildId, key.keyId(), envelope, "sha256:" + "0".repeat(64));
        try {
            assertThat(attestations.attach(digest, buildId)).isFalse();
            var row = jdbc.queryForMap("select attach_attempts, attach_error, next_attempt_at > now() + interval"
                    + " '20 seconds' as later, attached_at from image_provenance where build_id = ?", buildId);
            assertThat(row.get("attach_attempts")).isEqualTo(1);
            assertThat((String) row.get("attach_error")).contains("not a repository name");
            assertThat(row.get("later")).isEqualTo(true);
            assertThat(row.get("attached_at")).isNull();
            assertThat(auditCount("provenance.attach-failed", "image/" + digest)).isEqualTo(1);
            // Not due yet: a second try now does nothing.
            assertThat(attestations.attach(digest, buildId)).isFalse();
            assertThat(jdbc.queryForObject("select attach_attempts from image_provenance where build_id = ?",
                    Integer.class, buildId)).isEqualTo(1);
            var down = health.health();
            assertThat(down.getStatus().getCode()).isEqualTo("DOWN");
            assertThat(((Number) down.getDetails().get("overdue")).longValue()).isGreaterThanOrEqualTo(1);

            jdbc.update("update image_provenance set repository = ?, next_attempt_at = now() where build_id = ?",
                    repository, buildId);
            assertThat(attestations.attach(digest, buildId)).isTrue();
            assertThat(jdbc.queryForObject("select attached_at is not null and attach_error is null"
                    + " from image_provenance where build_id = ?", Boolean.class, buildId)).isTrue();
            assertThat(auditCount("provenance.attached", "image/" + digest)).isEqualTo(1);
            HttpResponse<byte[]> att = registry("/v2/" + repository + "/manifests/sha256-"
                    + digest.substring("sha256:".length()) + ".att", "application/vnd.oci.image.manifest.v1+json");
            assertThat(att.statusCode()).isEqualTo(200);
            String layer = json.readTree(att.body()).path("layers").get(0).path("digest").asString();
            assertThat(new String(registry("/v2/" + repository + "/blobs/" + layer, "*/*").body(),
                    StandardCharsets.UTF_8)).isEqualTo(envelope);
        } finally {
            jdbc.update("delete from image_provenance where build_id = ?", buildId);
        }
        assertThat(health.health().getStatus().getCode()).isEqualTo("UP");
    }

    private HttpResponse<byte[]> registry(String path, String accept) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://" + registryAddress() + path))
                    .header("Accept", accept).timeout(Duration.ofSeconds(30)).GET().build(),
                    HttpResponse.BodyHandlers.ofByteArray());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    record Script(int exit, String output) {
    }

    private static Script script(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("bash", "scripts/verify-provenance.sh"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Script(p.waitFor(), out);
    }
}
