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
            String field = null;
            for (var reference : mismatch.getPath()) {
                if (reference.getPropertyName() != null) {
                    field = reference.getPropertyName();
                }
            }
            return field == null ? "the body does not have the expected shape"
                    : "field '" + field + "' has a value of the wrong type or outside its allowed values";
        }
        if (cause instanceof JacksonException) {
            return "the body is not valid JSON";
        }
        return "the request body is missing or unreadable";
    }
}
