package io.buildgateway.shared.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The generated OpenAPI document against the contract: every operation docs/api.md names is in it, and it (with its
 * UI) is readable without a token while the operations are not.
 */
class OpenApiContractIT extends IntegrationTest {

    /** An operation as docs/api.md writes it in code spans: {@code GET /api/v1/builds/{id}/logs}. */
    private static final Pattern OPERATION = Pattern.compile("`(GET|POST|PUT|PATCH|DELETE) (/[^`?\\s]*)");
    /**
     * The section after this heading is served on the Docker Engine compatibility port (its own listener, not
     * these controllers), so it is not in this document.
     */
    private static final String DOCKER_SECTION = "## Docker Engine compatibility";

    @Test
    void everyOperationOfTheContractIsInTheGeneratedDocument() throws IOException {
        List<String[]> contract = contractOperations(Files.readString(Path.of("docs", "api.md")));
        assertThat(contract).as("operations read from docs/api.md").hasSizeGreaterThanOrEqualTo(27);

        JsonNode paths = read(get(null, "/v3/api-docs")).path("paths");
        Set<String> generated = new LinkedHashSet<>();
        for (var path : paths.properties()) {
            for (var method : path.getValue().properties()) {
                generated.add(method.getKey().toUpperCase() + " " + template(path.getKey()));
            }
        }

        List<String> missing = new ArrayList<>();
        for (String[] op : contract) {
            if (!generated.contains(op[0] + " " + template(op[1]))) {
                missing.add(op[0] + " " + op[1]);
            }
        }
        assertThat(missing).as("operations in docs/api.md that the generated document lacks (it has %s)",
                generated).isEmpty();
        assertThat(generated).as("the /error fallback is not an operation").noneMatch(op -> op.endsWith(" /error"));
    }

    @Test
    void documentAndUiNeedNoTokenButOperationsStillDo() {
        Response doc = get(null, "/v3/api-docs");
        assertThat(doc.status()).isEqualTo(200);
        JsonNode api = read(doc);
        assertThat(api.path("openapi").asString()).startsWith("3.");
        assertThat(api.path("components").path("securitySchemes").path("bearer").path("scheme").asString())
                .isEqualTo("bearer");
        // The typed controllers name their parameters: the document says what a client may send.
        JsonNode builds = api.path("paths").path("/api/v1/builds").path("get").path("parameters");
        assertThat(builds.findValuesAsString("name")).contains("image", "team", "status", "requestedBy", "limit",
                "cursor");
        JsonNode submit = api.path("paths").path("/api/v1/builds").path("post");
        assertThat(submit.path("parameters").findValuesAsString("name")).contains("image", "tag", "dockerfile",
                "target", "buildArg", "label", "noCache");
        // Read from the raw parameters (BuildQuery): what only that reading knows is not a parameter to send.
        assertThat(submit.path("parameters").findValuesAsString("name")).doesNotContain("unknown", "repeated");
        for (JsonNode p : submit.path("parameters")) {
            String type = p.path("schema").path("type").asString();
            switch (p.path("name").asString()) {
                case "buildArg", "label" -> assertThat(type).as(p.toString()).isEqualTo("array");
                case "noCache" -> assertThat(type).as(p.toString()).isEqualTo("boolean");
                case "image" -> assertThat(p.path("required").asBoolean()).as(p.toString()).isTrue();
                default -> assertThat(p.path("in").asString()).as(p.toString()).isEqualTo("query");
            }
        }
        assertThat(submit.path("requestBody").path("content").has("application/x-tar")).isTrue();
        // Both answer 202 Accepted with the build, as docs/api.md says; the document must not claim a 200.
        for (JsonNode accepted : List.of(submit, api.path("paths").path("/api/v1/builds/{id}/cancel").path("post"))) {
            assertThat(accepted.path("responses").path("202").toString()).as(accepted.toString()).contains("BuildView");
            assertThat(accepted.path("responses").has("200")).as(accepted.toString()).isFalse();
        }
        JsonNode lint = api.path("paths").path("/api/v1/lint").path("post").path("parameters");
        assertThat(lint.findValuesAsString("name")).contains("image", "dockerfile", "target", "buildArg",
                "shellcheck").doesNotContain("given", "shellcheckRepeated", "tag", "unknown", "repeated");
        assertThat(api.path("paths").path("/api/v1/lint").path("post").path("responses").path("200").path("content")
                .path("application/json").toString()).contains("LintResult");
        assertThat(api.path("components").path("schemas").path("LintResult").path("properties").has("findings"))
                .isTrue();
        JsonNode images = api.path("paths").path("/api/v1/images").path("get");
        assertThat(images.path("parameters").findValuesAsString("name")).contains("team", "package",
                "packageVersionBelow", "cve", "base", "fixable", "limit", "cursor");
        // Typed answers: the page is a schema with its fields, not an open map.
        assertThat(images.path("responses").path("200").toString()).contains("ImagePage");
        assertThat(api.path("components").path("schemas").path("ImagePage").path("properties").has("nextCursor"))
                .isTrue();
        assertThat(api.path("components").path("schemas").path("DeploymentPage").path("properties").has("items"))
                .isTrue();

        Response ui = send(request(null, "/swagger-ui/index.html").GET());
        assertThat(ui.status()).isEqualTo(200);
        assertThat(ui.body()).contains("swagger-ui");

        problem(get(null, "/api/v1/images"), 401);
        problem(send(request(null, "/v3/api-docs").DELETE()), 401);
    }

    /** The operations of docs/api.md, without query strings, before the Docker Engine section. */
    static List<String[]> contractOperations(String markdown) {
        int docker = markdown.indexOf(DOCKER_SECTION);
        String text = docker < 0 ? markdown : markdown.substring(0, docker);
        List<String[]> ops = new ArrayList<>();
        Matcher m = OPERATION.matcher(text);
        while (m.find()) {
            ops.add(new String[] {m.group(1), m.group(2)});
        }
        return ops;
    }

    /** A path with its variables' names dropped: {@code /api/v1/builds/{}} for {@code {id}} or {@code {buildId}}. */
    private static String template(String path) {
        return path.replaceAll("\\{[^}]*}", "{}");
    }
}
