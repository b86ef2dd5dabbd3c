/**
 * The append-only, hash-chained audit trail (docs/audit.md). Listens for {@link io.buildgateway.shared.AuditRecord}
 * events from every module and appends them in the publisher's transaction, so an event exists if and only if its
 * change committed. Each row carries {@code hash = SHA-256(prevHash ‖ canonical event)}; {@link
 * io.buildgateway.audit.AuditChain} verifies a chain as a pure function. Also here: {@code /api/v1/audit} and
 * {@code /verify}, checkpoints of the chain's head signed with the gateway key (outside the database too, so a cut
 * tail is detectable), and the export to the SIEM (syslog, file) from a resumable cursor. Uses {@code signing} and
 * {@code shared}.
 */
package io.buildgateway.audit;
