/**
 * Build context intake: streams a tar or tar.gz body to disk while hashing it (the sha256 of the archive is the
 * uploaded {@code contextDigest}), then reads it once through {@link io.buildgateway.intake.ArchiveInspector} and
 * refuses any unsafe or ambiguous entry before a daemon sees it. Every header is read twice, by commons-compress and
 * by {@link io.buildgateway.intake.GoTarView} the way the daemon's Go {@code archive/tar} reads it; an archive the two
 * see differently is refused. Accepted archives live in a content-addressed store.
 * {@link io.buildgateway.intake.ContextIntake#repack} writes, from the inspected upload, the plain tar the daemon
 * builds (directories, regular files, in-context symlinks, each path once, deterministic headers, the gateway's
 * Dockerfile), stored under its own digest; {@link io.buildgateway.intake.ContextIntake#delete} removes a stored
 * context at once. Front door: {@link io.buildgateway.intake.ContextIntake}. Uses only {@code shared}.
 */
package io.buildgateway.intake;
