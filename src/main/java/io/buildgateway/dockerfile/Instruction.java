package io.buildgateway.dockerfile;

import java.util.List;
import java.util.Optional;

/**
 * One instruction. {@code keyword} is upper case; {@code flags} are the leading {@code --name[=value]} options;
 * {@code arguments} is the rest as written (continuations joined); {@code json} holds the exec-form array when the
 * arguments are a valid JSON string array; {@code heredocs} the bodies of {@code <<EOF} documents; {@code original}
 * the whole logical line as the daemon joins it (continuations removed, trimmed): what the classic builder prints as
 * its step and what the canonical writer writes.
 */
public record Instruction(String keyword, List<Flag> flags, String arguments, List<String> json,
        List<Heredoc> heredocs, int line, int endLine, String original) {

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
        for (int k = 0; k < flags.size(); k++) { // by index: rules ask often, and an iterator is an allocation
            if (flags.get(k).name().equals(name)) {
                return Optional.of(flags.get(k).value());
            }
        }
        return Optional.empty();
    }

    /**
     * The words the daemon makes of the arguments (quotes and escapes kept as written, for the word processing that
     * follows): ADD, COPY, VOLUME, EXPOSE and FROM are split at runs of {@code [\t\v\f\r ]} regardless of quotes
     * and escapes ({@code parseStringsWhitespaceDelimited}); ARG, ENV and LABEL at Go's {@code unicode.IsSpace}
     * outside quotes and escapes ({@code parseWords}); any other instruction as {@link #words()} does.
     */
    public List<String> words(char escape) {
        switch (keyword) {
            case "ADD", "COPY", "VOLUME", "EXPOSE", "FROM" -> {
                List<String> out = daemonFields(arguments);
                return out.isEmpty() ? List.of("") : out;
            }
            case "ARG", "ENV", "LABEL" -> {
                List<String> out = DockerfileParser.nameValueWords(arguments, escape);
                return out.isEmpty() ? List.of("") : List.copyOf(out);
            }
            default -> {
                return words();
            }
        }
    }

    /**
     * Whether a word of COPY or ADD is a heredoc marker ({@code <<EOF}, {@code <<-"EOF"}): BuildKit splits the
     * arguments at whitespace and takes every such word out of the sources (the document is a source of its own), so
     * the words after it are still sources and the destination ({@code parseSourcesAndDest}).
     */
    public static boolean isHeredocMarker(String word) {
        return word.contains("<<") && Heredocs.words(word).size() == 1 && !Heredocs.openers(word).isEmpty();
    }

    /**
     * The words of a COPY or ADD without its heredoc markers: the sources and the destination as BuildKit reads them
     * ({@code words} split as the daemon splits them, see {@link #words(char)}).
     */
    public List<String> withoutHeredocMarkers(List<String> words) {
        if (heredocs.isEmpty()) {
            return words;
        }
        return words.stream().filter(w -> !isHeredocMarker(w)).toList();
    }

    /** The daemon's {@code tokenWhitespace} split: at runs of tab, vertical tab, form feed, carriage return, space. */
    public static List<String> daemonFields(String text) {
        java.util.ArrayList<String> out = new java.util.ArrayList<>();
        int n = text.length();
        int i = 0;
        while (i < n) {
            while (i < n && DockerfileParser.isKeywordSeparator(text.charAt(i))) {
                i++;
            }
            int start = i;
            while (i < n && !DockerfileParser.isKeywordSeparator(text.charAt(i))) {
                i++;
            }
            if (i > start) {
                out.add(text.substring(start, i));
            }
        }
        return List.copyOf(out);
    }

    /** Whitespace-separated words of the shell form (quotes kept as written). */
    public List<String> words() {
        String[] out = new String[4];
        int count = 0;
        int n = arguments.length();
        int i = 0;
        while (i < n) {
            while (i < n && Chars.isWhitespace(arguments.charAt(i))) {
                i++;
            }
            int start = i;
            while (i < n && !Chars.isWhitespace(arguments.charAt(i))) {
                i++;
            }
            if (i > start) {
                if (count == out.length) {
                    out = java.util.Arrays.copyOf(out, count * 2);
                }
                out[count++] = arguments.substring(start, i);
            }
        }
        return switch (count) {
            case 0 -> List.of("");
            case 1 -> List.of(out[0]);
            case 2 -> List.of(out[0], out[1]);
            default -> List.of(java.util.Arrays.copyOf(out, count));
        };
    }
}
