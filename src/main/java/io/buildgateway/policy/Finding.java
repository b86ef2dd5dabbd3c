package io.buildgateway.policy;

import com.fasterxml.jackson.annotation.JsonInclude;

/** A policy finding, as API.md's {@code Finding}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Finding(String rule, Severity severity, String message, Integer line, String instruction,
        Boolean waived) {

    public enum Severity {
        error, warning, info
    }

    public static Finding error(String rule, String message, Integer line, String instruction) {
        return new Finding(rule, Severity.error, message, line, instruction, null);
    }
}
