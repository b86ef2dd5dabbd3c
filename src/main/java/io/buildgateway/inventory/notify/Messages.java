package io.buildgateway.inventory.notify;

import java.time.Instant;
import java.time.temporal.Temporal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/**
 * What a notification says on each channel: the webhook's JSON body and the e-mail's subject and plain text. Both
 * are rendered once, when the notification is queued, and stored; retries send exactly the same content.
 */
@Component
final class Messages {

    /** A body larger than this is a caller's mistake (a payload is a summary, not a report) and is refused. */
    static final int MAX_BODY = 256 * 1024;

    private final JsonMapper json;

    Messages(JsonMapper json) {
        this.json = json;
    }

    /** {@code {"id","event","team","occurredAt","payload"}}. */
    String webhookBody(UUID notificationId, String event, String team, Instant occurredAt,
            Map<String, Object> payload) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", notificationId.toString());
        body.put("event", event);
        body.put("team", team);
        body.put("occurredAt", occurredAt.toString());
        body.put("payload", payload);
        return bounded(json.writeValueAsString(body));
    }

    static String subject(String event, String team) {
        return oneLine("[Build Gateway] " + event + " for team " + team);
    }

    String text(UUID notificationId, String event, String team, Instant occurredAt, Map<String, Object> payload) {
        StringBuilder out = new StringBuilder();
        out.append("Event: ").append(event).append('\n');
        out.append("Team: ").append(team).append('\n');
        out.append("Occurred at: ").append(occurredAt).append("\n\n");
        payload.forEach((key, value) -> out.append(key).append(": ").append(scalar(value)).append('\n'));
        return bounded(footer(out, notificationId));
    }

    String digestText(UUID notificationId, String team, Instant occurredAt, String subject,
            List<Map<String, Object>> items) {
        StringBuilder out = new StringBuilder();
        out.append(subject).append("\n\n");
        out.append("Team: ").append(team).append('\n');
        out.append("As of: ").append(occurredAt).append('\n');
        out.append(items.size()).append(items.size() == 1 ? " item" : " items").append(":\n\n");
        for (Map<String, Object> item : items) {
            String prefix = "- ";
            for (var e : item.entrySet()) {
                out.append(prefix).append(e.getKey()).append(": ").append(scalar(e.getValue())).append('\n');
                prefix = "  ";
            }
            out.append('\n');
        }
        return bounded(footer(out, notificationId));
    }

    private static String footer(StringBuilder out, UUID notificationId) {
        return out.append("\n-- \nBuild Gateway notification ").append(notificationId).append('\n').toString();
    }

    /** Mail header values must stay on one line: a newline in a subject would start a header of its own. */
    static String oneLine(String value) {
        return value.replaceAll("[\\p{Cntrl}]+", " ").strip();
    }

    private String scalar(Object value) {
        if (value == null || value instanceof CharSequence || value instanceof Number || value instanceof Boolean
                || value instanceof Enum<?> || value instanceof UUID || value instanceof Temporal) {
            return String.valueOf(value);
        }
        return json.writeValueAsString(value);
    }

    private static String bounded(String text) {
        if (text.length() > MAX_BODY) {
            throw new IllegalArgumentException("a notification is at most " + MAX_BODY + " characters, this one has "
                    + text.length());
        }
        return text;
    }
}
