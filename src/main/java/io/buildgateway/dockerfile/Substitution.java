package io.buildgateway.dockerfile;

import com.google.re2j.Matcher;
import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;
import java.util.function.Function;

/**
 * Variable substitution as BuildKit's shell lexer does it in FROM, USER, WORKDIR, ENV, ARG, COPY and friends, read
 * as that lexer reads a word, one character after the other (moby/buildkit {@code frontend/dockerfile/shell/lex.go},
 * checked against dockerd 26's BuildKit by {@code SubstitutionDifferentialIT}):
 * <ul>
 * <li>{@code $name}, {@code ${name}}; a name is a letter or {@code _} then letters, digits and {@code _}, or a run of
 * digits ({@code $1}, {@code $12}), or one of the special parameters {@code @ * # ? - $ ! 0}: these expand to their
 * value, which is empty for all but a variable the Dockerfile set ({@code $$} and {@code $1} are empty, not
 * literal); a {@code $} that no name follows stays a {@code $};</li>
 * <li>{@code ${name:-word}}, {@code ${name-word}}, {@code ${name:+word}}, {@code ${name+word}},
 * {@code ${name:?word}}, {@code ${name?word}}; the pattern forms {@code ${name#glob}}, {@code ${name##glob}},
 * {@code ${name%glob}}, {@code ${name%%glob}} (also after a colon, which changes nothing for them) and
 * {@code ${name/glob/replacement}}, {@code ${name//glob/replacement}}, whose globs and replacement keep their escape
 * characters as written, as BuildKit's do; the globs are BuildKit's regular expressions, matched by RE2/J, which
 * follows Go's regexp (the same leftmost-first choice among matches, in linear time);</li>
 * <li>single quotes keep everything; in double quotes the escape character escapes only {@code "}, {@code $} and
 * itself and otherwise stays; elsewhere it makes the next character literal and is dropped at the end of the word.</li>
 * </ul>
 * What BuildKit refuses (an unknown modifier, an unterminated quote or brace, {@code ${name:?}} of an unset name, an
 * invalid escape in a glob) expands here to a best effort: BuildKit fails that build, so no reading of it is built.
 * The output length and the nesting depth are bounded.
 */
public final class Substitution {

    private static final int MAX_OUTPUT = 64 * 1024;
    /** Nesting deeper than this is refused by the canonical writer ({@link #mayNestTooDeep}), so never built. */
    public static final int MAX_DEPTH = 200;
    private static final int EOF = -1;

    private Substitution() {
    }

    /** {@code lookup} returns null for an unset variable. */
    public static String expand(String word, Function<String, String> lookup, char escape) {
        if (isLiteral(word, escape)) {
            return word;
        }
        String out = new Lexer(word, lookup, escape).processStopOn(EOF, false);
        return out.length() > MAX_OUTPUT ? out.substring(0, MAX_OUTPUT) : out;
    }

    /**
     * A COPY or ADD heredoc body as BuildKit expands it (its marker unquoted): {@code ExpandRaw}, a lexer of its own
     * with the escape character {@code \\} whatever the file's, and quotes that are ordinary characters
     * ({@code SkipProcessQuotes}): {@code '$V'} is the value of V between two single quotes. The escape character
     * still makes the next character literal and is dropped. (Found by {@code SubstitutionDifferentialIT},
     * 2026-12-07: the policy reads no such body, the reading is for the tests that predict the files.)
     */
    public static String expandHeredoc(String body, Function<String, String> lookup) {
        if (isLiteral(body, '\\')) {
            return body;
        }
        Lexer lexer = new Lexer(body, lookup, '\\');
        lexer.skipQuotes = true;
        String out = lexer.processStopOn(EOF, false);
        return out.length() > MAX_OUTPUT ? out.substring(0, MAX_OUTPUT) : out;
    }

