package io.buildgateway.dockerapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * The stock Docker CLI on this machine (/usr/local/bin/docker, classic builder: DOCKER_BUILDKIT=0) against the
 * gateway's Docker Engine API port: what a developer types, and what the terminal and the exit status show.
 */
@ExtendWith(OutputCaptureExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DockerCliIT extends IntegrationTest {

    /** A registry credential in the CLI's config.json: the CLI sends it in X-Registry-Config with every build. */
    private static final String REGISTRY_CANARY = "registry-canary-" + UUID.randomUUID();

    @Autowired
    DockerApiServer server;

    private String token;
    private Path work;

    @BeforeAll
    void setUp() throws IOException {
        token = builder("dcli");
        work = Files.createTempDirectory(DATA.getParent() == null ? Path.of("target") : DATA.getParent(),
                "docker-cli-");
    }

    record Run(int exit, String output) {
    }

    /** A config.json with the given Authorization header (null: none) and a registry credential beside it. */
    private Path config(String authorization) throws IOException {
        Path dir = Files.createTempDirectory(work, "config-");
        Map<String, Object> config = new java.util.LinkedHashMap<>();
        config.put("auths", Map.of(registryAddress(), Map.of("auth", Base64.getEncoder().encodeToString(
                ("ci:" + REGISTRY_CANARY).getBytes(StandardCharsets.UTF_8)))));
        if (authorization != null) {
            config.put("HttpHeaders", Map.of("Authorization", authorization));
        }
        Files.writeString(dir.resolve("config.json"), json.writeValueAsString(config));
        return dir;
    }

    private Path context(String dockerfile) throws IOException {
        Path dir = Files.createTempDirectory(work, "ctx-");
        Files.writeString(dir.resolve("Dockerfile"), dockerfile);
        Files.writeString(dir.resolve("hello.txt"), "hello\n");
        return dir;
    }

    private Run docker(Path config, String host, String... args) {
        List<String> command = new ArrayList<>(List.of("docker"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("DOCKER_HOST", host);
        pb.environment().put("DOCKER_BUILDKIT", "0");
        pb.environment().put("DOCKER_CONFIG", config.toString());
        pb.environment().remove("DOCKER_TLS_VERIFY");
        pb.environment().remove("DOCKER_CERT_PATH");
        try {
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
            return new Run(p.exitValue(), out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private Run gateway(Path config, String... args) {
        return docker(config, "tcp://127.0.0.1:" + server.port(), args);
    }

    private String passing() {
        return "FROM " + registryAddress() + "/base/busybox\nARG GREETING=hi\nCOPY hello.txt /hello.txt\n"
                + "RUN echo \"$GREETING\" > /greeting.txt\nUSER 65534\n";
    }

    @Test
    void buildsWithTheStockCliAndThePushedDigestPulls(CapturedOutput gatewayLog) throws IOException {
        Run run = gateway(config("Bearer " + token), "build", "-t", "dcli/app:1.0", "--build-arg", "GREETING=bonjour-dcli",
                "--label", "org.example.team=dcli", context(passing()).toString());

        assertThat(run.exit()).as(run.output()).isZero();
        assertThat(run.output()).contains("Step 1/").contains("[gateway] build ")
                .contains("passed policy sha256:")
                .containsPattern("\\[gateway\\] Successfully built and pushed " + java.util.regex.Pattern.quote(
                        registryAddress()) + "/dcli/app:1.0 as " + java.util.regex.Pattern.quote(registryAddress())
                        + "/dcli/app@sha256:[0-9a-f]{64}");
        String ref = run.output().lines().filter(l -> l.contains("Successfully built and pushed "))
                .map(l -> l.substring(l.indexOf(" as ") + 4).trim()).findFirst().orElseThrow();

        // The record is the one POST /api/v1/builds makes: same pipeline, same team rules, the CLI's options kept.
        Map<String, Object> build = jdbc.queryForMap("select id, status, team, requested_by, labels, build_args,"
                + " image_ref from build where image_ref = ?", ref);
        assertThat(build.get("status")).isEqualTo("SUCCEEDED");
        assertThat(build.get("team")).isEqualTo("dcli");
        assertThat(String.valueOf(build.get("labels"))).contains("org.example.team");
        assertThat(String.valueOf(build.get("build_args"))).contains("GREETING");

        // The image is in the registry under that digest: the test environment's plain daemon pulls it.
        Run pull = docker(config(null), require("BGW_PLAIN_DOCKER_HOST"), "pull", ref);
        assertThat(pull.exit()).as(pull.output()).isZero();
        docker(config(null), require("BGW_PLAIN_DOCKER_HOST"), "rmi", ref);

        // X-Registry-Config (the CLI's registry credentials) is dropped: not in the gateway's log, the build
        // record, nor the audit trail.
        assertThat(gatewayLog.getAll()).doesNotContain(REGISTRY_CANARY)
                .doesNotContain(Base64.getEncoder().encodeToString(("ci:" + REGISTRY_CANARY)
                        .getBytes(StandardCharsets.UTF_8)));
        assertThat(jdbc.queryForObject("select count(*) from build where cast(build.* as text) like ?", Long.class,
                "%" + REGISTRY_CANARY.substring(16) + "%")).isZero();
        assertThat(jdbc.queryForObject("select count(*) from audit_event where cast(audit_event.* as text) like ?",
                Long.class, "%" + REGISTRY_CANARY.substring(16) + "%")).isZero();
    }

    @Test
    void aRejectedBuildExitsNonZeroWithItsFindings() throws IOException {
        Run run = gateway(config("Bearer " + token), "build", "-t", "dcli/rejected:1",
                context("FROM docker.io/library/alpine:3.20\nUSER root\n").toString());

        assertThat(run.exit()).as(run.output()).isNotZero();
        assertThat(run.output()).contains("Rejected by policy").contains("error ")
                .contains("rejected by policy").contains("the findings are above");
        assertThat(jdbc.queryForObject("select count(*) from build where image = 'dcli/rejected'"
                + " and status = 'REJECTED'", Long.class)).isEqualTo(1L);
    }

    @Test
    void aWrongTokenIsRefusedAndAudited() throws IOException {
        Run run = gateway(config("Bearer not-a-token-" + UUID.randomUUID()), "build", "-t", "dcli/app:wrong",
                context(passing()).toString());

        assertThat(run.exit()).as(run.output()).isNotZero();
        assertThat(run.output()).contains("the token is not known to this gateway").doesNotContain("not-a-token-");
        assertThat(refusals(401, "/build")).isPositive();
        Run none = gateway(config(null), "build", "-t", "dcli/app:none", context(passing()).toString());
        assertThat(none.exit()).isNotZero();
        assertThat(none.output()).contains("HttpHeaders");
    }

    @Test
    void anotherTeamsImageNameIsRefused() throws IOException {
        Run run = gateway(config("Bearer " + token), "build", "-t", "payments/app:1", context(passing()).toString());

        assertThat(run.exit()).as(run.output()).isNotZero();
        assertThat(run.output()).contains("not 'payments'");
        assertThat(refusals(403, "/build")).isPositive();
    }

    @Test
    void hostLevelOptionsAreRefusedNotPassedOn() throws IOException {
        Run run = gateway(config("Bearer " + token), "build", "-t", "dcli/app:host", "--network", "host",
                "--add-host", "x:10.0.0.1", "--cpuset-cpus", "0", context(passing()).toString());

        assertThat(run.exit()).as(run.output()).isNotZero();
        assertThat(run.output()).contains("--network (networkmode=host)").contains("--add-host")
                .contains("--cpuset-cpus");
        assertThat(jdbc.queryForObject("select count(*) from build where image = 'dcli/app' and tag = 'host'",
                Long.class)).isZero();
    }

    @Test
    void runAndPushAreRefusedWithWhatToDoInstead() throws IOException {
        Run run = gateway(config("Bearer " + token), "run", "--rm", registryAddress() + "/base/busybox", "true");
        assertThat(run.exit()).as(run.output()).isNotZero();
        assertThat(run.output()).contains("runs no containers");

        Run push = gateway(config("Bearer " + token), "push", "dcli/app:1.0");
        assertThat(push.exit()).as(push.output()).isNotZero();
        assertThat(push.output()).contains("pushes every image it builds itself");
        assertThat(refusals(403, "/containers/create")).isPositive();
        assertThat(refusals(403, "dcli/app/push")).isPositive();
    }

    /** http.refused audit rows with this status whose target ends with the path (any /v1.NN/ prefix). */
    private long refusals(int status, String path) {
        return jdbc.queryForObject("select count(*) from audit_event where action = 'http.refused'"
                + " and target like ? and cast(details as jsonb)->>'status' = ?", Long.class, "%" + path, String.valueOf(status));
    }
}
