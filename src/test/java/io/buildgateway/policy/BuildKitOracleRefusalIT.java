package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.Canary;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
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
class BuildKitOracleRefusalIT extends IntegrationTest {

    @org.junit.jupiter.api.extension.RegisterExtension
    static final Canary canary = Canary.start(); // stopped after the class

    /** Builds {@code dockerfile} with BuildKit on the plain daemon (no user namespaces, the host's network). */
    private static void buildOnThePlainDaemon(String dockerfile) throws Exception {
        Path ctx = Files.createTempFile("oracle", ".tar");
        try {
            Files.write(ctx, Tars.ustar().file("Dockerfile", dockerfile).bytes());
            run("curl", "-s", "-o", "/dev/null", "--unix-socket", require("BGW_PLAIN_DOCKER_HOST")
                    .substring("unix://".length()), "-X", "POST", "-H", "Content-Type: application/x-tar",
                    "--data-binary", "@" + ctx, "http://localhost/v1.45/build?version=2&networkmode=none&nocache=1");
        } finally {
            Files.delete(ctx);
        }
    }

    @Test
    void whatThePolicyRefusesNoDaemonSees() throws Exception {
        String url = "http://127.0.0.1:" + canary.port();
        String base = registryAddress() + "/base/busybox";
        // Control: BuildKit fetches a URL beside a heredoc (the policy once read it as the destination).
        buildOnThePlainDaemon("FROM scratch\nADD " + url + "/control <<EOF /d/\nhi\nEOF\n");
        assertThat(canary.requests()).containsExactly("GET /control");
        canary.clear();

        // Controls for the review of 2026-12-07: BuildKit trims with ${U:#x} (the policy once expanded it to the
        // whole value), and ends a heredoc named "A\b" at the line A\b (the parser once at a line Ab), running the
        // lines after it as instructions.
        buildOnThePlainDaemon("FROM scratch\nARG U=x" + url + "/control-trim\nADD ${U:#x} /d\n");
        buildOnThePlainDaemon("FROM scratch\nCOPY <<\"A\\b\" /x\nhi\nA\\b\nADD " + url + "/control-heredoc /d\n");
        assertThat(canary.requests()).containsExactly("GET /control-trim", "GET /control-heredoc");
        canary.clear();
        // And for the differential fuzzer's finding (SubstitutionDifferentialIT): BuildKit reads $1 as an (empty)
        // name, so "http:/$1/host" is a URL to it; the policy once read the $1 literally, no URL.
        buildOnThePlainDaemon("FROM scratch\nADD http:/$1/127.0.0.1:" + canary.port() + "/control-digit /d\n");
        assertThat(canary.requests()).containsExactly("GET /control-digit");
        canary.clear();

        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("colon-trim", "FROM " + base + "\nARG U=x" + url + "/j\nADD ${U:#x} /d\nUSER 65534\n");
        cases.put("replace-all", "FROM " + base + "\nARG U=X" + url + "/kX\nADD ${U//X/} /d\nUSER 65534\n");
        cases.put("heredoc-name-escape", "FROM " + base + "\nRUN <<\"A\\b\"\ntrue\nA\\b\nADD " + url
                + "/l /d\nUSER 65534\n");
        cases.put("git-without-scheme", "FROM " + base + "\nADD 127.0.0.1:" + canary.port() + "/t/repo.git /src\n"
                + "USER 65534\n");
        cases.put("platform-build-arg", "FROM ${TARGETOS:-" + base + "}\nUSER 65534\n");
        cases.put("beside-heredoc", "FROM " + base + "\nADD " + url + "/a <<EOF /d/\nhi\nEOF\nUSER 65534\n");
        cases.put("arg-default", "FROM " + base + "\nARG U=" + url + "/b\nADD $U /d\nUSER 65534\n");
        cases.put("build-arg", "FROM " + base + "\nARG U\nADD ${U} /d\nUSER 65534\n");
        cases.put("global-arg-env", "ARG H=" + url + "\nFROM " + base + "\nARG H\nENV P=${H}/d\nADD $P /d\n"
                + "USER 65534\n");
        cases.put("onbuild", "FROM " + base + " AS p\nONBUILD ADD " + url + "/e /d\nFROM p\nUSER 65534\n");
        cases.put("escape-continuation", "# escape=`\nFROM " + base + "\nADD `\n  # comment\n  " + url
                + "/f /d\nUSER 65534\n");
        cases.put("json", "FROM " + base + "\nADD [\"" + url + "/g\", \"/d\"]\nUSER 65534\n");
        cases.put("bom-crlf", "\uFEFFFROM " + base + "\r\nADD " + url + "/h \\\r\n  /d\r\nUSER 65534\r\n");
        cases.put("digit-name", "FROM " + base + "\nADD http:/$1/127.0.0.1:" + canary.port() + "/m /d\n"
                + "USER 65534\n");
        // Never built on a daemon here: dockerd 26's BuildKit panics on it and the daemon exits (checked by hand).
        cases.put("empty-pattern", "FROM " + base + "\nARG V=x\nENV A=${V#}\nUSER 65534\n");
        cases.put("syntax-frontend", "# syntax=127.0.0.1:" + canary.port() + "/frontend/dockerfile:1\nFROM " + base
                + "\nUSER 65534\n");
        String token = builder("oracle");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            String query = "image=oracle/app&tag=" + c.getKey() + (c.getKey().equals("build-arg")
                    ? "&buildArg=U%3D" + java.net.URLEncoder.encode(url + "/c", java.nio.charset.StandardCharsets.UTF_8)
                    : c.getKey().equals("platform-build-arg") ? "&buildArg=TARGETOS%3D" + java.net.URLEncoder.encode(
                    registryAddress() + "/base/debian:12", java.nio.charset.StandardCharsets.UTF_8) : "");
            Response r = submit(token, query, Tars.ustar().file("Dockerfile", c.getValue()).bytes());
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

        assertThat(canary.requests()).as("requests at the canary").isEmpty();
    }
}
