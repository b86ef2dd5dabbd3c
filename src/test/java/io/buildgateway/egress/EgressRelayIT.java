package io.buildgateway.egress;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.buildgateway.support.IntegrationTest;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * Several replicas (docs/egress.md): replica A is the suite's gateway, whose proxy holds the sessions its builds open;
 * replica B is a second egress proxy on a listener of its own with the same database (its own {@link EgressProxy} over
 * the same {@code egress_session} and records), as a second gateway pod behind one Service would be. A build step's
 * connection that lands on B is relayed to A and recorded once, by A; wrong, closed or ended sessions get 407 on B.
 */
class EgressRelayIT extends IntegrationTest {

    private static final List<String> MIRROR_REQUESTS = new CopyOnWriteArrayList<>();
    private static final byte[] JAR = "a jar, relayed".getBytes(StandardCharsets.UTF_8);
    private static HttpServer mirror;

    @Autowired
    private Egress egress;
    @Autowired
    private EgressProxy replicaA;
    @Autowired
    private EgressRecords records;
    @Autowired
    private EgressSessions sessions;
    @Autowired
    private MeterRegistry metersA;

    private EgressProxy replicaB;
    private final SimpleMeterRegistry metersB = new SimpleMeterRegistry();

    @BeforeAll
    static void mirror() throws IOException {
        mirror = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        mirror.createContext("/", exchange -> {
            StringBuilder r = new StringBuilder(exchange.getRequestMethod() + " " + exchange.getRequestURI());
            exchange.getRequestHeaders().forEach((k, v) -> r.append(" | ").append(k.toLowerCase()).append('=')
                    .append(v));
            MIRROR_REQUESTS.add(r.toString());
            if (exchange.getRequestURI().getPath().equals("/m2/x.jar")) {
                exchange.sendResponseHeaders(200, JAR.length);
                exchange.getResponseBody().write(JAR);
            } else {
                exchange.sendResponseHeaders(404, -1);
            }
            exchange.close();
        });
        mirror.start();
    }

    @AfterAll
    static void stopMirror() {
        mirror.stop(0);
    }

    private synchronized EgressProxy replicaB() {
        if (replicaB == null) {
            replicaB = new EgressProxy(new EgressProperties("127.0.0.1:0", 0, Duration.ofSeconds(5),
                    Duration.ofSeconds(20), Duration.ofSeconds(30), 8,
                    org.springframework.util.unit.DataSize.ofMegabytes(10), "", Duration.ofSeconds(30)), records,
                    sessions, metersB,
                    Clock.systemUTC());
            replicaB.start();
        }
        return replicaB;
    }

    @org.junit.jupiter.api.AfterEach
    void stopB() {
        if (replicaB != null) {
            replicaB.stop();
            replicaB = null;
        }
    }

    private static String m2() {
        return "http://127.0.0.1:" + mirror.getAddress().getPort() + "/m2/";
    }

    /** A build RUNNING on replica A under an unexpired lease, as the dispatcher leaves it. */
    private UUID runningBuild() {
        UUID id = UUID.randomUUID();
        jdbc.update("insert into build (id, image, tag, team, status, requested_by, requested_at, started_at,"
                + " context_digest, context_size, dockerfile, build_args, labels, lease_owner, lease_expires_at)"
                + " values (?, 'egress-relay/app', 'latest', 'egress-relay', 'RUNNING', 'it', now(), now(), ?, 0,"
                + " 'Dockerfile', '{}', '{}', 'replica-a', now() + interval '10 minutes')", id,
                "sha256:" + "0".repeat(64));
        return id;
    }

    private void ended(UUID build) {
        jdbc.update("update build set status = 'FAILED', finished_at = now(), lease_owner = null,"
                + " lease_expires_at = null where id = ? and status = 'RUNNING'", build);
    }

    private EgressSession open(UUID build, List<String> allow) {
        return egress.open(new EgressGrant(build, "egress-relay", "sha256:" + "cd".repeat(32), allow, false, null,
                Set.of()), line -> { });
    }

