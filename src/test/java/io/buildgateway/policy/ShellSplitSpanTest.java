package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link ShellCommands#split} keeps a word that is one run of ordinary characters as a substring of the script
 * instead of copying it through a builder: it must split every script exactly as the builder-only split did (kept
 * here verbatim as {@link Reference#split}): the same commands, words, pipes and '='/'"' marks.
 */
class ShellSplitSpanTest {

    @Test
    void splitsAsTheBuilderOnlySplit() {
        // Quotes, escapes, line continuations, redirections with and without descriptors, separators, comments,
        // braces, '=' and '"', digits, a non-ASCII letter and a non-ASCII space.
        String alphabet = "ab=\"'\\ >2<&|;\n#(){}x=1 9\t-é\u2003";
        Random r = new Random(31);
        int words = 0;
        for (int n = 0; n < 50_000; n++) {
            StringBuilder script = new StringBuilder();
            for (int k = r.nextInt(40); k > 0; k--) {
                if (r.nextInt(4) == 0) {
                    script.append("word").append(r.nextInt(100)); // ordinary runs of some length
                } else {
                    script.append(alphabet.charAt(r.nextInt(alphabet.length())));
                }
            }
            String s = script.toString();
            List<ShellCommands.Command> actual = ShellCommands.split(s);
            List<ShellCommands.Command> expected = Reference.split(s);
            assertThat(actual).as("'%s'", s).hasSameSizeAs(expected);
            for (int c = 0; c < actual.size(); c++) {
                ShellCommands.Command a = actual.get(c);
                ShellCommands.Command e = expected.get(c);
                assertThat(a.words()).as("'%s'", s).isEqualTo(e.words());
                assertThat(a.pipedFrom()).as("'%s'", s).isEqualTo(e.pipedFrom());
                assertThat(a.mentions('=')).as("'%s'", s).isEqualTo(e.mentions('='));
                assertThat(a.mentions('"')).as("'%s'", s).isEqualTo(e.mentions('"'));
                words += a.words().size();
            }
        }
        assertThat(words).isGreaterThan(100_000);
        assertThat(ShellCommands.split("apt-get install -y curl>/dev/null 2>&1 && echo \"a b\"c'd'").get(0).words())
                .containsExactly("apt-get", "install", "-y", "curl");
    }

    /** The split as it was before spans: every word appended to a builder. */
    private static final class Reference {
        static List<ShellCommands.Command> split(String script) {
            List<ShellCommands.Command> commands = new ArrayList<>();
            List<String> words = new ArrayList<>();
            StringBuilder word = new StringBuilder();
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
                    word.append(script, i + 1, end);
                    wordMarks |= marks(script, i + 1, end);
                    inWord = true;
                    i = end;
                } else if (c == '"') {
                    int j = i + 1;
                    while (j < n && script.charAt(j) != '"') {
                        if (script.charAt(j) == '\\' && j + 1 < n) {
                            j++;
                        }
                        word.append(script.charAt(j));
                        wordMarks |= mark(script.charAt(j));
                        j++;
                    }
                    inWord = true;
                    i = j;
                } else if (c == '\\' && i + 1 < n) {
                    char next = script.charAt(i + 1);
                    if (next != '\n') {
                        word.append(next);
                        wordMarks |= mark(next);
                        inWord = true;
                    }
                    i++;
                } else if (ShellCommands.isWhitespace(c) && c != '\n') {
                    if (inWord) {
                        // A redirection's target is not a word of the command.
                        if (redirectTarget) {
                            redirectTarget = false;
                        } else {
                            words.add(word.toString());
                            marks |= wordMarks;
                        }
                        word.setLength(0);
                        wordMarks = 0;
                        inWord = false;
                    }
                } else if (c == '>' || c == '<' || (c == '&' && i + 1 < n && script.charAt(i + 1) == '>')) {
                    // A redirection (>, >>, 2>, &>, >&2, <, <<EOF, <<<): neither the descriptor number before it nor
                    // its target is a word of the command. Process substitution, <( … ), is left to the ( that follows.
                    if (inWord) {
                        if (!allDigits(word)) {
                            if (redirectTarget) {
                                redirectTarget = false;
                            } else {
                                words.add(word.toString());
                                marks |= wordMarks;
                            }
                        }
                        word.setLength(0);
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
                        && (i + 1 >= n || ShellCommands.isWhitespace(script.charAt(i + 1)))) {
                    if (inWord) {
                        if (!redirectTarget) {
                            words.add(word.toString());
                            marks |= wordMarks;
                        }
                        word.setLength(0);
                        wordMarks = 0;
                        inWord = false;
                    }
                    redirectTarget = false;
                    if (!words.isEmpty()) {
                        commands.add(new ShellCommands.Command(Collections.unmodifiableList(words), piped, marks));
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
                    // A run of ordinary characters is appended at once; the loop looks at the next special one.
                    int j = i + 1;
                    wordMarks |= mark(c);
                    while (j < n && ShellCommands.ordinary(script.charAt(j))) {
                        wordMarks |= mark(script.charAt(j));
                        j++;
                    }
                    word.append(script, i, j);
                    inWord = true;
                    i = j - 1;
                }
            }
            if (inWord && !redirectTarget) {
                words.add(word.toString());
                marks |= wordMarks;
            }
            if (!words.isEmpty()) {
                commands.add(new ShellCommands.Command(Collections.unmodifiableList(words), piped, marks));
            }
            return commands;
        }


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

        private static boolean allDigits(StringBuilder word) {
            if (word.length() == 0 || word.length() > 2) {
                return false;
            }
            for (int k = 0; k < word.length(); k++) {
                if (word.charAt(k) < '0' || word.charAt(k) > '9') {
                    return false;
                }
            }
            return true;
        }
    }
}
