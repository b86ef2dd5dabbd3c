package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The ShellCheck pass over HTTP, with the real shellcheck binary: asked for by lint (JSON and SARIF, at the
 * Dockerfile's lines), absent unless asked, and turned on for builds by the policy, where an SC finding at error
 * rejects the build like any rule.
 */
class ShellCheckIT extends IntegrationTest {

    private Response lint(String token, String query, String accept, String dockerfile) {
        HttpRequest.Builder r = request(token, "/api/v1/lint" + query).header("Content-Type", "text/plain");
        if (accept != null) {
            r.header("Accept", accept);
        }
        return send(r.POST(HttpRequest.BodyPublishers.ofString(dockerfile)));
    }

    private static List<String> ruleAtLine(JsonNode findings) {
        List<String> out = new ArrayList<>();
        for (JsonNode f : findings) {
            if (f.path("rule").asString().startsWith("shellcheck")) {
                out.add(f.path("rule").asString() + "@" + f.path("line").asInt());
            }
        }
        return out;
    }

    @Test
    void lintWithShellcheckAnswersScFindingsAtTheirLinesAsJsonAndSarif() {
        String token = builder("payments");
        String dockerfile = "FROM " + registryAddress() + "/base/busybox\n"
                + "RUN set -e; \\\n"
                + "    echo \"$undefined_one\"\n"
                + "RUN <<EOF\n"
                + "echo \"$undefined_two\"\n"
                + "EOF\n"
                + "USER 1000\n";

        Response json = lint(token, "?shellcheck=true", null, dockerfile);
        assertThat(json.status()).as(json.body()).isEqualTo(200);
        assertThat(ruleAtLine(read(json).path("findings")))
                .containsExactly("shellcheck-SC2154@3", "shellcheck-SC2154@5");

        Response sarif = lint(token, "?shellcheck=true", "application/sarif+json", dockerfile);
        assertThat(sarif.status()).as(sarif.body()).isEqualTo(200);
        JsonNode run = read(sarif).path("runs").get(0);
        List<String> results = new ArrayList<>();
        for (JsonNode r : run.path("results")) {
            if (r.path("ruleId").asString().startsWith("shellcheck")) {
                results.add(r.path("ruleId").asString() + "@" + r.path("locations").get(0).path("physicalLocation")
                        .path("region").path("startLine").asInt() + ":" + r.path("level").asString());
            }
        }
        assertThat(results).containsExactly("shellcheck-SC2154@3:warning", "shellcheck-SC2154@5:warning");
        assertThat(run.path("tool").path("driver").path("rules").findValuesAsString("id"))
                .contains("shellcheck-SC2154", "shellcheck");

        Response plain = lint(token, "", null, dockerfile);
        assertThat(ruleAtLine(read(plain).path("findings"))).isEmpty();

        Response wrong = lint(token, "?shellcheck=maybe", null, dockerfile);
        assertThat(wrong.status()).isEqualTo(400);
        assertThat(wrong.header("Content-Type")).startsWith("application/problem+json");
        assertThat(wrong.body()).contains("shellcheck must be true or false");
    }

    @Test
    void aPolicyThatTurnsShellcheckOnRejectsABuildOnAnScFindingAtError() throws Exception {
        String token = builder("sctest");
        Path file = POLICY.resolve("zz-test-shellcheck.yaml");
        try {
            Files.writeString(file, "shellcheck: {enabled: true}\nteams:\n  sctest:\n    rules:\n"
                    + "      shellcheck-SC2154: error\n");
            eventually("the policy change being picked up", Duration.ofSeconds(10),
                    () -> read(get(token, "/api/v1/policy")).path("source").toString().contains("zz-test-shellcheck"));

            Response refused = submit(token, "image=sctest/app&tag=1", Tars.tar().file("Dockerfile", "FROM "
                    + registryAddress() + "/base/busybox\nRUN echo \"$undefined_build\"\nUSER 1000\n").bytes());
            JsonNode problem = problem(refused, 422);
            assertThat(ruleAtLine(problem.path("findings"))).containsExactly("shellcheck-SC2154@2");
            String id = problem.path("buildId").asString();
            assertThat(jdbc.queryForObject("select details from audit_event where action = 'build.rejected'"
                    + " and target = ?", String.class, "build/" + id)).contains("shellcheck-SC2154");
        } finally {
            Files.deleteIfExists(file);
            // Another test's policy file may have been reloaded away since this test began: wait for this file's
            // removal to be picked up, not for a digest that may already be stale.
            eventually("the test policy file being unloaded", Duration.ofSeconds(10),
                    () -> !read(get(token, "/api/v1/policy")).path("source").toString().contains("zz-test-shellcheck"));
        }
    }
}
