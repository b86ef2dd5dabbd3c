package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import com.github.dockerjava.transport.DockerHttpClient;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.util.unit.DataSize;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The BuildKit build path below the policy, on the test environment's real build host (dockerd 26 with user
 * namespaces in its loopback-only network namespace, the token registry behind the forwarder): the BuildKit syntax
 * that current Dockerfiles use builds, with the labels in the same build, and a cancelled build stops its step.
 */
class BuildKitBuildIT {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HostPoolProperties.Limits LIMITS = new HostPoolProperties.Limits(DataSize.ofMegabytes(512),
            "", 512, Duration.ofMinutes(5));
    private static DockerHttpClient http;
    private static String registry;
    private static String token;

    @BeforeAll
    static void connect() {
        registry = IntegrationTest.registryAddress();
        http = new ApacheDockerHttpClient.Builder().dockerHost(DefaultDockerClientConfig.createDefaultConfigBuilder()
                .withDockerHost(IntegrationTest.require("BGW_DOCKER_HOST")).build().getDockerHost())
                .connectionTimeout(Duration.ofSeconds(5)).build();
        RegistryTokens tokens = new RegistryTokens(new HostPoolProperties.Tokens(
                Path.of(IntegrationTest.require("BGW_TOKEN_KEY")), Path.of(IntegrationTest.require("BGW_TOKEN_CERT")),
                IntegrationTest.require("BGW_TOKEN_ISSUER"), IntegrationTest.require("BGW_TOKEN_SERVICE"),
                Duration.ofMinutes(10), List.of("base/")), Clock.systemUTC());
        token = tokens.mint("build/BuildKitBuildIT", List.of(new RegistryTokens.Access("base/busybox",
                Set.of("pull"))), Duration.ofMinutes(10));
    }

    @AfterAll
    static void close() throws IOException {
        http.close();
    }

    @Test
    void theSyntaxCurrentDockerfilesUseBuildsWithLabelsInTheSameBuild() throws Exception {
        String base = registry + "/base/busybox:latest";
        BuildKitBuild.Pull pulled = BuildKitBuild.pull(http, List.of(base), registry, token, s -> { });
        assertThat(pulled.error()).isNull();
        assertThat(pulled.pulled()).singleElement().satisfies(p -> assertThat(p.digest()).startsWith("sha256:"));

        String marker = Long.toString(System.nanoTime(), 36);
        byte[] context = ustar("Dockerfile", "FROM " + base + " AS build\n"
                + "RUN <<EOT\necho " + marker + " > /x\necho heredoc-ran\nEOT\n"
                + "RUN --mount=type=cache,target=/cache echo cached-" + marker + " > /cache/f && cat /cache/f\n"
                + "FROM " + base + "\n"
                + "COPY --from=build --chmod=0640 /x /x\n"
                + "COPY --link hello.txt /hello.txt\n"
                + "RUN stat -c %a /x && cat /x /hello.txt\n", "hello.txt", "hello-linked\n");
        StringBuilder log = new StringBuilder();
        BuildKitBuild.Result result = BuildKitBuild.build(http, new ByteArrayInputStream(context), "Dockerfile", null,
                Map.of(), Map.of("io.buildgateway.build-id", marker, "team", "payments"), true, LIMITS,
                log::append, () -> false, Instant.now().plus(Duration.ofMinutes(5)), Clock.systemUTC());

        assertThat(result.error()).as(log.toString()).isNull();
        assertThat(result.imageId()).as(log.toString()).startsWith("sha256:");
        assertThat(log.toString()).containsPattern("(?m)^#\\d+ heredoc-ran$")
                .containsPattern("(?m)^#\\d+ cached-" + marker + "$")
                .containsPattern("(?m)^#\\d+ 640$")
                .containsPattern("(?m)^#\\d+ " + marker + "$")
                .containsPattern("(?m)^#\\d+ hello-linked$");
        assertThat(result.trace().used()).containsOnly(base);
        assertThat(result.trace().steps()).extracting(BuildKitTrace.Step::instruction)
                .contains("COPY --link hello.txt /hello.txt", "COPY --from=build --chmod=0640 /x /x");
        JsonNode image = inspect(result.imageId());
        assertThat(image.path("Config").path("Labels").path("io.buildgateway.build-id").asString()).isEqualTo(marker);
        assertThat(image.path("Config").path("Labels").path("team").asString()).isEqualTo("payments");
    }

    @Test
    void aBuildOfAnImageNotPulledForItFailsInsteadOfFetchingIt() throws Exception {
        byte[] context = ustar("Dockerfile", "FROM " + registry + "/other/never-pulled:1\nRUN true\n");
        StringBuilder log = new StringBuilder();
        BuildKitBuild.Result result = BuildKitBuild.build(http, new ByteArrayInputStream(context), "Dockerfile", null,
                Map.of(), Map.of(), true, LIMITS, log::append, () -> false,
                Instant.now().plus(Duration.ofMinutes(2)), Clock.systemUTC());
        assertThat(result.imageId()).isNull();
        assertThat(result.error()).as(log.toString()).contains("other/never-pulled");
    }

