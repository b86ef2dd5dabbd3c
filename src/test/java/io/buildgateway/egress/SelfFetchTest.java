package io.buildgateway.egress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A fetch's errors name the URL without user info or query: the message is logged and becomes the build's failure
 * reason, and the URL (after substitution) can hold a credential (a review's finding, 2026-12-07).
 */
class SelfFetchTest {

    @Test
    void aUrlIsShownWithoutUserInfoQueryOrFragment() {
        assertThat(SelfFetch.shown("https://u:pw@files.example:8443/a/b.tgz?X-Amz-Signature=abc#f"))
                .isEqualTo("https://files.example:8443/a/b.tgz");
        assertThat(SelfFetch.shown("https://files.example/a?token=s3cr3t")).isEqualTo("https://files.example/a");
        assertThat(SelfFetch.shown("https://files.example/a@b")).isEqualTo("https://files.example/a@b");
    }

    @Test
    void aRefusedUrlsCredentialIsNotInTheError() {
        assertThatThrownBy(() -> SelfFetch.get(new InetSocketAddress(InetAddress.getLoopbackAddress(), 9),
                "u", "s", "https://oauth2:s3cr3tpw@files.example/x?token=s3cr3t", OutputStream.nullOutputStream(),
                Duration.ofSeconds(1))).isInstanceOf(IOException.class)
                .hasMessageContaining("not a URL the gateway fetches").hasMessageNotContaining("s3cr3t");
        assertThatThrownBy(() -> SelfFetch.get(new InetSocketAddress(InetAddress.getLoopbackAddress(), 9),
                "u", "s", "https://files.example/x y?token=s3cr3t", OutputStream.nullOutputStream(),
                Duration.ofSeconds(1))).isInstanceOf(IOException.class)
                .hasMessageContaining("not a URL the gateway fetches").hasMessageNotContaining("s3cr3t");
    }

    @Test
    void aShortResponseNamesTheUrlWithoutItsQuery() throws Exception {
        try (ServerSocket proxy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                try (Socket s = proxy.accept()) {
                    s.getInputStream().read(new byte[4096]);
                    s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"
                            .getBytes(StandardCharsets.US_ASCII));
                } catch (IOException ignored) {
                    // the test's assertion says what went wrong
                }
            });
            t.start();
            assertThatThrownBy(() -> SelfFetch.get((InetSocketAddress) proxy.getLocalSocketAddress(), "u", "s",
                    "https://files.example/x.tgz?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE&token=s3cr3t",
                    OutputStream.nullOutputStream(), Duration.ofSeconds(5))).isInstanceOf(IOException.class)
                    .hasMessageContaining("https://files.example/x.tgz ended after 3 of 100 bytes")
                    .hasMessageNotContaining("s3cr3t").hasMessageNotContaining("AKIA");
            t.join(5000);
        }
    }
}
