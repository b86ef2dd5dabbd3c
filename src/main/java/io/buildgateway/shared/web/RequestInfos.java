package io.buildgateway.shared.web;

import io.buildgateway.shared.RequestInfo;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.security.authentication.AnonymousAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.context.request.RequestContextHolder;
import org.springframework.web.context.request.ServletRequestAttributes;

/** Reads who/where/which-request from the current HTTP request and security context. */
public final class RequestInfos {

    public static final String ANONYMOUS = "anonymous";

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
        return new RequestInfo(actor(), request.getRemoteAddr(), id == null ? null : id.toString());
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
