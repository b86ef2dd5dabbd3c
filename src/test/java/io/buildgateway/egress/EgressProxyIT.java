package io.buildgateway.egress;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.buildgateway.policy.PolicyEvaluator;
import io.buildgateway.support.Canary;
import io.buildgateway.support.IntegrationTest;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;

/**
 * The egress proxy over real sockets: java.net.http.HttpClient and curl -x as the build steps' clients, a local HTTP
 * mirror, and a canary that must never see a request. Sessions are opened as the build side opens them; the records
 * are read back through the API with the same access rules as the build.
 */
class EgressProxyIT extends IntegrationTest {

    private static final Map<String, byte[]> MIRROR_FILES = new ConcurrentHashMap<>();
    private static final List<String> MIRROR_REQUESTS = new CopyOnWriteArrayList<>();
    private static HttpServer mirror;
    private static Canary canary;

    @Autowired
    private Egress egress;
    @Autowired
    private EgressProxy proxy;
    @Autowired
    private PolicyEvaluator policy;

    @BeforeAll
    static void servers() throws IOException {
        mirror = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        mirror.createContext("/", exchange -> {
            MIRROR_REQUESTS.add(exchange.getRequestMethod() + " " + exchange.getRequestURI()
                    + (exchange.getRequestHeaders().containsKey("Proxy-Authorization") ? " WITH-PROXY-AUTH" : ""));
            String path = exchange.getRequestURI().getRawPath();
            if (path.equals("/m2/moved")) {
                exchange.getResponseHeaders().add("Location", "http://127.0.0.1:" + canary.port() + "/stolen");
                exchange.sendResponseHeaders(302, -1);
                exchange.close();
                return;
            }
            byte[] body = MIRROR_FILES.get(path);
            if (body == null) {
                exchange.sendResponseHeaders(404, -1);
            } else {
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
            }
            exchange.close();
        });
        mirror.start();
        canary = Canary.start();
    }

    @AfterAll
    static void stopServers() {
        mirror.stop(0);
        canary.close();
    }

    private static int mirrorPort() {
        return mirror.getAddress().getPort();
    }

    private static String m2() {
        return "http://127.0.0.1:" + mirrorPort() + "/m2/";
    }

    /** A build row of the team, as a submission would have left it (the records refer to it). */
    private UUID buildRow(String team) {
        UUID id = UUID.randomUUID();
        jdbc.update("insert into build (id, image, tag, team, status, requested_by, requested_at, context_digest,"
                + " context_size, dockerfile, build_args, labels) values (?, ?, 'latest', ?, 'SUCCEEDED', 'it', ?,"
                + " ?, 0, 'Dockerfile', '{}', '{}')", id, team + "/app", team, Timestamp.from(Instant.now()),
                "sha256:" + "0".repeat(64));
        return id;
    }

    private record Opened(UUID build, EgressSession session, List<String> log) {
        String user() {
            return "build-" + build;
        }
    }

    private Opened open(String team, List<String> allow, boolean refuseTunnels, Map<String, String> pinned) {
        UUID build = buildRow(team);
        List<String> log = new CopyOnWriteArrayList<>();
        EgressSession s = egress.open(new EgressGrant(build, team, "sha256:" + "ab".repeat(32), allow, refuseTunnels,
                pinned, Set.of()), log::add);
        return new Opened(build, s, log);
    }

