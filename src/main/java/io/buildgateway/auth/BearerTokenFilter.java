package io.buildgateway.auth;

import io.buildgateway.shared.DatabaseUnavailable;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.RequestTimings;
import io.buildgateway.shared.web.ProblemResponses;
import io.buildgateway.shared.web.RequestInfos;
import io.buildgateway.shared.web.UnreadableParameters;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Reads {@code Authorization: Bearer <token>}. A value shaped like a JWT goes to the identity provider's decoder
 * ({@link OidcAuthenticator}, when one is configured); anything else is a gateway token ({@link Tokens}) or the
 * scrape token. Every way produces the same {@link GatewayPrincipal}, so endpoints, team rules and the audit trail
 * do not care how a caller authenticated. A missing or bad credential leaves the request anonymous, with the reason
 * kept as a request attribute for the 401 problem; a valid identity with no gateway role is answered 403 here, and an
 * unreachable identity provider or database 503. Tokens in query strings are never read; tokens are never logged.
 */
class BearerTokenFilter extends OncePerRequestFilter {

    static final String FAILURE = BearerTokenFilter.class.getName() + ".failure";
    /** Set when the request authenticated with a rotated token's previous secret, still within its grace period. */
    static final String PREVIOUS_SECRET = BearerTokenFilter.class.getName() + ".previousSecret";
    static final String SCRAPE_AUTHORITY = "SCRAPE";
    /** Identity-provider tokens with many groups are long; Tomcat's own header limit (8 KB) applies as well. */
    static final int MAX_HEADER = 8192;

    private final Tokens tokens;
    private final AuthProperties properties;
    private final OidcAuthenticator oidc;
    private final ProblemResponses problems;
    private final WarmUpPass warmUp;

    /** The one path the metrics scrape token may read. */
    static final String SCRAPE_PATH = "/actuator/prometheus";

