package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The lint's hand-written fast paths answer as what they replace: curl's {@code -k} among short options as the
 * expression, and a command's {@code mentions} of '=' and '"' (kept after the first question) as a fresh walk.
 */
class LintFastPathsTest {

    private static final String ALPHABET = "-kKa=Z\"z0 _é";

    @Test
    void shortOptionWithKIsTheExpression() {
        Random r = new Random(12);
        for (int n = 0; n < 20_000; n++) {
            String w = word(r);
            assertThat(BuiltinRunRules.anyShortOptionWithK(List.of(w))).as("'%s'", w)
                    .isEqualTo(BuiltinRunRules.CURL_SHORT_K.matcher(w).matches());
        }
        assertThat(BuiltinRunRules.anyShortOptionWithK(List.of("--insecure", "-sSL", "-fsSLk"))).isTrue();
        assertThat(BuiltinRunRules.anyShortOptionWithK(List.of("-", "-k1", "k", "--k"))).isFalse();
    }

    @Test
    void mentionsAnswersAsAWalkOverTheWords() {
        Random r = new Random(13);
        for (int n = 0; n < 5_000; n++) {
            List<String> words = List.of(word(r), word(r), word(r));
            for (char asked : new char[] {'=', '"', 'k'}) {
                ShellCommands.Command c = new ShellCommands.Command(words, false);
                boolean walk = words.stream().anyMatch(w -> w.indexOf(asked) >= 0);
                assertThat(c.mentions(asked)).as("%s %s", words, asked).isEqualTo(walk);
                // asked again, and after the other character: the kept answers
                assertThat(c.mentions(asked)).isEqualTo(walk);
                assertThat(c.mentions(asked == '=' ? '"' : '=')).isEqualTo(words.stream()
                        .anyMatch(w -> w.indexOf(asked == '=' ? '"' : '=') >= 0));
            }
        }
    }

    private static String word(Random r) {
        StringBuilder w = new StringBuilder();
        for (int k = r.nextInt(6); k > 0; k--) {
            w.append(ALPHABET.charAt(r.nextInt(ALPHABET.length())));
        }
        return w.toString();
    }
}
