package io.buildgateway.shared.web;

import org.springframework.http.converter.HttpMessageNotReadableException;
import tools.jackson.databind.exc.UnrecognizedPropertyException;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.core.JacksonException;

/** Turns a JSON parse failure into a message that names the problem without echoing parser internals. */
final class UnreadableBody {

    private UnreadableBody() {
    }

    static String describe(HttpMessageNotReadableException e) {
        Throwable cause = e.getCause();
        if (cause instanceof UnrecognizedPropertyException unknown) {
            return "unknown field '" + unknown.getPropertyName() + "'";
        }
        if (cause instanceof MismatchedInputException mismatch && !mismatch.getPath().isEmpty()) {
            String field = mismatch.getPath().get(mismatch.getPath().size() - 1).getPropertyName();
            return field == null ? "the body does not have the expected shape" : "field '" + field + "' has the wrong type";
        }
        if (cause instanceof JacksonException) {
            return "the body is not valid JSON";
        }
        return "the request body is missing or unreadable";
    }
}
