/**
 * The append-only, hash-chained audit trail. Listens for {@link io.buildgateway.shared.AuditRecord} events from every
 * module and appends them in the publisher's transaction, so an event exists if and only if its change committed.
 * Each row carries {@code hash = SHA-256(prevHash ‖ canonical event)}; {@link io.buildgateway.audit.AuditChain}
 * verifies a chain as a pure function. Uses only {@code shared}.
 */
package io.buildgateway.audit;
