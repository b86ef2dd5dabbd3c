package io.buildgateway.shared.web;

import io.buildgateway.shared.Problem;
import java.util.Locale;
import org.apache.tomcat.util.http.InvalidParameterException;

/**
 * Tomcat 11 throws {@link InvalidParameterException} (an {@link IllegalStateException}) from {@code getParameter}
 * and {@code getParameterMap} when it cannot read a request's parameters: more of them than the connector's
 * {@code maxParameterCount}, a form body (application/x-www-form-urlencoded) with a broken {@code %} escape or bytes
 * that are not UTF-8, or a form body over {@code maxPostSize}. Each is the request's fault; whoever reads parameters
 * (a filter before any controller, or Spring MVC) answers it with this problem, which says which, without quoting the
 * parameter (Tomcat's own message quotes names and values).
 */
public final class UnreadableParameters {

    private UnreadableParameters() {
    }

    /** The refusal for a request whose parameters Tomcat could not read. */
    public static Problem problem(IllegalStateException e) {
        if (e instanceof InvalidParameterException invalid && invalid.getErrorCode() == 413) {
            return new Problem(413, "too-large", "Payload too large",
                    "the form body (application/x-www-form-urlencoded) is larger than the gateway reads for"
                            + " parameters");
        }
        String message = e.getMessage() == null ? "" : e.getMessage().toLowerCase(Locale.ROOT);
        if (message.contains("maximum number of request parameters")) {
            return Problem.badRequest("invalid-query", "the request has more parameters (query string and form body"
                    + " together) than the gateway reads");
        }
        return Problem.badRequest("invalid-query", "the request's parameters cannot be read: its form body"
                + " (application/x-www-form-urlencoded) is not name=value pairs of percent-encoded UTF-8 joined by"
                + " '&', or it has more parameters than the gateway reads");
    }
}
