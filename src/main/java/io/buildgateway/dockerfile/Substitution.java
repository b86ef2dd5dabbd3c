package io.buildgateway.dockerfile;

import java.util.function.Function;
import java.util.function.IntUnaryOperator;

/**
 * Variable substitution as the builder does it in FROM, USER, WORKDIR, ENV, ARG, COPY and friends: {@code $name},
 * {@code ${name}}, {@code ${name:-word}}, {@code ${name-word}}, {@code ${name:+word}}, {@code ${name+word}}, and the
 * pattern forms {@code ${name#glob}}, {@code ${name##glob}}, {@code ${name%glob}}, {@code ${name%%glob}} (shortest or
 * longest prefix or suffix removed; BuildKit reads {@code ${name:#glob}} and {@code ${name:%glob}} alike) and
 * {@code ${name/glob/replacement}} (first match replaced) or {@code ${name//glob/replacement}} (every match); the escape
 * character makes the next character literal; single quotes suppress expansion. Unknown variables expand to empty.
 * The output length is bounded so that nested defaults cannot blow up.
 */
public final class Substitution {

    private static final int MAX_OUTPUT = 64 * 1024;

    private Substitution() {
    }

    /** {@code lookup} returns null for an unset variable. */
    public static String expand(String word, Function<String, String> lookup, char escape) {
        if (isLiteral(word, escape)) {
            return word;
        }
        StringBuilder out = new StringBuilder();
        expand(word, 0, word.length(), lookup, escape, out, 0);
        return out.toString();
    }

    /**
     * True when expanding changes nothing: no variable, quote or escape character, and within the bound; then
     * {@link #expand} returns the word itself, whatever the lookup.
     */
    public static boolean isLiteral(String word, char escape) {
        return word.length() <= MAX_OUTPUT && word.indexOf('$') < 0 && word.indexOf(escape) < 0
                && word.indexOf('\'') < 0 && word.indexOf('"') < 0;
    }

    private static void expand(String s, int from, int to, Function<String, String> lookup, char escape,
            StringBuilder out, int depth) {
        boolean inSingle = false;
        boolean inDouble = false;
        int i = from;
        while (i < to && out.length() < MAX_OUTPUT) {
            char c = s.charAt(i);
            if (c == escape && i + 1 < to && !inSingle) {
                out.append(s.charAt(i + 1));
                i += 2;
                continue;
            }
            if (c == '\'' && !inDouble) {
                inSingle = !inSingle;
                i++;
                continue;
            }
            if (c == '"' && !inSingle) {
                inDouble = !inDouble;
                i++;
                continue;
            }
            if (c == '$' && !inSingle && i + 1 < to) {
                char n = s.charAt(i + 1);
                if (n == '{') {
                    int close = matchingBrace(s, i + 2, to);
                    if (close < 0) {
                        out.append(s, i, to);
                        return;
                    }
                    braced(s, i + 2, close, lookup, escape, out, depth);
                    i = close + 1;
                    continue;
                }
                if (Character.isLetter(n) || n == '_') {
                    int j = i + 1;
                    while (j < to && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_')) {
                        j++;
                    }
                    String value = lookup.apply(s.substring(i + 1, j));
                    if (value != null) {
                        out.append(value);
                    }
                    i = j;
                    continue;
                }
            }
            out.append(c);
            i++;
        }
        if (out.length() > MAX_OUTPUT) {
            out.setLength(MAX_OUTPUT);
        }
    }

    private static void braced(String s, int from, int to, Function<String, String> lookup, char escape,
            StringBuilder out, int depth) {
        int j = from;
        while (j < to && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_')) {
            j++;
        }
        String name = s.substring(from, j);
        String value = lookup.apply(name);
        if (j == to) {
            if (value != null) {
                out.append(value);
            }
            return;
        }
        boolean colon = s.charAt(j) == ':';
        int op = colon ? j + 1 : j;
        if (op >= to || depth > 16) {
            return;
        }
        char kind = s.charAt(op);
        boolean set = colon ? value != null && !value.isEmpty() : value != null;
        if (kind == '-') {
            if (set) {
                out.append(value);
            } else {
                expand(s, op + 1, to, lookup, escape, out, depth + 1);
            }
        } else if (kind == '+') {
            if (set) {
                expand(s, op + 1, to, lookup, escape, out, depth + 1);
            }
        } else if (kind == '#' || kind == '%' || !colon && kind == '/') {
            // BuildKit reads ${name:#glob} and ${name:%glob} as ${name#glob} and ${name%glob} (the colon only says
            // "empty counts as unset", which trimming ignores), and ${name//glob/replacement} replaces every match (a
            // review's finding, 2026-12-07: the colon forms expanded to the whole value here, and // to no change, so
            // the policy judged another FROM or ADD source than the one built).
            boolean all = kind == '/' && op + 1 < to && s.charAt(op + 1) == '/';
            boolean longest = op + 1 < to && s.charAt(op + 1) == kind && kind != '/';
            int patternStart = op + (longest || all ? 2 : 1);
            String v = value == null ? "" : value;
            if (kind == '/') {
                // The pattern ends at the first '/' the escape character does not escape; an escaped '/' is a '/'
                // of the pattern (BuildKit's reading, checked on its dockerd 26: ${IMG//\//} removes every '/').
                int slash = -1;
                for (int k = patternStart; k < to; k++) {
                    char ch = s.charAt(k);
                    if (ch == escape && k + 1 < to) {
                        k++;
                    } else if (ch == '/') {
                        slash = k;
                        break;
                    }
                }
                // BuildKit keeps the escapes of the pattern as written and its pattern reader knows only '\\': with
                // another escape character (# escape=`) the pair stays two characters of the pattern.
                String raw = s.substring(patternStart, slash < 0 ? to : slash);
                String pattern = escape == '\\' ? raw.replace("\\/", "/") : raw;
                StringBuilder replacement = new StringBuilder();
                if (slash >= 0) {
                    expand(s, slash + 1, to, lookup, escape, replacement, depth + 1);
                }
                out.append(replace(v, pattern, replacement.toString(), all));
            } else {
                StringBuilder pattern = new StringBuilder();
                expand(s, patternStart, to, lookup, escape, pattern, depth + 1);
                out.append(kind == '#' ? removePrefix(v, pattern.toString(), longest)
                        : removeSuffix(v, pattern.toString(), longest));
            }
        } else if (value != null) {
            out.append(value);
        }
    }

