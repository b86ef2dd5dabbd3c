package io.buildgateway.inventory.notify;

import java.time.Instant;
import java.util.UUID;

/**
 * A delivery as an attempt sees it, just claimed: {@code attempts} already counts the attempt about to be made.
 *
 * @param endpoint which configured destination (see db/migration/V4): a URL's key or an e-mail address
 * @param body the webhook JSON, signed and sent byte for byte as stored, or the e-mail text
 */
record Delivery(UUID id, UUID notificationId, String team, Channel channel, String endpoint, String target,
        String event, String subject, String body, int attempts, Instant createdAt) {
}