    /**
     * The word with its quotes and escape characters processed as BuildKit processes them, and every substitution
     * ({@code $name}, {@code ${…}}) left as written: what a rule that judges a word as written (ENV and LABEL pairs,
     * ARG defaults) should read. The word itself when it has nothing to process. Found by
     * {@code SubstitutionDifferentialIT} (2026-12-07): a shell split of the word read {@code `n} as written under
     * {@code # escape=`} (BuildKit: {@code n}) and dropped the backslash of {@code "\\n"} (BuildKit keeps it).
     */
    public static String unquote(String word, char escape) {
        if (isLiteral(word, escape)) {
            return word;
        }
        Lexer lexer = new Lexer(word, name -> null, escape);
        lexer.keepVariables = true;
        String out = lexer.processStopOn(EOF, false);
        return out.equals(word) ? word : out.length() > MAX_OUTPUT ? out.substring(0, MAX_OUTPUT) : out;
    }

    /**
     * True when expanding changes nothing: no variable, quote or escape character, and within the bound; then
     * {@link #expand} returns the word itself, whatever the lookup.
     */
    public static boolean isLiteral(String word, char escape) {
        return word.length() <= MAX_OUTPUT && word.indexOf('$') < 0 && word.indexOf(escape) < 0
                && word.indexOf('\'') < 0 && word.indexOf('"') < 0;
    }

    /**
     * True when {@code text} has more {@code ${} than the nesting this reading follows ({@link #MAX_DEPTH}): an upper
     * bound of how deep they can nest, whatever quotes and escapes do. The canonical writer refuses such a line
     * (BuildKit would read the deeper levels, this reading gives up there), so nothing read past the bound is built.
     */
    public static boolean mayNestTooDeep(String text) {
        int count = 0;
        for (int i = text.indexOf("${"); i >= 0; i = text.indexOf("${", i + 2)) {
            if (++count > MAX_DEPTH) {
                return true;
            }
        }
        return false;
    }

    /**
     * The first {@code ${name#pattern}} or {@code ${name%pattern}} (also after a colon) in {@code text} whose pattern
     * may come out empty, or null. dockerd 26's BuildKit (v0.13) indexes the first byte of the processed pattern
     * without checking its length, so an empty one ({@code ${V#}}, {@code ${V%''}}, {@code ${V#$EMPTY}}) panics the
     * whole daemon and fails every build on the host (found by {@code SubstitutionDifferentialIT}, 2026-12-07; checked
     * by hand for ENV and LABEL). Quotes and escapes around the substitution are not looked at (a {@code ${V#}} inside
     * single quotes counts too); at the pattern's start quote characters are skipped; a pattern that then starts with
     * an ordinary character is certain to be non-empty, one that starts with a variable is empty when that variable
     * may be ({@code variableMayBeEmpty}; where the gateway cannot know, as for words BuildKit expands with every
     * unset variable empty, it answers true) or when a modifier follows its name ({@code ${V%%*}}).
     */
    public static String emptyPatternCrash(String text, java.util.function.Predicate<String> variableMayBeEmpty) {
        return emptyPatternCrash(text, variableMayBeEmpty, false);
    }

    /**
     * As above; with {@code quotesKept} (BuildKit's {@code RawQuotes}, as for RUN's command line) a pattern that starts
     * with a quote is not empty: the quote itself is kept.
     */
    public static String emptyPatternCrash(String text, java.util.function.Predicate<String> variableMayBeEmpty,
            boolean quotesKept) {
        for (int i = text.indexOf("${"); i >= 0; i = text.indexOf("${", i + 2)) {
            int k = skipName(text, i + 2);
            if (k < text.length() && text.charAt(k) == ':') {
                k++;
            }
            if (k >= text.length() || text.charAt(k) != '#' && text.charAt(k) != '%') {
                continue;
            }
            int p = k + 1;
            while (!quotesKept && p < text.length() && (text.charAt(p) == '\'' || text.charAt(p) == '"')) {
                p++;
            }
            boolean empty;
            if (p >= text.length() || text.charAt(p) == '}') {
                empty = true;
            } else if (text.charAt(p) == '$') {
                boolean braced = p + 1 < text.length() && text.charAt(p + 1) == '{';
                int nameStart = braced ? p + 2 : p + 1;
                int nameEnd = skipName(text, nameStart);
                String name = text.substring(nameStart, nameEnd);
                // A bare '$' with no name ($'\r', $(pwd)) stays a '$': not empty. ${+a}, ${/a/b}: an empty name,
                // unset, so empty. ${PATH%%*}, ${PATH:+}, ${PATH/*/}: a modifier can make any variable's value empty,
                // one that is certainly set too (a read-through's find, 2026-12-07: RUN echo ${PATH#${PATH%%*}}).
                boolean modified = braced && nameEnd < text.length() && text.charAt(nameEnd) != '}';
                empty = name.isEmpty() ? braced : modified || variableMayBeEmpty.test(name);
            } else {
                empty = false;
            }
            if (empty) {
                int end = text.indexOf('}', k);
                return text.substring(i, end < 0 ? Math.min(text.length(), k + 2) : end + 1);
            }
        }
        return null;
    }

