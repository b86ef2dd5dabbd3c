package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.Canary;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The other half of {@link BuildKitOracleIT}: what the policy refuses is refused before any daemon sees it. A canary
 * HTTP server stands for a remote source; a BuildKit daemon outside the build host's network namespace (the
 * environment's plain dockerd 26) shows that it would fetch the URL of each trick; through the gateway's API every
 * one is refused at submission (422 with the rule, or 400 from the intake), never queued, and the canary sees no
 * request.
 */
// Its controls are builds on the plain daemon, each bounded at 120 s: should several hang, the class ends here.
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class BuildKitOracleRefusalIT extends IntegrationTest {

    @org.junit.jupiter.api.extension.RegisterExtension
    static final Canary canary = Canary.start(); // stopped after the class

    /**
     * A canary for the tricks whose fetch speaks TLS (a git repository, a frontend image): a bare TCP listener that
     * records the first byte of each connection (0x16: a TLS handshake) and closes it, so the daemon's fetch fails at
     * once. (The HTTP canary records no request for a TLS handshake and leaves the daemon waiting.)
     */
    private static final java.net.ServerSocket tlsCanary = tlsCanary();
    private static final List<Integer> tlsConnections = new java.util.concurrent.CopyOnWriteArrayList<>();

    private static java.net.ServerSocket tlsCanary() {
        try {
            java.net.ServerSocket server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
            Thread accept = new Thread(() -> {
                while (!server.isClosed()) {
                    try (java.net.Socket s = server.accept()) {
                        s.setSoTimeout(5_000);
                        tlsConnections.add(s.getInputStream().read());
                    } catch (java.io.IOException e) {
                        // closed after the class, or a connection that sent nothing in time (recorded as -1 above)
                    }
                }
            }, "tls-canary");
            accept.setDaemon(true);
            accept.start();
            return server;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @org.junit.jupiter.api.AfterAll
    static void closeTlsCanary() throws java.io.IOException {
        tlsCanary.close();
    }

    /**
     * Builds {@code dockerfile} with BuildKit on the plain daemon (no user namespaces; its own fetches on the host's
     * network, none for the steps), with the build arg {@code buildArg} ({@code NAME=value}, or null); returns the
     * daemon's build stream (its errors included).
     */
    private String buildOnThePlainDaemon(String dockerfile, String buildArg) throws Exception {
        Path ctx = Files.createTempFile("oracle", ".tar");
        try {
            Files.write(ctx, Tars.ustar().file("Dockerfile", dockerfile).bytes());
            String args = buildArg == null ? "" : "&buildargs=" + URLEncoder.encode(json.writeValueAsString(Map.of(
                    buildArg.substring(0, buildArg.indexOf('=')), buildArg.substring(buildArg.indexOf('=') + 1))),
                    StandardCharsets.UTF_8);
            return runAnyExit("curl", "-s", "-m", "120", "--unix-socket", require("BGW_PLAIN_DOCKER_HOST")
                    .substring("unix://".length()), "-X", "POST", "-H", "Content-Type: application/x-tar",
                    "--data-binary", "@" + ctx, "http://localhost/v1.45/build?version=2&networkmode=none&nocache=1"
                    + args).output();
        } finally {
            Files.delete(ctx);
        }
    }

    /**
     * One trick: its Dockerfile, its build arg ({@code NAME=value}, or null), and what the daemon does with it when
     * nothing stops it: {@code GET /path}, the request the canary sees; {@code tls}, a TLS handshake at the TLS canary;
     * null, no remote fetch to show (the comment says why).
     */
    private record Trick(String dockerfile, String buildArg, String daemonDoes) {
    }

    @Test
    void whatThePolicyRefusesNoDaemonSees() throws Exception {
        String url = "http://127.0.0.1:" + canary.port();
        String base = registryAddress() + "/base/busybox";
        Map<String, Trick> cases = new LinkedHashMap<>();
        // From the review of 2026-12-07: BuildKit trims with ${U:#x} (the policy once expanded it to the whole value).
        cases.put("colon-trim", new Trick("FROM " + base + "\nARG U=x" + url + "/j\nADD ${U:#x} /d\nUSER 65534\n",
                null, "GET /j"));
        cases.put("replace-all", new Trick("FROM " + base + "\nARG U=X" + url + "/kX\nADD ${U//X/} /d\nUSER 65534\n",
                null, "GET /k"));
        // Also from that review: BuildKit ends a heredoc named "A\b" at the line A\b (the parser once at a line Ab),
        // running the lines after it as instructions.
        cases.put("heredoc-name-escape", new Trick("FROM " + base + "\nRUN <<\"A\\b\"\ntrue\nA\\b\nADD " + url
                + "/l /d\nUSER 65534\n", null, "GET /l"));
        // BuildKit reads host:port/….git as a git repository on https://host:port (seen on dockerd 26): a TLS
        // handshake at that port.
        cases.put("git-without-scheme", new Trick("FROM " + base + "\nADD 127.0.0.1:" + tlsCanary.getLocalPort()
                + "/t/repo.git /src\nUSER 65534\n", null, "tls"));
        // Not a remote fetch: the trick is which image FROM names (BuildKit sets TARGETOS itself; the policy read
        // the build arg), a pull the canary cannot show. Only the refusal is checked here.
        cases.put("platform-build-arg", new Trick("FROM ${TARGETOS:-" + base + "}\nUSER 65534\n",
                "TARGETOS=" + registryAddress() + "/base/debian:12", null));
        // BuildKit fetches a URL beside a heredoc (the policy once read it as the destination).
        cases.put("beside-heredoc", new Trick("FROM " + base + "\nADD " + url + "/a <<EOF /d/\nhi\nEOF\nUSER 65534\n",
                null, "GET /a"));
        cases.put("arg-default", new Trick("FROM " + base + "\nARG U=" + url + "/b\nADD $U /d\nUSER 65534\n", null,
                "GET /b"));
        cases.put("build-arg", new Trick("FROM " + base + "\nARG U\nADD ${U} /d\nUSER 65534\n", "U=" + url + "/c",
                "GET /c"));
        cases.put("global-arg-env", new Trick("ARG H=" + url + "\nFROM " + base + "\nARG H\nENV P=${H}/d\nADD $P /d\n"
                + "USER 65534\n", null, "GET /d"));
        cases.put("onbuild", new Trick("FROM " + base + " AS p\nONBUILD ADD " + url + "/e /d\nFROM p\nUSER 65534\n",
                null, "GET /e"));
        cases.put("escape-continuation", new Trick("# escape=`\nFROM " + base + "\nADD `\n  # comment\n  " + url
                + "/f /d\nUSER 65534\n", null, "GET /f"));
        cases.put("json", new Trick("FROM " + base + "\nADD [\"" + url + "/g\", \"/d\"]\nUSER 65534\n", null,
                "GET /g"));
        cases.put("bom-crlf", new Trick("\uFEFFFROM " + base + "\r\nADD " + url + "/h \\\r\n  /d\r\nUSER 65534\r\n",
                null, "GET /h"));
        // The differential fuzzer's finding (SubstitutionDifferentialIT): BuildKit reads $1 as an (empty) name, so
        // "http:/$1/host" is a URL to it; the policy once read the $1 literally, no URL.
        cases.put("digit-name", new Trick("FROM " + base + "\nADD http:/$1/127.0.0.1:" + canary.port() + "/m /d\n"
                + "USER 65534\n", null, "GET /m"));
        // Never built on a daemon here: dockerd 26's BuildKit panics on it and the daemon exits (checked by hand).
        // Only the refusal is checked.
        cases.put("empty-pattern", new Trick("FROM " + base + "\nARG V=x\nENV A=${V#}\nUSER 65534\n", null, null));
        // The daemon pulls the frontend image from that port as a registry, https first (seen on dockerd 26): a TLS
        // handshake there.
        cases.put("syntax-frontend", new Trick("# syntax=127.0.0.1:" + tlsCanary.getLocalPort()
                + "/frontend/dockerfile:1\nFROM " + base + "\nUSER 65534\n", null, "tls"));

        // Controls: each trick, the very Dockerfile (and build arg) the gateway gets below, built on a daemon that
        // nothing stops, does reach the canary.
        for (Map.Entry<String, Trick> c : cases.entrySet()) {
            Trick t = c.getValue();
            if (t.daemonDoes() == null) {
                continue;
            }
            String stream = buildOnThePlainDaemon(t.dockerfile(), t.buildArg());
            if (t.daemonDoes().equals("tls")) {
                assertThat(tlsConnections).as("control " + c.getKey() + ": " + stream).contains(0x16);
                assertThat(canary.requests()).as("control " + c.getKey()).isEmpty();
            } else {
                assertThat(canary.requests()).as("control " + c.getKey() + ": " + stream)
                        .containsExactly(t.daemonDoes());
            }
            tlsConnections.clear();
            canary.clear();
        }

        String token = builder("oracle");
        for (Map.Entry<String, Trick> c : cases.entrySet()) {
            Trick t = c.getValue();
            String query = "image=oracle/app&tag=" + c.getKey() + (t.buildArg() == null ? ""
                    : "&buildArg=" + URLEncoder.encode(t.buildArg(), StandardCharsets.UTF_8));
            Response r = submit(token, query, Tars.ustar().file("Dockerfile", t.dockerfile()).bytes());
            JsonNode problem = problem(r, 422);
            String rule = List.of("syntax-frontend", "heredoc-name-escape", "platform-build-arg", "empty-pattern")
                    .contains(c.getKey())
                    ? "dockerfile-canonical" : "add-url-without-checksum";
            assertThat(problem.path("findings").findValuesAsString("rule")).as(c.getKey() + " " + r.body())
                    .contains(rule);
            JsonNode build = read(get(token, "/api/v1/builds/" + problem.path("buildId").asString()));
            assertThat(build.path("status").asString()).as(c.getKey()).isEqualTo("REJECTED");
            assertThat(build.path("host").isNull() || build.path("host").isMissingNode()).as(build.toString())
                    .isTrue();
        }

        // A Dockerfile that is a symlink: BuildKit follows it (BuildKitOracleIT); the intake refuses the upload.
        Response link = submit(token, "image=oracle/app&tag=link", Tars.ustar()
                .file("real.Dockerfile", "FROM " + base + "\nADD " + url + "/i /d\n").symlink("Dockerfile",
                        "real.Dockerfile").bytes());
        problem(link, 400);

        // None of the requests the controls showed: every trick was refused before any daemon saw it.
        assertThat(canary.requests()).as("requests at the canary").isEmpty();
        assertThat(tlsConnections).as("connections at the TLS canary").isEmpty();
    }
}
