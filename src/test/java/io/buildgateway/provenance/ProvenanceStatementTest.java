package io.buildgateway.provenance;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.builds.BuildSucceeded;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class ProvenanceStatementTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String IMAGE = "sha256:" + "1".repeat(64);
    private static final String CONFIG = "sha256:" + "2".repeat(64);
    private static final String CONTEXT = "sha256:" + "3".repeat(64);
    private static final String BUSYBOX = "sha256:" + "4".repeat(64);
    private static final String DEBIAN = "sha256:" + "5".repeat(64);
    private static final String POLICY = "sha256:" + "6".repeat(64);
    private static final UUID BUILD = UUID.fromString("0b7f3a8e-5c43-4a8e-9d0e-0d6c2f1c9a11");
    private static final UUID ORIGIN = UUID.fromString("11111111-2222-3333-4444-555555555555");

    static BuildSucceeded build(UUID rebuildOf, String target) {
        Map<String, String> args = new LinkedHashMap<>();
        args.put("VERSION", "1.2");
        args.put("NPM_TOKEN", "s3cr3t-value");
        args.put("APP", "pay");
        BuildSucceeded.Run run = new BuildSucceeded.Run("127.0.0.1:5000/pay/api@" + IMAGE, CONTEXT, 2048,
                "docker/Dockerfile", target, args, Map.of("org.opencontainers.image.source", "git@example:pay"), true,
                POLICY, "userns-1", true, "none", Instant.parse("2025-03-01T10:00:00.123456Z"),
                Instant.parse("2025-03-01T10:00:01.5Z"),
                List.of(new BuildSucceeded.Pulled("127.0.0.1:5000/base/busybox:latest", BUSYBOX,
                                "FROM 127.0.0.1:5000/base/busybox:latest AS build"),
                        new BuildSucceeded.Pulled("127.0.0.1:5000/base/debian@" + DEBIAN, DEBIAN,
                                "FROM 127.0.0.1:5000/base/debian@" + DEBIAN)));
        return new BuildSucceeded(BUILD, "pay", "pay/api", "1.0", IMAGE, CONFIG, "127.0.0.1:5000/base/debian@" + DEBIAN,
                rebuildOf, "ci-pay", Instant.parse("2025-03-01T10:00:09.987654Z"), run);
    }

    private static JsonNode statement(BuildSucceeded b) {
        return JSON.readTree(ProvenanceStatement.of(b, "https://gateway.example", "1.0.0", "127.0.0.1:5000"));
    }

    @Test
    void isAnInTotoStatementAboutThePushedImage() {
        JsonNode s = statement(build(null, "runtime"));
        assertThat(s.path("_type").asString()).isEqualTo("https://in-toto.io/Statement/v1");
        assertThat(s.path("predicateType").asString()).isEqualTo("https://slsa.dev/provenance/v1");
        assertThat(s.path("subject")).hasSize(1);
        assertThat(s.path("subject").get(0).path("name").asString()).isEqualTo("127.0.0.1:5000/pay/api");
        assertThat(s.path("subject").get(0).path("digest").path("sha256").asString()).isEqualTo("1".repeat(64));
    }

    @Test
    void externalParametersAreWhatTheCallerChoseWithSecretsRedacted() {
        JsonNode d = statement(build(null, "runtime")).path("predicate").path("buildDefinition");
        assertThat(d.path("buildType").asString()).isEqualTo(ProvenanceStatement.BUILD_TYPE);
        JsonNode e = d.path("externalParameters");
        assertThat(e.path("image").asString()).isEqualTo("pay/api");
        assertThat(e.path("tag").asString()).isEqualTo("1.0");
        assertThat(e.path("dockerfile").asString()).isEqualTo("docker/Dockerfile");
        assertThat(e.path("target").asString()).isEqualTo("runtime");
        assertThat(e.path("noCache").asBoolean()).isTrue();
        assertThat(e.path("buildArgs").toString()).isEqualTo("{\"APP\":\"pay\",\"NPM_TOKEN\":\"***\",\"VERSION\":\"1.2\"}");
        assertThat(e.path("labels").path("org.opencontainers.image.source").asString()).isEqualTo("git@example:pay");
        assertThat(e.path("context").path("digest").asString()).isEqualTo(CONTEXT);
        assertThat(e.path("context").path("location").asString()).isEqualTo("urn:buildgateway:context:" + CONTEXT);
        assertThat(e.path("context").path("size").asLong()).isEqualTo(2048);
        assertThat(new String(ProvenanceStatement.of(build(null, null), "b", "v", "r"))).doesNotContain("s3cr3t")
                .doesNotContain("\"target\"");
    }

    @Test
    void internalParametersAreWhatTheGatewayDecided() {
        JsonNode i = statement(build(ORIGIN, null)).path("predicate").path("buildDefinition").path("internalParameters");
        assertThat(i.path("policyDigest").asString()).isEqualTo(POLICY);
        assertThat(i.path("host").asString()).isEqualTo("userns-1");
        assertThat(i.path("usernsRemap").asBoolean()).isTrue();
        assertThat(i.path("networkMode").asString()).isEqualTo("none");
        assertThat(i.path("registry").asString()).isEqualTo("127.0.0.1:5000");
        assertThat(i.path("requestedBy").asString()).isEqualTo("ci-pay");
        assertThat(i.path("rebuildOf").asString()).isEqualTo(ORIGIN.toString());
        assertThat(statement(build(null, null)).path("predicate").path("buildDefinition").path("internalParameters")
                .has("rebuildOf")).isFalse();
    }

    @Test
    void resolvedDependenciesAreTheContextAndEveryPulledImageByDigest() {
        JsonNode deps = statement(build(null, null)).path("predicate").path("buildDefinition")
                .path("resolvedDependencies");
        assertThat(deps).hasSize(3);
        assertThat(deps.get(0).path("name").asString()).isEqualTo("context");
        assertThat(deps.get(0).path("uri").asString()).isEqualTo("urn:buildgateway:context:" + CONTEXT);
        assertThat(deps.get(0).path("digest").path("sha256").asString()).isEqualTo("3".repeat(64));
        assertThat(deps.get(1).path("name").asString()).isEqualTo("127.0.0.1:5000/base/busybox:latest");
        assertThat(deps.get(1).path("uri").asString())
                .isEqualTo("pkg:docker/base/busybox@latest?repository_url=127.0.0.1%3A5000");
        assertThat(deps.get(1).path("digest").path("sha256").asString()).isEqualTo("4".repeat(64));
        assertThat(deps.get(1).path("annotations").path("step").asString())
                .isEqualTo("FROM 127.0.0.1:5000/base/busybox:latest AS build");
        assertThat(deps.get(2).path("uri").asString())
                .isEqualTo("pkg:docker/base/debian@sha256%3A" + "5".repeat(64) + "?repository_url=127.0.0.1%3A5000");
        assertThat(deps.get(2).path("digest").path("sha256").asString()).isEqualTo("5".repeat(64));
    }

    /** A base pulled pinned to the digest judged ({@code name:tag@digest}) is named name:tag, as one pulled by tag. */
    @Test
    void aPinnedBaseIsNamedByItsTagBesideItsDigest() {
        BuildSucceeded b = build(null, null);
        String pinned = "127.0.0.1:5000/base/busybox:latest@" + BUSYBOX;
        BuildSucceeded.Run run = b.run();
        BuildSucceeded.Run pinnedRun = new BuildSucceeded.Run(run.imageRef(), run.contextDigest(), run.contextSize(),
                run.dockerfile(), run.target(), run.buildArgs(), run.labels(), run.noCache(), run.policyDigest(),
                run.host(), run.usernsRemap(), run.networkMode(), run.requestedAt(), run.startedAt(),
                List.of(new BuildSucceeded.Pulled(pinned, BUSYBOX, "FROM " + pinned)));
        JsonNode deps = statement(new BuildSucceeded(b.buildId(), b.team(), b.repository(), b.tag(), b.imageDigest(),
                b.imageId(), b.baseImage(), b.rebuildOf(), b.requestedBy(), b.finishedAt(), pinnedRun))
                .path("predicate").path("buildDefinition").path("resolvedDependencies");
        assertThat(deps.get(1).path("name").asString()).isEqualTo("127.0.0.1:5000/base/busybox:latest");
        assertThat(deps.get(1).path("uri").asString())
                .isEqualTo("pkg:docker/base/busybox@latest?repository_url=127.0.0.1%3A5000");
        assertThat(deps.get(1).path("digest").path("sha256").asString()).isEqualTo("4".repeat(64));
    }

    @Test
    void runDetailsNameTheBuilderTheBuildAndItsTimes() {
        JsonNode r = statement(build(null, null)).path("predicate").path("runDetails");
        assertThat(r.path("builder").path("id").asString()).isEqualTo("https://gateway.example");
        assertThat(r.path("builder").path("version").path("build-gateway").asString()).isEqualTo("1.0.0");
        assertThat(r.path("metadata").path("invocationId").asString()).isEqualTo(BUILD.toString());
        assertThat(r.path("metadata").path("startedOn").asString()).isEqualTo("2025-03-01T10:00:01.500Z");
        assertThat(r.path("metadata").path("finishedOn").asString()).isEqualTo("2025-03-01T10:00:09.987Z");
        assertThat(r.path("byproducts").get(0).path("name").asString()).isEqualTo("image-config");
        assertThat(r.path("byproducts").get(0).path("digest").path("sha256").asString()).isEqualTo("2".repeat(64));
    }

    @Test
    void theSameBuildGivesTheSameBytes() {
        assertThat(ProvenanceStatement.of(build(null, "x"), "b", "v", "r"))
                .isEqualTo(ProvenanceStatement.of(build(null, "x"), "b", "v", "r"));
    }

    @Test
    void purlsNameRegistryRepositoryAndVersion() {
        assertThat(ProvenanceStatement.purl("busybox")).isEqualTo("pkg:docker/busybox");
        assertThat(ProvenanceStatement.purl("registry.internal/base/debian:12"))
                .isEqualTo("pkg:docker/base/debian@12?repository_url=registry.internal");
        assertThat(ProvenanceStatement.purl("localhost:5000/a/b:1@sha256:" + "a".repeat(64)))
                .isEqualTo("pkg:docker/a/b@sha256%3A" + "a".repeat(64) + "?repository_url=localhost%3A5000");
        assertThat(ProvenanceStatement.purl("library/alpine:3")).isEqualTo("pkg:docker/library/alpine@3");
    }
}
