package io.buildgateway.inventory.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class MessagesTest {

    private final Messages messages = new Messages(JsonMapper.builder().build());
    private final UUID id = UUID.fromString("6a0e0b5e-0000-4000-8000-000000000001");
    private final Instant at = Instant.parse("2026-01-01T07:00:00.123Z");

    @Test
    void theWebhookBodyHasTheDocumentedFieldsInOrder() {
        Map<String, Object> payload = new LinkedHashMap<>();
        payload.put("image", "payments/api");
        payload.put("count", 2);
        assertThat(messages.webhookBody(id, "image.rebuild-needed", "payments", at, payload)).isEqualTo(
                "{\"id\":\"6a0e0b5e-0000-4000-8000-000000000001\",\"event\":\"image.rebuild-needed\","
                        + "\"team\":\"payments\",\"occurredAt\":\"2026-01-01T07:00:00.123Z\","
                        + "\"payload\":{\"image\":\"payments/api\",\"count\":2}}");
    }

    @Test
    void aSubjectCannotStartAHeaderOfItsOwn() {
        assertThat(Messages.oneLine("Digest\r\nBcc: everyone@example.test"))
                .isEqualTo("Digest Bcc: everyone@example.test");
    }

    @Test
    void theEmailListsThePayloadAsLines() {
        String text = messages.text(id, "image.redeploy-needed", "payments", at,
                Map.of("workload", "prod/api", "images", List.of("a", "b")));
        assertThat(text).contains("Event: image.redeploy-needed\n").contains("workload: prod/api\n")
                .contains("images: [\"a\",\"b\"]\n").contains(id.toString());
    }

    @Test
    void anOversizedNotificationIsRefused() {
        assertThatThrownBy(() -> messages.webhookBody(id, "e", "payments", at,
                Map.of("blob", "x".repeat(Messages.MAX_BODY)))).isInstanceOf(IllegalArgumentException.class);
    }
}
