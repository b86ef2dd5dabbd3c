package io.buildgateway.images;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.DockerCli;
import io.buildgateway.support.SecondGatewayTest;
import io.buildgateway.support.Tars;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Issue #16: the gateway's own image (Dockerfile.gateway) is built THROUGH the gateway, from the jar `mvn package`
 * just wrote (failsafe runs after package), on the real user-namespaced daemon, and passes the gateway's policy,
 * verification and scanning before it is pushed, and then runs: oscap and shellcheck in it, the gateway itself until
 * its HEALTHCHECK passes. The build host image has a class of its own (BuildHostImageIT).
 *
 * <p>A gateway other than the suite's ({@link SecondGatewayTest}): the jar (~185 MB) is bigger than the suite's 32 MB
 * intake limit.
 */
class GatewayImageIT extends SecondGatewayTest {

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
        assertThat(scans.path("base").path("ref").asString())
                .isEqualTo(registryAddress() + "/base/debian-jre-tools:12");
        // The SBOM sees the JRE from Debian's packages and the gateway's own libraries.
        JsonNode bom = read(get(token, "/api/v1/images/" + done.path("imageDigest").asString() + "/sbom"));
        List<String> purls = new ArrayList<>();
        bom.path("components").forEach(c -> purls.add(c.path("purl").asString()));
        assertThat(purls).anyMatch(p -> p.startsWith("pkg:deb/debian/openjdk-17-jre-headless@"))
                .anyMatch(p -> p.startsWith("pkg:deb/debian/openscap-scanner@"))
                .anyMatch(p -> p.startsWith("pkg:deb/debian/shellcheck@"))
                .anyMatch(p -> p.startsWith("pkg:maven/io.buildgateway/build-gateway@0.1.0-SNAPSHOT"))
                .anyMatch(p -> p.startsWith("pkg:maven/org.springframework.data/spring-data-jpa@"));

        theImageRunsItsToolsAndTheGateway(done.path("imageRef").asString());
    }

    /**
     * The pushed image, run on the environment's plain daemon: the two programs the gateway runs itself work in it,
     * and the gateway starts in it as the chart runs it (read-only root, /tmp and the data folder writable, no
     * network), until the image's own shell-less HEALTHCHECK says healthy.
     */
    private void theImageRunsItsToolsAndTheGateway(String image) throws IOException {
        Path config = Files.createDirectories(DATA.resolveSibling(DATA.getFileName() + "-image").resolve("docker-config"));
        String plain = require("BGW_PLAIN_DOCKER_HOST");
        DockerCli.Run oscap = DockerCli.run(config, plain, Map.of(), "run", "--rm", "--network", "none", "--read-only",
                "--entrypoint", "oscap", image, "--version");
        assertThat(oscap.exit()).as(oscap.output()).isZero();
        assertThat(oscap.output()).contains("OpenSCAP command line tool (oscap)");
        DockerCli.Run shellcheck = DockerCli.run(config, plain, Map.of(), "run", "--rm", "--network", "none",
                "--read-only", "--entrypoint", "shellcheck", image, "--version");
        assertThat(shellcheck.exit()).as(shellcheck.output()).isZero();
        assertThat(shellcheck.output()).contains("ShellCheck - shell script analysis tool");

        // The HEALTHCHECK as BuildKit wrote it into the image: probed every 5 s while the gateway starts, so the wait
        // below ends seconds after it is up rather than at the next 30 s probe.
        DockerCli.Run health = DockerCli.run(config, plain, Map.of(), "image", "inspect", "-f",
                "{{json .Config.Healthcheck}}", image);
        assertThat(health.output()).as(health.output()).contains("\"StartInterval\":5000000000")
                .contains("\"Interval\":30000000000").contains("io.buildgateway.HealthProbe");

        String name = "bgw-gateway-image-it-" + RUN;
        try {
            DockerCli.Run started = DockerCli.run(config, plain, Map.of(), "run", "-d", "--name", name, "--network",
                    "none", "--read-only", "--tmpfs", "/tmp:rw,exec,size=512m", "-v", name + ":/var/lib/build-gateway",
                    image);
            assertThat(started.exit()).as(started.output()).isZero();
            String[] state = {""};
            // "unhealthy" is not the end: on a loaded machine the start may outlast the HEALTHCHECK's start period
            // and retries, and one passing check later makes the container healthy again. An exit is the end.
            eventually("the gateway's container reported healthy by its HEALTHCHECK", Duration.ofMinutes(8), () -> {
                state[0] = DockerCli.run(config, plain, Map.of(), "inspect", "-f",
                        "{{.State.Status}} {{.State.Health.Status}}", name).output().trim();
                assertThat(state[0]).as(() -> state[0] + "\n" + DockerCli.run(config, plain, Map.of(), "logs",
                        "--tail", "60", name).output()).startsWith("running");
                return state[0].equals("running healthy");
            });
            String log = DockerCli.run(config, plain, Map.of(), "logs", name).output();
            assertThat(log).contains("Started BuildGatewayApplication");
            // As the gateway's own user, not root.
            assertThat(DockerCli.run(config, plain, Map.of(), "inspect", "-f", "{{.Config.User}}", name).output().trim())
                    .isEqualTo("10001:10001");
        } finally {
            DockerCli.run(config, plain, Map.of(), "rm", "-f", "-v", name);
            DockerCli.run(config, plain, Map.of(), "volume", "rm", "-f", name);
        }
    }
}
