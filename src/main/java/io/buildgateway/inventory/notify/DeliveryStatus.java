package io.buildgateway.inventory.notify;

import io.buildgateway.shared.Problem;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A delivery's state; its lowercase name is what the table and the API carry. */
enum DeliveryStatus {
    PENDING, DELIVERED, FAILED;

    String value() {
        return name().toLowerCase(Locale.ROOT);
    }

    static DeliveryStatus of(String value) {
        return valueOf(value.toUpperCase(Locale.ROOT));
    }

    /** The {@code status} query parameter: one of the three names, any case; anything else is a 400. */
    static DeliveryStatus parameter(String value) {
        for (DeliveryStatus s : values()) {
            if (s.name().equalsIgnoreCase(value)) {
                return s;
            }
        }
        throw Problem.badRequest("invalid-parameter", "status must be one of pending, delivered, failed")
                .with("errors", List.of(Map.of("field", "status", "message", "must be pending, delivered or failed")));
    }
}
