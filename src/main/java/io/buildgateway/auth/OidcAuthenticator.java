package io.buildgateway.auth;

import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import java.net.MalformedURLException;
import java.net.URI;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.client.SimpleClientHttpRequestFactory;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidatorResult;
import org.springframework.security.oauth2.jose.jws.SignatureAlgorithm;
import org.springframework.security.oauth2.jwt.BadJwtException;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtException;
import org.springframework.security.oauth2.jwt.JwtValidationException;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.web.client.RestTemplate;

/**
 * The resource-server half of OIDC: verifies an identity provider's JWT with Spring Security's
 * {@link NimbusJwtDecoder} (signature against the provider's JWKS, cached and refreshed when the provider rotates
 * its keys; only the configured algorithms) and the gateway's validators (issuer, audience, expiry and not-before
 * with a small clock skew, each failing with a reason a person can act on), then maps the claims
 * ({@link OidcClaims}). The token itself is never logged or echoed.
 */
final class OidcAuthenticator {

    private static final Logger log = LoggerFactory.getLogger(OidcAuthenticator.class);
    /** Three base64url segments, the first a JSON object ({@code eyJ} is base64 of <code>{"</code>). */
    private static final Pattern JWT_SHAPE = Pattern.compile("eyJ[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*");

    /**
     * The outcome of a presented JWT: a principal (200), or an HTTP status (401, 403, 503) with the reason; with 403
     * the principal is the authenticated caller without roles.
     */
    record Outcome(GatewayPrincipal principal, int status, String reason) {
    }

    private final AuthProperties.Oidc config;
    private final OidcClaims claims;
    private final Function<AuthProperties.Oidc, JwtDecoder> decoderFactory;
    private final OAuth2TokenValidator<Jwt> validator;
    private volatile JwtDecoder decoder;

    OidcAuthenticator(AuthProperties.Oidc config, Clock clock) {
        this(config, clock, OidcAuthenticator::nimbusDecoder);
    }

    OidcAuthenticator(AuthProperties.Oidc config, Clock clock, Function<AuthProperties.Oidc, JwtDecoder> decoderFactory) {
        this.config = config;
        this.claims = new OidcClaims(config);
        this.decoderFactory = decoderFactory;
        this.validator = validator(config, clock);
    }

    static boolean looksLikeJwt(String credential) {
        return JWT_SHAPE.matcher(credential).matches();
    }

    Outcome authenticate(String token) {
        Jwt jwt;
        try {
            jwt = decoder().decode(token);
        } catch (JwtValidationException e) {
            List<String> reasons = e.getErrors().stream().map(OAuth2Error::getDescription).distinct().toList();
            return refused(401, String.join("; ", reasons));
        } catch (BadJwtException e) {
            log.debug("identity-provider token refused: {}", e.getMessage());
            if (hasCause(e, ParseException.class)) {
                return refused(401, "the bearer token is not a well-formed JWT");
            }
            if (e.getCause() == null || hasCause(e, BadJOSEException.class)) {
                return refused(401, "the token's signature does not verify against the identity provider's keys "
                        + "(unknown key, algorithm not accepted, or invalid signature)");
            }
            return refused(401, "the token's claims are malformed or inconsistent (for example, it expires before "
                    + "it was issued)");
        } catch (JwtException e) {
            if (hasCause(e, RateLimitReachedException.class)) {
                // An unknown key id, and the keys were re-read moments ago: not a key the provider publishes.
                return refused(401, "the token is signed with a key the identity provider does not publish (or "
                        + "its keys could not be read in the last 30 seconds)");
            }
            log.warn("cannot verify identity-provider tokens: {}", e.getMessage());
            return unavailable();
        } catch (RuntimeException e) {
            // Key discovery or fetching failed in a way the decoder does not classify (an HTTP client error, say):
            // the provider is unreachable or misconfigured, which is not the caller's fault and not a 500.
            log.warn("cannot verify identity-provider tokens", e);
            return unavailable();
        }
        OidcClaims.Mapping mapping = claims.map(jwt.getClaims());
        return new Outcome(mapping.principal(), mapping.status(), mapping.failure());
    }

    private static Outcome unavailable() {
        return refused(503, "the identity provider's signing keys cannot be fetched right now; try again later");
    }

    private static Outcome refused(int status, String reason) {
        return new Outcome(null, status, reason);
    }

    /** Built on first use, so that the gateway starts while the identity provider is down; retried until it works. */
    private JwtDecoder decoder() {
        JwtDecoder d = decoder;
        if (d == null) {
            synchronized (this) {
                d = decoder;
                if (d == null) {
                    d = decoderFactory.apply(config);
                    if (d instanceof NimbusJwtDecoder nimbus) {
                        nimbus.setJwtValidator(validator);
                    }
                    decoder = d;
                }
            }
        }
        return d;
    }

