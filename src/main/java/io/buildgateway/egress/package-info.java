/**
 * Controlled egress for builds (issue #14, docs/egress.md): the policy's allowlist of mirror URL prefixes
 * ({@code egress:}), matched strictly; a forward proxy inside the gateway on a listener of its own, with per-build
 * credentials, that passes allowed plain-HTTP responses while hashing them, opens CONNECT tunnels to allowlisted
 * https hosts only, refuses everything else with a line in the build log, and pins a rebuild to an earlier build's
 * digests; the records of what each build fetched ({@code build_fetch}, {@code build_tunnel},
 * {@code build_egress_refusal}) and their audit events; with several replicas, where each open session lives
 * ({@code egress_session}) and the relay of a connection to the replica that holds its session. Front door: {@link io.buildgateway.egress.Egress}. Uses
 * shared.
 */
package io.buildgateway.egress;