    @Test
    void aCancelledBuildStopsItsStepAtOnce() throws Exception {
        String base = registry + "/base/busybox:latest";
        assertThat(BuildKitBuild.pull(http, List.of(base), registry, token, s -> { }).error()).isNull();
        String sleep = "sleep " + (700_000 + (int) (System.nanoTime() % 100_000));
        byte[] context = ustar("Dockerfile", "FROM " + base + "\nRUN echo long-step-started && " + sleep + "\n");
        AtomicBoolean cancel = new AtomicBoolean();
        StringBuilder log = new StringBuilder();
        Thread watcher = new Thread(() -> {
            // cancel once the step's process runs
            for (int i = 0; i < 600 && !running(sleep); i++) {
                sleepQuietly(100);
            }
            cancel.set(true);
        });
        watcher.start();
        BuildKitBuild.Result result = BuildKitBuild.build(http, new ByteArrayInputStream(context), "Dockerfile", null,
                Map.of(), Map.of(), true, LIMITS, s -> {
                    synchronized (log) {
                        log.append(s);
                    }
                }, cancel::get, Instant.now().plus(Duration.ofMinutes(5)), Clock.systemUTC());
        watcher.join();

        assertThat(result.stopped()).as(log.toString()).isEqualTo(BuildOutcome.Result.CANCELLED);
        assertThat(result.imageId()).isNull();
        synchronized (log) {
            assertThat(log.toString()).contains("long-step-started");
        }
        // The daemon stopped the step: its process is gone within seconds, not after the sleep.
        boolean gone = false;
        for (int i = 0; i < 100 && !gone; i++) {
            gone = !running(sleep);
            if (!gone) {
                sleepQuietly(100);
            }
        }
        assertThat(gone).as("the step's process (" + sleep + ") went away").isTrue();
    }

    /**
     * A build under a daemon build id is stopped by a cancel of that id, while its own request stays open: what the
     * lease recovery does to a paused replica's build, whose connection the daemon never sees go away. The step's
     * process (its unique sleep) is gone from the host within seconds, and the build's request ends.
     */
    @Test
    void aBuildCancelledByItsDaemonBuildIdStopsItsStepWhileItsRequestIsOpen() throws Exception {
        String base = registry + "/base/busybox:latest";
        assertThat(BuildKitBuild.pull(http, List.of(base), registry, token, s -> { }).error()).isNull();
        String sleep = "sleep " + (800_000 + (int) (System.nanoTime() % 100_000));
        String daemonBuildId = java.util.UUID.randomUUID() + "-1";
        byte[] context = ustar("Dockerfile", "FROM " + base + "\nRUN echo by-id-step-started && " + sleep + "\n");
        StringBuilder log = new StringBuilder();
        java.util.concurrent.ExecutorService requester = java.util.concurrent.Executors.newSingleThreadExecutor();
        AtomicBoolean cleanUp = new AtomicBoolean(); // set only after the assertions: a failed test stops its step
        java.util.concurrent.Future<BuildKitBuild.Result> build = null;
        try {
            // never cancelled nor timed out by its own side: the request stays open, as a paused replica's does
            build = requester.submit(() -> BuildKitBuild.build(http,
                    new ByteArrayInputStream(context), "Dockerfile", null, Map.of(), Map.of(), true, LIMITS,
                    BuildHosts.NETWORK_MODE, daemonBuildId, s -> {
                        synchronized (log) {
                            log.append(s);
                        }
                    }, cleanUp::get, Instant.now().plus(Duration.ofMinutes(10)), Clock.systemUTC()));
            for (int i = 0; i < 600 && !running(sleep); i++) {
                sleepQuietly(100);
            }
            assertThat(running(sleep)).as("the step's process (" + sleep + ") started").isTrue();

            // on a transport of its own: another replica's recovery, not the requesting one
            try (DockerHttpClient other = new ApacheDockerHttpClient.Builder().dockerHost(DefaultDockerClientConfig
                    .createDefaultConfigBuilder().withDockerHost(IntegrationTest.require("BGW_DOCKER_HOST")).build()
                    .getDockerHost()).connectionTimeout(Duration.ofSeconds(5)).build()) {
                assertThat(BuildKitBuild.cancel(other, daemonBuildId).error()).isNull();
            }

            boolean gone = false;
            for (int i = 0; i < 100 && !gone; i++) {
                gone = !running(sleep);
                if (!gone) {
                    sleepQuietly(100);
                }
            }
            assertThat(gone).as("the step's process (" + sleep + ") went away").isTrue();
            BuildKitBuild.Result result = build.get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(result.imageId()).isNull();
            assertThat(result.stopped()).as("not stopped by its own side").isNull();
            synchronized (log) {
                assertThat(result.error()).as(log.toString()).isNotNull();
                assertThat(log.toString()).contains("by-id-step-started");
            }
        } finally {
            cleanUp.set(true);
            if (build != null) {
                build.get(30, java.util.concurrent.TimeUnit.SECONDS);
            }
            requester.shutdownNow();
        }
    }

    private static boolean running(String command) {
        return java.util.Arrays.stream(ps().split("\n"))
                .anyMatch(l -> l.strip().equals(command));
    }

    /** A plain ustar context (name, content, …): see {@link Tars#ustar()}. */
    private static byte[] ustar(String... namesAndContents) {
        Tars tar = Tars.ustar();
        for (int i = 0; i < namesAndContents.length; i += 2) {
            tar.file(namesAndContents[i], namesAndContents[i + 1]);
        }
        return tar.bytes();
    }

    private static String ps() {
        try {
            Process p = new ProcessBuilder("ps", "-eo", "args").redirectErrorStream(true).start();
            return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static JsonNode inspect(String imageId) throws IOException {
        DockerHttpClient.Request request = DockerHttpClient.Request.builder()
                .method(DockerHttpClient.Request.Method.GET).path("/v1.45/images/" + imageId + "/json").build();
        try (DockerHttpClient.Response response = http.execute(request)) {
            return JSON.readTree(new String(response.getBody().readAllBytes(), StandardCharsets.UTF_8));
        }
    }
}
