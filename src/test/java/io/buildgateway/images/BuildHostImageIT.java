package io.buildgateway.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.auth.TestCertificates;
import io.buildgateway.auth.TestCertificates.Identity;
import io.buildgateway.support.DockerCli;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Issue #16: the build host image (Dockerfile.buildhost) as a real build host of a gateway. It is built through the
 * gateway (on the suite's user-namespaced daemon, only with its reviewed waivers), then run as the chart runs it —
 * privileged, read-only root, its own data-root volume, the TLS material mounted read-only — on the environment's
 * plain daemon, with no network but loopback (a forwarder into its network namespace leads 127.0.0.1:&lt;registry
 * port&gt; to the token registry, as for the suite's own host; another leads a loopback port of this machine to its
 * :2376). The gateway of this class knows it as its first host ({@code buildhost-ctr}, tcp + mutual TLS), checks
 * that it reports user namespaces, and runs a build on it whose image is pushed; the host's TLS refuses clients
 * without the gateway's certificate.
 *
 * <p>Skipped, with the reason, only when the registry has no {@code base/debian-dockerd:13} (scripts/env.sh could not
 * make it).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DirtiesContext
class BuildHostImageIT extends IntegrationTest {

    private static final String RUN = Long.toString(System.nanoTime() % 1_000_000_000L, 36);
    private static final String HOST = "buildhost-ctr";
    /** This class's folder: its gateway's data, the TLS material of both sides. */
    private static final Path WORK = DATA.resolveSibling(DATA.getFileName() + "-buildhost");
    private static final Path SERVER_TLS = WORK.resolve("host-tls");
    private static final Path GATEWAY_TLS = WORK.resolve("gateway-tls");
    private static final int PORT = freePort();

    /** Signs the hosts' server certificates; the gateway trusts it. */
    private static final Identity HOST_CA = TestCertificates.ca("CN=Build hosts CA,O=Build Gateway Test");
    /** Signs the gateway's client certificate; the hosts trust it and nothing else. */
    private static final Identity GATEWAY_CA = TestCertificates.ca("CN=Gateway clients CA,O=Build Gateway Test");
    private static final Identity SERVER = TestCertificates.server(HOST_CA);
    private static final Identity GATEWAY_CLIENT = TestCertificates.client(GATEWAY_CA, "CN=build-gateway,O=Build Gateway Test");

    static {
        try {
            Files.createDirectories(SERVER_TLS);
            Files.createDirectories(GATEWAY_TLS);
            // The host (Secret bg-buildhost-server-tls): the clients' CA, its own certificate and key.
            Files.writeString(SERVER_TLS.resolve("ca.pem"), TestCertificates.pem(GATEWAY_CA.certificate()));
            TestCertificates.write(SERVER, SERVER_TLS.resolve("cert.pem"), SERVER_TLS.resolve("key.pem"));
            // The gateway (Secret bg-buildhost-client-tls): the hosts' CA, its client certificate and key.
            Files.writeString(GATEWAY_TLS.resolve("ca.pem"), TestCertificates.pem(HOST_CA.certificate()));
            TestCertificates.write(GATEWAY_CLIENT, GATEWAY_TLS.resolve("cert.pem"), GATEWAY_TLS.resolve("key.pem"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @DynamicPropertySource
    static void ownGateway(DynamicPropertyRegistry registry) {
        Path data = WORK.resolve("gateway");
        registry.add("bgw.it.data-dir", data::toString);
        registry.add("bgw.it.audit-export-file", () -> data.resolve("audit").resolve("export.jsonl").toString());
        registry.add("bgw.it.syslog-host", () -> "");
        // The container first: of two idle healthy hosts the first is chosen. It is unreachable until the image is
        // built (on userns-1, last here) and started.
        registry.add("bgw.it.host0.name", () -> HOST);
        registry.add("bgw.it.host0.endpoint", () -> "tcp://127.0.0.1:" + PORT);
        registry.add("bgw.it.host0.tls-cert-path", GATEWAY_TLS::toString);
        registry.add("gateway.hostpool.hosts[3].name", () -> "userns-1");
        registry.add("gateway.hostpool.hosts[3].endpoint", () -> require("BGW_DOCKER_HOST"));
        registry.add("gateway.hostpool.hosts[3].capacity", () -> "2");
    }

    private final String container = "bgw-buildhost-it-" + RUN;
    private final String volume = "bgw-buildhost-it-" + RUN;
    private final Path innerSocket = Path.of("/run/bgw-bh-" + RUN + ".sock");
    private final List<Process> forwarders = new ArrayList<>();
    private boolean started;

    @BeforeAll
    void buildTheImageAndRunItAsABuildHost() throws IOException {
        Assumptions.assumeTrue(registryHas("base/debian-dockerd", "13"), "base/debian-dockerd:13 is not in the "
                + "registry: scripts/env.sh up test makes it with debootstrap from Debian 13 (trixie) and could not here "
                + "(.state/test/debootstrap-base-debian-dockerd.log); the build host image is neither built nor run");
        String image = buildThroughTheGateway();
        Files.createDirectories(WORK.resolve("docker-config"));
        docker("volume", "create", volume);
        started = true;
        // As the chart's StatefulSet: privileged, read-only root, emptyDirs for /run (dockerd's exec root and the
        // /run/containerd its containerd creates) and /tmp, the data root on a volume of its own, the TLS Secret
        // read-only. No network but loopback.
        DockerCli.Run run = docker("run", "-d", "--name", container, "--privileged", "--network", "none",
                "--read-only", "--tmpfs", "/run:rw,exec,mode=0755", "--tmpfs", "/tmp:rw,exec",
                "-v", volume + ":/var/lib/build-host", "-v", SERVER_TLS + ":/etc/build-host/tls:ro", image);
        assertThat(run.exit()).as(run.output()).isZero();
        String pid = docker("inspect", "-f", "{{.State.Pid}}", container).output().trim();
        assertThat(pid).as("the container's process").matches("[1-9][0-9]*");
        String netns = "--net=/proc/" + pid + "/ns/net";
        String registryPort = registryAddress().substring(registryAddress().lastIndexOf(':') + 1);
        // Inside: the registry's address leads to the token registry (the gateway mints each build's tokens) ...
        forward("nsenter", netns, "socat", "TCP-LISTEN:" + registryPort + ",bind=127.0.0.1,reuseaddr,fork",
                "UNIX-CONNECT:" + require("BGW_TOKEN_SOCKET"));
        // ... and the daemon's :2376 is reached through a unix socket, from a loopback port of this machine.
        forward("nsenter", netns, "socat", "UNIX-LISTEN:" + innerSocket + ",fork,unlink-early,mode=0600",
                "TCP:127.0.0.1:2376");
        forward("socat", "TCP-LISTEN:" + PORT + ",bind=127.0.0.1,reuseaddr,fork", "UNIX-CONNECT:" + innerSocket);
    }

    @AfterAll
    void stopTheBuildHost() {
        for (Process p : forwarders) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
        }
        if (started) {
            docker("rm", "-f", "-v", container);
            docker("volume", "rm", "-f", volume);
        }
    }

    @Test
    void theGatewayBuildsOnTheContainerWithUserNamespacesAndPushes() {
        awaitHealthy();
        JsonNode host = hostStatus();
        assertThat(host.path("usernsRemap").asBoolean()).as(host.toString()).isTrue();
        assertThat(host.path("endpoint").asString()).isEqualTo("tcp://127.0.0.1:" + PORT);
        assertThat(auditCount("host.health-changed", "host/" + HOST)).isPositive();

        String token = builder("platform");
        String image = "platform/on-buildhost-" + RUN;
        byte[] context = Tars.tar().file("Dockerfile", "FROM " + registryAddress() + "/base/busybox\n"
                + "RUN cat /proc/self/uid_map && echo built-in-the-build-host-container > /built.txt\n"
                + "USER 65534\n").bytes();
        Response accepted = submit(token, "image=" + image + "&tag=it", context);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String id = read(accepted).path("id").asString();
        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(4));
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(done.path("status").asString()).as(done + "\n" + log + "\n" + containerLog()).isEqualTo("SUCCEEDED");
        assertThat(done.path("host").asString()).isEqualTo(HOST);
        assertThat(done.path("imageRef").asString()).startsWith(registryAddress() + "/" + image + "@sha256:");
        // The step ran remapped: its root is uid 100000 of the container, not 0.
        assertThat(log).as(log).containsPattern("\\| #\\d+ (?:[0-9.]+ )?\\s*0\\s+100000\\s+65536");
        // Pushed: the registry has the manifest by digest.
        assertThat(send(HttpRequest.newBuilder(URI.create("http://" + registryAddress() + "/v2/" + image
                + "/manifests/" + done.path("imageDigest").asString())).header("Accept",
                "application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json")
                .method("HEAD", HttpRequest.BodyPublishers.noBody())).status()).isEqualTo(200);
        // dockerd's remapped data root on the volume (userns-remap keeps it in <uid>.<gid>).
        DockerCli.Run ls = docker("exec", container, "ls", "/var/lib/build-host/docker");
        assertThat(ls.output()).as(ls.output()).contains("100000.100000");
    }

    @Test
    void theHostsTlsRefusesEveryClientButTheGateway() throws Exception {
        awaitHealthy();
        String ping = "https://127.0.0.1:" + PORT + "/_ping";
        // The gateway's certificate: accepted (so the refusals below are about the certificate, not the wiring).
        HttpResponse<String> ok = https(TestCertificates.clientContext(HOST_CA, GATEWAY_CLIENT, true), ping);
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.body()).isEqualTo("OK");
        // No client certificate at all.
        assertThatThrownBy(() -> https(TestCertificates.clientContext(HOST_CA, null, false), ping))
                .isInstanceOf(IOException.class);
        // A certificate of another CA, with the gateway's own subject, sent although the host did not ask for it.
        Identity otherCa = TestCertificates.ca("CN=Some other CA,O=Build Gateway Test");
        Identity impostor = TestCertificates.client(otherCa, "CN=build-gateway,O=Build Gateway Test");
        assertThatThrownBy(() -> https(TestCertificates.clientContext(HOST_CA, impostor, true), ping))
                .isInstanceOf(IOException.class);
        // A client certificate signed by the hosts' own CA: that CA makes servers, not clients.
        Identity hostSigned = TestCertificates.client(HOST_CA, "CN=build-gateway,O=Build Gateway Test");
        assertThatThrownBy(() -> https(TestCertificates.clientContext(HOST_CA, hostSigned, true), ping))
                .isInstanceOf(IOException.class);
        // Plain HTTP: refused by the TLS listener.
        Response plain = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + PORT + "/_ping")).GET());
        assertThat(plain.status()).isEqualTo(400);
        assertThat(plain.body()).contains("HTTPS");
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    /**
     * Builds Dockerfile.buildhost through this class's gateway, as team platform, and returns the pushed reference.
     * Another team's image of the same Dockerfile is refused: the waivers name platform/build-host only.
     */
    private String buildThroughTheGateway() throws IOException {
        Tars tar = Tars.tar().file("Dockerfile", Files.readString(Path.of("Dockerfile.buildhost")));
        for (String f : List.of("daemon.json", "subuid", "subgid")) {
            tar.file(f, Files.readAllBytes(Path.of("buildhost", f)));
        }
        byte[] context = tar.bytes();
        String token = builder("platform", "payments");
        String query = "&tag=" + RUN + "&buildArg=BASE_REGISTRY=" + registryAddress();

        Response refused = submit(token, "image=payments/build-host" + query, context);
        assertThat(refused.status()).as(refused.body()).isEqualTo(422);
        assertThat(refused.body()).contains("final-user-root");

        Response accepted = submit(token, "image=platform/build-host" + query, context);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        JsonNode done = awaitFinal(token, read(accepted).path("id").asString(), Duration.ofMinutes(8));
        assertThat(done.path("status").asString())
                .as(done + "\n" + get(token, "/api/v1/builds/" + done.path("id").asString() + "/logs").body())
                .isEqualTo("SUCCEEDED");
        assertThat(done.path("host").asString()).as("built on the suite's daemon").isEqualTo("userns-1");
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
        return done.path("imageRef").asString();
    }

    private void awaitHealthy() {
        Assumptions.assumeTrue(started, "the build host container was not started");
        eventually("health check of " + HOST + " passing", Duration.ofMinutes(2),
                () -> hostStatus().path("healthy").asBoolean());
    }

    private JsonNode hostStatus() {
        for (JsonNode h : read(get(ADMIN_SECRET, "/api/v1/hosts"))) {
            if (h.path("name").asString().equals(HOST)) {
                return h;
            }
        }
        throw new AssertionError("GET /api/v1/hosts does not list " + HOST);
    }

    private String containerLog() {
        return "container log (tail):\n" + docker("logs", "--tail", "40", container).output();
    }

    private boolean registryHas(String repository, String tag) {
        return send(HttpRequest.newBuilder(URI.create("http://" + registryAddress() + "/v2/" + repository
                + "/manifests/" + tag)).header("Accept", "application/vnd.docker.distribution.manifest.v2+json")
                .method("HEAD", HttpRequest.BodyPublishers.noBody())).status() == 200;
    }

    private DockerCli.Run docker(String... args) {
        return DockerCli.run(WORK.resolve("docker-config"), require("BGW_PLAIN_DOCKER_HOST"), Map.of(), args);
    }

    private void forward(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(WORK.resolve("forwarder-" + forwarders.size() + ".log").toFile()).start();
            forwarders.add(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static HttpResponse<String> https(SSLContext tls, String url) throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(5)).build();
        return client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
