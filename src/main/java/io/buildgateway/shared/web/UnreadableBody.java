package io.buildgateway.shared.web;

import io.buildgateway.shared.Problem;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.http.converter.HttpMessageNotReadableException;
import tools.jackson.core.JacksonException;
import tools.jackson.core.exc.StreamReadException;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.databind.exc.UnrecognizedPropertyException;

/** Turns a JSON parse failure into a problem that names what is wrong without echoing parser internals. */
final class UnreadableBody {

    /** jackson-core's message for a key given twice (StreamReadFeature.STRICT_DUPLICATE_DETECTION). */
    private static final Pattern DUPLICATE = Pattern.compile("Duplicate Object property \"(.*)\"", Pattern.DOTALL);

    private UnreadableBody() {
    }

    /**
     * The problem for a body that could not be read: 413 when it was cut off at the JSON body limit (a chunked body
     * has no declared length to refuse it by; the parser wraps the limit's exception), 400 otherwise.
     */
    static Problem problem(HttpMessageNotReadableException e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof JsonBodyLimit.TooLarge tooLarge) {
                return new Problem(413, "too-large", "Payload too large",
                        "JSON bodies here are at most " + tooLarge.limit() + " bytes");
            }
        }
        return Problem.badRequest("unreadable-body", describe(e));
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
        if (cause instanceof StreamReadException read && read.getOriginalMessage() != null) {
            Matcher duplicate = DUPLICATE.matcher(read.getOriginalMessage());
            if (duplicate.matches()) {
                return "field '" + Problem.quote(duplicate.group(1)) + "' is given more than once";
            }
        }
        if (cause instanceof JacksonException) {
            return "the body is not valid JSON";
        }
        return "the request body is missing or unreadable";
    }
}