    private static HttpResponse<byte[]> fetchVia(EgressProxy replica, UUID build, String secret, String url,
            Map<String, String> headers) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20))
                .header("Proxy-Authorization", "Basic " + Base64.getEncoder().encodeToString(
                        ("build-" + build + ":" + secret).getBytes(StandardCharsets.UTF_8)));
        headers.forEach(r::header);
        return HttpClient.newBuilder().proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", replica.listenPort())))
                .connectTimeout(Duration.ofSeconds(5)).build().send(r.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private double relaysOnB() {
        return metersB.counter("gateway.egress.relays").count();
    }

    private long authFailures(String reasonLike) {
        return jdbc.queryForObject("select count(*) from audit_event where action = 'egress.proxy-auth-failed'"
                + " and outcome = 'DENIED' and details like ?", Long.class, "%" + reasonLike + "%");
    }

    @Test
    void aFetchThroughTheReplicaWithoutTheSessionIsRelayedToItsHolderAndRecordedOnce() throws Exception {
        UUID build = runningBuild();
        EgressSession s = open(build, List.of(m2(), "https://127.0.0.1:" + mirror.getAddress().getPort() + "/"));
        EgressProxy b = replicaB();
        try {
            // the row names A's listener and holds the secret's hash, never the secret
            Map<String, Object> row = jdbc.queryForMap("select peer_address, secret_sha256, closed_at from"
                    + " egress_session where build_id = ?", build);
            assertThat(row.get("peer_address")).isEqualTo(replicaA.peerAddress())
                    .isEqualTo("127.0.0.1:" + replicaA.listenPort());
            assertThat(row.get("secret_sha256")).isEqualTo(EgressRelay.sha256(s.secret()));
            assertThat(row.get("closed_at")).isNull();
            assertThat(jdbc.queryForObject("select count(*) from egress_session where secret_sha256 = ?"
                    + " or peer_address like ?", Long.class, s.secret(), "%" + s.secret() + "%")).isZero();
            assertThat(b.peerAddress()).isNotEqualTo(replicaA.peerAddress());
            double relaysOnA = metersA.counter("gateway.egress.relays").count();
            int mirrorBefore = MIRROR_REQUESTS.size();

            // a client-sent marker asks B not to relay: 407, nothing passes (it takes nothing from the checks either)
            HttpResponse<byte[]> marked = fetchVia(b, build, s.secret(), m2() + "x.jar",
                    Map.of("X-Build-Gateway-Relayed", "1"));
            assertThat(marked.statusCode()).isEqualTo(407);
            assertThat(relaysOnB()).isZero();
            assertThat(authFailures("a relayed request is not relayed again")).isPositive();

            HttpResponse<byte[]> r = fetchVia(b, build, s.secret(), m2() + "x.jar", Map.of());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo(JAR);
            assertThat(relaysOnB()).isEqualTo(1);
            assertThat(metersA.counter("gateway.egress.relays").count()).isEqualTo(relaysOnA);
            // curl, as a RUN step would call it, with its HTTP_PROXY pointing at B
            assertThat(run("curl", "-sS", "-o", "/dev/null", "-w%{http_code}", "-x", "http://build-" + build + ":"
                    + s.secret() + "@127.0.0.1:" + b.listenPort(), m2() + "x.jar")).isEqualTo("200");
            // a CONNECT tunnel through B (curl -p), to the https entry
            assertThat(run("curl", "-sS", "-o", "/dev/null", "-w%{http_code}", "-p", "-x", "http://build-" + build
                    + ":" + s.secret() + "@127.0.0.1:" + b.listenPort(), m2() + "x.jar")).isEqualTo("200");
            assertThat(relaysOnB()).isEqualTo(3);
            // (in the session's memory first, then in its own transaction: the test waits for both)
            eventually("the tunnel and fetches being recorded by A", Duration.ofSeconds(10),
                    () -> !s.record().tunnels().isEmpty() && s.record().fetches().size() == 2
                            && jdbc.queryForObject("select count(*) from build_tunnel where build_id = ?", Long.class,
                                    build) == 1
                            && jdbc.queryForObject("select count(*) from build_fetch where build_id = ?", Long.class,
                                    build) == 2);

            // the holder judged and recorded each once; the mirror never saw the marker or the credentials
            assertThat(s.record().fetches()).hasSize(2).allSatisfy(f -> {
                assertThat(f.url()).isEqualTo(m2() + "x.jar");
                assertThat(f.sha256()).isEqualTo(EgressRelay.sha256(new String(JAR, StandardCharsets.UTF_8)));
            });
            assertThat(jdbc.queryForObject("select count(*) from build_fetch where build_id = ?", Long.class, build))
                    .isEqualTo(2);
            assertThat(auditCount("build.fetch", "build/" + build)).isEqualTo(2);
            assertThat(jdbc.queryForObject("select count(*) from build_tunnel where build_id = ?", Long.class, build))
                    .isEqualTo(1);
            assertThat(MIRROR_REQUESTS.subList(mirrorBefore, MIRROR_REQUESTS.size())).hasSize(3)
                    .noneMatch(m -> m.contains("relayed") || m.contains("proxy-authorization"));
            // directly at A, a marker changes nothing: fully authenticated, judged, not passed on
            HttpResponse<byte[]> direct = fetchVia(replicaA, build, s.secret(), m2() + "x.jar",
                    Map.of("X-Build-Gateway-Relayed", "1"));
            assertThat(direct.statusCode()).isEqualTo(200);
            assertThat(MIRROR_REQUESTS.get(MIRROR_REQUESTS.size() - 1)).doesNotContain("relayed");
            // outside the allowlist: A refuses it, with its build-log line, though it came through B
            HttpResponse<byte[]> refused = fetchVia(b, build, s.secret(), "http://127.0.0.1:1/elsewhere", Map.of());
            assertThat(refused.statusCode()).isEqualTo(403);
            assertThat(new String(refused.body(), StandardCharsets.UTF_8)).contains("egress refused")
                    .contains("team egress-relay");
            assertThat(auditCount("build.egress-refused", "build/" + build)).isEqualTo(1);
        } finally {
            s.close();
            ended(build);
        }
        assertThat(jdbc.queryForObject("select closed_at is not null from egress_session where build_id = ?",
                Boolean.class, build)).isTrue();
        // closed: B finds no open session, A none in memory
        double relays = relaysOnB();
        assertThat(fetchVia(replicaB(), build, s.secret(), m2() + "x.jar", Map.of()).statusCode()).isEqualTo(407);
        assertThat(relaysOnB()).isEqualTo(relays);
        assertThat(jdbc.queryForObject("select count(*) from audit_event where details like ?", Long.class,
                "%" + s.secret() + "%")).isZero();
    }

    @Test
    void aWrongSecretAnEndedBuildOrALapsedLeaseGet407OnTheReplicaWithoutTheSession() throws Exception {
        UUID build = runningBuild();
        EgressSession s = open(build, List.of(m2()));
        UUID otherBuild = runningBuild();
        EgressSession other = open(otherBuild, List.of(m2()));
        EgressProxy b = replicaB();
        int mirrorBefore = MIRROR_REQUESTS.size();
        try {
            long before = authFailures("unknown or closed credentials for build " + build);
            assertThat(fetchVia(b, build, "0".repeat(64), m2() + "x.jar", Map.of()).statusCode()).isEqualTo(407);
            // another build's secret does not open this build's session through the relay either
            assertThat(fetchVia(b, build, other.secret(), m2() + "x.jar", Map.of()).statusCode()).isEqualTo(407);
            assertThat(authFailures("unknown or closed credentials for build " + build)).isEqualTo(before + 2);
            assertThat(relaysOnB()).isZero();

            // the build ended (its row no longer RUNNING) while the session is still open on A
            jdbc.update("update build set status = 'CANCELLED' where id = ?", build);
            assertThat(fetchVia(b, build, s.secret(), m2() + "x.jar", Map.of()).statusCode()).isEqualTo(407);
            jdbc.update("update build set status = 'RUNNING' where id = ?", build);
            assertThat(fetchVia(b, build, s.secret(), m2() + "x.jar", Map.of()).statusCode()).isEqualTo(200);
            assertThat(relaysOnB()).isEqualTo(1);

            // its lease lapsed (A lost it; recovery fails it, cancel_requested keeps it from being re-queued)
            jdbc.update("update build set lease_expires_at = now() - interval '1 second', cancel_requested = true"
                    + " where id = ?", build);
            assertThat(fetchVia(b, build, s.secret(), m2() + "x.jar", Map.of()).statusCode()).isEqualTo(407);
            assertThat(relaysOnB()).isEqualTo(1);
        } finally {
            s.close();
            other.close();
            ended(build);
            ended(otherBuild);
        }
        assertThat(MIRROR_REQUESTS.size() - mirrorBefore).isEqualTo(1);
    }

    /** The holder recorded in the row does not answer (its replica went away before its lease lapsed): 502. */
    @Test
    void aHolderThatDoesNotAnswerGives502() throws Exception {
        UUID build = runningBuild();
        int closedPort;
        try (java.net.ServerSocket gone = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = gone.getLocalPort();
        }
        String secret = "ef".repeat(32);
        sessions.opened(build, "127.0.0.1:" + closedPort, EgressRelay.sha256(secret));
        try {
            HttpResponse<byte[]> r = fetchVia(replicaB(), build, secret, m2() + "x.jar", Map.of());
            assertThat(r.statusCode()).isEqualTo(502);
            assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains("did not answer").doesNotContain(secret);
            assertThat(relaysOnB()).isZero();
        } finally {
            sessions.closed(build, EgressRelay.sha256(secret));
            ended(build);
        }
    }

    /** A relayed request that reaches a replica without the session is answered 407 there: never relayed on. */
    @Test
    void aRelayedRequestForASessionTheTargetDoesNotHoldGets407() throws Exception {
        UUID build = runningBuild();
        EgressProxy b = replicaB();
        EgressSession onB = b.open(new EgressGrant(build, "egress-relay", "sha256:" + "cd".repeat(32), List.of(m2()),
                false, null, Set.of()), line -> { });
        try {
            assertThat(jdbc.queryForObject("select peer_address from egress_session where build_id = ?",
                    String.class, build)).isEqualTo(b.peerAddress());
            // through A, unmarked: relayed to B, which holds it
            assertThat(fetchVia(replicaA, build, onB.secret(), m2() + "x.jar", Map.of()).statusCode())
                    .isEqualTo(200);
            // recorded once the body has passed (the client may have it a moment before)
            eventually("B recording the fetch", Duration.ofSeconds(10), () -> onB.record().fetches().size() == 1);
            // as B would receive a relay from a replica with a stale view: marked, at A, which does not hold it
            try (Socket socket = new Socket("127.0.0.1", replicaA.listenPort())) {
                socket.setSoTimeout(10_000);
                OutputStream out = socket.getOutputStream();
                out.write(("GET " + m2() + "x.jar HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic "
                        + Base64.getEncoder().encodeToString(("build-" + build + ":" + onB.secret())
                                .getBytes(StandardCharsets.UTF_8)) + "\r\nX-Build-Gateway-Relayed: 1\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = socket.getInputStream();
                assertThat(new String(in.readAllBytes(), StandardCharsets.ISO_8859_1))
                        .startsWith("HTTP/1.1 407 ").contains("a relayed request is not relayed again");
            }
            assertThat(onB.record().fetches()).hasSize(1);
        } finally {
            onB.close();
            ended(build);
        }
    }
}
