package io.buildgateway.inventory.notify;

import java.time.Instant;
import java.util.UUID;

/** A delivery as {@code GET /api/v1/notifications} shows it: where it went, how it went, never what it carried. */
record DeliveryView(UUID id, String team, String channel, String target, String event, String status, int attempts,
        String lastError, Instant createdAt, Instant nextAttemptAt, Instant deliveredAt) {
}
