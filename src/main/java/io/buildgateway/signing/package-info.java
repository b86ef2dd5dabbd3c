/**
 * The gateway's own signing key: the one key that signs audit checkpoints and image provenance. It is held only by
 * the gateway process (a key file readable by the gateway's user, or a PKCS#11 token) and never reaches a build
 * host. Front door: {@link io.buildgateway.signing.GatewayKey}. Uses only {@code shared}.
 */
package io.buildgateway.signing;
