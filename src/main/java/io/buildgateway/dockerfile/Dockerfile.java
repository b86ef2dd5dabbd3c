package io.buildgateway.dockerfile;

import java.util.List;
import java.util.Map;

/**
 * A parsed Dockerfile: directives, instructions in order, comment lines (by line number, including those inside
 * continuations), and the syntax errors found on the way.
 */
public record Dockerfile(Map<String, String> directives, char escape, List<Instruction> instructions,
        Map<Integer, String> commentLines, List<ParseError> errors) {

    public Dockerfile {
        directives = Map.copyOf(directives);
        instructions = List.copyOf(instructions);
        commentLines = commentLines.isEmpty() ? Map.of()
                : java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(commentLines));
        errors = List.copyOf(errors);
    }
}