    /** {@link #emptyPatternCrash(String, java.util.function.Predicate)} where any variable may be empty. */
    public static String emptyPatternCrash(String text) {
        return emptyPatternCrash(text, name -> true);
    }

    /**
     * Past a name as BuildKit's {@code processName} takes one, over-approximated: ASCII letters, digits and {@code _},
     * and any non-ASCII character (Go's Unicode tables may know letters Java's do not, and a character outside the BMP
     * is two chars here); or one special parameter.
     */
    private static int skipName(String text, int k) {
        int start = k;
        while (k < text.length() && (isAsciiNameChar(text.charAt(k)) || text.charAt(k) >= 0x80)) {
            k++;
        }
        if (k == start && k < text.length() && "@*#?-$!0".indexOf(text.charAt(k)) >= 0) {
            k++;
        }
        return k;
    }

    private static boolean isAsciiNameChar(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_';
    }

    /** One word being read: BuildKit's {@code shellWord}, a cursor over the word's code points. */
    private static final class Lexer {
        private final String s;
        private final Function<String, String> lookup;
        private final char escape;
        private int pos;
        private boolean rawEscapes;
        private int depth;
        /** Quotes are ordinary characters (BuildKit's {@code SkipProcessQuotes}). */
        private boolean skipQuotes;
        /** A substitution is kept as written, not expanded. */
        private boolean keepVariables;

        Lexer(String s, Function<String, String> lookup, char escape) {
            this.s = s;
            this.lookup = lookup;
            this.escape = escape;
        }

        private int peek() {
            return pos < s.length() ? s.codePointAt(pos) : EOF;
        }

        private int next() {
            int c = peek();
            if (c != EOF) {
                pos += Character.charCount(c);
            }
            return c;
        }

        /** Reads up to {@code stop} (consumed) or the end of the word. */
        String processStopOn(int stop, boolean raw) {
            boolean saved = rawEscapes;
            rawEscapes = raw;
            try {
                StringBuilder result = new StringBuilder();
                // The whole word is read whatever the output's length (a reading that stopped at the bound would
                // take the rest of a ${…} for the level above); only what is kept is bounded.
                while (peek() != EOF) {
                    int ch = peek();
                    if (stop != EOF && ch == stop) {
                        next();
                        return result.toString();
                    }
                    if (ch == '$') {
                        bounded(result, variable());
                    } else if (ch == '\'' && !skipQuotes) {
                        bounded(result, singleQuote());
                    } else if (ch == '"' && !skipQuotes) {
                        bounded(result, doubleQuote());
                    } else {
                        ch = next();
                        if (ch == escape) {
                            if (rawEscapes) {
                                result.appendCodePoint(ch);
                            }
                            ch = next();
                            if (ch == EOF) {
                                break;
                            }
                        }
                        if (result.length() <= MAX_OUTPUT) {
                            result.appendCodePoint(ch);
                        }
                    }
                }
                return result.toString();
            } finally {
                rawEscapes = saved;
            }
        }

        private String singleQuote() {
            next();
            StringBuilder result = new StringBuilder();
            for (int ch = next(); ch != EOF && ch != '\''; ch = next()) {
                if (result.length() <= MAX_OUTPUT) {
                    result.appendCodePoint(ch);
                }
            }
            return result.toString();
        }

        private String doubleQuote() {
            next();
            StringBuilder result = new StringBuilder();
            while (true) {
                int p = peek();
                if (p == EOF) {
                    break;
                }
                if (p == '"') {
                    next();
                    break;
                }
                if (p == '$') {
                    bounded(result, variable());
                    continue;
                }
                int ch = next();
                if (ch == escape) {
                    if (rawEscapes) {
                        result.appendCodePoint(ch);
                    }
                    int after = peek();
                    if (after == EOF) {
                        continue;
                    }
                    if (after == '"' || after == '$' || after == escape) {
                        ch = next();
                    }
                }
                if (result.length() <= MAX_OUTPUT) {
                    result.appendCodePoint(ch);
                }
            }
            return result.toString();
        }

