package io.buildgateway.dockerfile;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses a Dockerfile the way the classic builder and BuildKit's frontend read it. Bounded: inputs beyond
 * {@link #MAX_BYTES} are refused with a parse error rather than read further.
 */
public final class DockerfileParser {

    public static final int MAX_BYTES = 4 * 1024 * 1024;
    /** The keywords; instructions share these instances, so keyword comparisons are cheap. */
    private static final List<String> KEYWORD_LIST = List.of("RUN", "COPY", "FROM", "ENV", "ARG", "USER", "WORKDIR",
            "CMD", "ENTRYPOINT", "EXPOSE", "LABEL", "ADD", "HEALTHCHECK", "ONBUILD", "SHELL", "VOLUME", "STOPSIGNAL",
            "MAINTAINER");
    /** Each keyword mapped to itself. */
    private static final Map<String, String> KEYWORDS = canonical(KEYWORD_LIST);
    /** The keywords by their first letter, A to Z. */
    private static final List<List<String>> BY_FIRST_LETTER = byFirstLetter(KEYWORD_LIST);
    private static final Set<String> DIRECTIVE_KEYS = Set.of("syntax", "escape", "check");
    private static final Pattern DIRECTIVE = Pattern.compile("#\\s*([a-zA-Z][a-zA-Z0-9_-]*)\\s*=\\s*(.*?)\\s*");
    private static final Pattern HEREDOC = Pattern.compile("<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\\2");

    private DockerfileParser() {
    }

    private static List<List<String>> byFirstLetter(List<String> keywords) {
        List<List<String>> out = new ArrayList<>();
        for (char c = 'A'; c <= 'Z'; c++) {
            List<String> starting = new ArrayList<>();
            for (String k : keywords) {
                if (k.charAt(0) == c) {
                    starting.add(k);
                }
            }
            out.add(List.copyOf(starting));
        }
        return List.copyOf(out);
    }

    private static Map<String, String> canonical(List<String> keywords) {
        Map<String, String> out = new java.util.HashMap<>();
        for (String k : keywords) {
            out.put(k, k);
        }
        return Map.copyOf(out);
    }

    public static Dockerfile parse(String text) {
        try {
            List<ParseError> errors = new ArrayList<>();
            return parse(splitLines(text, errors), errors);
        } catch (RuntimeException e) {
            return new Dockerfile(Map.of(), '\\', List.of(), Map.of(), List.of(new ParseError(1, "unparseable Dockerfile")));
        }
    }

    public static Dockerfile parse(Reader reader) {
        List<String> lines;
        List<ParseError> errors = new ArrayList<>();
        try {
            lines = readLines(reader, errors);
        } catch (IOException e) {
            return new Dockerfile(Map.of(), '\\', List.of(), Map.of(), List.of(new ParseError(1, "cannot read Dockerfile")));
        }
        return parse(lines, errors);
    }

    /** Lines as BufferedReader splits them (\n, \r\n or \r), BOM removed, bounded by {@link #MAX_BYTES}. */
    static List<String> splitLines(String text, List<ParseError> errors) {
        List<String> lines = new ArrayList<>();
        int n = Math.min(text.length(), MAX_BYTES + 1);
        if (text.length() > MAX_BYTES) {
            errors.add(new ParseError(1, "Dockerfile is larger than " + MAX_BYTES + " bytes"));
        }
        int start = !text.isEmpty() && text.charAt(0) == '\uFEFF' ? 1 : 0;
        int cr = text.indexOf('\r');
        if (cr < 0 || cr >= n) {
            // Only \n line ends: let indexOf find them.
            for (int nl = text.indexOf('\n', start); nl >= 0 && nl < n; nl = text.indexOf('\n', start)) {
                lines.add(text.substring(start, nl));
                start = nl + 1;
            }
            if (start < n) {
                lines.add(text.substring(start, n));
            }
            return lines;
        }
        for (int i = start; i < n; i++) {
            char c = text.charAt(i);
            if (c == '\n' || c == '\r') {
                lines.add(text.substring(start, i));
                if (c == '\r' && i + 1 < n && text.charAt(i + 1) == '\n') {
                    i++;
                }
                start = i + 1;
            }
        }
        if (start < n) {
            lines.add(text.substring(start, n));
        }
        return lines;
    }

    private static Dockerfile parse(List<String> lines, List<ParseError> errors) {
        Map<String, String> directives = new LinkedHashMap<>();
        int i = 0;
        // Parser directives: only at the very top, before any other line (comment, blank or instruction).
        while (i < lines.size() && lines.get(i).startsWith("#") && lines.get(i).indexOf('=') > 0) {
            Matcher m = DIRECTIVE.matcher(lines.get(i));
            if (!m.matches()) {
                break;
            }
            String key = m.group(1).toLowerCase(Locale.ROOT);
            if (!DIRECTIVE_KEYS.contains(key)) {
                break;
            }
            if (directives.containsKey(key)) {
                errors.add(new ParseError(i + 1, "parser directive '" + key + "' given twice"));
            }
            directives.put(key, m.group(2));
            i++;
        }
        char escape = '\\';
        String escapeValue = directives.get("escape");
        if (escapeValue != null) {
            if (escapeValue.equals("`")) {
                escape = '`';
            } else if (!escapeValue.equals("\\")) {
                errors.add(new ParseError(1, "invalid escape directive '" + escapeValue + "': use \\ or `"));
            }
        }
        List<Instruction> instructions = new ArrayList<>();
        Map<Integer, String> comments = new LinkedHashMap<>();
        while (i < lines.size()) {
            String raw = lines.get(i);
            String trimmed = raw.strip();
            if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                if (!trimmed.isEmpty()) {
                    comments.put(i + 1, trimmed);
                }
                i++;
                continue;
            }
            int start = i + 1;
            String text;
            if (!endsWithEscape(trimmed, escape)) { // trimmed ends as raw.stripTrailing() does
                text = trimmed; // the common case: the instruction is one line
            } else {
                StringBuilder logical = new StringBuilder();
                String current = raw;
                while (true) {
                    String stripped = stripTrailing(current);
                    if (endsWithEscape(stripped, escape)) {
                        logical.append(stripped, 0, stripped.length() - 1);
                        i++;
                        // Skip comment and empty lines inside a continuation, as the builder does.
                        while (i < lines.size() && (lines.get(i).isBlank() || lines.get(i).strip().startsWith("#"))) {
                            if (!lines.get(i).isBlank()) {
                                comments.put(i + 1, lines.get(i).strip());
                            }
                            i++;
                        }
                        if (i >= lines.size()) {
                            break;
                        }
                        current = lines.get(i);
                    } else {
                        logical.append(current);
                        break;
                    }
                }
                text = logical.toString().strip();
            }
            int end = Math.min(i + 1, lines.size());
            i++;
            int space = indexOfWhitespace(text);
            String keyword = keyword(text, space < 0 ? text.length() : space);
            if (keyword == null) {
                String written = (space < 0 ? text : text.substring(0, space)).toUpperCase(Locale.ROOT);
                errors.add(new ParseError(start, "unknown instruction '" + truncate(written) + "'"));
                continue;
            }
            // text is stripped, so what follows the keyword's whitespace runs to the end.
            String rest = space < 0 ? "" : text.substring(skipWhitespace(text, space));
            List<Instruction.Flag> flags = List.of();
            if (rest.startsWith("--")) {
                flags = new ArrayList<>();
                rest = takeFlags(rest, flags);
            }
            List<Instruction.Heredoc> heredocs = List.of();
            if ((keyword.equals("RUN") || keyword.equals("COPY") || keyword.equals("ADD")) && rest.contains("<<")) {
                heredocs = new ArrayList<>();
                Matcher h = HEREDOC.matcher(rest);
                while (h.find()) {
                    boolean dash = !h.group(1).isEmpty();
                    boolean expand = h.group(2).isEmpty();
                    String delimiter = h.group(3);
                    StringBuilder body = new StringBuilder();
                    boolean closed = false;
                    while (i < lines.size()) {
                        String line = lines.get(i++);
                        String candidate = dash ? stripLeadingTabs(line) : line;
                        if (candidate.equals(delimiter)) {
                            closed = true;
                            break;
                        }
                        body.append(candidate).append('\n');
                    }
                    end = i;
                    if (!closed) {
                        errors.add(new ParseError(start, "heredoc '" + delimiter + "' is not terminated"));
                    }
                    heredocs.add(new Instruction.Heredoc(delimiter, body.toString(), expand));
                }
            }
            List<String> json = rest.startsWith("[") ? JsonArray.parse(rest) : null;
            instructions.add(new Instruction(keyword, flags, rest, json, heredocs, start, end));
            if (keyword.equals("FROM") && rest.isEmpty()) {
                errors.add(new ParseError(start, "FROM needs an image"));
            }
        }
        return new Dockerfile(directives, escape, instructions, comments, errors);
    }

    private static List<String> readLines(Reader reader, List<ParseError> errors) throws IOException {
        BufferedReader buffered = new BufferedReader(reader);
        List<String> lines = new ArrayList<>();
        long total = 0;
        String line;
        boolean first = true;
        while ((line = buffered.readLine()) != null) {
            if (first && !line.isEmpty() && line.charAt(0) == '\uFEFF') {
                line = line.substring(1);
            }
            first = false;
            total += line.length() + 1;
            if (total > MAX_BYTES) {
                errors.add(new ParseError(lines.size() + 1, "Dockerfile is larger than " + MAX_BYTES + " bytes"));
                break;
            }
            lines.add(line);
        }
        return lines;
    }

    private static String takeFlags(String rest, List<Instruction.Flag> flags) {
        String remaining = rest;
        while (remaining.startsWith("--")) {
            int end = indexOfWhitespace(remaining);
            String flag = end < 0 ? remaining : remaining.substring(0, end);
            int eq = flag.indexOf('=');
            String name = eq < 0 ? flag.substring(2) : flag.substring(2, eq);
            String value = eq < 0 ? "" : flag.substring(eq + 1);
            flags.add(new Instruction.Flag(name, value));
            remaining = end < 0 ? "" : remaining.substring(end).strip();
        }
        return remaining;
    }

    private static boolean endsWithEscape(String line, char escape) {
        return !line.isEmpty() && line.charAt(line.length() - 1) == escape;
    }

    private static String stripLeadingTabs(String s) {
        int i = 0;
        while (i < s.length() && s.charAt(i) == '\t') {
            i++;
        }
        return s.substring(i);
    }

    private static String stripTrailing(String s) {
        return s.stripTrailing();
    }

    /**
     * The canonical keyword that {@code text} starts with (its first {@code end} characters upper-cased), or null.
     * ASCII words are compared in place; others go through {@code toUpperCase}, which maps a few non-ASCII letters
     * (such as the dotless i) to ASCII ones.
     */
    private static String keyword(String text, int end) {
        for (int k = 0; k < end; k++) {
            if (text.charAt(k) >= 0x80) {
                return KEYWORDS.get(text.substring(0, end).toUpperCase(Locale.ROOT));
            }
        }
        if (end == 0) {
            return null;
        }
        int letter = (text.charAt(0) | 0x20) - 'a'; // an ASCII letter in either case, else out of range
        if (letter < 0 || letter >= BY_FIRST_LETTER.size()) {
            return null;
        }
        List<String> candidates = BY_FIRST_LETTER.get(letter);
        for (int k = 0; k < candidates.size(); k++) {
            String keyword = candidates.get(k);
            if (keyword.length() == end && text.regionMatches(true, 0, keyword, 0, end)) {
                return keyword;
            }
        }
        return null;
    }

    private static int skipWhitespace(String s, int from) {
        int k = from;
        while (k < s.length() && Chars.isWhitespace(s.charAt(k))) {
            k++;
        }
        return k;
    }

    private static int indexOfWhitespace(String s) {
        for (int k = 0; k < s.length(); k++) {
            if (Chars.isWhitespace(s.charAt(k))) {
                return k;
            }
        }
        return -1;
    }

    private static String truncate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "…" : s;
    }
}
