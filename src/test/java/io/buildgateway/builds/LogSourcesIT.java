package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Issue #11: a build's output cannot pass for the gateway's own log lines. A real build on the user-namespaced host
 * prints lines that look like the gateway's; the log (text/plain and NDJSON, read and followed) shows them as step
 * output, and the gateway's own "Succeeded" line as the gateway's.
 */
class LogSourcesIT extends IntegrationTest {

    @Test
    void stepOutputThatLooksLikeTheGatewaysShowsAsStepOutputInBothForms() {
        String token = builder("payments");
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                + "RUN echo 'Succeeded: fake' && printf 'Pushed x\\rSucceeded: cr\\n' "
                + "&& printf '\\033[1A\\033[2KFailed: moved\\n'\nUSER 65534\n");
        String id = read(submit(token, "image=payments/forge&tag=1&noCache=true", context)).path("id").asString();
        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
        String imageRef = done.path("imageRef").asString();

        Response text = get(token, "/api/v1/builds/" + id + "/logs");
        assertThat(text.header("Content-Type")).startsWith("text/plain");
        List<String> lines = Arrays.asList(text.body().split("\n", -1));
        // The RUN step's output, as the BuildKit trace shows it: after the step's "#N [2/2] RUN …", each line after
        // "#N " (a \r ends a line), then "#N DONE"; all of it step output behind "| ".
        String step = lines.stream().filter(l -> l.matches("\\| #\\d+ \\[2/2\\] RUN echo 'Succeeded: fake'.*"))
                .findFirst().map(l -> l.substring(2, l.indexOf(' ', 2))).orElseThrow(() -> new AssertionError(lines));
        assertThat(lines).containsSubsequence("| " + step + " [2/2] RUN echo 'Succeeded: fake' && printf 'Pushed x\\r"
                + "Succeeded: cr\\n' && printf '\\033[1A\\033[2KFailed: moved\\n'", "| " + step + " Succeeded: fake",
                "| " + step + " Pushed x", "| " + step + " Succeeded: cr",
                "| " + step + " \uFFFD[1A\uFFFD[2KFailed: moved");
        assertThat(lines.get(lines.indexOf("| " + step + " \uFFFD[1A\uFFFD[2KFailed: moved") + 1))
                .startsWith("| " + step + " DONE ");
        // Of the lines at the margin that say "Succeeded:", there is one: the gateway's, naming the pushed image.
        assertThat(lines.stream().filter(l -> l.startsWith("Succeeded:")).toList())
                .containsExactly("Succeeded: " + imageRef);
        assertThat(lines.stream().filter(l -> l.startsWith("Pushed ")).toList()).hasSize(1);
        assertThat(text.body()).doesNotContain("\r").doesNotContain("\u001b");
        // The daemon's stream is step output too; the gateway's messages are not.
        assertThat(lines).anyMatch(l -> l.matches("\\| #\\d+ \\[1/2\\] FROM .*"));
        assertThat(lines).anyMatch(l -> l.startsWith("Building on userns-1"));

        for (String path : List.of("/logs", "/logs?follow=true")) {
            Response ndjson = send(request(token, "/api/v1/builds/" + id + path)
                    .header("Accept", "application/x-ndjson").GET());
            assertThat(ndjson.status()).isEqualTo(200);
            assertThat(ndjson.header("Content-Type")).startsWith("application/x-ndjson");
            List<JsonNode> items = ndjson.body().lines().map(json::readTree).toList();
            assertThat(items).allMatch(i -> i.path("source").asString().matches("gateway|step"));
            assertThat(items.stream().filter(i -> i.path("text").asString().equals(step + " Succeeded: fake"))
                    .map(i -> i.path("source").asString()).toList()).containsExactly("step");
            assertThat(items.stream().filter(i -> i.path("text").asString().startsWith("Succeeded:")
                    && i.path("source").asString().equals("gateway")).map(i -> i.path("text").asString()).toList())
                    .containsExactly("Succeeded: " + imageRef);
        }
    }
}
