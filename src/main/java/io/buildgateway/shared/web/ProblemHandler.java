package io.buildgateway.shared.web;

import io.buildgateway.shared.Problem;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.validation.ConstraintViolationException;
import java.util.List;
import java.util.Map;
import org.apache.tomcat.util.http.InvalidParameterException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.security.access.AccessDeniedException;
import org.springframework.security.authorization.AuthorizationDeniedException;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.ServletWebRequest;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.method.annotation.HandlerMethodValidationException;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * One {@code application/problem+json} per failure kind, each with a stable {@code type}. Spring MVC's own failures
 * (405, 415, 406, unreadable bodies, missing parameters, unknown paths) come through
 * {@link ResponseEntityExceptionHandler}; ours are {@link Problem}s. Every 4xx is audited. Nothing internal (class
 * names, SQL, stack traces, parser messages) reaches a client.
 */
@RestControllerAdvice
class ProblemHandler extends ResponseEntityExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(ProblemHandler.class);
    private final ProblemResponses problems;

    ProblemHandler(ProblemResponses problems) {
        this.problems = problems;
    }

    @ExceptionHandler(Problem.class)
    ResponseEntity<ProblemDetail> problem(Problem problem, HttpServletRequest request) {
        return render(problem, request, null);
    }

    @ExceptionHandler({AccessDeniedException.class, AuthorizationDeniedException.class})
    ResponseEntity<ProblemDetail> denied(RuntimeException e, HttpServletRequest request) {
        return render(Problem.forbidden("your token's roles do not allow " + request.getMethod() + " "
                + request.getRequestURI()), request, null);
    }

    @ExceptionHandler(MethodArgumentTypeMismatchException.class)
    ResponseEntity<ProblemDetail> typeMismatch(MethodArgumentTypeMismatchException e, HttpServletRequest request) {
        Problem problem = Problem.badRequest("invalid-parameter", "parameter '" + e.getName() + "' has an invalid value")
                .with("errors", List.of(Map.of("field", e.getName(), "message", "invalid value")));
        return render(problem, request, null);
    }

    /**
     * Tomcat cannot read the parameters (a form body with a broken escape, too many parameters, a form body over
     * maxPostSize; a broken query string is refused earlier by {@link QueryStringCheck}): the request's fault, not the
     * gateway's.
     */
    @ExceptionHandler(InvalidParameterException.class)
    ResponseEntity<ProblemDetail> unreadableParameters(InvalidParameterException e, HttpServletRequest request) {
        return render(UnreadableParameters.problem(e), request, null);
    }

    @ExceptionHandler(ConstraintViolationException.class)
    ResponseEntity<ProblemDetail> constraint(ConstraintViolationException e, HttpServletRequest request) {
        List<Map<String, String>> errors = e.getConstraintViolations().stream()
                .map(v -> Map.of("field", String.valueOf(v.getPropertyPath()), "message", v.getMessage())).toList();
        return render(Problem.badRequest("invalid-parameter", "the request has invalid values").with("errors", errors),
                request, null);
    }

    /**
     * The last resort: an unexpected failure is logged with its stack trace and answered without internals. The
     * database being unreachable is no fault of the request nor a bug: 503 with {@code Retry-After}.
     */
    @ExceptionHandler(Exception.class)
    ResponseEntity<ProblemDetail> unexpected(Exception e, HttpServletRequest request) {
        Problem database = io.buildgateway.shared.RefusedByDatabase.answer(e, request.getMethod(),
                request.getRequestURI(), log);
        if (database != null) {
            return render(database, request, null);
        }
        log.error("unexpected failure on {} {}", request.getMethod(), request.getRequestURI(), e);
        return render(new Problem(500, "internal", "Internal error",
                "the gateway failed to handle this request; the request id identifies it in the gateway's logs"),
                request, null);
    }

    @Override
    protected ResponseEntity<Object> handleMethodArgumentNotValid(MethodArgumentNotValidException ex,
            HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        List<Map<String, String>> errors = ex.getBindingResult().getFieldErrors().stream()
                .map(f -> Map.of("field", f.getField(), "message", String.valueOf(f.getDefaultMessage()))).toList();
        Problem problem = Problem.badRequest("invalid-body", "the request body has invalid fields")
                .with("errors", errors);
        return cast(render(problem, ((ServletWebRequest) request).getRequest(), headers));
    }

    @Override
    protected ResponseEntity<Object> handleHandlerMethodValidationException(HandlerMethodValidationException ex,
            HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        List<Map<String, String>> errors = ex.getParameterValidationResults().stream()
                .flatMap(r -> r.getResolvableErrors().stream().map(err -> Map.of(
                        "field", String.valueOf(r.getMethodParameter().getParameterName()),
                        "message", String.valueOf(err.getDefaultMessage()))))
                .toList();
        Problem problem = Problem.badRequest("invalid-parameter", "the request has invalid values")
                .with("errors", errors);
        return cast(render(problem, ((ServletWebRequest) request).getRequest(), headers));
    }

    @Override
    protected ResponseEntity<Object> handleHttpMessageNotReadable(HttpMessageNotReadableException ex,
            HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        Problem problem = UnreadableBody.problem(ex);
        return cast(render(problem, ((ServletWebRequest) request).getRequest(), headers));
    }

    /** Spring MVC's own problems (405, 415, 404, ...): keep their status and detail, add a stable type, audit. */
    @Override
    protected ResponseEntity<Object> createResponseEntity(Object body, HttpHeaders headers, HttpStatusCode statusCode,
            WebRequest request) {
        HttpServletRequest servletRequest = ((ServletWebRequest) request).getRequest();
        String detail = statusCode.value() == 404 ? "no endpoint at " + servletRequest.getRequestURI()
                : body instanceof ProblemDetail pd && pd.getDetail() != null ? pd.getDetail()
                : "the request cannot be handled";
        Problem problem = new Problem(statusCode.value(), typeFor(statusCode.value()), titleFor(statusCode), detail);
        return cast(render(problem, servletRequest, headers));
    }

    private ResponseEntity<ProblemDetail> render(Problem problem, HttpServletRequest request, HttpHeaders headers) {
        problems.audit(problem, request);
        HttpHeaders out = new HttpHeaders();
        if (headers != null) {
            out.putAll(headers);
        }
        out.setContentType(MediaType.APPLICATION_PROBLEM_JSON);
        problem.retryAfterSeconds().ifPresent(seconds -> out.set(HttpHeaders.RETRY_AFTER, Long.toString(seconds)));
        return new ResponseEntity<>(problems.toDetail(problem, request), out, HttpStatusCode.valueOf(problem.status()));
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static ResponseEntity<Object> cast(ResponseEntity<?> entity) {
        return (ResponseEntity) entity;
    }

    private static String titleFor(HttpStatusCode status) {
        return status instanceof HttpStatus s ? s.getReasonPhrase() : "Error";
    }

    private static String typeFor(int status) {
        return switch (status) {
            case 404 -> "not-found";
            case 405 -> "method-not-allowed";
            case 406 -> "not-acceptable";
            case 413 -> "too-large";
            case 415 -> "unsupported-media-type";
            case 400 -> "bad-request";
            default -> status >= 500 ? "internal" : "client-error";
        };
    }
}
