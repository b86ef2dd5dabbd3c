package io.buildgateway.shared.web;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.Problem;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/**
 * Renders problems as RFC 9457 {@code application/problem+json} and records every refused request in the audit
 * trail. Used by the MVC exception handler and by the security filters (which run outside MVC).
 */
@Component
public class ProblemResponses {

    /**
     * Set by the authentication, and by nothing a client sends, on a request of the replica's own warm-up before
     * readiness (auth's WarmUpPass): its refusals are the replica rehearsing them, not a caller refused, and are
     * neither audited nor counted against its source.
     */
    public static final String REHEARSAL = "io.buildgateway.rehearsal";

    /** Set on a request whose refusal has been audited (or counted), so that it is recorded once. */
    private static final String AUDITED = ProblemResponses.class.getName() + ".audited";

    private final JsonMapper json;
    private final ApplicationEventPublisher events;
    private final ObjectProvider<RefusalShape> shapes;
    private final RefusalSummaries summaries;

    public ProblemResponses(JsonMapper json, ApplicationEventPublisher events, ObjectProvider<RefusalShape> shapes,
            RefusalSummaries summaries) {
        this.json = json;
        this.events = events;
        this.shapes = shapes;
        this.summaries = summaries;
    }

    private volatile RefusalRateLimitFilter limit;

    void limitRefusals(RefusalRateLimitFilter filter) {
        this.limit = filter;
    }

    public ProblemDetail toDetail(Problem problem, HttpServletRequest request) {
        ProblemDetail detail = ProblemDetail.forStatusAndDetail(HttpStatus.valueOf(problem.status()), problem.detail());
        detail.setType(problem.type());
        detail.setTitle(problem.title());
        detail.setInstance(instance(request.getRequestURI()));
        problem.properties().forEach(detail::setProperty);
        Object requestId = request.getAttribute(RequestIdFilter.ATTRIBUTE);
        if (requestId != null) {
            detail.setProperty("requestId", requestId.toString());
        }
        return detail;
    }

    /**
     * Writes the problem to a raw servlet response (for filters and the container's own refusals) and audits it. A
     * listener with a shape of its own ({@link RefusalShape}) gets the refusal in that shape.
     */
    public void write(Problem problem, HttpServletRequest request, HttpServletResponse response) throws IOException {
        audit(problem, request);
        for (RefusalShape shape : shapes) {
            if (shape.claims(request)) {
                shape.render(problem, request, response);
                return;
            }
        }
        render(problem, request, response);
    }

    /** The request's path as the problem's instance; a path that is no URI (Tomcat refused it for that) is left out. */
    static URI instance(String path) {
        try {
            return path == null ? null : new URI(path);
        } catch (java.net.URISyntaxException e) {
            return null;
        }
    }

    /** Writes the problem to a raw servlet response without auditing it (the caller accounts for it). */
    void render(Problem problem, HttpServletRequest request, HttpServletResponse response) throws IOException {
        ProblemDetail detail = toDetail(problem, request);
        response.setStatus(problem.status());
        problem.retryAfterSeconds().ifPresent(seconds -> response.setHeader("Retry-After", Long.toString(seconds)));
        response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", detail.getType().toString());
        body.put("title", detail.getTitle());
        body.put("status", detail.getStatus());
        body.put("detail", detail.getDetail());
        body.put("instance", detail.getInstance() == null ? null : detail.getInstance().toString());
        if (detail.getProperties() != null) {
            body.putAll(detail.getProperties());
        }
        json.writeValue(response.getOutputStream(), body);
    }

    /**
     * Every refused request (4xx, and since 2026-12-06 a 5xx marked {@link Problem#auditedAsRefusal()}: the registry
     * or the context store unavailable) is an audit event: who tried what, from where, and why it was refused. A
     * refusal
     * that changes nothing and that floods repeat ({@link Problem#summarisedInAudit()}) is counted in a per-second
     * summary event instead ({@link RefusalSummaries}). Refusals are also counted per source
     * ({@link RefusalRateLimitFilter}): beyond the limit of a window they are not audited one by one but in the
     * window's {@code request.rate-limited} row.
     */
    public void audit(Problem problem, HttpServletRequest request) {
        if (problem.status() < 400 || problem.status() >= 500 && !problem.isAuditedAsRefusal()
                || Boolean.TRUE.equals(request.getAttribute(REHEARSAL))) {
            return;
        }
        // One refusal row per request: when Tomcat has answered a body it could not read with 400 itself, the
        // endpoint's refusal and the /error page's are one refusal (the error dispatch is the same request).
        if (request.getAttribute(AUDITED) != null) {
            return;
        }
        request.setAttribute(AUDITED, Boolean.TRUE);
        RefusalRateLimitFilter limit = this.limit;
        // The deliberate 5xx are the gateway's state, not the source's doing: they do not count towards its limit
        // (a CI runner retrying through a registry outage is not a hostile source).
        if (limit != null && !problem.isAuditedAsRefusal() && !limit.auditIndividually(request)) {
            return;
        }
        if (problem.isSummarisedInAudit()) {
            summaries.count(problem, request.getMethod(), target(request), RequestInfos.of(request));
            return;
        }
        AuditRecord.Outcome outcome = problem.status() == 401 || problem.status() == 403
                ? AuditRecord.Outcome.DENIED : problem.status() >= 500 ? AuditRecord.Outcome.FAILED
                : AuditRecord.Outcome.REJECTED;
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("method", request.getMethod());
        details.put("status", problem.status());
        details.put("problem", problem.typeName());
        details.put("detail", problem.detail());
        Object presentedId = request.getAttribute(RequestInfos.PRESENTED_TOKEN_ID);
        if (presentedId != null) {
            details.put("presentedTokenId", presentedId.toString());
            details.put("presentedTokenName", String.valueOf(request.getAttribute(RequestInfos.PRESENTED_TOKEN_NAME)));
        }
        events.publishEvent(new AuditRecord("http.refused", target(request), outcome, details,
                RequestInfos.of(request)));
    }

    /**
     * The path the client asked for: on the container's error dispatch ({@code sendError}, a filter's exception)
     * {@code getRequestURI()} is {@code /error}, and the original is the {@link RequestDispatcher#ERROR_REQUEST_URI}
     * attribute (a path, without the query string, which never goes into the trail).
     */
    static String target(HttpServletRequest request) {
        if (request.getDispatcherType() == DispatcherType.ERROR
                && request.getAttribute(RequestDispatcher.ERROR_REQUEST_URI) instanceof String original) {
            int query = original.indexOf('?');
            return query < 0 ? original : original.substring(0, query);
        }
        return request.getRequestURI();
    }
}