    private static String removePrefix(String value, String glob, boolean longest) {
        Glob p = new Glob(glob);
        if (longest) {
            for (int end = value.length(); end >= 0; end--) {
                if (p.matches(value, 0, end)) {
                    return value.substring(end);
                }
            }
        } else {
            for (int end = 0; end <= value.length(); end++) {
                if (p.matches(value, 0, end)) {
                    return value.substring(end);
                }
            }
        }
        return value;
    }

    private static String removeSuffix(String value, String glob, boolean longest) {
        Glob p = new Glob(glob);
        if (longest) {
            for (int start = 0; start <= value.length(); start++) {
                if (p.matches(value, start, value.length())) {
                    return value.substring(0, start);
                }
            }
        } else {
            for (int start = value.length(); start >= 0; start--) {
                if (p.matches(value, start, value.length())) {
                    return value.substring(0, start);
                }
            }
        }
        return value;
    }

    /**
     * Replaces the leftmost, longest match of the glob ({@code ${name/pattern/replacement}}), or every match, each the
     * leftmost and longest after the one before ({@code ${name//pattern/replacement}}).
     */
    private static String replace(String value, String glob, String replacement, boolean all) {
        if (glob.isEmpty()) {
            return value;
        }
        Glob p = new Glob(glob);
        StringBuilder out = new StringBuilder();
        int start = 0;
        outer:
        while (start < value.length()) {
            for (int end = value.length(); end > start; end--) {
                if (p.matches(value, start, end)) {
                    out.append(replacement);
                    start = end;
                    if (!all || out.length() > MAX_OUTPUT) {
                        break outer;
                    }
                    continue outer;
                }
            }
            out.append(value.charAt(start++));
        }
        return out.append(value, start, value.length()).toString();
    }

    /**
     * A shell glob: {@code *} any run, {@code ?} one character, everything else literal. Matched by hand with the
     * classic wildcard walk (O(glob × value) at worst: the substitutions above try it at every position, and a regex
     * compiled and run on a substring each time was the costliest step of a lint with such a modifier). With a
     * surrogate in the glob or the value the same walk runs on code points, so that {@code ?} takes a whole
     * character; a regex built from the glob used to decide that case, and with many {@code *} it backtracked
     * exponentially (a submitted Dockerfile could hold a lint thread for minutes: found by fuzzing).
     */
    private static final class Glob {
        private final String glob;
        private final boolean globSurrogate;
        /** The length every match has when there is no '*' (each other glob character matches one), else -1. */
        private final int fixedLength;
        private int[] globPoints;
        private String lastValue;
        private boolean lastValueSurrogate;

        Glob(String glob) {
            this.glob = glob;
            this.globSurrogate = hasSurrogate(glob);
            this.fixedLength = glob.indexOf('*') < 0 ? glob.length() : -1;
        }

        boolean matches(String value, int from, int to) {
            if (value != lastValue) {
                lastValue = value;
                lastValueSurrogate = hasSurrogate(value);
            }
            if (globSurrogate || lastValueSurrogate) {
                if (globPoints == null) {
                    globPoints = glob.codePoints().toArray();
                }
                int[] points = value.substring(from, to).codePoints().toArray();
                return walk(globPoints.length, k -> globPoints[k], points.length, k -> points[k]);
            }
            if (fixedLength >= 0 && to - from != fixedLength) {
                return false;
            }
            return walk(glob.length(), glob::charAt, to - from, k -> value.charAt(from + k));
        }

        /** The classic wildcard walk: on a mismatch, let the last '*' take one more character. */
        private static boolean walk(int globLength, IntUnaryOperator globAt, int valueLength,
                IntUnaryOperator valueAt) {
            int g = 0;
            int v = 0;
            int star = -1;
            int starAt = 0;
            while (v < valueLength) {
                int c = g < globLength ? globAt.applyAsInt(g) : -1;
                if (c == '*') {
                    star = g++;
                    starAt = v;
                } else if (c != -1 && (c == '?' || c == valueAt.applyAsInt(v))) {
                    g++;
                    v++;
                } else if (star >= 0) {
                    g = star + 1;
                    v = ++starAt;
                } else {
                    return false;
                }
            }
            while (g < globLength && globAt.applyAsInt(g) == '*') {
                g++;
            }
            return g == globLength;
        }

        private static boolean hasSurrogate(String s) {
            for (int k = 0; k < s.length(); k++) {
                if (Character.isSurrogate(s.charAt(k))) {
                    return true;
                }
            }
            return false;
        }
    }

    private static int matchingBrace(String s, int from, int to) {
        int depth = 1;
        for (int k = from; k < to; k++) {
            char c = s.charAt(k);
            if (c == '{') {
                depth++;
            } else if (c == '}' && --depth == 0) {
                return k;
            }
        }
        return -1;
    }
}
