package io.buildgateway.shared.web;

import io.buildgateway.shared.RequestInfo;
import io.buildgateway.shared.TokenBearer;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.security.authentication.AnonymousAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.context.request.RequestContextHolder;
import org.springframework.web.context.request.ServletRequestAttributes;

/** Reads who/where/which-request from the current HTTP request and security context. */
public final class RequestInfos {

    public static final String ANONYMOUS = "anonymous";
    /**
     * Set by the authentication, never from anything a client sends, when the presented secret belongs to a known
     * token that did not authenticate (revoked, expired, a retired secret): its id and name, for the 401's event.
     */
    public static final String PRESENTED_TOKEN_ID = "io.buildgateway.presentedTokenId";
    public static final String PRESENTED_TOKEN_NAME = "io.buildgateway.presentedTokenName";

    private RequestInfos() {
    }

    public static RequestInfo current() {
        if (RequestContextHolder.getRequestAttributes() instanceof ServletRequestAttributes attributes) {
            return of(attributes.getRequest());
        }
        return RequestInfo.system();
    }

    public static RequestInfo of(HttpServletRequest request) {
        Object id = request.getAttribute(RequestIdFilter.ATTRIBUTE);
        return new RequestInfo(actor(), request.getRemoteAddr(), id == null ? null : id.toString(), tokenId());
    }

    /** The id of the gateway token the request authenticated with, or null. */
    private static String tokenId() {
        Authentication authentication = SecurityContextHolder.getContext().getAuthentication();
        if (authentication != null && authentication.isAuthenticated()
                && authentication.getPrincipal() instanceof TokenBearer bearer && bearer.tokenId() != null) {
            return bearer.tokenId().toString();
        }
        return null;
    }

    private static String actor() {
        Authentication authentication = SecurityContextHolder.getContext().getAuthentication();
        if (authentication == null || authentication instanceof AnonymousAuthenticationToken
                || !authentication.isAuthenticated()) {
            return ANONYMOUS;
        }
        return authentication.getName();
    }
}
