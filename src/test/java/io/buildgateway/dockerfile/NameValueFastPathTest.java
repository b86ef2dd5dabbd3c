package io.buildgateway.dockerfile;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The parser's check of ENV and LABEL words answers without making the words when none has a quote or an escape and
 * all are NAME=value; whatever the text, it answers as the check from the words themselves.
 */
class NameValueFastPathTest {

    @Test
    void theCheckWithoutWordsAnswersAsTheCheckFromTheWords() {
        // Go spaces (ASCII and Unicode), '=', quotes, both escape characters, ordinary letters, non-ASCII letters.
        String alphabet = "ab=Z= =\t\u0085\u00a0\u2003'\"\\`é_";
        Random r = new Random(31);
        for (int n = 0; n < 50_000; n++) {
            StringBuilder text = new StringBuilder();
            for (int k = r.nextInt(14); k > 0; k--) {
                text.append(alphabet.charAt(r.nextInt(alphabet.length())));
            }
            char escape = r.nextBoolean() ? '\\' : '`';
            for (String keyword : new String[] {"ENV", "LABEL"}) {
                assertThat(DockerfileParser.nameValueError(keyword, text.toString(), escape))
                        .as("%s '%s' escape %s", keyword, text, escape)
                        .isEqualTo(DockerfileParser.nameValueErrorByWords(keyword, text.toString(), escape));
            }
        }
        assertThat(DockerfileParser.nameValueError("ENV", "A=1 B=2", '\\')).isNull();
        assertThat(DockerfileParser.nameValueError("ENV", "A=1 B", '\\')).contains("can't find = in 'B'");
        assertThat(DockerfileParser.nameValueError("ENV", "A", '\\')).isEqualTo("ENV must have two arguments");
    }
}
