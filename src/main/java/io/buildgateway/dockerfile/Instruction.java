package io.buildgateway.dockerfile;

import java.util.List;
import java.util.Optional;

/**
 * One instruction. {@code keyword} is upper case; {@code flags} are the leading {@code --name[=value]} options;
 * {@code arguments} is the rest as written (continuations joined); {@code json} holds the exec-form array when the
 * arguments are a valid JSON string array; {@code heredocs} the bodies of {@code <<EOF} documents.
 */
public record Instruction(String keyword, List<Flag> flags, String arguments, List<String> json,
        List<Heredoc> heredocs, int line, int endLine) {

    public Instruction {
        flags = List.copyOf(flags);
        json = json == null ? null : List.copyOf(json);
        heredocs = List.copyOf(heredocs);
    }

    public record Flag(String name, String value) {
    }

    public record Heredoc(String delimiter, String body, boolean expand) {
    }

    public boolean isJsonForm() {
        return json != null;
    }

    /** The value of the first flag with this name. */
    public Optional<String> flag(String name) {
        for (Flag f : flags) {
            if (f.name().equals(name)) {
                return Optional.of(f.value());
            }
        }
        return Optional.empty();
    }

    /** Whitespace-separated words of the shell form (quotes kept as written). */
    public List<String> words() {
        List<String> out = new java.util.ArrayList<>(4);
        int n = arguments.length();
        int i = 0;
        while (i < n) {
            while (i < n && Character.isWhitespace(arguments.charAt(i))) {
                i++;
            }
            int start = i;
            while (i < n && !Character.isWhitespace(arguments.charAt(i))) {
                i++;
            }
            if (i > start) {
                out.add(arguments.substring(start, i));
            }
        }
        return out.isEmpty() ? List.of("") : List.copyOf(out);
    }
}
