package io.buildgateway.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/getting-started.md cannot rot: every {@code sh} block of it runs, in order and in one shell, against this
 * test's gateway. The one block marked {@code sh make-run} is {@code make run}, which this test environment stands
 * in for; {@code text} blocks are sample output.
 */
class GettingStartedIT extends IntegrationTest {

    @TempDir
    Path work;

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
        Process p = b.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();

        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("built " + registryAddress() + "/payments/hello@sha256:")
                .contains("lint passed")
                .contains("gw exited 3").contains("unapproved-image")
                .contains("\"valid\": true");
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
