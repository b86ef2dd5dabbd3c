package io.buildgateway.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bin/gw} on its own: shellcheck-clean as POSIX sh, and careful with the token before any request. */
class GwScriptTest {

    @TempDir
    Path home;

    record Run(int exit, String out, String err) {
    }

    @Test
    void isShellcheckCleanAsPosixSh() throws Exception {
        Run r = run(List.of("shellcheck", "--shell=sh", "--severity=style", GwContextTest.GW.toString()), null);

        assertThat(r.exit()).as(r.out()).isZero();
    }

    @Test
    void refusesATokenFileOthersCanRead() throws Exception {
        Path file = token("rw-r--r--");

        Run r = run(List.of("sh", GwContextTest.GW.toString(), "status", "00000000-0000-0000-0000-000000000000"),
                file);

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("may be read by others").contains("chmod 600");
    }

    @Test
    void refusesATokenWithCharactersNoTokenHas() throws Exception {
        Path file = token("rw-------");
        Files.writeString(file, "bgw_abc\" -H evil\n");

        Run r = run(List.of("sh", GwContextTest.GW.toString(), "status", "00000000-0000-0000-0000-000000000000"),
                file);

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("characters a token never has").doesNotContain("evil");
    }

    @Test
    void readsAnOwnerOnlyTokenFileAndSaysWhenTheGatewayDoesNotAnswer() throws Exception {
        Path file = token("rw-------");

        // Port 9 on loopback: nothing listens, so the request fails after the token was accepted.
        Run r = run(List.of("sh", GwContextTest.GW.toString(), "status", "00000000-0000-0000-0000-000000000000"),
                file);

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("no answer from the gateway at http://127.0.0.1:9");
    }

    @Test
    void aMalformedFilterStopsBeforeAnyRequest() throws Exception {
        Path file = token("rw-------");

        Run r = run(List.of("sh", GwContextTest.GW.toString(), "images", "team=payments", "cve"), file);

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("a filter is KEY=VALUE, not cve").doesNotContain("no answer");
    }

    @Test
    void unknownCommandsPrintUsageAndExit2() throws Exception {
        Run r = run(List.of("sh", GwContextTest.GW.toString(), "frobnicate"), null);

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("usage: gw");
    }

    private Path token(String permissions) throws IOException {
        Path file = home.resolve("token");
        Files.writeString(file, "bgw_secret-for-a-test\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(permissions));
        return file;
    }

    private Run run(List<String> command, Path tokenFile) throws Exception {
        ProcessBuilder b = new ProcessBuilder(command);
        b.environment().remove("GW_TOKEN");
        b.environment().put("GW_URL", "http://127.0.0.1:9");
        b.environment().put("HOME", home.toString());
        if (tokenFile != null) {
            b.environment().put("GW_TOKEN_FILE", tokenFile.toString());
        }
        Process p = b.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out, err);
    }
}
