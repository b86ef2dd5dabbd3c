package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import com.github.dockerjava.transport.DockerHttpClient;
import com.sun.net.httpserver.HttpServer;
import io.buildgateway.support.EnvironmentUse;
import io.buildgateway.support.IntegrationTest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.util.unit.DataSize;

/**
 * The build host's egress path (issue #14, docs/egress.md) on the test environment's real build host, below the
 * gateway: a step of a user-namespaced dockerd 26 in its own network namespace reaches, through the egress bridge,
 * the forwarder and the relay of scripts/env.sh, whatever listens on the host at {@code 127.0.0.1:<egress port>} —
 * here a minimal forward proxy of the test's own that checks the credentials and records each absolute-form GET —
 * and nothing else: not the canary on the host's loopback, not the proxy without the egress network. The proxy's
 * secret is not in the pushed image's configuration or history. The gateway's own proxy is tested with the whole
 * gateway in {@code EgressBuildIT}.
 */
@EnvironmentUse(holds = EnvironmentUse.EGRESS_RELAY)
class EgressPathIT {

    private static final HostPoolProperties.Limits LIMITS = new HostPoolProperties.Limits(DataSize.ofMegabytes(512),
            "", 512, Duration.ofMinutes(5));
    private static final String SECRET = "s" + UUID.randomUUID().toString().replace("-", "");
    private static final List<String> SEEN = new CopyOnWriteArrayList<>();
    private static DockerHttpClient http;
    private static HttpServer proxy;
    private static String registry;
    private static String token;

