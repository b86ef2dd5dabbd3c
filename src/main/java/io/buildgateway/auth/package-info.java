/**
 * Who may do what: gateway tokens (random 256-bit secrets, only their SHA-256 stored; per-role maximum lifetime,
 * rotation with a grace period, last use), JWTs of the company's identity provider and client certificates of
 * machine clients, all mapped to one {@link io.buildgateway.auth.GatewayPrincipal}; roles and teams, the security
 * filter chain, and the 401/403 problem responses (docs/identity.md). Front doors: {@link io.buildgateway.auth.Tokens},
 * {@link io.buildgateway.auth.Teams}, and {@link io.buildgateway.auth.GatewayPrincipal} for the caller of a request.
 * Uses only {@code shared}.
 */
package io.buildgateway.auth;
