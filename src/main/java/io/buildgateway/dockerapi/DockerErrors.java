package io.buildgateway.dockerapi;

import io.buildgateway.shared.Problem;
import io.buildgateway.shared.web.ProblemResponses;
import io.buildgateway.shared.web.RefusalShape;
import io.buildgateway.shared.web.RequestIdFilter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/**
 * Refusals on the Docker Engine API's port of its own in the Engine API's shape (on the API's port, where the subset
 * is answered too, they are problem+json like every API error), {@code {"message": "..."}} with {@code Content-Type: application/json}
 * exactly (the Go client reads {@code message} only for that type, and prints it as "Error response from daemon:
 * ..."), audited like every refusal of the gateway ({@code http.refused}, {@link ProblemResponses#audit}).
 */
@Component
class DockerErrors implements RefusalShape {

    /** The problem type of Engine API requests the gateway does not serve. */
    static final String UNSUPPORTED = "docker-api-unsupported";

    private final ProblemResponses problems;
    private final JsonMapper json;
    private final DockerApiServer server;

    DockerErrors(ProblemResponses problems, JsonMapper json, DockerApiServer server) {
        this.problems = problems;
        this.json = json;
        this.server = server;
    }

    /** Refusals written before the Docker port's own filter runs (the query check, Tomcat's) speak its shape too. */
    @Override
    public boolean claims(HttpServletRequest request) {
        return server.onOwnPort(request);
    }

    @Override
    public void render(Problem problem, HttpServletRequest request, HttpServletResponse response) throws IOException {
        retryAfter(problem, response);
        render(problem.status(), message(problem), request, response);
    }

    /** Audits (4xx) and answers a problem as the daemon answers errors. */
    void write(Problem problem, HttpServletRequest request, HttpServletResponse response) throws IOException {
        if (!server.onOwnPort(request)) {
            problems.write(problem, request, response); // the API's port: problem+json, as every API error
            return;
        }
        problems.audit(problem, request);
        retryAfter(problem, response);
        render(problem.status(), message(problem), request, response);
    }

    /** A problem's {@link Problem#retryAfterSeconds()} as the header (a 429, a 503 while the registry is away). */
    private static void retryAfter(Problem problem, HttpServletResponse response) {
        if (!response.isCommitted()) {
            problem.retryAfterSeconds().ifPresent(seconds -> response.setHeader("Retry-After", Long.toString(seconds)));
        }
    }

    /** Audits a refusal answered otherwise (a rejected build's stream). */
    void audit(Problem problem, HttpServletRequest request) {
        problems.audit(problem, request);
    }

    /** Answers without auditing (a 5xx, logged by the caller). */
    void render(int status, String message, HttpServletRequest request, HttpServletResponse response)
            throws IOException {
        if (response.isCommitted()) {
            return;
        }
        response.resetBuffer();
        response.setStatus(status);
        response.setContentType("application/json");
        Object requestId = request.getAttribute(RequestIdFilter.ATTRIBUTE);
        String text = requestId == null ? message : message + " (request " + requestId + ")";
        json.writeValue(response.getOutputStream(), Map.of("message", text));
    }

    /** The problem's detail, with each invalid field when it names several. */
    static String message(Problem problem) {
        StringBuilder b = new StringBuilder(problem.detail());
        if (problem.properties().get("errors") instanceof List<?> errors && errors.size() > 1) {
            for (Object e : errors) {
                if (e instanceof Map<?, ?> m) {
                    b.append("; ").append(m.get("field")).append(": ").append(m.get("message"));
                }
            }
        }
        return b.toString();
    }
}
