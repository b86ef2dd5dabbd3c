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
        int count = wordsIn(null);
        if (count == 0) {
            return List.of("");
        }
        String[] out = new String[count];
        wordsIn(out);
        return List.of(out);
    }

    /** Counts the words of the arguments and, when {@code out} is given, stores them in it. */
    private int wordsIn(String[] out) {
        int n = arguments.length();
        int count = 0;
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
                if (out != null) {
                    out[count] = arguments.substring(start, i);
                }
                count++;
            }
        }
        return count;
    }
}
