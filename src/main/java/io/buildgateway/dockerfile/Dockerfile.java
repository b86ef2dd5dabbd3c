package io.buildgateway.dockerfile;

import java.util.List;
import java.util.Map;

/** A parsed Dockerfile: directives, instructions in order, and the syntax errors found on the way. */
public record Dockerfile(Map<String, String> directives, char escape, List<Instruction> instructions,
        List<ParseError> errors) {

    public Dockerfile {
        directives = Map.copyOf(directives);
        instructions = List.copyOf(instructions);
        errors = List.copyOf(errors);
    }
}
