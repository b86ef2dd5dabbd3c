package io.buildgateway.shared.web;

import io.buildgateway.shared.Problem;
import java.io.IOException;
import java.util.UUID;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ErrorReportValve;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes the place of Tomcat's error report on the host: what Tomcat refuses before any filter runs (a path with an
 * encoded {@code /} or NUL, a path that is not UTF-8, a request line or header over the limit) used to be answered
 * with Tomcat's HTML page and left no audit row. Now it is a problem+json {@code malformed-request} (the Docker port
 * answers in its own shape, {@link RefusalShape}), with a request id, audited as {@code http.refused} like any other
 * refusal. A response something already wrote to (the {@code /error} page of {@link ProblemErrorController}) is left
 * alone.
 */
final class ProblemErrorReportValve extends ErrorReportValve {

    private static final Logger log = LoggerFactory.getLogger(ProblemErrorReportValve.class);

    private final ProblemResponses problems;

    ProblemErrorReportValve(ProblemResponses problems) {
        this.problems = problems;
        setShowReport(false);
        setShowServerInfo(false);
    }

    @Override
    protected void report(Request request, Response response, Throwable throwable) {
        int status = response.getStatus();
        if (status < 400 || response.getContentWritten() > 0 || !response.setErrorReported()) {
            return;
        }
        if (request.getAttribute(RequestIdFilter.ATTRIBUTE) == null) {
            String id = UUID.randomUUID().toString();
            request.setAttribute(RequestIdFilter.ATTRIBUTE, id);
            response.setHeader(RequestIdFilter.HEADER, id);
        }
        Problem problem = problem(status);
        try {
            problems.write(problem, request, response);
        } catch (IOException | RuntimeException e) {
            // the audit trail unreachable, say: the client still gets its answer, the log says what was not recorded
            log.warn("a request Tomcat refused with {} could not be recorded or answered fully: {}", status,
                    e.toString());
            try {
                if (!response.isCommitted()) {
                    response.resetBuffer();
                    problems.render(problem, request, response);
                }
            } catch (IOException | RuntimeException again) {
                log.debug("answering the refused request failed too", again);
            }
        }
    }

    private static Problem problem(int status) {
        if (status == 400) {
            return Problem.badRequest("malformed-request", "the request cannot be read: its path or headers are"
                    + " malformed (an encoded '/' or NUL in the path, a path that is not UTF-8, or a request line or"
                    + " header over the size limit)");
        }
        if (status >= 500) {
            return new Problem(status, "internal", "Internal error", "the gateway failed to handle this request");
        }
        return new Problem(status, "malformed-request", "Request refused", "the request was refused before it"
                + " reached the gateway's endpoints (HTTP " + status + ")");
    }
}