    /**
     * Spring Security's decoder over a Nimbus key source that caches the provider's keys (5 minutes, refreshed ahead
     * of expiry), re-reads them for an unknown key id at most every 30 seconds (a stream of tokens with invented key
     * ids must not make the gateway hammer the identity provider), and keeps using the last keys it read while the
     * provider is unreachable.
     */
    static JwtDecoder nimbusDecoder(AuthProperties.Oidc config) {
        int timeout = (int) config.jwksTimeout().toMillis();
        String jwkSetUri = config.jwkSetUri() == null || config.jwkSetUri().isBlank()
                ? discoverJwkSetUri(config.issuerUri(), config.jwksTimeout()) : config.jwkSetUri();
        JWKSource<SecurityContext> keys;
        try {
            keys = JWKSourceBuilder.<SecurityContext>create(URI.create(jwkSetUri).toURL(),
                            new DefaultResourceRetriever(timeout, timeout, KEY_SET_SIZE_LIMIT))
                    .cache(JWKSourceBuilder.DEFAULT_CACHE_TIME_TO_LIVE, JWKSourceBuilder.DEFAULT_CACHE_REFRESH_TIMEOUT)
                    .rateLimited(JWKSourceBuilder.DEFAULT_RATE_LIMIT_MIN_INTERVAL)
                    // During an outage of the provider, keys read before keep verifying tokens (for ten times the
                    // cache period), so valid tokens keep working.
                    .outageTolerant(true)
                    .build();
        } catch (MalformedURLException | IllegalArgumentException e) {
            throw new JwtException("the identity provider's key set address is not a URL: " + jwkSetUri, e);
        }
        return NimbusJwtDecoder.withJwkSource(keys)
                .jwsAlgorithms(algs -> config.jwsAlgorithms().forEach(a -> algs.add(SignatureAlgorithm.from(a))))
                .build();
    }

    private static final int KEY_SET_SIZE_LIMIT = 1024 * 1024;

    /** OpenID Connect discovery: the key set address from the issuer's metadata, whose issuer must be ours. */
    static String discoverJwkSetUri(String issuer, Duration timeout) {
        SimpleClientHttpRequestFactory requests = new SimpleClientHttpRequestFactory();
        requests.setConnectTimeout(timeout);
        requests.setReadTimeout(timeout);
        String location = (issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer)
                + "/.well-known/openid-configuration";
        Map<?, ?> metadata;
        try {
            metadata = new RestTemplate(requests).getForObject(location, Map.class);
        } catch (RuntimeException e) {
            throw new JwtException("discovery at " + location + " failed: " + e.getMessage(), e);
        }
        if (metadata == null || !issuer.equals(metadata.get("issuer"))
                || !(metadata.get("jwks_uri") instanceof String jwks) || jwks.isBlank()) {
            throw new JwtException("discovery at " + location + " did not name issuer " + issuer
                    + " and a jwks_uri; set gateway.auth.oidc.jwk-set-uri");
        }
        return jwks;
    }

    /** Issuer, audience, expiry and not-before, each with its own reason. */
    static OAuth2TokenValidator<Jwt> validator(AuthProperties.Oidc config, Clock clock) {
        Duration skew = config.clockSkew();
        return jwt -> {
            List<OAuth2Error> errors = new ArrayList<>();
            String issuer = jwt.getClaimAsString("iss");
            if (!config.issuerUri().equals(issuer)) {
                errors.add(error("the token was not issued by the configured identity provider ("
                        + config.issuerUri() + ")"));
            }
            List<String> audience = jwt.getAudience() == null ? List.of() : jwt.getAudience();
            if (audience.stream().noneMatch(config.audiences()::contains)) {
                errors.add(error("the token is not meant for the gateway: its audience contains none of "
                        + config.audiences()));
            }
            Instant now = clock.instant();
            Instant expiresAt = jwt.getExpiresAt();
            if (expiresAt == null) {
                errors.add(error("the token has no expiry (exp)"));
            } else if (now.minus(skew).isAfter(expiresAt)) {
                errors.add(error("the token expired at " + expiresAt));
            }
            Instant notBefore = jwt.getNotBefore();
            if (notBefore != null && now.plus(skew).isBefore(notBefore)) {
                errors.add(error("the token is not valid before " + notBefore));
            }
            return errors.isEmpty() ? OAuth2TokenValidatorResult.success() : OAuth2TokenValidatorResult.failure(errors);
        };
    }

    private static OAuth2Error error(String description) {
        return new OAuth2Error("invalid_token", description, null);
    }

    private static boolean hasCause(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }
}
