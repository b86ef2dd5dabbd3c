package io.buildgateway.shared.web;

import io.buildgateway.shared.DatabaseUnavailable;
import io.buildgateway.shared.Problem;
import io.swagger.v3.oas.annotations.Hidden;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Errors raised outside Spring MVC (in filters, or by the servlet container) land on {@code /error}; this answers
 * them as problem+json too, with the original status and no internals.
 */
@Hidden // the error fallback is no operation of the API
@RestController
class ProblemErrorController implements ErrorController {

    private final ProblemResponses problems;

    ProblemErrorController(ProblemResponses problems) {
        this.problems = problems;
    }

    @RequestMapping(value = "/error", produces = {MediaType.APPLICATION_PROBLEM_JSON_VALUE, MediaType.ALL_VALUE})
    ResponseEntity<ProblemDetail> error(HttpServletRequest request) {
        Object code = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
        int status = code instanceof Integer i ? i : 500;
        // A filter (the token lookup) that could not reach the database: 503 with Retry-After, as in MVC.
        if (status == 500 && request.getAttribute(RequestDispatcher.ERROR_EXCEPTION) instanceof Throwable failure
                && DatabaseUnavailable.is(failure)) {
            Problem problem = DatabaseUnavailable.problem();
            ProblemDetail body = problems.toDetail(problem, request);
            Object failedUri = request.getAttribute(RequestDispatcher.ERROR_REQUEST_URI);
            if (failedUri != null) {
                body.setInstance(ProblemResponses.instance(failedUri.toString()));
            }
            return ResponseEntity.status(503).contentType(MediaType.APPLICATION_PROBLEM_JSON)
                    .header(HttpHeaders.RETRY_AFTER,
                            Long.toString(DatabaseUnavailable.RETRY_AFTER_SECONDS))
                    .body(body);
        }
        HttpStatus resolved = HttpStatus.resolve(status);
        String title = resolved == null ? "Error" : resolved.getReasonPhrase();
        String detail = status == 413 ? "the request body is larger than the gateway accepts"
                : status >= 500 ? "the gateway failed to handle this request" : title;
        // Tomcat answers 400 itself when the body cannot be read (a broken chunked encoding): it has set the read's
        // IOException as the error, and the endpoint's own answer is discarded. Say so, as the endpoints do.
        Problem problem = status == 400 && request.getAttribute(RequestDispatcher.ERROR_EXCEPTION)
                instanceof java.io.IOException
                ? Problem.badRequest("unreadable-body", "the request body could not be read completely")
                : new Problem(status, status >= 500 ? "internal" : "client-error", title, detail);
        Object uri = request.getAttribute(RequestDispatcher.ERROR_REQUEST_URI);
        problems.audit(problem, request);
        ProblemDetail body = problems.toDetail(problem, request);
        if (uri != null) {
            body.setInstance(ProblemResponses.instance(uri.toString()));
        }
        return ResponseEntity.status(status).contentType(MediaType.APPLICATION_PROBLEM_JSON).body(body);
    }
}
