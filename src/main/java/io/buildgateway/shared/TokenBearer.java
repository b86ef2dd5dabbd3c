package io.buildgateway.shared;

import java.util.UUID;

/**
 * A principal that may have authenticated with a gateway token: {@link #tokenId()} is that token's id, or null (an
 * identity-provider JWT, a client certificate, the gateway's own callers). Lets the web layer put the token's id into
 * every audit event of the request without depending on the auth module.
 */
public interface TokenBearer {

    UUID tokenId();
}
