package io.buildgateway.policy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Splits the shell text of a RUN into simple commands (at {@code &&}, {@code ||}, {@code ;}, {@code |}, {@code &}
 * and line breaks) and each into words, honouring single and double quotes and backslash escapes. Redirections
 * ({@code > file}, {@code 2>&1}, {@code <<EOF}, …) are not words: an unquoted {@code pkg>=1} is {@code pkg} with its
 * output sent to the file {@code =1}, as the shell has it. Not a shell: it
 * is what rules need to see "which program runs with which arguments", and it never fails.
 */
final class ShellCommands {

    /** One simple command; {@code pipedFrom} is true when its input comes from the previous command's output. */
    static final class Command {
        private final List<String> words;
        private final boolean pipedFrom;
        private String program;
        private List<String> args;
        private String text;
        private String lowerText;

        Command(List<String> words, boolean pipedFrom) {
            this.words = words;
            this.pipedFrom = pipedFrom;
        }

        /** A command whose words' '=' and '"' the split saw as it made them ({@link #mentions}' bits 2 and 4). */
        Command(List<String> words, boolean pipedFrom, int marks) {
            this(words, pipedFrom);
            this.quoteOrEquals = (byte) (1 | marks);
        }

        List<String> words() {
            return words;
        }

        boolean pipedFrom() {
            return pipedFrom;
        }

        String program() {
            if (program == null) {
                String p = "";
                for (int k = 0; k < words.size(); k++) { // by index: no iterator per command
                    String w = words.get(k);
                    if (w.indexOf('=') < 0 || w.startsWith("-")) {
                        p = basename(w);
                        break;
                    }
                }
                program = p;
            }
            return program;
        }

        /** The words after the program (and after leading VAR=value assignments). */
        List<String> args() {
            if (args == null) {
                int i = 0;
                while (i < words.size() && words.get(i).indexOf('=') >= 0 && !words.get(i).startsWith("-")) {
                    i++;
                }
                args = i + 1 <= words.size() ? words.subList(Math.min(i + 1, words.size()), words.size()) : List.of();
            }
            return args;
        }

        boolean has(String word) {
            return words.contains(word);
        }

        /**
         * Whether a word contains the character. Two rules ask it of every command, for '=' and '"': those two
         * answers are found in one walk and kept.
         */
        boolean mentions(char c) {
            if (c == '=' || c == '"') {
                if (quoteOrEquals == 0) {
                    quoteOrEquals = (byte) (1 | (scan('=') ? 2 : 0) | (scan('"') ? 4 : 0));
                }
                return (quoteOrEquals & (c == '=' ? 2 : 4)) != 0;
            }
            return scan(c);
        }

        /** 0 until {@link #mentions} is first asked; then 1, with 2 when a word has '=', 4 when one has '"'. */
        private byte quoteOrEquals;

        private boolean scan(char c) {
            for (int k = 0; k < words.size(); k++) {
                if (words.get(k).indexOf(c) >= 0) {
                    return true;
                }
            }
            return false;
        }

        String text() {
            if (text == null) {
                text = String.join(" ", words);
            }
            return text;
        }

        /**
         * Exactly {@code lowerText().contains(needle)} for a needle of lower-case ASCII without a space, without
         * joining and lower-casing the command: such a needle lies within one word, and {@code toLowerCase} of the
         * joined text is the words lower-cased and joined (a space is no letter, so no word's context crosses it).
         * An ASCII word is searched with ASCII case folding; any other word is lower-cased as before (the only way
         * a non-ASCII character can become ASCII, e.g. the Kelvin sign to 'k').
         */
        boolean lowerContains(String needle) {
            if (lowerText != null) {
                return lowerText.contains(needle);
            }
            // No character but '=' lower-cases to '=': a needle with one is only in a word with one.
            boolean equals = needle.indexOf('=') >= 0;
            for (int w = 0; w < words.size(); w++) {
                String word = words.get(w);
                if (word.length() < needle.length() || equals && word.indexOf('=') < 0) {
                    continue;
                }
                if (isAscii(word)) {
                    if (asciiFoldedIndexOf(word, needle)) {
                        return true;
                    }
                } else if (word.toLowerCase(java.util.Locale.ROOT).contains(needle)) {
                    return true;
                }
            }
            return false;
        }

