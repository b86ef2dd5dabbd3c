package io.buildgateway.inventory.notify;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.inventory.notify.NotificationProperties.Webhook;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** What of a webhook URL is shown, stored and sent. */
class TargetsTest {

    @Test
    void theShownTargetHasNoUserInfoQueryOrFragment() {
        assertThat(Targets.redact("https://ci:p%40ss@hooks.example.test:8443/build/gw?token=abc&x=1"))
                .isEqualTo("https://hooks.example.test:8443/build/gw");
        assertThat(Targets.redact("HTTP://hooks.example.test?token=abc")).isEqualTo("http://hooks.example.test/");
        assertThat(Targets.redact("http://[::1]:9000/x#frag")).isEqualTo("http://[::1]:9000/x");
        assertThat(Targets.redact("not a url")).isEqualTo("(invalid URL)");
    }

    @Test
    void onlyAbsoluteHttpUrlsWithAHostAreAccepted() {
        assertThat(Targets.checkUrl("https://hooks.example.test/x?token=1")).isNull();
        assertThat(Targets.checkUrl("http://127.0.0.1:8080")).isNull();
        assertThat(Targets.checkUrl("ftp://hooks.example.test/x")).contains("http:// or https://");
        assertThat(Targets.checkUrl("file:///etc/passwd")).contains("http:// or https://");
        assertThat(Targets.checkUrl("/relative/path")).contains("http:// or https://");
        assertThat(Targets.checkUrl("http:///no-host")).contains("host");
        assertThat(Targets.checkUrl("https://hooks.example.test/x#f")).contains("fragment");
        assertThat(Targets.checkUrl(" ")).contains("must be set");
        assertThat(Targets.checkUrl("http://h/ bad")).contains("not a valid URL");
    }

    @Test
    void aRefusedUrlIsNotEchoedWithItsSecrets() {
        assertThat(Targets.checkUrl("http://user:hunter2@/x?token=t0ps3cret")).doesNotContain("hunter2")
                .doesNotContain("t0ps3cret");
    }

    @Test
    void theRequestKeepsTheQueryAndSendsUserInfoAsBasicCredentials() {
        URI configured = URI.create("https://ci:p%40ss@hooks.example.test:8443/build/gw?token=a%2Fb");
        assertThat(Targets.requestUri(configured))
                .isEqualTo(URI.create("https://hooks.example.test:8443/build/gw?token=a%2Fb"));
        assertThat(Targets.basicAuthorization(configured)).contains("Basic "
                + Base64.getEncoder().encodeToString("ci:p@ss".getBytes(StandardCharsets.UTF_8)));
        assertThat(Targets.basicAuthorization(URI.create("https://hooks.example.test/"))).isEmpty();
    }

    @Test
    void theStoredEndpointIsAHashNotTheUrl() {
        String key = Targets.endpointKey("https://hooks.example.test/x?token=t0ps3cret");
        assertThat(key).startsWith("sha256:").hasSize(71).doesNotContain("t0ps3cret");
        assertThat(Targets.endpointKey(" https://hooks.example.test/x?token=t0ps3cret ")).isEqualTo(key);
        assertThat(Targets.endpointKey("https://hooks.example.test/y")).isNotEqualTo(key);
    }

    @Test
    void networkErrorsAreRecordedWithoutTheUrlsSecrets() {
        Webhook hook = new Webhook("payments", "http://ci:hunter2@hooks.example.test/x?token=t0ps3cret",
                "0123456789abcdef-secret");
        String error = WebhookSender.describe(new IOException("failed to reach "
                + "http://ci:hunter2@hooks.example.test/x?token=t0ps3cret with 0123456789abcdef-secret"), hook);
        assertThat(error).startsWith("IOException: ").doesNotContain("hunter2").doesNotContain("t0ps3cret")
                .doesNotContain("0123456789abcdef-secret").contains("http://hooks.example.test/x");
    }
}
