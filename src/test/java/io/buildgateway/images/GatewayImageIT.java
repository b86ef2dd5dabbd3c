package io.buildgateway.images;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Issue #16: the gateway's own image (Dockerfile.gateway) is built THROUGH the gateway, from the jar `mvn package`
 * just wrote (failsafe runs after package), on the real user-namespaced daemon, and passes the gateway's policy,
 * verification and scanning before it is pushed.
 */
class GatewayImageIT extends IntegrationTest {

    /**
     * A gateway of its own: the jar (~185 MB: it carries the embedded PostgreSQL binaries) is bigger than the suite's
     * 32 MB intake limit, and a second context must not share the suite's data folder (its embedded PostgreSQL),
     * audit export file or syslog receiver (IntegrationTest's bgw.it.* placeholders).
     */
    @DynamicPropertySource
    static void ownGateway(DynamicPropertyRegistry registry) {
        registry.add("bgw.it.data-dir", () -> DATA.resolveSibling(DATA.getFileName() + "-image").toString());
        registry.add("bgw.it.audit-export-file", () -> DATA.resolveSibling(DATA.getFileName() + "-image")
                .resolve("audit").resolve("export.jsonl").toString());
        registry.add("bgw.it.syslog-host", () -> "");
        registry.add("bgw.it.max-context-size", () -> "512MB");
        registry.add("bgw.it.max-uncompressed-size", () -> "512MB");
    }

    private static final String RUN = Long.toString(System.nanoTime() % 1_000_000_000L, 36);

    /** The context Dockerfile.gateway describes: the Dockerfile, the packaged jar, the default policy and content. */
    static byte[] context() throws IOException {
        Path jar;
        try (Stream<Path> jars = Files.list(Path.of("target"))) {
            List<Path> found = jars.filter(p -> p.getFileName().toString().matches("build-gateway-.*\\.jar")).toList();
            assertThat(found).as("target/build-gateway-*.jar from mvn package").hasSize(1);
            jar = found.get(0);
        }
        Tars tar = Tars.tar().file("Dockerfile", Files.readString(Path.of("Dockerfile.gateway")))
                .file("build-gateway.jar", Files.readAllBytes(jar));
        for (String dir : List.of("config/policy", "config/compliance")) {
            List<Path> files = new ArrayList<>();
            try (Stream<Path> walk = Files.walk(Path.of(dir))) {
                walk.filter(Files::isRegularFile).sorted().forEach(files::add);
            }
            for (Path f : files) {
                tar.file(f.toString(), Files.readAllBytes(f));
            }
        }
        return tar.bytes();
    }

    @Test
    void theGatewaysImageIsBuiltThroughTheGatewayAndPassesItsPolicyVerificationAndScans() throws IOException {
        String token = builder("platform");
        String image = "platform/build-gateway-" + RUN;
        Response accepted = submit(token, "image=" + image + "&tag=it&noCache=true&buildArg=BASE_REGISTRY="
                + registryAddress() + "&buildArg=VERSION=0.1.0-it", context());
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        JsonNode accepted202 = read(accepted);
        assertThat(accepted202.path("findings").toString()).doesNotContain("\"severity\":\"error\"");
        JsonNode done = awaitFinal(token, accepted202.path("id").asString(), Duration.ofMinutes(6));
        assertThat(done.path("status").asString())
                .as(done + "\n" + get(token, "/api/v1/builds/" + done.path("id").asString() + "/logs").body())
                .isEqualTo("SUCCEEDED");
        assertThat(done.path("imageRef").asString()).startsWith(registryAddress() + "/" + image + "@sha256:");

        JsonNode scans = read(get(token, "/api/v1/images/" + done.path("imageDigest").asString() + "/scans"));
        assertThat(scans.path("passed").asBoolean()).as(scans.toString()).isTrue();
        JsonNode summary = scans.path("configuration").path("summary");
        // The non-root user, resolved through the image's own /etc/passwd by the verification.
        assertThat(summary.path("uid").asInt()).isEqualTo(10001);
        assertThat(summary.path("entrypoint").toString()).contains("/app/build-gateway.jar");
        assertThat(summary.path("labels").path("org.opencontainers.image.title").asString())
                .isEqualTo("build-gateway");
        assertThat(summary.path("labels").path("org.opencontainers.image.version").asString())
                .isEqualTo("0.1.0-it");
        assertThat(scans.path("base").path("ref").asString()).isEqualTo(registryAddress() + "/base/debian-jre:12");
        // The SBOM sees the JRE from Debian's packages and the gateway's own libraries.
        JsonNode bom = read(get(token, "/api/v1/images/" + done.path("imageDigest").asString() + "/sbom"));
        List<String> purls = new ArrayList<>();
        bom.path("components").forEach(c -> purls.add(c.path("purl").asString()));
        assertThat(purls).anyMatch(p -> p.startsWith("pkg:deb/debian/openjdk-17-jre-headless@"))
                .anyMatch(p -> p.startsWith("pkg:maven/io.buildgateway/build-gateway@0.1.0-SNAPSHOT"))
                .anyMatch(p -> p.startsWith("pkg:maven/org.springframework.data/spring-data-jpa@"));
    }

    /** The registry has this base (the build host's is made only on request: BGW_BUILDHOST_BASE=1). */
    private boolean registryHas(String repository, String tag) {
        return send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://" + registryAddress() + "/v2/"
                + repository + "/manifests/" + tag)).header("Accept",
                "application/vnd.docker.distribution.manifest.v2+json").method("HEAD",
                java.net.http.HttpRequest.BodyPublishers.noBody())).status() == 200;
    }

    @Test
    void theBuildHostImageIsBuiltThroughTheGatewayOnlyWithItsReviewedWaivers() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(registryHas("base/debian-dockerd", "13"),
                "base/debian-dockerd:13 is made only by `BGW_BUILDHOST_BASE=1 scripts/env.sh up test` (~300 MB)");
        Tars tar = Tars.tar().file("Dockerfile", Files.readString(Path.of("Dockerfile.buildhost")));
        for (String f : List.of("daemon.json", "subuid", "subgid")) {
            tar.file(f, Files.readAllBytes(Path.of("buildhost", f)));
        }
        byte[] context = tar.bytes();
        String token = builder("platform", "payments");
        String query = "&tag=" + RUN + "&noCache=true&buildArg=BASE_REGISTRY=" + registryAddress();

        // Another image of the same Dockerfile is refused at submission: the waivers name platform/build-host.
        Response refused = submit(token, "image=payments/build-host" + query, context);
        assertThat(refused.status()).as(refused.body()).isEqualTo(422);
        assertThat(refused.body()).contains("final-user-root");

        Response accepted = submit(token, "image=platform/build-host" + query, context);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        JsonNode done = awaitFinal(token, read(accepted).path("id").asString(), Duration.ofMinutes(6));
        assertThat(done.path("status").asString())
                .as(done + "\n" + get(token, "/api/v1/builds/" + done.path("id").asString() + "/logs").body())
                .isEqualTo("SUCCEEDED");
        List<String> waived = new ArrayList<>();
        done.path("findings").forEach(f -> {
            if (f.path("waived").asBoolean()) {
                waived.add(f.path("rule").asString());
            }
        });
        assertThat(waived).contains("final-user-root", "docker-socket");
        JsonNode scans = read(get(token, "/api/v1/images/" + done.path("imageDigest").asString() + "/scans"));
        assertThat(scans.path("configuration").path("summary").path("uid").asInt()).isZero();
        assertThat(scans.path("compliance").path("status").asString()).isEqualTo("passed");
    }
}