        /** Appends at most what keeps {@code out} one past the bound (so that callers can tell it was reached). */
        private static void bounded(StringBuilder out, String s) {
            int room = MAX_OUTPUT + 1 - out.length();
            if (room > 0) {
                out.append(s, 0, Math.min(s.length(), room));
            }
        }

        private String value(String name) {
            String v = lookup.apply(name);
            return v == null ? "" : v;
        }

        /** A substitution at the cursor: its value, or as written when variables are kept. */
        private String variable() {
            if (!keepVariables) {
                return dollar();
            }
            int start = pos;
            dollar();
            return s.substring(start, pos);
        }

        private String dollar() {
            next();
            if (peek() != '{') {
                String name = name();
                return name.isEmpty() ? "$" : value(name);
            }
            next();
            int p = peek();
            if (p == EOF || p == '{' || p == '}' || p == ':' || depth >= MAX_DEPTH) {
                // BuildKit refuses these (or, past the depth, the canonical writer does): nothing of it is built.
                pos = s.length();
                return "";
            }
            String name = name();
            int ch = next();
            String set = lookup.apply(name);
            if (ch == '}') {
                return set == null ? "" : set;
            }
            boolean nullIsUnset = false;
            depth++;
            try {
                if (ch == ':') {
                    nullIsUnset = true;
                    ch = next();
                }
                if (ch == '/' && !nullIsUnset) {
                    boolean all = peek() == '/';
                    if (all) {
                        next();
                    }
                    String pattern = processStopOn('/', true);
                    String replacement = processStopOn('}', true);
                    return replace(set == null ? "" : set, pattern, replacement, all);
                }
                if (ch != '+' && ch != '-' && ch != '?' && ch != '#' && ch != '%') {
                    // An unknown modifier: BuildKit refuses the word.
                    processStopOn('}', false);
                    return "";
                }
                String word = processStopOn('}', ch == '#' || ch == '%');
                boolean unset = set == null || nullIsUnset && set.isEmpty();
                switch (ch) {
                    case '-':
                        return unset ? word : set;
                    case '+':
                        return unset ? "" : word;
                    case '?':
                        return set == null ? "" : set;
                    default:
                        boolean greedy = !word.isEmpty() && word.charAt(0) == ch;
                        String glob = greedy ? word.substring(1) : word;
                        String v = set == null ? "" : set;
                        return ch == '#' ? trimPrefix(glob, v, greedy) : trimSuffix(glob, v, greedy);
                }
            } finally {
                depth--;
            }
        }

        /** BuildKit's {@code processName}. */
        private String name() {
            int start = pos;
            int first = peek();
            if (first == EOF) {
                return "";
            }
            if (Character.isDigit(first)) {
                while (peek() != EOF && Character.isDigit(peek())) {
                    next();
                }
                return s.substring(start, pos);
            }
            if (first == '@' || first == '*' || first == '#' || first == '?' || first == '-' || first == '$'
                    || first == '!' || first == '0') {
                next();
                return s.substring(start, pos);
            }
            while (peek() != EOF && (Character.isLetterOrDigit(peek()) || peek() == '_')) {
                next();
            }
            return s.substring(start, pos);
        }
    }

    /**
     * BuildKit's {@code convertShellPatternToRegex}: {@code *} any run (lazy unless greedy), {@code ?} any one
     * character, a backslash before {@code *}, {@code ?} or a backslash makes it literal, before {@code }} or
     * {@code /} it is dropped; everything else literal. Null for what BuildKit refuses (another escaped character).
     */
    private static Pattern pattern(String glob, boolean greedy, boolean anchored) {
        StringBuilder re = new StringBuilder(glob.length() + 8);
        if (anchored) {
            re.append('^');
        }
        int i = 0;
        while (i < glob.length()) {
            int c = glob.codePointAt(i);
            i += Character.charCount(c);
            if (c == '*') {
                re.append(greedy ? ".*" : ".*?");
            } else if (c == '?') {
                re.append('.');
            } else if (c == '\\') {
                int n = i < glob.length() ? glob.codePointAt(i) : EOF;
                if (n == '}' || n == '/') {
                    continue;
                }
                if (n != '*' && n != '?' && n != '\\') {
                    return null;
                }
                i += Character.charCount(n);
                re.append('\\').appendCodePoint(n);
            } else {
                re.append(Pattern.quote(new String(Character.toChars(c))));
            }
        }
        try {
            return Pattern.compile(re.toString());
        } catch (PatternSyntaxException e) {
            return null;
        }
    }