        /**
         * Exactly {@code lowerContains(a) || lowerContains(b) || …} for needles that each have an '=' (lower-case
         * ASCII, no space): one walk over the words with an '=' instead of one per needle, a non-ASCII word
         * lower-cased once.
         */
        boolean lowerContainsAnyAssignment(String... needles) {
            if (lowerText != null) {
                for (String needle : needles) {
                    if (lowerText.contains(needle)) {
                        return true;
                    }
                }
                return false;
            }
            for (int w = 0; w < words.size(); w++) {
                String word = words.get(w);
                if (word.indexOf('=') < 0) {
                    continue; // no character but '=' lower-cases to '=': every needle has one
                }
                String lower = isAscii(word) ? null : word.toLowerCase(java.util.Locale.ROOT);
                for (String needle : needles) {
                    if (word.length() < needle.length()) {
                        continue;
                    }
                    if (lower == null ? asciiFoldedIndexOf(word, needle) : lower.contains(needle)) {
                        return true;
                    }
                }
            }
            return false;
        }

        private static boolean isAscii(String word) {
            for (int k = 0; k < word.length(); k++) {
                if (word.charAt(k) >= 0x80) {
                    return false;
                }
            }
            return true;
        }

        /** Whether the ASCII word, lower-cased, contains the lower-case ASCII needle. */
        private static boolean asciiFoldedIndexOf(String word, String needle) {
            int last = word.length() - needle.length();
            char first = needle.charAt(0);
            for (int k = 0; k <= last; k++) {
                if (lower(word.charAt(k)) != first) {
                    continue;
                }
                int j = 1;
                while (j < needle.length() && lower(word.charAt(k + j)) == needle.charAt(j)) {
                    j++;
                }
                if (j == needle.length()) {
                    return true;
                }
            }
            return false;
        }

        private static char lower(char c) {
            return c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
        }

        /** The whole command lower-cased, computed on first use. */
        String lowerText() {
            if (lowerText == null) {
                lowerText = text().toLowerCase(java.util.Locale.ROOT);
            }
            return lowerText;
        }
    }

    private ShellCommands() {
    }

    static List<Command> split(String script) {
        List<Command> commands = new ArrayList<>();
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        // A word that is so far one run of ordinary characters is kept as that span of the script (most words are
        // one such run: they become a substring, not a copy into the builder and a copy out of it); the builder
        // takes the span over as soon as anything else is added to the word. So at most one of them is non-empty.
        int spanStart = -1;
        int spanEnd = -1;
        // Whether the word being made has an '=' (2) or a '"' (4), and the command's words so far: what mentions('=')
        // and mentions('"') answer, known without a second walk over the words (two rules ask it of every command).
        int wordMarks = 0;
        int marks = 0;
        boolean inWord = false;
        boolean piped = false;
        boolean redirectTarget = false;
        int n = Math.min(script.length(), 256 * 1024);
        for (int i = 0; i < n; i++) {
            char c = script.charAt(i);
            if (c == '\'') {
                int end = script.indexOf('\'', i + 1);
                end = end < 0 ? n : Math.min(end, n);
                if (spanStart >= 0) {
                    word.append(script, spanStart, spanEnd);
                    spanStart = -1;
                }
                word.append(script, i + 1, end);
                wordMarks |= marks(script, i + 1, end);
                inWord = true;
                i = end;
            } else if (c == '"') {
                if (spanStart >= 0) {
                    word.append(script, spanStart, spanEnd);
                    spanStart = -1;
                }
                // The quoted text goes into the word in runs between backslashes (each backslash dropped, the
                // character after it kept), not character by character.
                int j = i + 1;
                int run = j;
                while (j < n && script.charAt(j) != '"') {
                    if (script.charAt(j) == '\\' && j + 1 < n) {
                        word.append(script, run, j);
                        wordMarks |= marks(script, run, j);
                        run = ++j; // the escaped character starts the next run
                    }
                    j++;
                }
                word.append(script, run, j);
                wordMarks |= marks(script, run, j);
                inWord = true;
                i = j;
            } else if (c == '\\' && i + 1 < n) {
                char next = script.charAt(i + 1);
                if (next != '\n') {
                    if (spanStart >= 0) {
                        word.append(script, spanStart, spanEnd);
                        spanStart = -1;
                    }
                    word.append(next);
                    wordMarks |= mark(next);
                    inWord = true;
                }
                i++;
            } else if (isWhitespace(c) && c != '\n') {
                if (inWord) {
                    // A redirection's target is not a word of the command.
                    if (redirectTarget) {
                        redirectTarget = false;
                    } else {
                        words.add(spanStart >= 0 ? script.substring(spanStart, spanEnd) : word.toString());
                        marks |= wordMarks;
                    }
                    word.setLength(0);
                    spanStart = -1;
                    wordMarks = 0;
                    inWord = false;
                }
            } else if (c == '>' || c == '<' || (c == '&' && i + 1 < n && script.charAt(i + 1) == '>')) {
                // A redirection (>, >>, 2>, &>, >&2, <, <<EOF, <<<): neither the descriptor number before it nor
                // its target is a word of the command. Process substitution, <( … ), is left to the ( that follows.
                if (inWord) {
                    if (!(spanStart >= 0 ? allDigits(script, spanStart, spanEnd) : allDigits(word, 0, word.length()))) {
                        if (redirectTarget) {
                            redirectTarget = false;
                        } else {
                            words.add(spanStart >= 0 ? script.substring(spanStart, spanEnd) : word.toString());
                            marks |= wordMarks;
                        }
                    }
                    word.setLength(0);
                    spanStart = -1;
                    wordMarks = 0;
                    inWord = false;
                }
                int j = i + 1;
                while (j < n && (script.charAt(j) == '>' || script.charAt(j) == '<' || script.charAt(j) == '&'
                        || script.charAt(j) == '|')) {
                    j++;
                }
                i = j - 1;
                redirectTarget = j >= n || script.charAt(j) != '(';
            } else if (c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '{'
                    && (i + 1 >= n || isWhitespace(script.charAt(i + 1)))) {
                if (inWord) {
                    if (!redirectTarget) {
                        words.add(spanStart >= 0 ? script.substring(spanStart, spanEnd) : word.toString());
                        marks |= wordMarks;
                    }
                    word.setLength(0);
                    spanStart = -1;
                    wordMarks = 0;
                    inWord = false;
                }
                redirectTarget = false;
                if (!words.isEmpty()) {
                    commands.add(new Command(Collections.unmodifiableList(words), piped, marks));
                    words = new ArrayList<>();
                }
                marks = 0;
                boolean pipe = c == '|' && (i + 1 >= n || script.charAt(i + 1) != '|');
                if ((c == '&' || c == '|') && i + 1 < n && script.charAt(i + 1) == c) {
                    i++;
                }
                piped = pipe;
            } else if (c == '#' && !inWord) {
                int end = script.indexOf('\n', i);
                i = end < 0 ? n : end - 1;
            } else {
                // A run of ordinary characters is taken at once; the loop looks at the next special one.
                int j = i + 1;
                wordMarks |= mark(c);
                while (j < n && ordinary(script.charAt(j))) {
                    wordMarks |= mark(script.charAt(j));
                    j++;
                }
                if (!inWord) {
                    spanStart = i; // the word starts with this run: kept as a span until something else is added
                    spanEnd = j;
                } else {
                    if (spanStart >= 0) {
                        word.append(script, spanStart, spanEnd);
                        spanStart = -1;
                    }
                    word.append(script, i, j);
                }
                inWord = true;
                i = j - 1;
            }
        }
        if (inWord && !redirectTarget) {
            words.add(spanStart >= 0 ? script.substring(spanStart, spanEnd) : word.toString());
            marks |= wordMarks;
        }
        if (!words.isEmpty()) {
            commands.add(new Command(Collections.unmodifiableList(words), piped, marks));
        }
        return commands;
    }

