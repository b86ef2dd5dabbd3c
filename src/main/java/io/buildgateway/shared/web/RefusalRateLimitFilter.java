package io.buildgateway.shared.web;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.RequestInfo;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Refused requests are limited per source address ({@link RefusalLimiter}, {@link RefusalLimitProperties}). Runs
 * right after {@link RequestIdFilter} and before the security filters, so a blocked source costs no token lookup,
 * no database read and no audit row per request: it gets 429 problem+json with {@code Retry-After}, and its window
 * becomes one {@code request.rate-limited} audit row when it ends (or when the gateway stops; a row that cannot be
 * written, the database away, is kept and written at a later flush). Health probes are
 * never blocked. The source is the connection's remote address ({@code server.forward-headers-strategy} decides
 * whether a trusted proxy's {@code X-Forwarded-For} replaces it).
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 10)
public class RefusalRateLimitFilter extends OncePerRequestFilter {

    private static final Logger log = LoggerFactory.getLogger(RefusalRateLimitFilter.class);

    private final RefusalLimiter limiter;
    private final ProblemResponses problems;
    private final ApplicationEventPublisher events;
    private final Clock clock;

    RefusalRateLimitFilter(RefusalLimitProperties properties, ProblemResponses problems,
            ApplicationEventPublisher events, Clock clock) {
        this.limiter = new RefusalLimiter(properties.limit(), properties.window(), properties.maxSources());
        this.problems = problems;
        this.events = events;
        this.clock = clock;
        problems.limitRefusals(this);
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String uri = request.getRequestURI();
        if (uri.equals("/actuator/health") || uri.startsWith("/actuator/health/")) {
            chain.doFilter(request, response);
            return;
        }
        OptionalLong blocked = limiter.blocked(request.getRemoteAddr(), clock.instant());
        if (blocked.isEmpty()) {
            chain.doFilter(request, response);
            return;
        }
        response.setHeader(HttpHeaders.RETRY_AFTER, Long.toString(blocked.getAsLong()));
        problems.render(new Problem(429, "rate-limited", "Too many requests", "too many refused requests from "
                + request.getRemoteAddr() + "; retry after " + blocked.getAsLong() + " s")
                .with("retryAfterSeconds", blocked.getAsLong()), request, response);
    }

    /** Called for every refusal about to be audited; false: counted in the window's aggregate row instead. */
    boolean auditIndividually(HttpServletRequest request) {
        return limiter.refused(request.getRemoteAddr(), clock.instant());
    }

    @Scheduled(fixedDelayString = "${gateway.web.refusal-limit.flush-interval:1s}")
    void flushEndedWindows() {
        write(limiter.closed(clock.instant()));
    }

    /** Before the beans go (the audit trail and its database are still there): open windows are written too. */
    @EventListener(ContextClosedEvent.class)
    void flushAll() {
        write(limiter.drain());
    }

    private void write(List<RefusalLimiter.Aggregate> aggregates) {
        boolean away = false;
        int handedBack = 0;
        for (RefusalLimiter.Aggregate a : aggregates) {
            if (away) {
                // The database is away: the rest are not tried (each try waits for a connection, on the scheduler's
                // one thread that other periodic tasks share), only kept for the next flush (a review's find).
                limiter.unwritten(a);
                handedBack++;
                continue;
            }
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("source", a.source());
            details.put("windowStart", a.windowStart().toString());
            details.put("windowEnd", a.windowEnd().toString());
            details.put("refusals", a.refusals());
            details.put("auditedIndividually", a.audited());
            details.put("rateLimited", a.rateLimited());
            details.put("count", a.notAuditedIndividually());
            try {
                events.publishEvent(new AuditRecord("request.rate-limited", "source/" + a.source(),
                        AuditRecord.Outcome.DENIED, details,
                        new RequestInfo(RequestInfos.ANONYMOUS, a.source(), null)));
            } catch (RuntimeException e) {
                // Its refusals are in no other event: kept, and written at the next flush (joined with the source's
                // later windows while the database stays away; RefusalLimiter bounds what is kept).
                limiter.unwritten(a);
                away = io.buildgateway.shared.DatabaseUnavailable.is(e);
                String message = "could not audit the refused requests of {} ({} to {}): {} not individually"
                        + " audited; kept for the next try: {}";
                if (away) {
                    // no stack trace for the database's absence: one line per flush while it lasts
                    log.error(message, a.source(), a.windowStart(), a.windowEnd(), a.notAuditedIndividually(),
                            e.toString());
                } else {
                    log.error(message, a.source(), a.windowStart(), a.windowEnd(), a.notAuditedIndividually(), "",
                            e);
                }
            }
        }
        if (handedBack > 0) {
            log.error("the database is away: {} more aggregate(s) of refused requests kept for the next try",
                    handedBack);
        }
    }

    RefusalLimiter limiter() {
        return limiter;
    }
}
