package io.buildgateway.shared.web;

import io.buildgateway.shared.RequestTimings;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Opens and logs each request's {@link RequestTimings} when logger {@code io.buildgateway.timing} is at DEBUG (off by
 * default: then it only asks the logger's level). Runs right after {@link RequestIdFilter}, so the line carries the
 * request id, and before the security filters, so authentication is inside the total (and is its own phase). A request
 * that went asynchronous (a log follow) is logged when its handler returned, marked {@code async}.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 1)
public class RequestTimingFilter extends OncePerRequestFilter {

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (!RequestTimings.open()) {
            chain.doFilter(request, response);
            return;
        }
        boolean failed = true;
        try {
            chain.doFilter(request, response);
            failed = false;
        } finally {
            RequestTimings.close(request.getMethod(), request.getRequestURI(), response.getStatus(),
                    failed ? "threw" : request.isAsyncStarted() ? "async" : null);
        }
    }
}
