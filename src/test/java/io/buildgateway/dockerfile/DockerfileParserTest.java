package io.buildgateway.dockerfile;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class DockerfileParserTest {

    @Test
    void joinsContinuationsSkippingCommentsAndBlankLinesAndKeepsLineRanges() {
        Dockerfile d = DockerfileParser.parse("FROM a\nRUN one \\\n# comment\n\n  two \\\n  three\nUSER x\n");

        assertThat(d.errors()).isEmpty();
        Instruction run = d.instructions().get(1);
        assertThat(run.keyword()).isEqualTo("RUN");
        assertThat(run.arguments()).isEqualTo("one   two   three");
        assertThat(run.line()).isEqualTo(2);
        assertThat(run.endLine()).isEqualTo(6);
        assertThat(d.instructions().get(2).line()).isEqualTo(7);
    }

    @Test
    void honoursTheEscapeDirectiveBomAndCrlf() {
        Dockerfile d = DockerfileParser.parse("\uFEFF# escape=`\r\nFROM a\r\nRUN dir `\r\n  c:\\\r\nUSER x\r\n");

        assertThat(d.escape()).isEqualTo('`');
        assertThat(d.directives()).containsEntry("escape", "`");
        assertThat(d.instructions()).extracting(Instruction::keyword).containsExactly("FROM", "RUN", "USER");
        assertThat(d.instructions().get(1).arguments()).isEqualTo("dir   c:\\");
    }

    @Test
    void directivesOnlyCountAtTheTop() {
        Dockerfile d = DockerfileParser.parse("FROM a\n# syntax=evil/frontend\n");
        assertThat(d.directives()).isEmpty();
        Dockerfile e = DockerfileParser.parse("# syntax=docker/dockerfile:1\n# check=skip=all\nFROM a\n");
        assertThat(e.directives()).isEqualTo(Map.of("syntax", "docker/dockerfile:1", "check", "skip=all"));
    }

    @Test
    void readsFlagsJsonFormAndHeredocs() {
        Dockerfile d = DockerfileParser.parse("""
                FROM --platform=linux/amd64 a AS b
                COPY --from=b --chown=1:1 /x /y
                CMD ["sh", "-c", "echo \\"hi\\""]
                ENTRYPOINT [not json
                RUN <<EOF
                echo one
                EOF
                RUN <<-"END" cat
                \tliteral $HOME
                \tEND
                USER x
                """);

        assertThat(d.errors()).isEmpty();
        Instruction from = d.instructions().get(0);
        assertThat(from.flag("platform")).contains("linux/amd64");
        assertThat(from.words()).containsExactly("a", "AS", "b");
        assertThat(d.instructions().get(1).flag("from")).contains("b");
        assertThat(d.instructions().get(1).flag("chown")).contains("1:1");
        assertThat(d.instructions().get(2).json()).containsExactly("sh", "-c", "echo \"hi\"");
        assertThat(d.instructions().get(3).isJsonForm()).isFalse();
        Instruction heredoc = d.instructions().get(4);
        assertThat(heredoc.heredocs()).singleElement().satisfies(h -> {
            assertThat(h.delimiter()).isEqualTo("EOF");
            assertThat(h.body()).isEqualTo("echo one\n");
            assertThat(h.expand()).isTrue();
        });
        Instruction quoted = d.instructions().get(5);
        assertThat(quoted.heredocs().get(0).body()).isEqualTo("literal $HOME\n");
        assertThat(quoted.heredocs().get(0).expand()).isFalse();
        assertThat(d.instructions().get(6).keyword()).isEqualTo("USER");
        assertThat(d.instructions().get(6).line()).isEqualTo(11);
    }

    @Test
    void reportsProblemsAsErrorsWithLinesInsteadOfThrowing() {
        Dockerfile d = DockerfileParser.parse("FROM a\nBOGUS x\nRUN <<EOF\nnever closed\n");

        assertThat(d.errors()).extracting(ParseError::line).containsExactly(2, 3);
        assertThat(DockerfileParser.parse("").instructions()).isEmpty();
        assertThat(DockerfileParser.parse("\\\n\\\n\\").errors()).isNotEmpty();
    }

    @Test
    void nameValueWordsWithoutQuotesOrEscapesAreTheCharacterByCharacterReading() {
        // plainWords is the fast path of nameValueWords; quotedWords the reading it must agree with.
        String alphabet = "ab=$ \t\n\u000B\f\r\u0085\u00A0\u1680\u2003\u2028\u202F\u3000xé{}";
        java.util.Random r = new java.util.Random(21);
        for (int n = 0; n < 20_000; n++) {
            StringBuilder t = new StringBuilder();
            for (int k = r.nextInt(14); k > 0; k--) {
                t.append(alphabet.charAt(r.nextInt(alphabet.length())));
            }
            String text = t.toString();
            org.assertj.core.api.Assertions.assertThat(DockerfileParser.plainWords(text)).as("'%s'", text)
                    .isEqualTo(DockerfileParser.quotedWords(text, '\\'))
                    .isEqualTo(DockerfileParser.quotedWords(text, '`'))
                    .isEqualTo(DockerfileParser.nameValueWords(text, '\\'));
        }
    }
}