    @BeforeAll
    static void start() throws IOException {
        registry = IntegrationTest.registryAddress();
        http = new ApacheDockerHttpClient.Builder().dockerHost(DefaultDockerClientConfig.createDefaultConfigBuilder()
                .withDockerHost(IntegrationTest.require("BGW_DOCKER_HOST")).build().getDockerHost())
                .connectionTimeout(Duration.ofSeconds(5)).build();
        RegistryTokens tokens = new RegistryTokens(new HostPoolProperties.Tokens(
                Path.of(IntegrationTest.require("BGW_TOKEN_KEY")), Path.of(IntegrationTest.require("BGW_TOKEN_CERT")),
                IntegrationTest.require("BGW_TOKEN_ISSUER"), IntegrationTest.require("BGW_TOKEN_SERVICE"),
                Duration.ofMinutes(10), List.of("base/")), Clock.systemUTC());
        token = tokens.mint("build/EgressPathIT", List.of(new RegistryTokens.Access("base/debian", Set.of("pull"))),
                Duration.ofMinutes(10));
        HttpClient upstream = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        String expected = "Basic " + Base64.getEncoder().encodeToString(("build-x:" + SECRET)
                .getBytes(StandardCharsets.UTF_8));
        // A free port, told to the relay of scripts/env.sh through its port file (as EgressBuildIT tells it the test
        // gateway's listener).
        proxy = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        Files.writeString(Path.of(IntegrationTest.require("BGW_EGRESS_PORT_FILE")),
                Integer.toString(proxy.getAddress().getPort()));
        proxy.createContext("/", exchange -> {
            try (exchange) {
                URI target = exchange.getRequestURI();
                SEEN.add(exchange.getRequestMethod() + " " + target);
                if (!expected.equals(exchange.getRequestHeaders().getFirst("Proxy-Authorization"))) {
                    exchange.sendResponseHeaders(407, -1);
                    return;
                }
                if (target.getScheme() == null || !target.toString().startsWith(
                        IntegrationTest.require("BGW_MIRROR_URL") + "/")) {
                    exchange.sendResponseHeaders(403, -1);
                    return;
                }
                HttpResponse<InputStream> answer = upstream.send(HttpRequest.newBuilder(target).GET().build(),
                        HttpResponse.BodyHandlers.ofInputStream());
                exchange.sendResponseHeaders(answer.statusCode(), 0);
                try (InputStream in = answer.body(); OutputStream out = exchange.getResponseBody()) {
                    in.transferTo(out);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        proxy.start();
    }

    @AfterAll
    static void stop() throws IOException {
        proxy.stop(0);
        http.close();
    }

    @Test
    void aStepInstallsFromTheMirrorThroughTheProxyAndReachesNothingElse() throws Exception {
        String base = registry + "/base/debian:12";
        assertThat(BuildKitBuild.pull(http, List.of(base), registry, token, s -> { }).error()).isNull();
        String mirror = IntegrationTest.require("BGW_MIRROR_URL");
        String canary = IntegrationTest.require("BGW_CANARY_URL");
        int canaryPort = URI.create(canary).getPort();
        String marker = Long.toString(System.nanoTime(), 36);
        String forwarder = IntegrationTest.require("BGW_EGRESS_STEP_ADDRESS").replace(':', '/');
        Path canaryLog = Path.of(IntegrationTest.require("BGW_CANARY_LOG"));
        String canaryBefore = Files.readString(canaryLog);
        byte[] context = ustar("Dockerfile", "FROM " + base + "\n"
                + "RUN echo 'deb [trusted=yes] " + mirror + "/debian stable main' > /etc/apt/sources.list"
                + " && apt-get update && apt-get install -y --no-install-recommends hello && hello\n"
                // The canary on the host's loopback, straight and by the bridge's gateway address: unreachable. The
                // probe is a real connect (bash's /dev/tcp; /bin/sh is dash, which has none), and its positive control
                // is the forwarder's address, which the step does reach.
                + "RUN for a in 127.0.0.1/" + canaryPort + " 10.213.0.1/" + canaryPort + " " + forwarder + ";"
                + " do timeout 10 bash -c \"exec 3<>/dev/tcp/$a\" 2>/dev/null"
                + " && echo reach''ed-$a || echo unreach''able-$a; done; echo " + marker + "\n");
        String stepProxy = EgressPath.stepProxy("http://build-x:" + SECRET + "@127.0.0.1:1",
                IntegrationTest.require("BGW_EGRESS_STEP_ADDRESS"));
        StringBuilder log = new StringBuilder();
        BuildKitBuild.Result result = BuildKitBuild.build(http, new ByteArrayInputStream(context), "Dockerfile", null,
                EgressPath.buildArgs(Map.of(), stepProxy), Map.of(), true, LIMITS, EgressPath.BUILDKIT_NETWORK_MODE,
                log::append, () -> false, Instant.now().plus(Duration.ofMinutes(5)), Clock.systemUTC());

        assertThat(result.error()).as(log.toString()).isNull();
        assertThat(log.toString()).contains("Hello, world!")
                .as("the probe's positive control: the step reaches the forwarder on " + forwarder)
                .containsPattern("(?m)^#\\d+ (?:[0-9.]+ )?reached-" + java.util.regex.Pattern.quote(forwarder) + "$")
                .as("the canary")
                .contains("unreachable-127.0.0.1/" + canaryPort).contains("unreachable-10.213.0.1/" + canaryPort)
                .doesNotContainPattern("(?m)^#\\d+ (?:[0-9.]+ )?reached-(127\\.0\\.0\\.1|10\\.213\\.0\\.1)/" + canaryPort
                        + "$");
        assertThat(SEEN).anyMatch(s -> s.startsWith("GET " + mirror + "/debian/dists/stable/main/binary-amd64/Packages"))
                .anyMatch(s -> s.matches("GET " + java.util.regex.Pattern.quote(mirror)
                        + "/debian/pool/main/hello_[^/]+\\.deb"))
                .noneMatch(s -> s.contains("/./"));
        String image = inspect(result.imageId()) + inspect(result.imageId() + "/history");
        assertThat(image).contains("hello").doesNotContain(SECRET);
        assertThat(Files.readString(canaryLog)).isEqualTo(canaryBefore);
    }

    /**
     * A real connect (bash's /dev/tcp under {@code timeout}; /bin/sh is dash, which has none) to the forwarder: from
     * the egress network it connects (the positive control, proving the probe can say "reached"), from a step without
     * it, it does not.
     */
    @Test
    void withoutTheEgressNetworkAStepDoesNotReachTheProxy() throws Exception {
        String base = registry + "/base/debian:12";
        assertThat(BuildKitBuild.pull(http, List.of(base), registry, token, s -> { }).error()).isNull();
        String address = IntegrationTest.require("BGW_EGRESS_STEP_ADDRESS").replace(':', '/');
        String stepProxy = EgressPath.stepProxy("http://build-x:" + SECRET + "@127.0.0.1:1",
                IntegrationTest.require("BGW_EGRESS_STEP_ADDRESS"));

        StringBuilder control = new StringBuilder();
        BuildKitBuild.Result reached = BuildKitBuild.build(http, new ByteArrayInputStream(probe(address)),
                "Dockerfile", null, EgressPath.buildArgs(Map.of(), stepProxy), Map.of(), true, LIMITS,
                EgressPath.BUILDKIT_NETWORK_MODE, control::append, () -> false,
                Instant.now().plus(Duration.ofMinutes(2)), Clock.systemUTC());
        assertThat(reached.error()).as(control.toString()).isNull();
        assertThat(control.toString()).as("the probe's positive control: with the egress network it connects")
                .containsPattern("(?m)^#\\d+ (?:[0-9.]+ )?reached$").doesNotContain("unreachable-");

        int before = SEEN.size();
        StringBuilder log = new StringBuilder();
        BuildKitBuild.Result result = BuildKitBuild.build(http, new ByteArrayInputStream(probe(address)),
                "Dockerfile", null, Map.of(), Map.of(), true, LIMITS, log::append, () -> false,
                Instant.now().plus(Duration.ofMinutes(2)), Clock.systemUTC());
        assertThat(result.error()).as(log.toString()).isNull();
        assertThat(log.toString()).contains("unreachable-").doesNotContainPattern("(?m)^#\\d+ (?:[0-9.]+ )?reached$");
        assertThat(SEEN).hasSize(before);
    }

    private static byte[] probe(String address) {
        return ustar("Dockerfile", "FROM " + registry + "/base/debian:12\n"
                + "RUN timeout 10 bash -c 'exec 3<>/dev/tcp/" + address + "' 2>/dev/null && echo reach''ed"
                + " || echo unreach''able-" + System.nanoTime() + "\n");
    }

    /**
     * Two egress builds at the same time on the same host share the bridge in the daemon's namespace; a step of one
     * must not reach a step of the other (scripts/env.sh start_isolation), while each still reaches the egress
     * forwarder on the bridge's own address. Build A's step listens on a TCP port and prints its address; build B's
     * step is started once A listens, gets A's address as a build arg, tries it and the first addresses of the
     * bridge's /24, and fetches a file through the proxy (the positive control: B has network to the forwarder).
     */
    @Test
    void aStepOfOneEgressBuildDoesNotReachAStepOfAnotherOnTheSameHost() throws Exception {
        String base = registry + "/base/busybox:latest";
        String busyboxToken = new RegistryTokens(new HostPoolProperties.Tokens(
                Path.of(IntegrationTest.require("BGW_TOKEN_KEY")), Path.of(IntegrationTest.require("BGW_TOKEN_CERT")),
                IntegrationTest.require("BGW_TOKEN_ISSUER"), IntegrationTest.require("BGW_TOKEN_SERVICE"),
                Duration.ofMinutes(10), List.of("base/")), Clock.systemUTC()).mint("build/EgressPathIT",
                List.of(new RegistryTokens.Access("base/busybox", Set.of("pull"))), Duration.ofMinutes(10));
        assertThat(BuildKitBuild.pull(http, List.of(base), registry, busyboxToken, s -> { }).error()).isNull();
        String nonce = Long.toString(System.nanoTime(), 36);
        String stepProxy = EgressPath.stepProxy("http://build-x:" + SECRET + "@127.0.0.1:1",
                IntegrationTest.require("BGW_EGRESS_STEP_ADDRESS"));
        String bridge = IntegrationTest.require("BGW_EGRESS_STEP_ADDRESS").replaceFirst("\\.\\d+:\\d+$", ".");
        java.util.concurrent.atomic.AtomicBoolean stopA = new java.util.concurrent.atomic.AtomicBoolean();
        StringBuffer logA = new StringBuffer();
        byte[] contextA = ustar("Dockerfile", "FROM " + base + "\n"
                + "RUN printf '#!/bin/sh\\necho hello-from-A-" + nonce + "\\n' > /answer && chmod 0755 /answer"
                + " && (nc -ll -p 7070 -e /answer &) && sleep 1"
                + " && echo \"listening-" + nonce + "-$(ip -4 -o addr | grep -o 'inet [0-9.]*' | grep -v 127.0.0.1"
                + " | cut -d' ' -f2 | head -n1)-\" && sleep 180\n");
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            java.util.concurrent.Future<BuildKitBuild.Result> a = pool.submit(() -> BuildKitBuild.build(http,
                    new ByteArrayInputStream(contextA), "Dockerfile", null, EgressPath.buildArgs(Map.of(), stepProxy),
                    Map.of(), true, LIMITS, EgressPath.BUILDKIT_NETWORK_MODE, logA::append, stopA::get,
                    Instant.now().plus(Duration.ofMinutes(5)), Clock.systemUTC()));
            java.util.regex.Pattern listening = java.util.regex.Pattern.compile(
                    "listening-" + nonce + "-([0-9.]+)-");
            String peer = null;
            for (int i = 0; i < 240 && peer == null; i++) {
                java.util.regex.Matcher m = listening.matcher(logA);
                if (m.find()) {
                    peer = m.group(1);
                } else {
                    assertThat(a.isDone()).as(logA.toString()).isFalse();
                    Thread.sleep(500);
                }
            }
            assertThat(peer).as(logA.toString()).isNotNull().startsWith(bridge);
            String mirror = IntegrationTest.require("BGW_MIRROR_URL");
            byte[] contextB = ustar("Dockerfile", "FROM " + base + "\n"
                    + "ARG PEER\n"
                    + "RUN echo probing-$PEER; (nc -w 3 $PEER 7070 </dev/null | grep -q hello-from-A) && echo reach''ed-peer-"
                    + nonce + " || echo unreach''able-peer-" + nonce + ";"
                    + " for i in $(seq 2 20); do (nc -w 3 " + bridge + "$i 7070 </dev/null | grep -q hello-from-A"
                    + " && echo reach''ed-scan-" + nonce + "-$i) & done; wait;"
                    + " wget -q -O - " + mirror + "/debian/dists/stable/Release | grep -q 'build-gateway test mirror'"
                    + " && echo proxy-reach''ed-" + nonce + " || echo proxy-unreach''able-" + nonce + "\n");
            StringBuilder logB = new StringBuilder();
            BuildKitBuild.Result b = BuildKitBuild.build(http, new ByteArrayInputStream(contextB), "Dockerfile", null,
                    EgressPath.buildArgs(Map.of("PEER", peer), stepProxy), Map.of(), true, LIMITS,
                    EgressPath.BUILDKIT_NETWORK_MODE, logB::append, () -> false,
                    Instant.now().plus(Duration.ofMinutes(3)), Clock.systemUTC());
            assertThat(a.isDone()).as("A's step was still listening while B ran: " + logA).isFalse();
            assertThat(b.error()).as(logB.toString()).isNull();
            assertThat(logB.toString()).as("B's step through the proxy (the positive control)")
                    .contains("proxy-reached-" + nonce);
            assertThat(logB.toString()).as("B's step must not reach A's step on " + peer)
                    .contains("unreachable-peer-" + nonce).doesNotContainPattern("(?<!un)reached-peer-" + nonce)
                    .doesNotContain("reached-scan-" + nonce);
            stopA.set(true);
            a.get(2, java.util.concurrent.TimeUnit.MINUTES);
        } finally {
            stopA.set(true);
            pool.shutdownNow();
        }
    }

    private static byte[] ustar(String... namesAndContents) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (org.apache.commons.compress.archivers.tar.TarArchiveOutputStream tar =
                new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(bytes)) {
            for (int i = 0; i < namesAndContents.length; i += 2) {
                byte[] content = namesAndContents[i + 1].getBytes(StandardCharsets.UTF_8);
                org.apache.commons.compress.archivers.tar.TarArchiveEntry e =
                        new org.apache.commons.compress.archivers.tar.TarArchiveEntry(namesAndContents[i]);
                e.setSize(content.length);
                e.setMode(0644);
                e.setModTime(1_700_000_000_000L);
                tar.putArchiveEntry(e);
                tar.write(content);
                tar.closeArchiveEntry();
            }
            tar.finish();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static String inspect(String path) throws IOException {
        DockerHttpClient.Request request = DockerHttpClient.Request.builder()
                .method(DockerHttpClient.Request.Method.GET).path("/v1.45/images/" + path
                        + (path.endsWith("/history") ? "" : "/json")).build();
        try (DockerHttpClient.Response response = http.execute(request)) {
            return new String(response.getBody().readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
