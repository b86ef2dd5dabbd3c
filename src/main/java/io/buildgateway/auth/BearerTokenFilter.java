package io.buildgateway.auth;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Reads {@code Authorization: Bearer <token>} and authenticates it against the token store. It never fails the
 * request itself: a missing or bad credential leaves the request anonymous, with the reason kept as a request
 * attribute for the 401 problem. Tokens in query strings are never read.
 */
class BearerTokenFilter extends OncePerRequestFilter {

    static final String FAILURE = BearerTokenFilter.class.getName() + ".failure";
    static final String SCRAPE_AUTHORITY = "SCRAPE";

    private final Tokens tokens;
    private final AuthProperties properties;

    BearerTokenFilter(Tokens tokens, AuthProperties properties) {
        this.tokens = tokens;
        this.properties = properties;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String header = request.getHeader("Authorization");
        if (header == null) {
            if (request.getParameter("access_token") != null || request.getParameter("token") != null) {
                request.setAttribute(FAILURE, "tokens in query strings are not accepted; send Authorization: Bearer");
            }
            chain.doFilter(request, response);
            return;
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7) || header.substring(7).isBlank()
                || header.length() > 1024) {
            request.setAttribute(FAILURE, "malformed Authorization header; expected 'Bearer <token>'");
            chain.doFilter(request, response);
            return;
        }
        String secret = header.substring(7).trim();
        String scrape = properties.scrapeToken();
        if (scrape != null && !scrape.isBlank() && java.security.MessageDigest.isEqual(
                scrape.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                secret.getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
            GatewayPrincipal scraper = new GatewayPrincipal(null, "prometheus-scraper", Set.of(), Set.of());
            authenticate(scraper, List.of(new SimpleGrantedAuthority(SCRAPE_AUTHORITY)));
            chain.doFilter(request, response);
            return;
        }
        Tokens.Authentication result = tokens.authenticate(secret);
        if (result.principal() == null) {
            request.setAttribute(FAILURE, switch (result.failure()) {
                case EXPIRED -> "the token has expired";
                case REVOKED -> "the token has been revoked";
                case UNKNOWN -> "the token is not known to this gateway";
            });
        } else {
            List<GrantedAuthority> authorities = new ArrayList<>();
            result.principal().roles().forEach(r -> authorities.add(new SimpleGrantedAuthority(r.authority())));
            authenticate(result.principal(), authorities);
        }
        chain.doFilter(request, response);
    }

    private static void authenticate(GatewayPrincipal principal, List<GrantedAuthority> authorities) {
        var authentication = UsernamePasswordAuthenticationToken.authenticated(principal, null, authorities);
        SecurityContextHolder.getContext().setAuthentication(authentication);
    }
}
