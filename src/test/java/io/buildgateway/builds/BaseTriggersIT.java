package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.Canary;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * ONBUILD triggers that an approved base image carries in its config run with the powers of ordinary instructions in
 * every image built FROM it. The gateway reads them from the registry before the build and judges them as the
 * instructions they become; a local HTTP canary proves that the trigger's download never happened.
 */
class BaseTriggersIT extends IntegrationTest {

    @org.junit.jupiter.api.extension.RegisterExtension
    static final Canary canary = Canary.start(); // stopped after the class

    /** The Docker CLI against the plain daemon, which reaches the registry's open endpoint (as an operator does). */
    private static String docker(String... args) {
        List<String> cmd = new ArrayList<>(List.of("docker", "-H", require("BGW_PLAIN_DOCKER_HOST")));
        cmd.addAll(List.of(args));
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("DOCKER_BUILDKIT", "0");
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor()).as("docker %s: %s", args, out).isZero();
            return out;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Test
    void triggersInAnApprovedBaseImageAreJudgedAsTheInstructionsTheyBecome() throws IOException {
        String base = registryAddress() + "/base/onbuild-canary:1";
        Path ctx = Files.createTempDirectory("onbuild-base");
        Files.writeString(ctx.resolve("Dockerfile"), "FROM " + registryAddress() + "/base/busybox\n"
                + "ONBUILD ADD http://127.0.0.1:" + canary.port() + "/secret /secret\n");
        docker("pull", registryAddress() + "/base/busybox");
        docker("build", "-q", "--network", "none", "-t", base, ctx.toString());
        docker("push", base);

        String dockerfile = "FROM " + base + "\nUSER 65534\n";

        // Control: the same Dockerfile built with BuildKit on the plain daemon, which nothing stops: the base's
        // trigger runs as the ADD it becomes and the daemon fetches the canary's URL.
        Path control = Files.createTempFile("onbuild-control", ".tar");
        try {
            Files.write(control, Tars.ustar().file("Dockerfile", dockerfile).bytes()); // BuildKit: no pax headers
            String stream = run("curl", "-s", "-m", "120", "--unix-socket", require("BGW_PLAIN_DOCKER_HOST")
                    .substring("unix://".length()), "-X", "POST", "-H", "Content-Type: application/x-tar",
                    "--data-binary", "@" + control,
                    "http://localhost/v1.45/build?version=2&networkmode=none&nocache=1");
            assertThat(canary.requests()).as("control: the trigger's fetch on the plain daemon\n" + stream)
                    .containsExactly("GET /secret");
        } finally {
            Files.delete(control);
        }
        canary.clear();

        String token = builder("trig");
        Response r = submit(token, "image=trig/app&tag=1", Tars.dockerfile(dockerfile));
        JsonNode problem = problem(r, 422);
        // The trigger, judged as the ADD it becomes, at the FROM line that brings it.
        List<JsonNode> addUrl = new ArrayList<>();
        problem.get("findings").forEach(f -> {
            if (f.path("rule").asString().equals("add-url-without-checksum")) {
                addUrl.add(f);
            }
        });
        assertThat(addUrl).as("a finding on the trigger's download: " + problem.get("findings")).hasSize(1);
        JsonNode finding = addUrl.get(0);
        assertThat(finding.path("severity").asString()).isEqualToIgnoringCase("error");
        assertThat(finding.path("message").asString()).as(finding.toString())
                .startsWith("ADD of a URL without --checksum");
        assertThat(finding.path("line").asInt()).as(finding.toString()).isEqualTo(1);
        String buildId = problem.get("buildId").asText();
        assertThat(read(get(token, "/api/v1/builds/" + buildId)).get("status").asText()).isEqualTo("REJECTED");
        assertThat(canary.requests()).as("requests the canary saw").isEmpty();
    }

    @Test
    void anApprovedBaseWhoseConfigCannotBeReadFailsClosed() {
        String token = builder("trig");
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/does-not-exist:1\nUSER 65534\n");
        JsonNode problem = problem(submit(token, "image=trig/missing&tag=1", context), 422);
        assertThat(problem.get("findings").toString()).contains("base-image-triggers");
        assertThat(canary.requests()).isEmpty();
    }
}
