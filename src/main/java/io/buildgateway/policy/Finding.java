package io.buildgateway.policy;

import com.fasterxml.jackson.annotation.JsonInclude;

/** A policy finding, as API.md's {@code Finding}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Finding(String rule, Severity severity, String message, Integer line, String instruction,
        Boolean waived) {

    /**
     * Credentials the Dockerfile itself writes (a URL's user info, a token=… parameter, an Authorization header, a
     * token the secret rules recognise) are masked in every finding, whichever rule made it ({@link FindingText}).
     */
    public Finding {
        message = FindingText.scrub(message);
        instruction = FindingText.scrub(instruction);
    }

    public enum Severity {
        error, warning, info
    }

    public static Finding error(String rule, String message, Integer line, String instruction) {
        return new Finding(rule, Severity.error, message, line, instruction, null);
    }
}