    private HttpClient viaProxy() {
        return HttpClient.newBuilder().proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", proxy.listenPort())))
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    private HttpResponse<byte[]> fetch(Opened o, String url) throws Exception {
        return fetchWith(o.user(), o.session.secret(), url);
    }

    private HttpResponse<byte[]> fetchWith(String user, String secret, String url) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20));
        if (user != null) {
            r.header("Proxy-Authorization", "Basic " + Base64.getEncoder().encodeToString(
                    (user + ":" + secret).getBytes(StandardCharsets.UTF_8)));
        }
        return viaProxy().send(r.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    /** curl -x with the session's proxy URL (credentials in it, as HTTP_PROXY carries them); returns the status. */
    private static String curl(String proxyUrl, String... args) {
        String[] command = new String[6 + args.length];
        command[0] = "curl";
        command[1] = "-sS";
        command[2] = "-o";
        command[3] = "/dev/null";
        command[4] = "-w%{http_code}";
        command[5] = "-x" + proxyUrl;
        System.arraycopy(args, 0, command, 6, args.length);
        return run(command);
    }

    @Test
    void anAllowedFetchIsStreamedAndRecordedWithItsDigestAndSize() throws Exception {
        byte[] jar = new byte[300_000];
        new java.util.Random(7).nextBytes(jar);
        MIRROR_FILES.put("/m2/org/x/x-1.0.jar", jar);
        Opened o = open("egress-a", List.of(m2()), false, null);
        try {
            HttpResponse<byte[]> r = fetch(o, m2() + "org/x/x-1.0.jar");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo(jar);
            // curl, as a RUN step would call it with HTTP_PROXY
            assertThat(curl(o.session.proxyUrl(), m2() + "org/x/x-1.0.jar")).isEqualTo("200");
            // the proxy records a fetch once the whole body has passed, which the client may see first
            eventually("both fetches being recorded", Duration.ofSeconds(10),
                    () -> o.session.record().fetches().size() == 2);
            assertThat(o.session.record().fetches()).hasSize(2).allSatisfy(f -> {
                assertThat(f.url()).isEqualTo(m2() + "org/x/x-1.0.jar");
                assertThat(f.status()).isEqualTo(200);
                assertThat(f.size()).isEqualTo(jar.length);
                try {
                    assertThat(f.sha256()).isEqualTo(sha256Hex(jar));
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
        } finally {
            o.session.close();
        }
        assertThat(jdbc.queryForObject("select count(*) from build_fetch where build_id = ? and sha256 = ? and size = ?",
                Long.class, o.build, sha256Hex(jar), (long) jar.length)).isEqualTo(2);
        assertThat(auditCount("build.fetch", "build/" + o.build)).isEqualTo(2);
        // the mirror never sees the build's credentials
        assertThat(MIRROR_REQUESTS).noneMatch(r -> r.contains("WITH-PROXY-AUTH"));
        assertThat(jdbc.queryForObject("select count(*) from audit_event where details::text like ?", Long.class,
                "%" + o.session.secret() + "%")).isZero();
    }

    @Test
    void aUrlOutsideTheAllowlistIsRefusedLoggedAuditedAndNeverReachesItsServer() throws Exception {
        MIRROR_FILES.put("/m2-secret/key", "secret".getBytes(StandardCharsets.UTF_8));
        canary.clear();
        int mirrorBefore = MIRROR_REQUESTS.size();
        Opened o = open("egress-a", List.of(m2()), false, null);
        try {
            HttpResponse<byte[]> r = fetch(o, "http://127.0.0.1:" + canary.port() + "/anything");
            assertThat(r.statusCode()).isEqualTo(403);
            String expected = "egress refused: http://127.0.0.1:" + canary.port() + "/anything is not in the egress"
                    + " allowlist of team egress-a (policy sha256:" + "ab".repeat(32) + ")";
            assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains(expected);
            assertThat(o.log).contains(expected);
            // a prefix ends at a segment boundary; traversal and encoded separators are refused, not normalised
            assertThat(fetch(o, "http://127.0.0.1:" + mirrorPort() + "/m2-secret/key").statusCode()).isEqualTo(403);
            assertThat(curl(o.session.proxyUrl(), "--path-as-is", m2() + "../m2-secret/key")).isEqualTo("403");
            assertThat(curl(o.session.proxyUrl(), "--path-as-is", m2() + "%2e%2e/m2-secret/key")).isEqualTo("403");
            assertThat(curl(o.session.proxyUrl(), "--path-as-is", m2() + "..%2Fm2-secret/key")).isEqualTo("403");
            // POST is refused whatever the URL
            assertThat(curl(o.session.proxyUrl(), "-d", "x", m2() + "org/x/x-1.0.jar")).isEqualTo("405");
            // a redirect is passed to the client unchanged; following it, the new URL is judged again
            assertThat(fetch(o, m2() + "moved").statusCode()).isEqualTo(302);
            assertThat(curl(o.session.proxyUrl(), "-L", m2() + "moved")).isEqualTo("403");
        } finally {
            o.session.close();
        }
        assertThat(canary.requests()).isEmpty();
        assertThat(MIRROR_REQUESTS.subList(mirrorBefore, MIRROR_REQUESTS.size()))
                .allMatch(r -> r.startsWith("GET /m2/moved"));
        assertThat(auditCount("build.egress-refused", "build/" + o.build)).isEqualTo(7);
        assertThat(jdbc.queryForObject("select count(*) from audit_event where action = 'build.egress-refused'"
                + " and target = ? and outcome = 'DENIED'", Long.class, "build/" + o.build)).isEqualTo(7);
        assertThat(o.session.record().refusals()).hasSize(7);
        assertThat(jdbc.queryForObject("select count(*) from build_egress_refusal where build_id = ?", Long.class,
                o.build)).isEqualTo(7);
    }

    /**
     * The proxy's own parser against what a hostile build step can write on its socket: each request below is
     * answered with a 4xx (never a 2xx, never silence), reaches neither the mirror nor the canary, and the proxy
     * serves the session's allowed fetch afterwards.
     */
    /**
     * A build re-queued after its replica was lost runs again with a new session: that run's fetches are recorded
     * after the first run's, with their events. Before (a review's finding, 2026-12-06), each session numbered its
     * records from 0: the second run's inserts met the primary key and were lost with their events.
     */
    @Test
    void aSecondRunOfABuildRecordsItsFetchesAfterTheFirstRuns() throws Exception {
        MIRROR_FILES.put("/m2/again.txt", "again".getBytes(StandardCharsets.UTF_8));
        Opened first = open("egress-a", List.of(m2()), false, null);
        try {
            assertThat(fetch(first, m2() + "again.txt").statusCode()).isEqualTo(200);
        } finally {
            first.session.close();
        }
        List<String> log = new CopyOnWriteArrayList<>();
        EgressSession again = egress.open(new EgressGrant(first.build(), "egress-a", "sha256:" + "ab".repeat(32),
                List.of(m2()), false, null, Set.of()), log::add);
        Opened second = new Opened(first.build(), again, log);
        try {
            assertThat(fetch(second, m2() + "again.txt").statusCode()).isEqualTo(200);
            assertThat(fetch(second, "http://127.0.0.1:" + canary.port() + "/not-allowed").statusCode())
                    .isEqualTo(403);
        } finally {
            again.close();
        }
        assertThat(jdbc.queryForList("select seq from build_fetch where build_id = ? order by seq", Long.class,
                first.build())).hasSize(2).doesNotHaveDuplicates();
        assertThat(jdbc.queryForObject("select count(*) from build_egress_refusal where build_id = ?", Long.class,
                first.build())).isOne();
        assertThat(jdbc.queryForObject("select count(*) from audit_event where action = 'build.fetch' and target = ?",
                Long.class, "build/" + first.build())).isEqualTo(2);
    }

    @Test
    void malformedAndConfusingProxyRequestsAreRefusedAndReachNothing() throws Exception {
        MIRROR_FILES.put("/m2/ok.txt", "ok".getBytes(StandardCharsets.UTF_8));
        canary.clear();
        Opened o = open("egress-a", List.of(m2()), false, null);
        int mirrorBefore = MIRROR_REQUESTS.size();
        long seqBefore = jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);
        try {
            String auth = "Proxy-Authorization: Basic " + Base64.getEncoder().encodeToString((o.user() + ":"
                    + o.session.secret()).getBytes(StandardCharsets.UTF_8)) + "\r\n";
            String mirrorHost = "127.0.0.1:" + mirrorPort();
            String canaryHost = "127.0.0.1:" + canary.port();
            Map<String, String> requests = new java.util.LinkedHashMap<>();
            requests.put("garbage", "HELLO\r\n\r\n");
            requests.put("no target", "GET  HTTP/1.1\r\n" + auth + "\r\n");
            requests.put("lower-case method", "get http://" + mirrorHost + "/m2/ok.txt HTTP/1.1\r\n" + auth + "\r\n");
            requests.put("HTTP/2.0", "GET http://" + mirrorHost + "/m2/ok.txt HTTP/2.0\r\n" + auth + "\r\n");
            requests.put("NUL in a header", "GET http://" + mirrorHost + "/m2/ok.txt HTTP/1.1\r\nX-A: a\0b\r\n" + auth
                    + "\r\n");
            requests.put("bare CR", "GET http://" + mirrorHost + "/m2/ok.txt HTTP/1.1\r\nX-A: a\rb\r\n" + auth
                    + "\r\n");
            requests.put("folded header", "GET http://" + mirrorHost + "/m2/ok.txt HTTP/1.1\r\n" + auth
                    + " continued\r\n\r\n");
            requests.put("a 40 KiB head", "GET http://" + mirrorHost + "/m2/ok.txt HTTP/1.1\r\n" + auth + "X-Big: "
                    + "b".repeat(40 * 1024) + "\r\n\r\n");
            requests.put("101 headers", "GET http://" + mirrorHost + "/m2/ok.txt HTTP/1.1\r\n" + auth
                    + "X-H: h\r\n".repeat(101) + "\r\n");
            requests.put("credentials not base64", "GET http://" + mirrorHost + "/m2/ok.txt HTTP/1.1\r\n"
                    + "Proxy-Authorization: Basic !!!\r\n\r\n");
            requests.put("credentials without a colon", "GET http://" + mirrorHost + "/m2/ok.txt HTTP/1.1\r\n"
                    + "Proxy-Authorization: Basic " + Base64.getEncoder().encodeToString(o.user().getBytes(
                    StandardCharsets.UTF_8)) + "\r\n\r\n");
            requests.put("a build id that is no UUID", "GET http://" + mirrorHost + "/m2/ok.txt HTTP/1.1\r\n"
                    + "Proxy-Authorization: Basic " + Base64.getEncoder().encodeToString(("build-../x:"
                    + o.session.secret()).getBytes(StandardCharsets.UTF_8)) + "\r\n\r\n");
            requests.put("two credentials", "GET http://" + mirrorHost + "/m2/ok.txt HTTP/1.1\r\n" + auth + auth
                    + "\r\n");
            requests.put("origin form", "GET /m2/ok.txt HTTP/1.1\r\nHost: " + mirrorHost + "\r\n" + auth + "\r\n");
            requests.put("userinfo naming the mirror, host the canary", "GET http://" + mirrorHost + "@" + canaryHost
                    + "/m2/ok.txt HTTP/1.1\r\n" + auth + "\r\n");
            requests.put("backslash authority", "GET http://" + canaryHost + "\\@" + mirrorHost
                    + "/m2/ok.txt HTTP/1.1\r\n" + auth + "\r\n");
            requests.put("encoded NUL in the path", "GET http://" + canaryHost + "/%00 HTTP/1.1\r\n" + auth + "\r\n");
            requests.put("a body on GET", "GET http://" + mirrorHost + "/m2/ok.txt HTTP/1.1\r\n" + auth
                    + "Transfer-Encoding: chunked\r\n\r\nzz\r\n");
            requests.put("two lengths", "GET http://" + mirrorHost + "/m2/ok.txt HTTP/1.1\r\n" + auth
                    + "Content-Length: 0\r\nContent-Length: 5\r\n\r\nhello");
            requests.put("TRACE", "TRACE http://" + mirrorHost + "/m2/ok.txt HTTP/1.1\r\n" + auth + "\r\n");
            requests.put("CONNECT without a port", "CONNECT 127.0.0.1 HTTP/1.1\r\n" + auth + "\r\n");
            requests.put("CONNECT to the canary", "CONNECT " + canaryHost + " HTTP/1.1\r\n" + auth + "\r\n");
            requests.put("a head that never ends", "GET http://" + mirrorHost + "/m2/ok.txt HTTP/1.1\r\n" + auth);
            List<String> wrong = new java.util.ArrayList<>();
            for (var r : requests.entrySet()) {
                int status = rawStatus(r.getValue());
                if (status < 400 || status > 499) {
                    wrong.add(r.getKey() + " -> " + status);
                }
            }
            assertThat(wrong).as("answers that are not a 4xx").isEmpty();
            // Every refusal is in the audit trail (since 2026-12-06 also those the proxy cannot read as HTTP, and a
            // build's own GET with a body), never with the request's bytes.
            assertThat(jdbc.queryForList("select cast(details as varchar) from audit_event where seq > ? and action ="
                    + " 'egress.proxy-refused' and outcome = 'REJECTED'", String.class, seqBefore))
                    .anySatisfy(d -> assertThat(d).contains("the request line is not METHOD target HTTP/1.x"))
                    .anySatisfy(d -> assertThat(d).contains("a bare CR or NUL in the request head"))
                    .allSatisfy(d -> assertThat(d).doesNotContain(o.session.secret()).doesNotContain("HELLO"));
            assertThat(jdbc.queryForObject("select count(*) from audit_event where seq > ? and action ="
                    + " 'build.egress-refused' and target = ? and details like '%request has no body%'", Long.class,
                    seqBefore, "build/" + o.build())).isEqualTo(2);
            assertThat(canary.requests()).isEmpty();
            assertThat(MIRROR_REQUESTS.subList(mirrorBefore, MIRROR_REQUESTS.size())).isEmpty();
            // the proxy still serves the session
            assertThat(fetch(o, m2() + "ok.txt").statusCode()).isEqualTo(200);
        } finally {
            o.session.close();
        }
    }

    /** Writes the bytes, closes the writing side, and returns the status of the answer (-1: none within 10 s). */
    private int rawStatus(String request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", proxy.listenPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            s.shutdownOutput();
            byte[] head = s.getInputStream().readNBytes(12);
            String line = new String(head, StandardCharsets.ISO_8859_1);
            return line.startsWith("HTTP/1.1 ") && line.length() == 12 ? Integer.parseInt(line.substring(9, 12)) : -1;
        } catch (java.net.SocketTimeoutException e) {
            return -1;
        }
    }

    @Test
    void wrongMissingOrClosedCredentialsGet407() throws Exception {
        MIRROR_FILES.put("/m2/a.txt", "a".getBytes(StandardCharsets.UTF_8));
        Opened o = open("egress-a", List.of(m2()), false, null);
        Opened other = open("egress-a", List.of(m2()), false, null);
        int before = MIRROR_REQUESTS.size();
        long seq = jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);
        try {
            assertThat(fetchWith(null, null, m2() + "a.txt").statusCode()).isEqualTo(407);
            HttpResponse<byte[]> wrong = fetchWith(o.user(), "0".repeat(64), m2() + "a.txt");
            assertThat(wrong.statusCode()).isEqualTo(407);
            assertThat(wrong.headers().firstValue("Proxy-Authenticate")).hasValueSatisfying(v -> assertThat(v)
                    .startsWith("Basic"));
            // another build's secret does not open this build's session
            assertThat(fetchWith(o.user(), other.session.secret(), m2() + "a.txt").statusCode()).isEqualTo(407);
            assertThat(fetchWith("build-" + UUID.randomUUID(), o.session.secret(), m2() + "a.txt").statusCode())
                    .isEqualTo(407);
            assertThat(fetchWith("admin", o.session.secret(), m2() + "a.txt").statusCode()).isEqualTo(407);
            assertThat(fetch(o, m2() + "a.txt").statusCode()).isEqualTo(200);
        } finally {
            o.session.close();
            other.session.close();
        }
        assertThat(fetch(o, m2() + "a.txt").statusCode()).isEqualTo(407);
        assertThat(curl(o.session.proxyUrl(), m2() + "a.txt")).isEqualTo("407");
        assertThat(MIRROR_REQUESTS.size() - before).isEqualTo(1);
        // this test's seven 407s, each audited once (rows after the head taken before them: not the whole table's)
        assertThat(jdbc.queryForObject("select count(*) from audit_event where seq > ? and action ="
                + " 'egress.proxy-auth-failed' and outcome = 'DENIED'", Long.class, seq)).isEqualTo(7);
    }

    @Test
    void connectIsAllowedToHttpsEntriesOnlyAndRecordedWithBytes() throws Exception {
        MIRROR_FILES.put("/m2/t.txt", "tunnelled".getBytes(StandardCharsets.UTF_8));
        String tls = "https://127.0.0.1:" + mirrorPort() + "/";
        Opened o = open("egress-a", List.of(tls), false, null);
        Opened refusing = open("egress-a", List.of(tls), true, null);
        Opened plainOnly = open("egress-a", List.of(m2()), false, null);
        try {
            // -p: curl tunnels through CONNECT; inside the tunnel it speaks plain HTTP to the mirror
            assertThat(curl(o.session.proxyUrl(), "-p", "http://127.0.0.1:" + mirrorPort() + "/m2/t.txt"))
                    .isEqualTo("200");
            eventually("the tunnel being recorded", Duration.ofSeconds(10),
                    () -> !o.session.record().tunnels().isEmpty());
            EgressRecord.Tunnel t = o.session.record().tunnels().get(0);
            assertThat(t.host()).isEqualTo("127.0.0.1");
            assertThat(t.port()).isEqualTo(mirrorPort());
            assertThat(t.bytesOut()).isPositive();
            assertThat(t.bytesIn()).isGreaterThan("tunnelled".length());
            // not named by an https entry: refused; the canary's port is not the mirror's
            assertThat(connectStatus(o, "127.0.0.1:" + canary.port())).isEqualTo(403);
            // the team refuses tunnels
            assertThat(connectStatus(refusing, "127.0.0.1:" + mirrorPort())).isEqualTo(403);
            assertThat(refusing.log).anyMatch(l -> l.contains("refuses CONNECT tunnels"));
            // an http entry never admits a tunnel
            assertThat(connectStatus(plainOnly, "127.0.0.1:" + mirrorPort())).isEqualTo(403);
        } finally {
            o.session.close();
            refusing.session.close();
            plainOnly.session.close();
        }
        assertThat(canary.requests()).isEmpty();
        assertThat(auditCount("build.egress-tunnel", "build/" + o.build)).isEqualTo(1);
        assertThat(jdbc.queryForObject("select bytes_in from build_tunnel where build_id = ?", Long.class, o.build))
                .isPositive();
        assertThat(auditCount("build.egress-refused", "build/" + refusing.build)).isEqualTo(1);
    }

    /** A CONNECT by hand: the status line's code. */
    /**
     * One build has at most Session.MAX_CONNECTIONS connections through the proxy at once: the next is 429, counted,
     * and recorded as one refusal when the session ends. Before (a review's finding, 2026-12-06) one build's
     * connections could take every worker of the proxy, and then its accept thread, and every build's egress.
     */
    @Test
    void aBuildHasAtMostSixteenConnectionsAtOnce() throws Exception {
        String authority = "127.0.0.1:" + mirrorPort();
        Opened o = open("egress-a", List.of("https://" + authority + "/"), false, null);
        List<Socket> held = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < Session.MAX_CONNECTIONS; i++) {
                Socket s = new Socket("127.0.0.1", proxy.listenPort());
                held.add(s);
                assertThat(connect(s, o, authority)).as("tunnel %d", i).isEqualTo(200);
            }
            try (Socket extra = new Socket("127.0.0.1", proxy.listenPort())) {
                assertThat(connect(extra, o, authority)).isEqualTo(429);
            }
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
        eventually("the tunnels ending", Duration.ofSeconds(10),
                () -> o.session.record().tunnels().size() == Session.MAX_CONNECTIONS);
        Opened other = open("egress-a", List.of("https://" + authority + "/"), false, null);
        try (Socket s = new Socket("127.0.0.1", proxy.listenPort())) {
            assertThat(connect(s, other, authority)).as("another build is not affected").isEqualTo(200);
        } finally {
            other.session.close();
        }
        o.session.close();
        assertThat(jdbc.queryForObject("select count(*) from build_egress_refusal where build_id = ? and reason like"
                + " '1 connection(s) refused: more than 16 at once'", Long.class, o.build())).isOne();
    }

    /**
     * Every worker of the proxy (gateway.egress.max-connections, 64 by default) held by a connection that says
     * nothing: the next connection is answered 503 with Retry-After at once, instead of waiting on the accept thread
     * (which held every build's egress), and counted in the audit trail's per-second refusal summary. The silent
     * connections end at the head deadline (3 s in this suite) and the proxy serves again.
     */
    @Test
    void aConnectionBeyondTheBusyWorkersIs503AtOnceAndAudited(@Autowired EgressProperties properties)
            throws Exception {
        long before = summarisedRefusals("egress-proxy-busy", "FAILED", d -> true, 0);
        List<Socket> silent = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < properties.maxConnections(); i++) {
                silent.add(new Socket("127.0.0.1", proxy.listenPort()));
            }
            try (Socket extra = new Socket("127.0.0.1", proxy.listenPort())) {
                extra.setSoTimeout(2_000); // well before the silent ones' head deadline frees a worker
                String answer = new String(extra.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                assertThat(answer).startsWith("HTTP/1.1 503 ").contains("Retry-After: 5");
            }
        } finally {
            for (Socket s : silent) {
                s.close();
            }
        }
        assertThat(summarisedRefusals("egress-proxy-busy", "FAILED", d -> true, before + 1))
                .isGreaterThanOrEqualTo(before + 1);
        Opened o = open("egress-a", List.of(m2()), false, null);
        MIRROR_FILES.put("/m2/after-busy.txt", "served".getBytes(StandardCharsets.UTF_8));
        eventually("the proxy serving again", Duration.ofSeconds(10), () -> {
            try {
                return fetch(o, m2() + "after-busy.txt").statusCode() == 200;
            } catch (Exception e) {
                return false;
            }
        });
        o.session.close();
    }

    /**
     * A request head must arrive within gateway.egress.head-timeout (3 s in this suite): a client dripping its head
     * gets 408, audited. Before (a review's finding, 2026-12-06) each read could take five minutes, and so could hold
     * a worker of the proxy for as long as the client liked.
     */
    @Test
    void aHeadThatDoesNotArriveInTimeIs408AndAudited() throws Exception {
        long seqBefore = jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);
        try (Socket s = new Socket("127.0.0.1", proxy.listenPort())) {
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            out.write("GET http://127.0.0.1:1/x HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            long start = System.nanoTime();
            for (int i = 0; i < 8; i++) { // a header byte now and then, each read well within the timeout
                sleep(500);
                try {
                    out.write('X');
                    out.flush();
                } catch (IOException closed) {
                    break;
                }
            }
            byte[] line = s.getInputStream().readNBytes(12);
            assertThat(new String(line, StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 408");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
        }
        assertThat(jdbc.queryForList("select cast(details as varchar) from audit_event where seq > ? and action ="
                + " 'egress.proxy-refused'", String.class, seqBefore)).anySatisfy(d -> assertThat(d)
                .contains("did not arrive within"));
    }

    /** Sends a CONNECT with the session's credentials on the socket (left open) and returns the answer's status. */
    private static int connect(Socket s, Opened o, String authority) throws IOException {
        s.setSoTimeout(10_000);
        String auth = Base64.getEncoder().encodeToString((o.user() + ":" + o.session.secret())
                .getBytes(StandardCharsets.UTF_8));
        OutputStream out = s.getOutputStream();
        out.write(("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\nProxy-Authorization: Basic "
                + auth + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        byte[] line = new byte[12];
        int n = s.getInputStream().readNBytes(line, 0, 12);
        return Integer.parseInt(new String(line, 9, Math.min(3, n - 9), StandardCharsets.US_ASCII));
    }

    /** {@link #connect} on a connection of its own, closed afterwards. */
    private int connectStatus(Opened o, String authority) throws IOException {
        try (Socket s = new Socket("127.0.0.1", proxy.listenPort())) {
            return connect(s, o, authority);
        }
    }

    /**
     * A step that puts a build arg's value (a token the policy keeps as a digest) in a URL: the URL is recorded,
     * audited and listed with the value redacted, as the build log shows it (a review's finding, 2026-12-06: only
     * userinfo was removed), and a build pinned to it still fetches the same URL.
     */
    @Test
    void aUrlHoldingABuildArgsValueIsRecordedRedactedAndStillPins() throws Exception {
        MIRROR_FILES.put("/m2/keyed.txt", "keyed".getBytes(StandardCharsets.UTF_8));
        String token = "tok-" + UUID.randomUUID();
        java.util.function.UnaryOperator<String> redact = v -> v == null ? null : v.replace(token,
                "[build arg NPM_TOKEN]");
        UUID build = buildRow("egress-a");
        List<String> log = new CopyOnWriteArrayList<>();
        EgressSession s = egress.open(new EgressGrant(build, "egress-a", "sha256:" + "ab".repeat(32), List.of(m2()),
                false, null, Set.of(), redact), log::add);
        Opened o = new Opened(build, s, log);
        try {
            assertThat(fetch(o, m2() + "keyed.txt?apikey=" + token).statusCode()).isEqualTo(200);
            assertThat(fetch(o, "http://127.0.0.1:" + canary.port() + "/x?apikey=" + token).statusCode())
                    .isEqualTo(403);
        } finally {
            s.close();
        }
        assertThat(jdbc.queryForList("select url from build_fetch where build_id = ?", String.class, build))
                .singleElement().asString().contains("[build arg NPM_TOKEN]").doesNotContain(token);
        assertThat(jdbc.queryForList("select url from build_egress_refusal where build_id = ?", String.class, build))
                .singleElement().asString().doesNotContain(token);
        assertThat(jdbc.queryForObject("select count(*) from audit_event where target = ? and cast(details as"
                + " varchar) like ?", Long.class, "build/" + build, "%" + token + "%")).isZero();

        Map<String, String> pinned = pinnedFrom(build);
        UUID second = buildRow("egress-a");
        EgressSession p = egress.open(new EgressGrant(second, "egress-a", "sha256:" + "ab".repeat(32),
                List.of(m2()), false, pinned, Set.of(), redact), log::add);
        try {
            HttpResponse<byte[]> r = fetch(new Opened(second, p, log), m2() + "keyed.txt?apikey=" + token);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo("keyed");
        } finally {
            p.close();
        }
    }

    @Test
    void aPinnedBuildGetsTheRecordedBodyAndIsRefusedAChangedOne() throws Exception {
        MIRROR_FILES.put("/m2/lib-1.jar", "version one".getBytes(StandardCharsets.UTF_8));
        MIRROR_FILES.put("/m2/other.jar", "other".getBytes(StandardCharsets.UTF_8));
        Opened first = open("egress-a", List.of(m2()), false, null);
        try {
            assertThat(fetch(first, m2() + "lib-1.jar").statusCode()).isEqualTo(200);
            assertThat(fetch(first, m2() + "missing.jar").statusCode()).isEqualTo(404);
        } finally {
            first.session.close();
        }
        Map<String, String> pinned = pinnedFrom(first.build);
        assertThat(pinned).containsOnlyKeys(m2() + "lib-1.jar");

        Opened same = open("egress-a", List.of(m2(), "https://127.0.0.1:" + mirrorPort() + "/"), false, pinned);
        try {
            HttpResponse<byte[]> r = fetch(same, m2() + "lib-1.jar");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo("version one");
            assertThat(fetch(same, m2() + "other.jar").statusCode()).isEqualTo(403);
            // a pinned build takes digest-recorded downloads only: no tunnel, even to an https entry
            assertThat(connectStatus(same, "127.0.0.1:" + mirrorPort())).isEqualTo(403);
            assertThat(same.log).anyMatch(l -> l.contains("a pinned build takes digest-recorded downloads only"));
        } finally {
            same.session.close();
        }

        MIRROR_FILES.put("/m2/lib-1.jar", "version two!".getBytes(StandardCharsets.UTF_8));
        Opened changed = open("egress-a", List.of(m2()), false, pinned);
        try {
            HttpResponse<byte[]> r = fetch(changed, m2() + "lib-1.jar");
            assertThat(r.statusCode()).isEqualTo(403);
            assertThat(new String(r.body(), StandardCharsets.UTF_8)).contains("digest changed")
                    .doesNotContain("version two");
            assertThat(changed.log).anyMatch(l -> l.contains("digest changed") && l.contains(m2() + "lib-1.jar"));
        } finally {
            changed.session.close();
        }
        assertThat(changed.session.record().fetches()).isEmpty();

        // the fetches API and its diff: the later, unpinned build fetched the changed jar
        Opened later = open("egress-a", List.of(m2()), false, null);
        try {
            fetch(later, m2() + "lib-1.jar");
            fetch(later, m2() + "other.jar");
        } finally {
            later.session.close();
        }
        String reader = builder("egress-a");
        JsonNode fetches = read(get(reader, "/api/v1/builds/" + first.build + "/fetches"));
        assertThat(fetches.path("fetches")).hasSize(2);
        assertThat(fetches.path("fetches").get(0).path("url").asString()).isEqualTo(m2() + "lib-1.jar");
        assertThat(fetches.path("fetches").get(0).path("sha256").asString())
                .isEqualTo(sha256Hex("version one".getBytes(StandardCharsets.UTF_8)));
        assertThat(fetches.path("fetches").get(0).path("size").asLong()).isEqualTo(11);
        JsonNode diff = read(get(reader, "/api/v1/builds/" + later.build + "/fetches/diff?against=" + first.build));
        assertThat(diff.path("changed")).hasSize(1);
        assertThat(diff.path("changed").get(0).path("url").asString()).isEqualTo(m2() + "lib-1.jar");
        assertThat(diff.path("changed").get(0).path("before").path("sha256").asString())
                .isEqualTo(sha256Hex("version one".getBytes(StandardCharsets.UTF_8)));
        assertThat(diff.path("changed").get(0).path("after").path("sha256").asString())
                .isEqualTo(sha256Hex("version two!".getBytes(StandardCharsets.UTF_8)));
        assertThat(diff.path("added")).hasSize(1);
        assertThat(diff.path("added").get(0).path("url").asString()).isEqualTo(m2() + "other.jar");
        assertThat(diff.path("removed")).hasSize(1); // the 404 of missing.jar
        assertThat(diff.path("unchanged").asInt()).isZero();
        JsonNode same2 = read(get(reader, "/api/v1/builds/" + same.build + "/fetches/diff?against=" + first.build));
        assertThat(same2.path("unchanged").asInt()).isEqualTo(1);
        assertThat(same2.path("changed")).isEmpty();
    }

    @Autowired
    private EgressRecords records;

    private Map<String, String> pinnedFrom(UUID build) {
        return records.pinnedFrom(build);
    }

    @Test
    void theFetchesApiHasTheBuildsAccessRules() {
        UUID a = open("egress-a", List.of(m2()), false, null).build;
        UUID b = buildRow("egress-b");
        String teamA = builder("egress-a");
        String teamB = builder("egress-b");
        assertThat(get(teamA, "/api/v1/builds/" + a + "/fetches").status()).isEqualTo(200);
        assertThat(read(get(teamA, "/api/v1/builds/" + a + "/fetches")).path("fetches").isArray()).isTrue();
        int asBuild = get(teamB, "/api/v1/builds/" + a).status();
        assertThat(asBuild).isIn(403, 404);
        problem(get(teamB, "/api/v1/builds/" + a + "/fetches"), asBuild);
        problem(get(teamA, "/api/v1/builds/" + a + "/fetches/diff?against=" + b), asBuild);
        problem(get(teamA, "/api/v1/builds/" + UUID.randomUUID() + "/fetches"), 404);
        problem(get(teamA, "/api/v1/builds/not-a-build/fetches"), 400);
        problem(get(teamA, "/api/v1/builds/" + a + "/fetches/diff"), 400);
        problem(get(teamA, "/api/v1/builds/" + a + "/fetches/diff?against=nope"), 400);
        assertThat(get(null, "/api/v1/builds/" + a + "/fetches").status()).isEqualTo(401);
        String security = token(Set.of("SECURITY"), Set.of());
        assertThat(get(security, "/api/v1/builds/" + a + "/fetches/diff?against=" + b).status()).isEqualTo(200);
    }

    @Test
    void pinFetchesFromMustNameABuildOfTheSameTeam() {
        UUID other = buildRow("egress-b");
        String token = builder("egress-a");
        JsonNode bad = problem(submit(token, "image=egress-a/app&pinFetchesFrom=xyz", new byte[0]), 400);
        assertThat(bad.path("errors").get(0).path("field").asString()).isEqualTo("pinFetchesFrom");
        JsonNode foreign = problem(submit(token, "image=egress-a/app&pinFetchesFrom=" + other, new byte[0]), 400);
        assertThat(foreign.path("detail").asString()).contains("no build " + other + " of team 'egress-a'");
        UUID unknown = UUID.randomUUID();
        JsonNode missing = problem(submit(token, "image=egress-a/app&pinFetchesFrom=" + unknown, new byte[0]), 400);
        // the same answer as for another team's build: the parameter does not tell which ids exist
        assertThat(missing.path("detail").asString())
                .isEqualTo(foreign.path("detail").asString().replace(other.toString(), unknown.toString()));
    }

    @Test
    void anotherTeamsAllowlistNeverApplies() throws Exception {
        MIRROR_FILES.put("/m2/team.jar", "t".getBytes(StandardCharsets.UTF_8));
        Path file = POLICY.resolve("zz-egress-it.yaml");
        Files.writeString(file, "teams:\n  egress-a:\n    egress: [\"" + m2() + "\"]\n");
        try {
            eventually("the egress policy being loaded", Duration.ofSeconds(15),
                    () -> !policy.egress("egress-a").allow().isEmpty());
            PolicyEvaluator.EgressAllowance a = policy.egress("egress-a");
            PolicyEvaluator.EgressAllowance b = policy.egress("egress-b");
            assertThat(b.allow()).doesNotContain(m2());
            Opened ob = open("egress-b", b.allow(), b.refuseTunnels(), null);
            Opened oa = open("egress-a", a.allow(), a.refuseTunnels(), null);
            try {
                assertThat(fetch(ob, m2() + "team.jar").statusCode()).isEqualTo(403);
                assertThat(ob.log).anyMatch(l -> l.contains("of team egress-b"));
                assertThat(fetch(oa, m2() + "team.jar").statusCode()).isEqualTo(200);
            } finally {
                ob.session.close();
                oa.session.close();
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
