/**
 * The build lifecycle: submission (parameters, team check, intake, policy gate), the PostgreSQL-backed queue
 * (claimed with {@code FOR UPDATE SKIP LOCKED}, leased and heart-beaten so a lost replica's builds are recovered),
 * dispatch to the host pool, logs, cancellation, and the {@code /api/v1/builds}, {@code /api/v1/hosts} endpoints.
 * Front door: {@link io.buildgateway.builds.BuildSubmissions}. Uses auth, intake, policy, hostpool and shared.
 */
package io.buildgateway.builds;
