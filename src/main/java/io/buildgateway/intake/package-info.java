/**
 * Build context intake: streams a tar or tar.gz body to disk while hashing it (the sha256 of the archive is the
 * {@code contextDigest}), then reads it once through {@link io.buildgateway.intake.ArchiveInspector} and refuses any
 * unsafe entry before a daemon sees it. Accepted archives live in a content-addressed store. Front door:
 * {@link io.buildgateway.intake.ContextIntake}. Uses only {@code shared}.
 */
package io.buildgateway.intake;
