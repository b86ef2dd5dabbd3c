package io.buildgateway.dockerfile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The glob modifiers ({@code ${v#p} ${v##p} ${v%p} ${v%%p} ${v/p/r}}) are matched by hand; they must answer as the
 * regex they were (each glob code point quoted, {@code *} as {@code .*}, {@code ?} as {@code .}, DOTALL) on every
 * input: here against that regex, written out again, over random globs and values from a small alphabet that makes
 * matches, near-misses and backtracking common, surrogates and line breaks included.
 */
class SubstitutionGlobTest {

    private static final String ALPHABET = "ab*?*.\n/\uD83D\uDE00\uDE00a";

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
                        .as("%s on %s", word, value).isEqualTo(reference(op, value, glob));
            }
            if (!glob.contains("/")) {
                assertThat(Substitution.expand("${V/" + glob + "/R}", Map.of("V", value)::get, '\\'))
                        .as("${V/%s/R} on %s", glob, value).isEqualTo(replaceFirst(value, glob, "R"));
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
            out.append(ALPHABET.charAt(r.nextInt(ALPHABET.length())));
        }
        return out.toString();
    }

    private static Pattern regex(String glob) {
        StringBuilder re = new StringBuilder();
        // by code point: quoting each char of a surrogate pair on its own made a regex that never matched the pair
        glob.codePoints().forEach(c -> re.append(c == '*' ? ".*" : c == '?' ? "." : Pattern.quote(Character.toString(c))));
        return Pattern.compile(re.toString(), Pattern.DOTALL);
    }

    private static String reference(String op, String value, String glob) {
        Pattern p = regex(glob);
        switch (op) {
            case "#" -> {
                for (int end = 0; end <= value.length(); end++) {
                    if (p.matcher(value.substring(0, end)).matches()) {
                        return value.substring(end);
                    }
                }
            }
            case "##" -> {
                for (int end = value.length(); end >= 0; end--) {
                    if (p.matcher(value.substring(0, end)).matches()) {
                        return value.substring(end);
                    }
                }
            }
            case "%" -> {
                for (int start = value.length(); start >= 0; start--) {
                    if (p.matcher(value.substring(start)).matches()) {
                        return value.substring(0, start);
                    }
                }
            }
            default -> {
                for (int start = 0; start <= value.length(); start++) {
                    if (p.matcher(value.substring(start)).matches()) {
                        return value.substring(0, start);
                    }
                }
            }
        }
        return value;
    }

    private static String replaceFirst(String value, String glob, String replacement) {
        if (glob.isEmpty()) {
            return value;
        }
        Pattern p = regex(glob);
        for (int start = 0; start < value.length(); start++) {
            for (int end = value.length(); end > start; end--) {
                if (p.matcher(value.substring(start, end)).matches()) {
                    return value.substring(0, start) + replacement + value.substring(end);
                }
            }
        }
        return value;
    }
}
