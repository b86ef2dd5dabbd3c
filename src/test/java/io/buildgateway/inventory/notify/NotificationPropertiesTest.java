package io.buildgateway.inventory.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.inventory.notify.NotificationProperties.Retry;
import io.buildgateway.inventory.notify.NotificationProperties.Smtp;
import io.buildgateway.inventory.notify.NotificationProperties.Webhook;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The configuration is checked at start-up: these are the messages an operator sees. */
class NotificationPropertiesTest {

    private static final String SECRET = "0123456789abcdef0123";

    private static NotificationProperties with(List<Webhook> webhooks, Map<String, List<String>> emails, Smtp smtp,
            String cron, String zone) {
        return new NotificationProperties(webhooks, emails, smtp, null, null, cron, zone, null, null, null);
    }

    @Test
    void theLeaseOutlastsTheLongestAttempt() {
        assertThat(with(null, null, null, null, null).lease()).isEqualTo(Duration.ofSeconds(5 + 10 * 10 + 60));
        assertThat(new NotificationProperties(null, null, null, null, null, null, null, Duration.ofSeconds(1),
                Duration.ofSeconds(1), Duration.ofSeconds(21)).lease()).isEqualTo(Duration.ofSeconds(21));
        assertThatThrownBy(() -> new NotificationProperties(null, null, null, null, null, null, null,
                Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(20)))
                .hasMessageContaining("gateway.notifications.lease (PT20S)").hasMessageContaining("PT11S")
                .hasMessageContaining("clock differences");
    }

    @Test
    void defaultsAreTheDocumentedOnes() {
        NotificationProperties p = with(null, null, null, null, null);
        assertThat(p.webhooks()).isEmpty();
        assertThat(p.smtp().enabled()).isFalse();
        assertThat(p.smtp().starttls()).isTrue();
        assertThat(p.retry()).isEqualTo(new Retry(8, Duration.ofSeconds(10), Duration.ofHours(1)));
        assertThat(p.pollInterval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(p.digestCron()).isEqualTo("0 0 7 * * *");
    }

    @Test
    void refusesAWebhookUrlThatIsNotHttp() {
        assertThatThrownBy(() -> with(List.of(new Webhook("payments", "https://ok.example.test/", SECRET),
                new Webhook("payments", "ftp://files.example.test/drop", SECRET)), null, null, null, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gateway.notifications.webhooks[1].url")
                .hasMessageContaining("http:// or https://");
    }

    @Test
    void refusesAMissingOrShortSecretWithoutPrintingIt() {
        assertThatThrownBy(() -> with(List.of(new Webhook("payments", "https://ok.example.test/", null)), null, null,
                null, null)).hasMessageContaining("webhooks[0].secret must be set");
        assertThatThrownBy(() -> with(List.of(new Webhook("payments", "https://ok.example.test/", "short-s3cr")),
                null, null, null, null)).hasMessageContaining("at least 16").hasMessageNotContaining("short-s3cr");
    }

    @Test
    void refusesBadTeamsDuplicatesAndAddresses() {
        assertThatThrownBy(() -> with(List.of(new Webhook("Payments!", "https://ok.example.test/", SECRET)), null,
                null, null, null)).hasMessageContaining("webhooks[0].team");
        assertThatThrownBy(() -> with(List.of(new Webhook("payments", "https://ok.example.test/", SECRET),
                new Webhook("payments", "https://ok.example.test/", SECRET + "x")), null, null, null, null))
                .hasMessageContaining("webhooks[1] repeats");
        assertThatThrownBy(() -> with(null, Map.of("payments", List.of("not an address")), null, null, null))
                .hasMessageContaining("gateway.notifications.emails.payments");
        assertThatThrownBy(() -> with(null, Map.of("payments", List.of("Ops <ops@example.test>")), null, null, null))
                .hasMessageContaining("plain e-mail address");
    }

    @Test
    void smtpNeedsASenderAndTheDigestAValidCronAndZone() {
        assertThatThrownBy(() -> with(null, null, new Smtp("relay.internal", 25, null, null, null, true), null, null))
                .hasMessageContaining("smtp.from");
        assertThatThrownBy(() -> with(null, null, null, "every morning", null)).hasMessageContaining("digest-cron");
        assertThatThrownBy(() -> with(null, null, null, null, "Mars/Olympus")).hasMessageContaining("digest-zone");
        assertThat(with(null, null, null, "-", "Europe/Berlin").zone().getId()).isEqualTo("Europe/Berlin");
        assertThatThrownBy(() -> new Retry(3, Duration.ofMinutes(5), Duration.ofMinutes(1)))
                .hasMessageContaining("max-delay");
    }

    @Test
    void emailIsOffWithoutARelayEvenWhenAddressesAreConfigured() {
        Map<String, List<String>> emails = Map.of("payments", List.of("owners@example.test"));
        assertThat(with(null, emails, null, null, null).emailsOf("payments")).isEmpty();
        assertThat(with(null, emails, new Smtp("relay.internal", 25, "gw@example.test", null, null, true), null,
                null).emailsOf("payments")).containsExactly("owners@example.test");
    }

    @Test
    void toStringNeverShowsSecrets() {
        NotificationProperties p = with(List.of(new Webhook("payments",
                        "https://u:hunter2@ok.example.test/x?token=t0ps3cret", SECRET)), null,
                new Smtp("relay.internal", 587, "gw@example.test", "gw", "smtp-pa55word", true), null, null);
        assertThat(p.toString()).doesNotContain(SECRET).doesNotContain("smtp-pa55word").doesNotContain("hunter2")
                .doesNotContain("t0ps3cret").contains("https://ok.example.test/x").contains("***");
    }
}
