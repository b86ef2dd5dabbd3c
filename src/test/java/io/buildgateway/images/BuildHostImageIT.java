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
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.beans.factory.annotation.Autowired;
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
 * <p>Controlled egress (issue #14) on the same image: a second container, run the same way but with
 * {@code BGW_EGRESS_PROXY} set (as the chart sets it with {@code egress.enabled}), is the gateway's host
 * {@code buildhost-egress}, whose entrypoint sets up the bridge, the rules and the forwarder before dockerd starts; its
 * forwarder's target ({@code 127.0.0.1:3129} inside its namespace, as the chart's Service would be) leads to this
 * gateway's egress proxy. An egress build on it installs a package from the test apt mirror through the proxy and
 * cannot reach the daemon's own port on the bridge address; a second one, whose apt asks the proxy for the canary,
 * fails with the proxy's refusal (the canary sees nothing). Started without privilege, or with a rule that cannot be installed, or a malformed proxy
 * address, the image exits non-zero with the reason and dockerd never starts (fails closed).
 *
 * <p>Skipped, with the reason, only when the registry has no {@code base/debian-dockerd:13} (scripts/env.sh could not
 * make it).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@DirtiesContext
class BuildHostImageIT extends IntegrationTest {

    private static final String RUN = Long.toString(System.nanoTime() % 1_000_000_000L, 36);
    private static final String HOST = "buildhost-ctr";
    /** The same image with BGW_EGRESS_PROXY: the chart's build host with egress.enabled. */
    private static final String EGRESS_HOST = "buildhost-egress";
    /** The entrypoint's defaults (the chart's egress.bridgeCidr and egress.proxyPort). */
    private static final String BRIDGE_ADDRESS = "10.213.0.1";
    private static final int FORWARDER_PORT = 3128;
    /** Inside the egress host's namespace, where its forwarder leads (the chart: the egress Service). */
    private static final int PROXY_INSIDE = 3129;
    /** This class's folder: its gateway's data, the TLS material of both sides. */
    private static final Path WORK = DATA.resolveSibling(DATA.getFileName() + "-buildhost");
    private static final Path SERVER_TLS = WORK.resolve("host-tls");
    private static final Path GATEWAY_TLS = WORK.resolve("gateway-tls");
    private static final int PORT = freePort();
    private static final int EGRESS_PORT = freePort();

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
        ownGateway(registry, data);
        // The container first: of two idle healthy hosts the first is chosen. It is unreachable until the image is
        // built (on userns-1, last here) and started.
        registry.add("bgw.it.host0.name", () -> HOST);
        registry.add("bgw.it.host0.endpoint", () -> "tcp://127.0.0.1:" + PORT);
        registry.add("bgw.it.host0.tls-cert-path", GATEWAY_TLS::toString);
        // The egress container before userns-1: while buildhost-ctr is paused, of two idle hosts it is chosen.
        registry.add("gateway.hostpool.hosts[3].name", () -> EGRESS_HOST);
        registry.add("gateway.hostpool.hosts[3].endpoint", () -> "tcp://127.0.0.1:" + EGRESS_PORT);
        registry.add("gateway.hostpool.hosts[3].tls-cert-path", GATEWAY_TLS::toString);
        registry.add("gateway.hostpool.hosts[3].capacity", () -> "2");
        registry.add("gateway.hostpool.hosts[3].egress-address", () -> BRIDGE_ADDRESS + ":" + FORWARDER_PORT);
        registry.add("gateway.hostpool.hosts[4].name", () -> "userns-1");
        registry.add("gateway.hostpool.hosts[4].endpoint", () -> require("BGW_DOCKER_HOST"));
        registry.add("gateway.hostpool.hosts[4].capacity", () -> "2");
    }

    @Autowired
    private io.buildgateway.egress.EgressProxy proxy;

    private final String container = "bgw-buildhost-it-" + RUN;
    private final String egressContainer = "bgw-buildhost-it-egress-" + RUN;
    private final List<String> containers = new ArrayList<>();
    private final List<String> volumes = new ArrayList<>();
    private final List<Process> forwarders = new ArrayList<>();
    private boolean started;
    private String image;

    @BeforeAll
    void buildTheImageAndRunItAsABuildHost() throws IOException {
        // Skipped only when asked for (BGW_BUILDHOST_BASE=0, which also tells scripts/env.sh not to make the base);
        // otherwise a missing base is a failure, not a skip that would hide that the image was never tested.
        if (!registryHas("base/debian-dockerd", "13")) {
            Assumptions.assumeFalse("0".equals(System.getenv("BGW_BUILDHOST_BASE")), "BGW_BUILDHOST_BASE=0: the build"
                    + " host image is neither built nor run, as asked");
            org.junit.jupiter.api.Assertions.fail("base/debian-dockerd:13 is not in the registry " + registryAddress()
                    + ": scripts/env.sh up test makes it with debootstrap from Debian 13 (trixie) and could not here"
                    + " (see .state/test/debootstrap-base-debian-dockerd.log; a mirror with trixie is needed, or"
                    + " BGW_BUILDHOST_BASE=0 to skip the build host image tests deliberately)");
        }
        image = buildThroughTheGateway();
        Files.createDirectories(WORK.resolve("docker-config"));
        started = true;
        startBuildHost(container, PORT, null);
        // The egress host: its forwarder leads to 127.0.0.1:3129 in its namespace, and from there a unix socket and a
        // relay on this machine lead to this gateway's egress proxy (the chart: the egress Service).
        String pid = startBuildHost(egressContainer, EGRESS_PORT, "127.0.0.1:" + PROXY_INSIDE);
        Path egressSocket = Path.of("/run/bgw-bh-" + RUN + "-egress.sock");
        forward("socat", "UNIX-LISTEN:" + egressSocket + ",fork,unlink-early,mode=0600",
                "TCP:127.0.0.1:" + proxy.listenPort());
        forward("nsenter", "--net=/proc/" + pid + "/ns/net", "socat",
                "TCP-LISTEN:" + PROXY_INSIDE + ",bind=127.0.0.1,reuseaddr,fork", "UNIX-CONNECT:" + egressSocket);
    }

    /**
     * Runs the image as the chart's StatefulSet does — privileged, read-only root, emptyDirs for /run (dockerd's exec
     * root and the /run/containerd its containerd creates) and /tmp, the data root on a volume of its own, the TLS
     * Secret read-only, no network but loopback — with BGW_EGRESS_PROXY when {@code egressProxy} is given, and leads
     * a loopback port of this machine to its :2376 and its registry address to the token registry. Returns its pid.
     */
    private String startBuildHost(String name, int port, String egressProxy) {
        String vol = name;
        docker("volume", "create", vol);
        volumes.add(vol);
        containers.add(name);
        List<String> args = new ArrayList<>(List.of("run", "-d", "--name", name, "--privileged", "--network", "none",
                "--read-only", "--tmpfs", "/run:rw,exec,mode=0755", "--tmpfs", "/tmp:rw,exec",
                "-v", vol + ":/var/lib/build-host", "-v", SERVER_TLS + ":/etc/build-host/tls:ro"));
        if (egressProxy != null) {
            args.addAll(List.of("-e", "BGW_EGRESS_PROXY=" + egressProxy));
        }
        args.add(image);
        DockerCli.Run run = docker(args.toArray(String[]::new));
        assertThat(run.exit()).as(run.output()).isZero();
        String pid = docker("inspect", "-f", "{{.State.Pid}}", name).output().trim();
        assertThat(pid).as("the container's process").matches("[1-9][0-9]*");
        String netns = "--net=/proc/" + pid + "/ns/net";
        String registryPort = registryAddress().substring(registryAddress().lastIndexOf(':') + 1);
        Path innerSocket = Path.of("/run/bgw-bh-" + RUN + "-" + port + ".sock");
        // Inside: the registry's address leads to the token registry (the gateway mints each build's tokens) ...
        forward("nsenter", netns, "socat", "TCP-LISTEN:" + registryPort + ",bind=127.0.0.1,reuseaddr,fork",
                "UNIX-CONNECT:" + require("BGW_TOKEN_SOCKET"));
        // ... and the daemon's :2376 is reached through a unix socket, from a loopback port of this machine.
        forward("nsenter", netns, "socat", "UNIX-LISTEN:" + innerSocket + ",fork,unlink-early,mode=0600",
                "TCP:127.0.0.1:2376");
        forward("socat", "TCP-LISTEN:" + port + ",bind=127.0.0.1,reuseaddr,fork", "UNIX-CONNECT:" + innerSocket);
        return pid;
    }

    @AfterAll
    void stopTheBuildHost() {
        for (Process p : forwarders) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
        }
        for (String c : containers) {
            docker("rm", "-f", "-v", c);
        }
        for (String v : volumes) {
            docker("volume", "rm", "-f", v);
        }
        // No "docker builder prune" here: the suite's userns-1 is shared with the other JVM's classes, and a prune of
        // everything while one of their builds ran failed it in CI ("failed to get dead record …: not found").
        // The cache this image leaves is BuildCachePruneIT's to clear, while it holds the environment alone.
    }

    @Test
    @Order(1)
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
    @Order(2)
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

    @Test
    @Order(3)
    void onTheImageWithBgwEgressProxyAnEgressBuildFetchesFromTheMirrorAndReachesNothingElse() throws Exception {
        awaitHealthy(EGRESS_HOST);
        // The entrypoint's rules, read in the running container after dockerd started (dockerd changed none).
        assertThat(docker("exec", egressContainer, "cat", "/proc/sys/net/ipv4/ip_forward").output().trim())
                .isEqualTo("0");
        assertThat(docker("exec", egressContainer, "iptables-nft", "-S", "FORWARD").output()).contains("-P FORWARD DROP");
        assertThat(docker("exec", egressContainer, "iptables-nft", "-S", "BGW-EGRESS-IN").output())
                .contains("-A BGW-EGRESS-IN -d " + BRIDGE_ADDRESS + "/32 -p tcp -m tcp --dport " + FORWARDER_PORT
                        + " -j ACCEPT").contains("-A BGW-EGRESS-IN -j DROP");
        assertThat(docker("exec", egressContainer, "ebtables-nft", "-t", "filter", "-L", "FORWARD").output())
                .contains("policy: DROP").contains("-j DROP");
        assertThat(docker("exec", egressContainer, "ip", "-4", "-br", "addr", "show", "docker0").output())
                .contains(BRIDGE_ADDRESS + "/24");
        assertThat(docker("logs", egressContainer).output()).contains("build-host egress: egress path ready");

        String team = "bhe" + RUN;
        String token = builder(team);
        String mirror = require("BGW_MIRROR_URL");
        String canary = require("BGW_CANARY_URL");
        // Installs from the mirror through the proxy; then, from a step with network: the daemon's own port on the
        // bridge address (INPUT from docker0 drops all but the forwarder: the connection times out).
        String dockerfile = "FROM " + registryAddress() + "/base/debian:12\n"
                + "SHELL [\"/bin/bash\", \"-c\"]\n"
                + "RUN echo 'deb [trusted=yes] " + mirror + "/debian stable main' > /etc/apt/sources.list"
                + " && apt-get update && apt-get install -y --no-install-recommends hello"
                + " && rm -rf /var/lib/apt/lists/* && hello\n"
                + "RUN timeout 10 bash -c 'exec 3<>/dev/tcp/" + BRIDGE_ADDRESS + "/2376' 2>/dev/null"
                + " && echo daemon-port-reached"
                + " || echo daemon-port-unreachable\n"
                + "USER 65534\nHEALTHCHECK NONE\n";
        egressPolicy(token, team, mirror + "/debian/", dockerfile);
        String canaryBefore = canaryRequests();
        // buildhost-ctr (the first host) paused: of the idle healthy hosts the egress container comes first.
        docker("pause", container);
        try {
            eventually(HOST + " seen unhealthy while paused", Duration.ofMinutes(1),
                    () -> !hostStatus(HOST).path("healthy").asBoolean());
            Response accepted = submit(token, "image=" + team + "/app&tag=1&noCache=true", Tars.dockerfile(dockerfile));
            assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
            String id = read(accepted).path("id").asString();
            JsonNode done = awaitFinal(token, id, Duration.ofMinutes(6));
            String log = get(token, "/api/v1/builds/" + id + "/logs").body();
            assertThat(done.path("status").asString()).as(done + "\n" + log + "\n" + containerLog(egressContainer))
                    .isEqualTo("SUCCEEDED");
            assertThat(done.path("host").asString()).isEqualTo(EGRESS_HOST);
            assertThat(log).contains("Hello, world!").contains("network to the egress proxy only")
                    // The step's output lines (the command line itself names both words).
                    .containsPattern("#\\d+ daemon-port-unreachable").doesNotContainPattern("#\\d+ daemon-port-reached");
            List<String> urls = new ArrayList<>();
            read(get(token, "/api/v1/builds/" + id + "/fetches")).path("fetches")
                    .forEach(f -> urls.add(f.path("url").asString()));
            assertThat(urls).anyMatch(u -> u.startsWith(mirror + "/debian/pool/main/hello_"));

            // The canary, asked of the proxy by apt on the same host: refused with the proxy's line, never reached.
            String toCanary = "FROM " + registryAddress() + "/base/debian:12\n"
                    + "RUN echo 'deb [trusted=yes] " + canary + "/debian stable main' > /etc/apt/sources.list"
                    + " && apt-get update && apt-get install -y --no-install-recommends hello\n"
                    + "USER 65534\nHEALTHCHECK NONE\n";
            Response second = submit(token, "image=" + team + "/canary&tag=1&noCache=true", Tars.dockerfile(toCanary));
            assertThat(second.status()).as(second.body()).isEqualTo(202);
            String refusedId = read(second).path("id").asString();
            JsonNode refused = awaitFinal(token, refusedId, Duration.ofMinutes(6));
            String refusedLog = get(token, "/api/v1/builds/" + refusedId + "/logs").body();
            assertThat(refused.path("status").asString()).as(refusedLog).isEqualTo("FAILED");
            assertThat(refused.path("host").asString()).isEqualTo(EGRESS_HOST);
            assertThat(refusedLog).contains("egress refused: " + canary + "/debian/").contains("team " + team);
            assertThat(auditCount("build.egress-refused", "build/" + refusedId)).isPositive();
        } finally {
            docker("unpause", container);
        }
        assertThat(canaryRequests()).isEqualTo(canaryBefore);
    }

    @Test
    @Order(4)
    void withBgwEgressProxyTheImageFailsClosedWhenItsRulesCannotBeInstalled() {
        Assumptions.assumeTrue(started, "the build host image was not built");
        // As the chart runs it, minus privilege (no NET_ADMIN, /proc/sys read-only): no rule can be installed.
        assertFailsClosed("unprivileged", List.of("--cap-drop", "ALL"), "cannot set /proc/sys/net/ipv4/ip_forward");
        // Privileged, but the bridge filter cannot be installed (as on a kernel without nf_tables' bridge family).
        assertFailsClosed("no-bridge-filter", List.of("--privileged", "-e", "BGW_EBTABLES=/bin/false"),
                "-t filter -P FORWARD DROP failed");
        // Privileged, but the proxy's address is malformed.
        assertFailsClosed("bad-proxy", List.of("--privileged", "-e", "BGW_EGRESS_PROXY=no-port-here"),
                "BGW_EGRESS_PROXY=no-port-here is not <host>:<port>");
    }

    /** Runs the image with BGW_EGRESS_PROXY and {@code extra}: it must exit 1 with the reason, dockerd never started. */
    private void assertFailsClosed(String label, List<String> extra, String reason) {
        String name = container + "-" + label;
        containers.add(name);
        List<String> args = new ArrayList<>(List.of("run", "--name", name, "--network", "none", "--read-only",
                "--tmpfs", "/run:rw,exec,mode=0755", "--tmpfs", "/tmp:rw,exec",
                "-v", SERVER_TLS + ":/etc/build-host/tls:ro", "-e", "BGW_EGRESS_PROXY=127.0.0.1:" + PROXY_INSIDE));
        args.addAll(extra);
        args.add(image);
        DockerCli.Run run = docker(args.toArray(String[]::new));
        String logs = docker("logs", name).output();
        assertThat(run.exit()).as(label + ": " + logs).isEqualTo(1);
        assertThat(docker("inspect", "-f", "{{.State.ExitCode}}", name).output().trim()).isEqualTo("1");
        assertThat(logs).as(label).contains("build-host egress: FATAL: ").contains(reason)
                .contains("dockerd is not started");
        // dockerd never ran: none of its start-up lines, no API listener.
        assertThat(logs).as(label).doesNotContain("API listen").doesNotContain("Starting up")
                .doesNotContain("egress path ready");
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    /**
     * Builds Dockerfile.buildhost through this class's gateway, as team platform, and returns the pushed reference.
     * Another team's image of the same Dockerfile is refused: the waivers name platform/build-host only.
     */
    private String buildThroughTheGateway() throws IOException {
        Tars tar = Tars.tar().file("Dockerfile", Files.readString(Path.of("Dockerfile.buildhost")));
        for (String f : List.of("daemon.json", "subuid", "subgid", "entrypoint.sh")) {
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
        awaitHealthy(HOST);
    }

    private void awaitHealthy(String host) {
        Assumptions.assumeTrue(started, "the build host container was not started");
        eventually("health check of " + host + " passing", Duration.ofMinutes(2),
                () -> hostStatus(host).path("healthy").asBoolean());
    }

    private JsonNode hostStatus() {
        return hostStatus(HOST);
    }

    private JsonNode hostStatus(String name) {
        for (JsonNode h : read(get(ADMIN_SECRET, "/api/v1/hosts"))) {
            if (h.path("name").asString().equals(name)) {
                return h;
            }
        }
        throw new AssertionError("GET /api/v1/hosts does not list " + name);
    }

    private String containerLog() {
        return containerLog(container);
    }

    private String containerLog(String name) {
        return "container log (tail):\n" + docker("logs", "--tail", "40", name).output();
    }

    private String canaryRequests() throws IOException {
        Path log = Path.of(require("BGW_CANARY_LOG"));
        return Files.exists(log) ? Files.readString(log) : "";
    }

    /**
     * Gives the team the one allowlist entry and switches off the lint rules that would block the Dockerfile (as
     * EgressBuildIT does), then waits for the policy to be reloaded.
     */
    private void egressPolicy(String token, String team, String entry, String dockerfile) throws IOException {
        String before = read(get(token, "/api/v1/policy")).path("digest").asString();
        StringBuilder doc = new StringBuilder("teams:\n  " + team + ":\n    egress:\n      - \"" + entry + "\"\n");
        List<String> blocking = new ArrayList<>();
        JsonNode lint = read(send(request(token, "/api/v1/lint?image=" + team + "/app")
                .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString(dockerfile))));
        for (JsonNode f : lint.path("findings")) {
            String rule = f.path("rule").asString();
            if (f.path("severity").asString().equals("error") && !blocking.contains(rule)
                    && !rule.equals("add-url-outside-egress")) {
                blocking.add(rule);
            }
        }
        if (!blocking.isEmpty()) {
            doc.append("    rules:\n");
            blocking.forEach(r -> doc.append("      ").append(r).append(": \"off\"\n"));
        }
        Files.writeString(POLICY.resolve("zz-egress-" + team + ".yaml"), doc.toString());
        eventually("the policy change being picked up", Duration.ofSeconds(15),
                () -> !read(get(token, "/api/v1/policy")).path("digest").asString().equals(before));
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

    /**
     * A free port below the kernel's ephemeral range (32768+): the forwarder binds it only later, and a port from that
     * range can be taken meanwhile by an outgoing connection of this JVM (seen: "Address already in use").
     */
    private static int freePort() {
        java.util.Random random = new java.util.Random();
        for (int i = 0; i < 200; i++) {
            int port = 20000 + random.nextInt(12000);
            try (ServerSocket s = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (IOException taken) {
                // try another
            }
        }
        throw new IllegalStateException("no free port in 20000-31999");
    }
}