    private static String trimPrefix(String glob, String value, boolean greedy) {
        Pattern p = pattern(glob, greedy, true);
        if (p == null) {
            return value;
        }
        Matcher m = p.matcher(value);
        return m.find() ? value.substring(m.end()) : value;
    }

    /** BuildKit's reversal: the glob reversed with each escape pair kept in order, the value reversed. */
    private static String trimSuffix(String glob, String value, boolean greedy) {
        int[] g = glob.codePoints().toArray();
        int[] out = new int[g.length];
        int last = g.length - 1;
        for (int i = 0; i <= last; ) {
            if (g[i] == '\\' && i != last) {
                out[last - i - 1] = g[i];
                out[last - i] = g[i + 1];
                i += 2;
            } else {
                out[last - i] = g[i];
                i++;
            }
        }
        String reversed = reverse(value);
        return reverse(trimPrefix(new String(out, 0, out.length), reversed, greedy));
    }

    private static String reverse(String s) {
        int[] points = s.codePoints().toArray();
        for (int i = 0, j = points.length - 1; i < j; i++, j--) {
            int t = points[i];
            points[i] = points[j];
            points[j] = t;
        }
        return new String(points, 0, points.length);
    }

    /**
     * {@code ${name/glob/replacement}}: the first match replaced by the replacement as it is; {@code //}: every
     * match, as Go's {@code ReplaceAllString} does it (an empty match right after a match is skipped, and the
     * replacement is a template: {@code $0} the match, {@code $$} a {@code $}, other names empty).
     */
    private static String replace(String value, String glob, String replacement, boolean all) {
        Pattern p = pattern(glob, true, false);
        if (p == null) {
            return value;
        }
        Matcher m = p.matcher(value);
        if (!all) {
            return m.find() ? value.substring(0, m.start()) + replacement + value.substring(m.end()) : value;
        }
        StringBuilder out = new StringBuilder();
        int lastMatchEnd = 0;
        int searchPos = 0;
        while (searchPos <= value.length() && out.length() <= MAX_OUTPUT && m.find(searchPos)) {
            int a = m.start();
            int b = m.end();
            out.append(value, lastMatchEnd, a);
            if (b > lastMatchEnd || a == 0) {
                template(replacement, value.substring(a, b), out);
            }
            lastMatchEnd = b;
            int width = searchPos < value.length() ? Character.charCount(value.codePointAt(searchPos)) : 1;
            if (searchPos + width > b) {
                searchPos += width;
            } else if (searchPos + 1 > b) {
                searchPos++;
            } else {
                searchPos = b;
            }
        }
        return out.append(value, Math.min(lastMatchEnd, value.length()), value.length()).toString();
    }

    /** Go's {@code Regexp.ExpandString} for a pattern without groups. */
    private static void template(String template, String match, StringBuilder out) {
        int i = 0;
        while (i < template.length()) {
            int dollar = template.indexOf('$', i);
            if (dollar < 0) {
                break;
            }
            out.append(template, i, dollar);
            i = dollar + 1;
            if (i < template.length() && template.charAt(i) == '$') {
                out.append('$');
                i++;
                continue;
            }
            boolean brace = i < template.length() && template.charAt(i) == '{';
            int start = brace ? i + 1 : i;
            int end = start;
            while (end < template.length()) {
                int c = template.codePointAt(end);
                if (!Character.isLetterOrDigit(c) && c != '_') {
                    break;
                }
                end += Character.charCount(c);
            }
            if (end == start || brace && (end >= template.length() || template.charAt(end) != '}')) {
                out.append('$');
                continue;
            }
            if (template.substring(start, end).equals("0")) {
                out.append(match);
            }
            i = brace ? end + 1 : end;
        }
        out.append(template, Math.min(i, template.length()), template.length());
    }
}
