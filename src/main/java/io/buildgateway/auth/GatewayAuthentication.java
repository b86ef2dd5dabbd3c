package io.buildgateway.auth;

import io.buildgateway.shared.web.ProblemResponses;
import jakarta.servlet.http.HttpServletRequest;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.web.authentication.AnonymousAuthenticationFilter;
import org.springframework.stereotype.Component;

/**
 * How a request is authenticated, for every port the gateway listens on: a bearer credential (gateway token,
 * identity-provider JWT, scrape token) or a verified client certificate, both producing the same
 * {@link GatewayPrincipal} (docs/identity.md). Other front doors (the Docker Engine API's port) add the same filters
 * to their own security chain, so they cannot drift from the API's: one identity-provider client (one JWKS cache).
 */
@Component
public class GatewayAuthentication {

    private static final Logger log = LoggerFactory.getLogger(GatewayAuthentication.class);

    private final Tokens tokens;
    private final AuthProperties properties;
    private final ProblemResponses problems;
    private final OidcAuthenticator oidc;
    private final ClientCertificates certificates;
    private final WarmUpPass warmUp;

    GatewayAuthentication(Tokens tokens, AuthProperties properties, ProblemResponses problems, Clock clock,
            WarmUpPass warmUp) {
        this.warmUp = warmUp;
        this.tokens = tokens;
        this.properties = properties;
        this.problems = problems;
        if (properties.oidc().enabled()) {
            oidc = new OidcAuthenticator(properties.oidc(), clock);
            log.info("accepting identity-provider JWTs from issuer {} for audiences {} (keys: {})",
                    properties.oidc().issuerUri(), properties.oidc().audiences(),
                    properties.oidc().jwkSetUri() == null ? "discovered" : properties.oidc().jwkSetUri());
        } else {
            oidc = null;
        }
        if (!properties.mtls().clients().isEmpty()) {
            log.info("{} client certificate subject(s) mapped to principals", properties.mtls().clients().size());
        }
        this.certificates = new ClientCertificates(properties.mtls());
    }

    /** Adds the bearer and client-certificate filters to a security chain (before anonymous authentication). */
    public HttpSecurity authenticate(HttpSecurity http) {
        return http.addFilterBefore(new BearerTokenFilter(tokens, properties, oidc, problems, warmUp),
                        AnonymousAuthenticationFilter.class)
                .addFilterBefore(new ClientCertificateFilter(certificates), AnonymousAuthenticationFilter.class);
    }

    /** What a caller without a credential is told it needs, naming only the ways this gateway accepts. */
    public String needs() {
        return "Authorization: Bearer <token>" + (oidc != null ? " (a gateway token or an identity-provider JWT)" : "")
                + (properties.mtls().clients().isEmpty() ? "" : " or a mapped client certificate");
    }

    /** The reason an authentication failed, when a filter recorded one (never the credential itself). */
    public static Object failure(HttpServletRequest request) {
        return request.getAttribute(BearerTokenFilter.FAILURE);
    }
}
