/**
 * Notifications to image owners, the delivery side of the inventory: {@link
 * io.buildgateway.inventory.notify.Notifications} records one delivery per configured webhook and e-mail address of
 * a team in the caller's transaction, and every replica's worker delivers them (signed webhooks, plain-text mail
 * through the SMTP relay) with retries and backoff, claiming rows with {@code FOR UPDATE SKIP LOCKED}. The daily
 * digest asks {@link io.buildgateway.inventory.notify.DigestSource} beans what is stale. Admins read the delivery log
 * at {@code /api/v1/notifications}. Configuration: {@link io.buildgateway.inventory.notify.NotificationProperties};
 * receivers' side: docs/notifications.md.
 */
package io.buildgateway.inventory.notify;