    BearerTokenFilter(Tokens tokens, AuthProperties properties, OidcAuthenticator oidc, ProblemResponses problems,
            WarmUpPass warmUp) {
        this.warmUp = warmUp;
        this.tokens = tokens;
        this.properties = properties;
        this.oidc = oidc;
        this.problems = problems;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String header = request.getHeader("Authorization");
        if (header == null) {
            boolean tokenInParameters;
            try {
                tokenInParameters = request.getParameter("access_token") != null
                        || request.getParameter("token") != null;
            } catch (IllegalStateException unreadable) {
                // Tomcat 11 throws when it cannot read the parameters (too many, a form body with a broken escape or
                // over maxPostSize): the request's fault, answered 400/413 and audited here, not a 500 from /error.
                problems.write(UnreadableParameters.problem(unreadable), request, response);
                return;
            }
            if (tokenInParameters) {
                request.setAttribute(FAILURE, "tokens in query strings are not accepted; send Authorization: Bearer");
            }
            chain.doFilter(request, response);
            return;
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7) || header.substring(7).isBlank()
                || header.length() > MAX_HEADER) {
            request.setAttribute(FAILURE, "malformed Authorization header; expected 'Bearer <token>'");
            chain.doFilter(request, response);
            return;
        }
        String secret = header.substring(7).trim();
        if (warmUp.accepts(secret, request.getRemoteAddr())) {
            // the replica's own warm-up, before readiness (WarmUpPass): its refusals are rehearsals, not audited
            request.setAttribute(ProblemResponses.REHEARSAL, Boolean.TRUE);
            authenticate(WarmUpPass.principal());
            chain.doFilter(request, response);
            return;
        }
        String scrape = properties.scrapeToken();
        if (scrape != null && !scrape.isBlank() && MessageDigest.isEqual(scrape.getBytes(StandardCharsets.UTF_8),
                secret.getBytes(StandardCharsets.UTF_8))) {
            // The scrape token reads the metrics and nothing else: anywhere else it authenticates nobody (401,
            // audited), instead of a principal with no role that every "any authenticated caller" endpoint let in
            // (the policy's source with every team's settings, say; a review's finding, 2026-12-06).
            if (!SCRAPE_PATH.equals(request.getRequestURI())) {
                request.setAttribute(FAILURE, "the metrics scrape token may read " + SCRAPE_PATH + " only");
                chain.doFilter(request, response);
                return;
            }
            GatewayPrincipal scraper = new GatewayPrincipal(null, "prometheus-scraper", Set.of(), Set.of());
            setAuthentication(scraper, List.of(new SimpleGrantedAuthority(SCRAPE_AUTHORITY)));
            chain.doFilter(request, response);
            return;
        }
        if (OidcAuthenticator.looksLikeJwt(secret)) {
            if (identityProviderToken(secret, request, response)) {
                chain.doFilter(request, response);
            }
            return;
        }
        Tokens.Authentication result;
        long authStart = RequestTimings.start();
        try {
            result = tokens.authenticate(secret);
        } catch (RuntimeException e) {
            if (!DatabaseUnavailable.is(e)) {
                throw e;
            }
            // Answered here, not by a failed filter chain: the container would count and log the request as a 500
            // before the error page turned it into the 503 (DatabaseRestartIT counts the gateway's own metrics).
            problems.write(DatabaseUnavailable.problem(), request, response);
            return;
        } finally {
            RequestTimings.end("auth", authStart);
        }
        if (result.principal() == null) {
            request.setAttribute(FAILURE, switch (result.failure()) {
                case EXPIRED -> "the token has expired";
                case REVOKED -> "the token has been revoked";
                case RETIRED -> "the token was rotated and this secret was retired at " + result.retiredAt()
                        + "; use the new secret";
                case UNKNOWN -> "the token is not known to this gateway";
            });
            if (result.tokenId() != null) {
                // the 401 stays anonymous (nobody authenticated), but its event names the token whose secret this is:
                // a leaked revoked or expired token being used is traceable to the token
                request.setAttribute(RequestInfos.PRESENTED_TOKEN_ID, result.tokenId().toString());
                request.setAttribute(RequestInfos.PRESENTED_TOKEN_NAME, result.tokenName());
            }
        } else {
            if (result.previousSecret()) {
                request.setAttribute(PREVIOUS_SECRET, Boolean.TRUE);
            }
            authenticate(result.principal());
        }
        chain.doFilter(request, response);
    }

    /** Returns whether the request goes on (authenticated or anonymous with a reason) or was answered here. */
    private boolean identityProviderToken(String token, HttpServletRequest request, HttpServletResponse response)
            throws IOException {
        if (oidc == null) {
            request.setAttribute(FAILURE, "identity-provider tokens (JWTs) are not accepted: this gateway has no "
                    + "identity provider configured (gateway.auth.oidc.issuer-uri)");
            return true;
        }
        long authStart = RequestTimings.start();
        OidcAuthenticator.Outcome outcome = oidc.authenticate(token);
        RequestTimings.end("auth", authStart);
        switch (outcome.status()) {
            case 200 -> {
                authenticate(outcome.principal());
                return true;
            }
            case 403 -> {
                // The audit trail shows who was refused, not "anonymous".
                authenticate(outcome.principal());
                problems.write(new Problem(403, "no-gateway-role", "Forbidden", outcome.reason()), request, response);
                SecurityContextHolder.clearContext();
                return false;
            }
            case 503 -> {
                // Audited like the other deliberate 5xx (summarised per second: every CI job retries through an
                // identity provider's outage).
                problems.write(new Problem(503, "identity-provider-unavailable", "Service unavailable",
                        outcome.reason()).with("retryAfterSeconds", 30).auditedAsRefusal(), request, response);
                return false;
            }
            default -> {
                request.setAttribute(FAILURE, outcome.reason());
                return true;
            }
        }
    }

    static void authenticate(GatewayPrincipal principal) {
        List<GrantedAuthority> authorities = new ArrayList<>();
        principal.roles().forEach(r -> authorities.add(new SimpleGrantedAuthority(r.authority())));
        setAuthentication(principal, authorities);
    }

    private static void setAuthentication(GatewayPrincipal principal, List<GrantedAuthority> authorities) {
        var authentication = UsernamePasswordAuthenticationToken.authenticated(principal, null, authorities);
        SecurityContextHolder.getContext().setAuthentication(authentication);
    }
}