    /** {@link Command#mentions}' bit of a character: 2 for '=', 4 for '"', else 0. */
    private static int mark(char c) {
        return c == '=' ? 2 : c == '"' ? 4 : 0;
    }

    private static int marks(String text, int from, int to) {
        int out = 0;
        for (int k = from; k < to; k++) {
            out |= mark(text.charAt(k));
        }
        return out;
    }

    /** Characters that can only ever be part of a word, whatever precedes or follows them. */
    static boolean ordinary(char c) {
        return c < 0x80 ? ORDINARY_ASCII[c] : !isWhitespace(c);
    }

    /** {@link #ordinaryByTest} of every ASCII character, looked up instead of thirteen comparisons per character. */
    private static final boolean[] ORDINARY_ASCII = new boolean[0x80];

    static {
        for (char c = 0; c < 0x80; c++) {
            ORDINARY_ASCII[c] = ordinaryByTest(c);
        }
    }

    /** What {@link #ordinary} answers, by its definition. */
    static boolean ordinaryByTest(char c) {
        return !(c == '\'' || c == '"' || c == '\\' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')'
                || c == '{' || c == '#' || c == '<' || c == '>' || isWhitespace(c));
    }

    /** Whether {@code text[from, to)} is one or two ASCII digits (a file descriptor before a redirection). */
    private static boolean allDigits(CharSequence text, int from, int to) {
        if (to == from || to - from > 2) {
            return false;
        }
        for (int k = from; k < to; k++) {
            if (text.charAt(k) < '0' || text.charAt(k) > '9') {
                return false;
            }
        }
        return true;
    }

    /** Exactly {@link Character#isWhitespace(char)}: no character between '!' and DEL is whitespace. */
    static boolean isWhitespace(char c) {
        return (c <= ' ' || c >= 0x7F) && Character.isWhitespace(c);
    }

    static String basename(String path) {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? path : path.substring(slash + 1);
    }
}
