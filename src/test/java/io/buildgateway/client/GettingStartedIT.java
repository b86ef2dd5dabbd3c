package io.buildgateway.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.DockerCli;
import io.buildgateway.support.IntegrationTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.web.server.context.WebServerApplicationContext;

/**
 * docs/getting-started.md cannot rot: every {@code sh} block of it runs, in order and in one shell, against this
 * test's gateway. The one block marked {@code sh make-run} is {@code make run}, which this test environment stands
 * in for; {@code text} blocks are sample output.
 */
class GettingStartedIT extends IntegrationTest {

    @TempDir
    Path work;

    @Autowired
    WebServerApplicationContext server;

    @Test
    void everyCommandOfTheGettingStartedPageRuns() throws Exception {
        List<String> blocks = shellBlocks(Files.readString(Path.of("docs", "getting-started.md")));
        assertThat(blocks).as("the runnable blocks of docs/getting-started.md").hasSizeGreaterThanOrEqualTo(8);
        Files.writeString(work.resolve("script.sh"), "set -e\n" + String.join("\n", blocks));
        Files.createSymbolicLink(work.resolve("bin"), Path.of("bin").toAbsolutePath());

        ProcessBuilder b = new ProcessBuilder("sh", "script.sh").directory(work.toFile()).redirectErrorStream(true);
        b.environment().remove("GW_TOKEN");
        b.environment().put("GW_URL", base());
        b.environment().put("REGISTRY", registryAddress());
        b.environment().put("ADMIN", ADMIN_SECRET);
        // The docker build block: the gateway's Docker API port as make run's 127.0.0.1:2375, and the developer's
        // own daemon (where the image is pulled and run) as the test environment's plain one.
        b.environment().put("GW_DOCKER_HOST", "tcp://127.0.0.1:" + DockerCli.enginePort(server));
        b.environment().put("DOCKER_HOST", require("BGW_PLAIN_DOCKER_HOST"));
        b.environment().remove("DOCKER_CONFIG");
        b.environment().remove("DOCKER_TLS_VERIFY");
        b.environment().remove("DOCKER_CERT_PATH");
        b.environment().remove("DOCKER_BUILDKIT");
        Process p = b.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();

        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("built " + registryAddress() + "/payments/hello@sha256:")
                .contains("lint passed")
                .contains("gw exited 3").contains("unapproved-image")
                .contains("\"valid\": true");
        // docker build through the gateway, then the image pulled by its digest and run on the developer's daemon.
        assertThat(out).containsPattern("Successfully built and pushed " + Pattern.quote(registryAddress())
                        + "/payments/app:1.0 as " + Pattern.quote(registryAddress()) + "/payments/app@sha256:[0-9a-f]{64}")
                .contains("hello from the gateway");
        String app = out.lines().filter(l -> l.contains("Successfully built and pushed ")).findFirst().orElseThrow();
        DockerCli.run(work, require("BGW_PLAIN_DOCKER_HOST"), Map.of(), "rmi",
                app.substring(app.indexOf(" as ") + 4).trim());
        assertThat(out).as("the .dockerignore kept local.env out").doesNotContain("context-secret-file");
    }

    /** The contents of ```sh blocks; the ```sh make-run block must be exactly {@code make run}. */
    static List<String> shellBlocks(String markdown) {
        List<String> blocks = new ArrayList<>();
        String[] lines = markdown.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String fence = lines[i].strip();
            if (!fence.startsWith("```") || fence.equals("```")) {
                continue;
            }
            StringBuilder body = new StringBuilder();
            int j = i + 1;
            while (j < lines.length && !lines[j].strip().equals("```")) {
                body.append(lines[j]).append('\n');
                j++;
            }
            String info = fence.substring(3).strip();
            if (info.equals("sh")) {
                blocks.add(body.toString());
            } else if (info.equals("sh make-run")) {
                assertThat(body.toString().strip()).isEqualTo("make run");
            } else {
                assertThat(info).as("a block that is neither run nor sample output").isEqualTo("text");
            }
            i = j;
        }
        return blocks;
    }
}
