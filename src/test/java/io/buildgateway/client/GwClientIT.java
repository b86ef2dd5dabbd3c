package io.buildgateway.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/** {@code bin/gw} as a process against the running gateway, as a developer or a CI job runs it. */
class GwClientIT extends IntegrationTest {

    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {
    }

    @Test
    void buildsWhatDockerignoreKeepsAndPrintsThePushedReference() throws Exception {
        String token = builder("payments");
        write("Dockerfile", """
                FROM %s/base/busybox
                ARG GREETING
                COPY . /app/
                RUN ls -R /app && test ! -e /app/secret.env && test -e /app/keep/me && echo "greeting=$GREETING"
                USER 65534
                """.formatted(registryAddress()));
        write("keep/me", "kept\n");
        write("secret.env", "TOKEN=do-not-send\n");
        write(".dockerignore", "*.env\n");

        Run r = gw(token, "build", "-t", "payments/gw-hello:v1", "--build-arg", "GREETING=hi", "--label",
                "owner=payments", ".");

        assertThat(r.exit()).as(r.err()).isZero();
        String ref = r.out().strip();
        assertThat(ref).matches(java.util.regex.Pattern.quote(registryAddress())
                + "/payments/gw-hello@sha256:[0-9a-f]{64}");
        // The log was followed to the end, step output included.
        assertThat(r.err()).containsPattern("(?m)^\\| #\\d+ greeting=hi$").contains("succeeded");
        String digest = ref.substring(ref.indexOf('@') + 1);
        JsonNode builds = read(get(token, "/api/v1/builds?image=payments/gw-hello"));
        JsonNode build = builds.path("items").get(0);
        assertThat(build.path("imageDigest").asString()).isEqualTo(digest);
        assertThat(build.path("tag").asString()).isEqualTo("v1");

        Run status = gw(token, "status", build.path("id").asString());
        assertThat(status.exit()).isZero();
        assertThat(json.readTree(status.out()).path("status").asString()).isEqualTo("SUCCEEDED");
    }

    @Test
    void aRejectedBuildExitsThreeWithReadableFindings() throws Exception {
        String token = builder("payments");
        write("Dockerfile", "FROM docker.io/library/alpine:3.20\nUSER root\n");

        Run r = gw(token, "build", "-t", "payments/gw-rejected:1", ".");

        assertThat(r.exit()).as(r.err()).isEqualTo(3);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains("rejected by the policy").contains("ERROR unapproved-image (line 1):")
                .contains("final-user-root");
    }

    @Test
    void anotherTeamsImageIsRefusedWithTheGatewaysReason() throws Exception {
        String token = builder("payments");
        write("Dockerfile", "FROM %s/base/busybox\nUSER 65534\n".formatted(registryAddress()));

        Run r = gw(token, "build", "-t", "billing/app:1", ".");

        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("403").contains("billing");
    }

    @Test
    void lintSarifPrintsSarifAndExitsThreeWhenItDoesNotPass() throws Exception {
        String token = builder("payments");
        write("Dockerfile", "FROM docker.io/library/alpine:3.20\nUSER root\n");

        Run failing = gw(token, "lint", "--sarif", "--image", "payments/app", ".");

        assertThat(failing.exit()).as(failing.err()).isEqualTo(3);
        JsonNode sarif = json.readTree(failing.out());
        assertThat(sarif.path("version").asString()).isEqualTo("2.1.0");
        assertThat(sarif.path("runs").get(0).path("results").findValuesAsString("ruleId"))
                .contains("unapproved-image");

        write("Dockerfile", "FROM %s/base/busybox\nUSER 65534\n".formatted(registryAddress()));
        Run passing = gw(token, "lint", "--image", "payments/app", "Dockerfile");
        assertThat(passing.exit()).as(passing.err()).isZero();
        assertThat(passing.err()).contains("lint passed");
    }

    @Test
    void readsTheTokenFromAnOwnerOnlyFileAndAnswersWithTheGatewaysProblems() throws Exception {
        String auditor = token(Set.of("AUDITOR"), Set.of());
        Path file = dir.resolve("token");
        Files.writeString(file, auditor + "\n");
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));

        Run verify = gwWithFile(file, "audit", "verify");
        assertThat(verify.exit()).as(verify.err()).isZero();
        assertThat(json.readTree(verify.out()).path("valid").asBoolean()).isTrue();

        Run refused = gwWithFile(file, "rebuild", "--cve", "CVE-2024-0001", "--reason", "test", "--dry-run");
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.err()).contains("403");
        assertThat(refused.out() + refused.err()).doesNotContain(auditor);
    }

    private void write(String name, String content) throws IOException {
        Path f = dir.resolve(name);
        Files.createDirectories(f.getParent());
        Files.writeString(f, content);
    }

    private Run gw(String token, String... args) throws Exception {
        return start(token, null, args);
    }

    private Run gwWithFile(Path tokenFile, String... args) throws Exception {
        return start(null, tokenFile, args);
    }

    private Run start(String token, Path tokenFile, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("sh", GwContextTest.GW.toString()));
        command.addAll(List.of(args));
        ProcessBuilder b = new ProcessBuilder(command).directory(dir.toFile());
        b.environment().put("GW_URL", base());
        b.environment().remove("GW_TOKEN");
        if (token != null) {
            b.environment().put("GW_TOKEN", token);
        }
        if (tokenFile != null) {
            b.environment().put("GW_TOKEN_FILE", tokenFile.toString());
        }
        b.redirectError(dir.resolve("gw.err").toFile());
        Process p = b.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("gw finished").isTrue();
        String err = Files.readString(dir.resolve("gw.err"));
        return new Run(p.exitValue(), out, err);
    }
}
