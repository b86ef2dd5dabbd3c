package io.buildgateway.dockerfile;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

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
        return parse(text, true);
    }

    /**
     * Parses as the daemon does; {@code heredocs} says whether {@code <<EOF} documents are read (BuildKit) or not (the
     * classic builder of dockerd 20.10 has none: there, {@code <<EOF} is just text and the lines after it are
     * instructions).
     */
    public static Dockerfile parse(String text, boolean heredocs) {
        try {
            List<ParseError> errors = new ArrayList<>();
            return parse(splitLines(text, errors), errors, heredocs);
        } catch (RuntimeException e) {
            return new Dockerfile(Map.of(), '\\', List.of(), Map.of(), List.of(new ParseError(1, "unparseable Dockerfile")));
        }
    }

    public static Dockerfile parse(Reader reader) {
        StringBuilder text = new StringBuilder();
        char[] buffer = new char[8192];
        try {
            for (int n = reader.read(buffer); n >= 0; n = reader.read(buffer)) {
                text.append(buffer, 0, n);
                if (text.length() > MAX_BYTES) {
                    break;
                }
            }
        } catch (IOException e) {
            return new Dockerfile(Map.of(), '\\', List.of(), Map.of(), List.of(new ParseError(1, "cannot read Dockerfile")));
        }
        return parse(text.toString());
    }

    /**
     * Lines as the daemon's scanner splits them: at \n only, one \r before it dropped (a lone \r is not a line end,
     * it is whitespace inside the line); the BOM removed from the first line; bounded by {@link #MAX_BYTES}; a line
     * longer than the scanner's buffer (65,535 bytes) is an error, as it is for the daemon. Kept as offsets into the
     * text ({@link Lines}): the parser reads most lines in place and copies only what an instruction keeps.
     */
    static Lines splitLines(String text, List<ParseError> errors) {
        int n = Math.min(text.length(), MAX_BYTES + 1);
        if (text.length() > MAX_BYTES) {
            errors.add(new ParseError(1, "Dockerfile is larger than " + MAX_BYTES + " bytes"));
        }
        int[] starts = new int[Math.max(16, n / 24)];
        int[] ends = new int[starts.length];
        int size = 0;
        int start = !text.isEmpty() && text.charAt(0) == '\uFEFF' ? 1 : 0;
        for (int nl = text.indexOf('\n', start); nl >= 0 && nl < n; nl = text.indexOf('\n', start)) {
            if (size == starts.length) {
                starts = java.util.Arrays.copyOf(starts, size * 2);
                ends = java.util.Arrays.copyOf(ends, size * 2);
            }
            starts[size] = start;
            ends[size++] = nl > start && text.charAt(nl - 1) == '\r' ? nl - 1 : nl;
            start = nl + 1;
        }
        if (start < n) {
            if (size == starts.length) {
                starts = java.util.Arrays.copyOf(starts, size + 1);
                ends = java.util.Arrays.copyOf(ends, size + 1);
            }
            starts[size] = start;
            ends[size++] = text.charAt(n - 1) == '\r' ? n - 1 : n; // ScanLines drops a final \r at EOF too
        }
        for (int k = 0; k < size; k++) {
            if (ends[k] - starts[k] > MAX_LINE_BYTES / 3
                    && utf8Length(text.subSequence(starts[k], ends[k])) > MAX_LINE_BYTES) {
                errors.add(new ParseError(k + 1, "dockerfile line greater than max allowed size of " + MAX_LINE_BYTES));
                return new Lines(text, starts, ends, k);
            }
        }
        return new Lines(text, starts, ends, size);
    }

    /** The lines of a text as offsets: line {@code k} is {@code text[start(k), end(k))}, without its line end. */
    static final class Lines {
        private final String text;
        private final int[] starts;
        private final int[] ends;
        private final int size;

        Lines(String text, int[] starts, int[] ends, int size) {
            this.text = text;
            this.starts = starts;
            this.ends = ends;
            this.size = size;
        }

        int size() {
            return size;
        }

        int start(int k) {
            return starts[k];
        }

        int end(int k) {
            return ends[k];
        }

        /** Line {@code k} as a string of its own. */
        String get(int k) {
            return text.substring(starts[k], ends[k]);
        }

        /** Every line as a string (for tests). */
        List<String> all() {
            List<String> out = new ArrayList<>(size);
            for (int k = 0; k < size; k++) {
                out.add(get(k));
            }
            return out;
        }
    }

    /** The daemon's scanner buffer (bufio.MaxScanTokenSize), less the line end. */
    public static final int MAX_LINE_BYTES = 65535;

    static int utf8Length(CharSequence s) {
        int bytes = 0;
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            if (c < 0x80) {
                bytes++;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c) && k + 1 < s.length() && Character.isLowSurrogate(s.charAt(k + 1))) {
                bytes += 4;
                k++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    /**
     * Go's {@code unicode.IsSpace}, which the daemon trims lines with: unlike {@link Character#isWhitespace} it counts
     * NEL and the no-break spaces and not the information separators U+001C..U+001F.
     */
    public static boolean isGoSpace(char c) {
        if (c <= 0xFF) {
            return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 || c == 0xA0;
        }
        return c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F
                || c == 0x205F || c == 0x3000;
    }

    /** The characters the daemon splits the keyword from its arguments at: {@code [\t\v\f\r ]}. */
    public static boolean isKeywordSeparator(char c) {
        return c == ' ' || c == '\t' || c == 0x0B || c == '\f' || c == '\r';
    }

    /** Go's regexp {@code \s}: {@code [\t\n\f\r ]} (no vertical tab). */
    private static boolean isRegexSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
    }

    static String goTrimLeft(String s) {
        int k = 0;
        while (k < s.length() && isGoSpace(s.charAt(k))) {
            k++;
        }
        return k == 0 ? s : s.substring(k);
    }

    public static String goTrim(String s) {
        int b = 0;
        int e = s.length();
        while (b < e && isGoSpace(s.charAt(b))) {
            b++;
        }
        while (e > b && isGoSpace(s.charAt(e - 1))) {
            e--;
        }
        return b == 0 && e == s.length() ? s : s.substring(b, e);
    }

    /** A parser directive the daemon's expression {@code ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$} accepts. */
    private record Directive(String key, String value) {
    }

    static Directive directive(String line) {
        int n = line.length();
        if (n == 0 || line.charAt(0) != '#') {
            return null;
        }
        int k = 1;
        while (k < n && isRegexSpace(line.charAt(k))) {
            k++;
        }
        int keyStart = k;
        if (k >= n || !isAsciiLetter(line.charAt(k))) {
            return null;
        }
        while (k < n && (isAsciiLetter(line.charAt(k)) || (line.charAt(k) >= '0' && line.charAt(k) <= '9'))) {
            k++;
        }
        String key = line.substring(keyStart, k);
        while (k < n && isRegexSpace(line.charAt(k))) {
            k++;
        }
        if (k >= n || line.charAt(k) != '=') {
            return null;
        }
        int afterEq = ++k;
        while (k < n && isRegexSpace(line.charAt(k))) {
            k++;
        }
        int end = n;
        while (end > k && isRegexSpace(line.charAt(end - 1))) {
            end--;
        }
        if (end > k) {
            return new Directive(key, line.substring(k, end));
        }
        // Only whitespace after '=': the lazy group still takes one character, the last of the run.
        return k > afterEq ? new Directive(key, line.substring(k - 1, k)) : null;
    }

    private static boolean isAsciiLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    /**
     * Where the daemon's continuation expression {@code ([^E])E[ \t]*$|^E[ \t]*$} matches: the index of the escape
     * character that continues the line, or -1. Only spaces and tabs may follow it; an escaped escape does not
     * continue.
     */
    static int continuation(String line, char escape) {
        return continuation(line, 0, line.length(), escape);
    }

    /** {@link #continuation(String, char)} of {@code text[from, to)}: the escape's index in {@code text}, or -1. */
    static int continuation(String text, int from, int to, char escape) {
        int k = to;
        while (k > from && (text.charAt(k - 1) == ' ' || text.charAt(k - 1) == '\t')) {
            k--;
        }
        if (k == from || text.charAt(k - 1) != escape) {
            return -1;
        }
        return k == from + 1 || text.charAt(k - 2) != escape ? k - 1 : -1;
    }

    /** Whether {@code text[from, to)} is a comment line: its first character that is no Go space is '#'. */
    private static boolean isComment(String text, int from, int to) {
        for (int k = from; k < to; k++) {
            if (!isGoSpace(text.charAt(k))) {
                return text.charAt(k) == '#';
            }
        }
        return false;
    }

    /** Whether {@code text[from, to)} is only Go spaces. */
    private static boolean isBlank(String text, int from, int to) {
        for (int k = from; k < to; k++) {
            if (!isGoSpace(text.charAt(k))) {
                return false;
            }
        }
        return true;
    }

    /** {@code text[from, to)} without the Go spaces at either end, as a string. */
    private static String goTrim(String text, int from, int to) {
        while (from < to && isGoSpace(text.charAt(from))) {
            from++;
        }
        while (to > from && isGoSpace(text.charAt(to - 1))) {
            to--;
        }
        return text.substring(from, to);
    }

    private static Dockerfile parse(Lines lines, List<ParseError> errors, boolean readHeredocs) {
        String source = lines.text;
        Map<String, String> directives = new LinkedHashMap<>();
        int i = 0;
        // Parser directives: only at the very top. The daemon (dockerd 20.10) knows escape and syntax; any other line,
        // an unknown directive included, ends them. `check` is kept for the rules that report it, but ends them too.
        while (i < lines.size()) {
            Directive d = directive(goTrimLeft(lines.get(i)));
            if (d == null) {
                break;
            }
            String key = d.key().toLowerCase(Locale.ROOT);
            if (!DIRECTIVE_KEYS.contains(key)) {
                break;
            }
            if (directives.containsKey(key)) {
                errors.add(new ParseError(i + 1, "only one " + key + " parser directive can be used"));
                break;
            }
            directives.put(key, d.value());
            i++;
            if (key.equals("check")) {
                break; // unknown to the daemon: it ends directive parsing there
            }
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
            // The line is read in place: a blank line costs no string, a comment only its text, and a continued
            // instruction's lines go straight from the source into the joined text.
            int lineEnd = lines.end(i);
            int first = lines.start(i);
            while (first < lineEnd && isGoSpace(source.charAt(first))) {
                first++;
            }
            if (first == lineEnd || source.charAt(first) == '#') {
                if (first < lineEnd) {
                    comments.put(i + 1, source.substring(first, lineEnd).strip());
                }
                i++;
                continue;
            }
            int start = i + 1;
            String text;
            int cont = continuation(source, first, lineEnd, escape);
            if (cont < 0) {
                text = goTrim(source, first, lineEnd); // the common case: the instruction is one line
            } else {
                StringBuilder logical = new StringBuilder(lineEnd - first + 256); // a continued RUN is long
                logical.append(source, first, cont);
                while (cont >= 0 && i + 1 < lines.size()) {
                    int from = lines.start(++i);
                    int to = lines.end(i);
                    // Comment and empty lines inside a continuation are skipped, as the builder does.
                    if (isComment(source, from, to)) {
                        comments.put(i + 1, source.substring(from, to).strip());
                        continue;
                    }
                    if (isBlank(source, from, to)) {
                        continue;
                    }
                    cont = continuation(source, from, to, escape);
                    logical.append(source, from, cont < 0 ? to : cont);
                }
                text = goTrim(logical.toString());
            }
            int end = Math.min(i + 1, lines.size());
            i++;
            int space = indexOfSeparator(text);
            String keyword = keyword(text, space < 0 ? text.length() : space);
            if (keyword == null) {
                String written = (space < 0 ? text : text.substring(0, space)).toUpperCase(Locale.ROOT);
                errors.add(new ParseError(start, "unknown instruction '" + truncate(written) + "'"));
                continue;
            }
            String rest = space < 0 ? "" : text.substring(skipSeparators(text, space));
            List<Instruction.Flag> flags = List.of();
            if (rest.startsWith("--")) {
                flags = new ArrayList<>();
                rest = takeFlags(rest, flags);
            }
            rest = goTrim(rest);
            List<String> json = rest.startsWith("[") ? JsonArray.parse(rest) : null;
            // An exec form that parsed whole and ends at its ']' has nothing after its array (most CMD, ENTRYPOINT
            // and RUN [..] lines): the daemon's first-value reading is the same array, so there is nothing to refuse.
            String trailing = json != null && rest.endsWith("]") && !keyword.equals("ONBUILD")
                    && !keyword.equals("HEALTHCHECK") ? null : jsonTrailingError(keyword, rest);
            if (trailing != null) {
                errors.add(new ParseError(start, trailing));
            }
            List<Instruction.Heredoc> heredocs = List.of();
            if (readHeredocs && text.contains("<<") && canContainHeredoc(keyword, rest, json)) {
                List<String[]> openers = Heredocs.openers(text);
                if (!openers.isEmpty()) {
                    heredocs = new ArrayList<>();
                }
                for (String[] opener : openers) {
                    boolean dash = opener[1].equals("-");
                    String delimiter = opener[2];
                    StringBuilder body = new StringBuilder();
                    boolean closed = false;
                    while (i < lines.size()) {
                        int from = lines.start(i);
                        int to = lines.end(i++);
                        if (dash) {
                            while (from < to && source.charAt(from) == '\t') {
                                from++; // stripLeadingTabs
                            }
                        }
                        int bare = to; // stripTrailingNewlines
                        while (bare > from && (source.charAt(bare - 1) == '\r' || source.charAt(bare - 1) == '\n')) {
                            bare--;
                        }
                        if (bare - from == delimiter.length() && source.startsWith(delimiter, from)) {
                            closed = true;
                            break;
                        }
                        body.append(source, from, to).append('\n');
                    }
                    end = i;
                    if (!closed) {
                        errors.add(new ParseError(start, "heredoc '" + delimiter + "' is not terminated"));
                    }
                    heredocs.add(new Instruction.Heredoc(delimiter, body.toString(), opener[3].equals("expand")));
                }
            }
            instructions.add(new Instruction(keyword, flags, rest, json, heredocs, start, end, text));
            if (keyword.equals("FROM") && rest.isEmpty()) {
                errors.add(new ParseError(start, "FROM needs an image"));
            }
            if (keyword.equals("ENV") || keyword.equals("LABEL")) {
                String refused = nameValueError(keyword, rest, escape);
                if (refused != null) {
                    errors.add(new ParseError(start, refused));
                }
            }
            if (keyword.equals("ONBUILD")) {
                int sub = indexOfSeparator(rest);
                String trigger = keyword(rest, sub < 0 ? rest.length() : sub);
                if (rest.isEmpty() || "ONBUILD".equals(trigger) || "FROM".equals(trigger)
                        || "MAINTAINER".equals(trigger)) {
                    // The daemon refuses these before it runs anything.
                    errors.add(new ParseError(start, rest.isEmpty() ? "ONBUILD needs an instruction"
                            : trigger + " isn't allowed as an ONBUILD trigger"));
                }
            }
        }
        return new Dockerfile(directives, escape, instructions, comments, errors);
    }

    /**
     * The daemon decodes the first JSON value of the arguments and ignores what follows it, so {@code ["a"]"b"} is
     * the exec form {@code ["a"]} to it where a reader of the whole text sees the shell form. Such arguments (also
     * an ONBUILD trigger's) are refused: the message, or null when the arguments are not of that kind.
     */
    static String jsonTrailingError(String keyword, String rest) {
        String args = rest;
        String kw = keyword;
        if (keyword.equals("ONBUILD")) {
            int space = indexOfSeparator(rest);
            kw = keyword(rest, space < 0 ? rest.length() : space);
            if (kw == null || space < 0) {
                return null;
            }
            args = goTrim(rest.substring(space));
            if (args.startsWith("--")) {
                args = goTrim(takeFlags(args, new ArrayList<>()));
            }
        }
        if ("HEALTHCHECK".equals(kw) && args.length() > 3 && args.regionMatches(true, 0, "CMD", 0, 3)
                && isKeywordSeparator(args.charAt(3))) {
            args = goTrim(args.substring(3)); // parseHealthConfig reads CMD's arguments with parseMaybeJSON
        }
        if (!args.startsWith("[")) {
            return null;
        }
        int[] end = new int[1];
        if (JsonArray.prefix(args, end) == null || goTrim(args.substring(end[0])).isEmpty()) {
            return null;
        }
        return kw + ": text after the JSON array '" + truncate(args.substring(end[0])) + "' (the daemon would ignore"
                + " it and read the exec form)";
    }

    /** BuildKit reads heredocs in RUN, COPY and ADD (also under ONBUILD), never in the exec form. */
    private static boolean canContainHeredoc(String keyword, String rest, List<String> json) {
        if (keyword.equals("ONBUILD")) {
            int space = indexOfSeparator(rest);
            String sub = keyword(rest, space < 0 ? rest.length() : space);
            if (sub == null || sub.equals("ONBUILD")) {
                return false;
            }
            String subRest = space < 0 ? "" : goTrim(rest.substring(space));
            if (subRest.startsWith("--")) {
                subRest = goTrim(takeFlags(subRest, new ArrayList<>()));
            }
            return canContainHeredoc(sub, subRest, subRest.startsWith("[") ? JsonArray.parse(subRest) : null);
        }
        return (keyword.equals("RUN") || keyword.equals("COPY") || keyword.equals("ADD")) && json == null;
    }

    /**
     * The daemon's {@code extractBuilderFlags}: leading {@code --name[=value]} words, with quotes and backslashes
     * inside them, a lone {@code --} ending them. It walks UTF-8 bytes and tests each byte as a Latin-1 rune for
     * whitespace, as the daemon does; the flags' text is decoded back afterwards.
     */
    static String takeFlags(String rest, List<Instruction.Flag> flags) {
        byte[] line = rest.getBytes(StandardCharsets.UTF_8);
        final int inSpaces = 0;
        final int inWord = 1;
        final int inQuote = 2;
        int phase = inSpaces;
        Bytes word = new Bytes();
        boolean blankOk = false;
        int quote = 0;
        int ch = 0;
        List<String> words = new ArrayList<>();
        String remaining = "";
        for (int pos = 0; pos <= line.length; pos++) {
            if (pos != line.length) {
                ch = line[pos] & 0xFF;
            }
            if (phase == inSpaces) {
                if (pos == line.length) {
                    break;
                }
                if (isGoSpace((char) ch)) {
                    continue;
                }
                if (ch != '-' || pos + 1 == line.length || line[pos + 1] != '-') {
                    remaining = new String(line, pos, line.length - pos, StandardCharsets.UTF_8);
                    break;
                }
                phase = inWord;
            }
            if ((phase == inWord || phase == inQuote) && pos == line.length) {
                if (!isDoubleDash(word) && (blankOk || word.size > 0)) {
                    words.add(word.utf8());
                }
                break;
            }
            if (phase == inWord) {
                if (isGoSpace((char) ch)) {
                    phase = inSpaces;
                    if (isDoubleDash(word)) {
                        remaining = new String(line, pos, line.length - pos, StandardCharsets.UTF_8);
                        break;
                    }
                    if (blankOk || word.size > 0) {
                        words.add(word.utf8());
                    }
                    word.size = 0;
                    blankOk = false;
                    continue;
                }
                if (ch == '\'' || ch == '"') {
                    quote = ch;
                    blankOk = true;
                    phase = inQuote;
                    continue;
                }
                if (ch == '\\') {
                    if (pos + 1 == line.length) {
                        continue;
                    }
                    pos++;
                    ch = line[pos] & 0xFF;
                }
                word.write(ch);
                continue;
            }
            if (phase == inQuote) {
                if (ch == quote) {
                    phase = inWord;
                    continue;
                }
                if (ch == '\\') {
                    if (pos + 1 == line.length) {
                        phase = inWord;
                        continue;
                    }
                    pos++;
                    ch = line[pos] & 0xFF;
                }
                word.write(ch);
            }
        }
        for (String w : words) {
            String flag = w.startsWith("--") ? w.substring(2) : w;
            int eq = flag.indexOf('=');
            flags.add(new Instruction.Flag(eq < 0 ? flag : flag.substring(0, eq), eq < 0 ? "" : flag.substring(eq + 1)));
        }
        return remaining;
    }

    private static boolean isDoubleDash(Bytes word) {
        return word.size == 2 && word.bytes[0] == '-' && word.bytes[1] == '-';
    }

    /**
     * A flag word's bytes as they are collected: what a {@code ByteArrayOutputStream} did here, without a lock per
     * byte.
     */
    private static final class Bytes {
        byte[] bytes = new byte[32];
        int size;

        void write(int b) {
            if (size == bytes.length) {
                bytes = java.util.Arrays.copyOf(bytes, size * 2);
            }
            bytes[size++] = (byte) b;
        }

        String utf8() {
            return new String(bytes, 0, size, StandardCharsets.UTF_8);
        }
    }

    /**
     * The canonical keyword that {@code text} starts with (its first {@code end} characters), or null. The daemon
     * lower-cases the word rune by rune (Go's simple case mapping: the Kelvin sign is a k, the dotted capital I an i,
     * the dotless i and the long s stay what they are) and looks it up; ASCII words are compared in place.
     */
    static String keyword(String text, int end) {
        if (end == 0) {
            return null;
        }
        for (int k = 0; k < end; k++) {
            if (text.charAt(k) >= 0x80) {
                StringBuilder lower = new StringBuilder(end);
                text.substring(0, end).codePoints().forEach(cp -> lower.appendCodePoint(Character.toLowerCase(cp)));
                for (int j = 0; j < lower.length(); j++) {
                    if (lower.charAt(j) >= 0x80) {
                        return null;
                    }
                }
                return KEYWORDS.get(lower.toString().toUpperCase(Locale.ROOT));
            }
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

    private static int skipSeparators(String s, int from) {
        int k = from;
        while (k < s.length() && isKeywordSeparator(s.charAt(k))) {
            k++;
        }
        return k;
    }

    static int indexOfSeparator(String s) {
        for (int k = 0; k < s.length(); k++) {
            if (isKeywordSeparator(s.charAt(k))) {
                return k;
            }
        }
        return -1;
    }

    /**
     * The daemon's check of ENV and LABEL arguments ({@code parseNameVal}): either the old form {@code KEY name value}
     * or words that all contain '='. The message of its refusal, or null.
     */
    static String nameValueError(String keyword, String rest, char escape) {
        // Most ENV and LABEL lines are NAME=value words without quotes or escapes: answered without making the words.
        return plainAssignments(rest, escape) ? null : nameValueErrorByWords(keyword, rest, escape);
    }

    /** {@link #nameValueError} from the words themselves: the daemon's check as it reads. */
    static String nameValueErrorByWords(String keyword, String rest, char escape) {
        List<String> words = nameValueWords(rest, escape);
        if (words.isEmpty()) {
            return null;
        }
        if (words.get(0).indexOf('=') < 0) {
            int sep = indexOfSeparator(rest);
            return sep < 0 || skipSeparators(rest, sep) >= rest.length() ? keyword + " must have two arguments" : null;
        }
        for (String w : words) {
            if (w.indexOf('=') < 0) {
                return "Syntax error - can't find = in '" + truncate(w) + "'. Must be of the form: name=value";
            }
        }
        return null;
    }

    /**
     * Whether the text has no quote and no escape character (so its words are {@link #plainWords}) and every word
     * has an '=': then {@link #nameValueErrorByWords} has nothing to say (no words, or all of the NAME=value form).
     */
    private static boolean plainAssignments(String rest, char escape) {
        if (rest.indexOf('\'') >= 0 || rest.indexOf('"') >= 0 || rest.indexOf(escape) >= 0) {
            return false;
        }
        int n = rest.length();
        int pos = 0;
        while (pos < n) {
            while (pos < n && isGoSpace(rest.charAt(pos))) {
                pos++;
            }
            int start = pos;
            boolean assignment = false;
            while (pos < n && !isGoSpace(rest.charAt(pos))) {
                assignment |= rest.charAt(pos) == '=';
                pos++;
            }
            if (pos > start && !assignment) {
                return false;
            }
        }
        return true;
    }

    /** The daemon's {@code parseWords}: words at Go whitespace, quotes and escapes kept in them. */
    public static List<String> nameValueWords(String rest, char escape) {
        if (rest.indexOf('\'') < 0 && rest.indexOf('"') < 0 && rest.indexOf(escape) < 0) {
            return plainWords(rest); // most ENV, ARG and LABEL lines; read four or five times per lint
        }
        return quotedWords(rest, escape);
    }

    /** {@link #nameValueWords} character by character: quotes and escapes as the daemon reads them. */
    static List<String> quotedWords(String rest, char escape) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        boolean inQuote = false;
        boolean blankOk = false;
        char quote = 0;
        int n = rest.length();
        for (int pos = 0; pos < n; pos++) {
            char ch = rest.charAt(pos);
            if (!inWord && !inQuote) {
                if (isGoSpace(ch)) {
                    continue;
                }
                inWord = true;
            }
            if (inWord) {
                if (isGoSpace(ch)) {
                    inWord = false;
                    if (blankOk || word.length() > 0) {
                        words.add(word.toString());
                    }
                    word.setLength(0);
                    blankOk = false;
                    continue;
                }
                if (ch == '\'' || ch == '"') {
                    quote = ch;
                    blankOk = true;
                    inWord = false;
                    inQuote = true;
                }
                if (ch == escape) {
                    if (pos + 1 == n) {
                        continue;
                    }
                    word.append(ch);
                    ch = rest.charAt(++pos);
                }
                word.append(ch);
                continue;
            }
            // in a quote
            if (ch == quote) {
                inQuote = false;
                inWord = true;
            }
            if (ch == escape && quote != '\'') {
                if (pos + 1 == n) {
                    inQuote = false;
                    inWord = true;
                    continue;
                }
                word.append(ch);
                ch = rest.charAt(++pos);
            }
            word.append(ch);
        }
        if ((inWord || inQuote) && (blankOk || word.length() > 0)) {
            words.add(word.toString());
        }
        return words;
    }

    /**
     * {@link #nameValueWords} of a text without quotes and escape characters: its runs of non-space characters, as
     * substrings instead of appended character by character (with nothing to remove, a word is the text as written).
     */
    static List<String> plainWords(String rest) {
        List<String> words = new ArrayList<>(4);
        int n = rest.length();
        int pos = 0;
        while (pos < n) {
            while (pos < n && isGoSpace(rest.charAt(pos))) {
                pos++;
            }
            int start = pos;
            while (pos < n && !isGoSpace(rest.charAt(pos))) {
                pos++;
            }
            if (pos > start) {
                words.add(rest.substring(start, pos));
            }
        }
        return words;
    }

    private static String truncate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "…" : s;
    }
}
