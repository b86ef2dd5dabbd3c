package io.buildgateway.dockerfile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The glob modifiers ({@code ${v#p} ${v##p} ${v%p} ${v%%p} ${v/p/r}}) are BuildKit's regular expressions matched by
 * RE2/J; they must answer as the same construction does in another engine (java.util.regex, whose choice among
 * matches is also the leftmost-first of Go's regexp) on every input, over random globs and values from a small
 * alphabet that makes matches, near-misses and backtracking common, surrogates and line breaks included (Go's
 * {@code .} does not match a line feed). BuildKit itself judges them in {@code SubstitutionDifferentialIT}.
 */
class SubstitutionGlobTest {

    /** A character outside the BMP as a whole pair only: a lone surrogate cannot reach BuildKit (UTF-8 on the way). */
    private static final String[] ALPHABET = {"a", "b", "*", "?", "*", ".", "\n", "/", "\uD83D\uDE00", "a"};

    @Test
    void everyModifierAnswersAsTheRegexDid() {
        Random r = new Random(12);
        for (int n = 0; n < 5_000; n++) {
            String value = random(r, 8);
            String glob = random(r, 5).replace("}", "");
            for (String op : new String[] {"#", "##", "%", "%%"}) {
                String word = "${V" + op + glob.replace("$", "") + "}";
                if (glob.contains("$") || glob.contains("\\")) {
                    continue;
                }
                assertThat(Substitution.expand(word, Map.of("V", value)::get, '\\'))
                        .as("%s on %s", word.replace("\n", "\\n"), value.replace("\n", "\\n")).isEqualTo(reference(op, value, glob));
            }
            if (!glob.contains("/") && !glob.isEmpty()) { // "${V//R}" is ${V//…} without its second /: refused
                assertThat(Substitution.expand("${V/" + glob + "/R}", Map.of("V", value)::get, '\\'))
                        .as("${V/%s/R} on %s", glob.replace("\n", "\\n"), value.replace("\n", "\\n")).isEqualTo(replaceFirst(value, glob, "R"));
            }
        }
    }

    /**
     * A value with a character outside the BMP and a glob of many stars that never matches: the regex this case used
     * to take backtracked exponentially (8 stars ~20 s, 10 more than a minute — a Dockerfile could hold a lint thread);
     * the walk answers at once. The fuse is a hang guard far above any honest run, not a timing.
     */
    @Test
    void manyStarsBesideASurrogateDoNotBacktrackForEver() {
        String value = "\uD83D\uDE00" + "x".repeat(40);
        String word = "${A#" + "*".repeat(24) + "y}";
        String out = assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> Substitution.expand(word, Map.of("A", value)::get, '\\'));
        assertThat(out).isEqualTo(value);
        assertThat(Substitution.expand("${A#*?x}", Map.of("A", value)::get, '\\')).isEqualTo("x".repeat(39));
        assertThat(Substitution.expand("${A%%x*}", Map.of("A", value)::get, '\\')).isEqualTo("\uD83D\uDE00");
    }

    private static String random(Random r, int maxLength) {
        StringBuilder out = new StringBuilder();
        int n = r.nextInt(maxLength + 1);
        for (int k = 0; k < n; k++) {
            out.append(ALPHABET[r.nextInt(ALPHABET.length)]);
        }
        return out.toString();
    }

    /**
     * BuildKit's construction (frontend/dockerfile/shell/lex.go, convertShellPatternToRegex), run by java.util.regex:
     * each glob code point quoted, {@code *} as {@code .*} (greedy) or {@code .*?}, {@code ?} as {@code .}, where
     * {@code .} is Go's (any character but a line feed: UNIX_LINES); the first match in the engine's order wins.
     */
    private static Pattern regex(String glob, boolean greedy, boolean anchored) {
        StringBuilder re = new StringBuilder(anchored ? "^" : "");
        // by code point: quoting each char of a surrogate pair on its own made a regex that never matched the pair
        glob.codePoints().forEach(c -> re.append(c == '*' ? (greedy ? ".*" : ".*?") : c == '?' ? "."
                : Pattern.quote(Character.toString(c))));
        return Pattern.compile(re.toString(), Pattern.UNIX_LINES);
    }

    private static String reference(String op, String value, String glob) {
        boolean greedy = op.length() == 2;
        if (op.startsWith("#")) {
            java.util.regex.Matcher m = regex(glob, greedy, true).matcher(value);
            return m.find() ? value.substring(m.end()) : value;
        }
        // BuildKit finds the shortest or longest suffix as a prefix of the value and the glob reversed.
        String reversed = new StringBuilder(value).reverse().toString();
        String reversedGlob = new StringBuilder(glob).reverse().toString();
        java.util.regex.Matcher m = regex(reversedGlob, greedy, true).matcher(reversed);
        String out = m.find() ? reversed.substring(m.end()) : reversed;
        return new StringBuilder(out).reverse().toString();
    }

    private static String replaceFirst(String value, String glob, String replacement) {
        java.util.regex.Matcher m = regex(glob, true, false).matcher(value);
        return m.find() ? value.substring(0, m.start()) + replacement + value.substring(m.end()) : value;
    }
}
