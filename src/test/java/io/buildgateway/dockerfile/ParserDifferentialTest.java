package io.buildgateway.dockerfile;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Each case is a way the gateway's parser once read a Dockerfile differently from dockerd 20.10's classic builder;
 * the expected readings are what that daemon does (checked by hand against it, and by {@code ParserDifferentialIT}).
 */
class ParserDifferentialTest {

    @Test
    void aHeredocOpenerInsideQuotesOpensNothing() {
        Dockerfile d = DockerfileParser.parse("FROM a\nRUN echo \"<<EOF\"\nUSER root\nEOF\n");

        assertThat(d.instructions()).extracting(Instruction::keyword).containsExactly("FROM", "RUN", "USER");
        assertThat(d.instructions().get(1).heredocs()).isEmpty();
        assertThat(d.errors()).extracting(ParseError::message).containsExactly("unknown instruction 'EOF'");
        // Nor glued to a command, or in the exec form, which BuildKit does not read for heredocs either.
        assertThat(DockerfileParser.parse("FROM a\nRUN cat<<EOF\nUSER root\n").instructions()).hasSize(3);
        assertThat(DockerfileParser.parse("FROM a\nRUN [\"<<EOF\"]\nUSER root\n").instructions()).hasSize(3);
        // A real one still is, and its quoted name means no expansion.
        Instruction real = DockerfileParser.parse("FROM a\nRUN <<'E\"N'D\nUSER root\nE\"ND\n").instructions().get(1);
        assertThat(real.heredocs()).singleElement().satisfies(h -> {
            assertThat(h.delimiter()).isEqualTo("E\"ND");
            assertThat(h.expand()).isFalse();
        });
    }

    @Test
    void theClassicBuilderHasNoHeredocs() {
        Dockerfile d = DockerfileParser.parse("FROM a\nRUN <<EOF\nUSER root\nEOF\n", false);

        assertThat(d.instructions()).extracting(Instruction::keyword).containsExactly("FROM", "RUN", "USER");
        assertThat(d.instructions().get(1).arguments()).isEqualTo("<<EOF");
    }

    @Test
    void onlySpacesAndTabsMayFollowAContinuingEscape() {
        Dockerfile ff = DockerfileParser.parse("FROM a\nENV A=1 \\\f\nENV B=2\n");
        assertThat(ff.instructions()).extracting(Instruction::original)
                .containsExactly("FROM a", "ENV A=1 \\", "ENV B=2");

        Dockerfile cr = DockerfileParser.parse("FROM a\nENV A=1 \\\r\r\nENV B=2\n");
        assertThat(cr.instructions()).hasSize(3);

        Dockerfile blanks = DockerfileParser.parse("FROM a\nENV A=1 \\ \t\n B=2\n");
        assertThat(blanks.instructions()).extracting(Instruction::original).containsExactly("FROM a", "ENV A=1  B=2");
    }

    @Test
    void anEscapedEscapeAtTheEndDoesNotContinue() {
        Dockerfile d = DockerfileParser.parse("FROM a\nENV A=1\\\\\nENV B=2\n");
        assertThat(d.instructions()).extracting(Instruction::original)
                .containsExactly("FROM a", "ENV A=1\\\\", "ENV B=2");
    }

    @Test
    void aDirectiveTheDaemonDoesNotKnowEndsTheDirectives() {
        Dockerfile d = DockerfileParser.parse("# check=skip=all\n# escape=`\nFROM a\nENV A=1 `\n B=2\n");

        assertThat(d.escape()).isEqualTo('\\');
        assertThat(d.directives()).doesNotContainKey("escape").containsEntry("check", "skip=all");
        assertThat(DockerfileParser.parse("# foo=bar\n# escape=`\nFROM a\n").escape()).isEqualTo('\\');
        // syntax is known: escape after it counts.
        assertThat(DockerfileParser.parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM a\n").escape())
                .isEqualTo('`');
    }

    @Test
    void directivesAreMatchedWithTheDaemonsExpression() {
        // leading whitespace (Go's: a no-break space too) is allowed
        assertThat(DockerfileParser.parse("  # escape=`\nFROM a\n").escape()).isEqualTo('`');
        assertThat(DockerfileParser.parse("\u00A0# escape=`\nFROM a\n").escape()).isEqualTo('`');
        // Go's \s has no vertical tab
        assertThat(DockerfileParser.parse("#\u000Bescape=`\nFROM a\n").escape()).isEqualTo('\\');
        // an empty value is no directive, and ends them
        assertThat(DockerfileParser.parse("# escape=\n# escape=`\nFROM a\n").escape()).isEqualTo('\\');
        // a second escape is an error, as for the daemon
        assertThat(DockerfileParser.parse("# escape=`\n# escape=`\nFROM a\n").errors()).isNotEmpty();
    }

    @Test
    void linesEndAtLineFeedsOnly() {
        Dockerfile d = DockerfileParser.parse("FROM a\rRUN x\n");

        assertThat(d.instructions()).singleElement().satisfies(i -> {
            assertThat(i.keyword()).isEqualTo("FROM");
            assertThat(i.arguments()).isEqualTo("a\rRUN x");
        });
        Dockerfile bomCrlf = DockerfileParser.parse("\uFEFFFROM a\r\nUSER x\r\n");
        assertThat(bomCrlf.instructions()).extracting(Instruction::original).containsExactly("FROM a", "USER x");
    }

    @Test
    void whitespaceIsGosWhitespace() {
        // U+001C is no whitespace to Go: not a comment but an unknown instruction
        assertThat(DockerfileParser.parse("\u001C# escape=`\nFROM a\n").errors()).isNotEmpty();
        // NEL and no-break space are, at the start of a line
        assertThat(DockerfileParser.parse("\u00A0FROM a\n\u0085USER x\n").instructions()).hasSize(2);
        // but only [\t\v\f\r ] separate the keyword
        assertThat(DockerfileParser.parse("FROM a\nENV\u00A0A=1\n").errors()).isNotEmpty();
        assertThat(DockerfileParser.parse("FROM a\nENV\u000BA=1\n").instructions().get(1).arguments())
                .isEqualTo("A=1");
    }

    @Test
    void keywordsAreLowerCasedAsGoDoes() {
        assertThat(DockerfileParser.parse("FROM a\nWOR\u212ADIR /x\n").instructions()).hasSize(2); // Kelvin sign
        assertThat(DockerfileParser.parse("FROM a\nENTRYPO\u0130NT [\"a\"]\n").instructions()).hasSize(2);
        assertThat(DockerfileParser.parse("FROM a\nENTRYPO\u0131NT [\"a\"]\n").errors()).isNotEmpty(); // dotless i
        assertThat(DockerfileParser.parse("FROM a\n\u017FHELL [\"a\"]\n").errors()).isNotEmpty(); // long s
    }

    @Test
    void flagsAreReadWithTheirQuotes() {
        Instruction copy = DockerfileParser.parse("FROM a\nCOPY --chown=\"a b\" --link x y\n").instructions().get(1);

        assertThat(copy.flag("chown")).contains("a b");
        assertThat(copy.flag("link")).contains("");
        assertThat(copy.arguments()).isEqualTo("x y");
        Instruction dashes = DockerfileParser.parse("FROM a\nCOPY --from=b -- --x y\n").instructions().get(1);
        assertThat(dashes.flag("from")).contains("b");
        assertThat(dashes.arguments()).isEqualTo("--x y");
    }

    @Test
    void aLineLongerThanTheDaemonsBufferIsAnError() {
        String ok = "FROM a\nLABEL x=" + "y".repeat(DockerfileParser.MAX_LINE_BYTES - 8) + "\n";
        assertThat(DockerfileParser.parse(ok).errors()).isEmpty();
        String tooLong = "FROM a\nLABEL x=" + "y".repeat(DockerfileParser.MAX_LINE_BYTES - 7) + "\n";
        assertThat(DockerfileParser.parse(tooLong).errors()).extracting(ParseError::line).containsExactly(2);
    }

    @Test
    void envAndLabelArgumentsAreCheckedAsTheDaemonDoes() {
        assertThat(DockerfileParser.parse("FROM a\nENV A=1 `\n").errors()).singleElement()
                .satisfies(e -> assertThat(e.message()).contains("can't find ="));
        assertThat(DockerfileParser.parse("FROM a\nENV A\n").errors()).singleElement()
                .satisfies(e -> assertThat(e.message()).contains("must have two arguments"));
        assertThat(DockerfileParser.parse("FROM a\nENV A 1 2\nLABEL a=\"b c\" d='e f' g=h\\ i\n").errors()).isEmpty();
    }
    @Test
    void addCopyVolumeExposeAndFromAreSplitAtWhitespaceWhateverTheQuotesAndEscapes() {
        // B1: parseMaybeJSONToList / parseStringsWhitespaceDelimited split at [\t\v\f\r ]+ first
        Instruction add = DockerfileParser.parse("FROM a\nADD a\\ http://127.0.0.1:8099/esc /x\n").instructions().get(1);
        assertThat(add.words('\\')).containsExactly("a\\", "http://127.0.0.1:8099/esc", "/x");
        Instruction quoted = DockerfileParser.parse("FROM a\nCOPY \"a b\"\u000Bc\u00A0d /x\n").instructions().get(1);
        assertThat(quoted.words('\\')).containsExactly("\"a", "b\"", "c\u00A0d", "/x");
        Instruction expose = DockerfileParser.parse("FROM a\nEXPOSE 80\t\"443 8080\"\n").instructions().get(1);
        assertThat(expose.words('\\')).containsExactly("80", "\"443", "8080\"");
    }

    @Test
    void argEnvAndLabelWordsAreSplitAtGoSpacesOutsideQuotes() {
        // B4: parseWords uses unicode.IsSpace (NBSP and NEL included), quotes and escapes group
        Instruction arg = DockerfileParser.parse("FROM a\nARG A=x\u00A0U=y\u0085V=\"p q\" W=r\\ s\n").instructions()
                .get(1);
        assertThat(arg.words('\\')).containsExactly("A=x", "U=y", "V=\"p q\"", "W=r\\ s");
        // with the backtick escape, a backslash does not group
        assertThat(arg.words('`')).containsExactly("A=x", "U=y", "V=\"p q\"", "W=r\\", "s");
    }

    @Test
    void aJsonArrayFollowedByTextIsRefused() {
        // B3: parseJSON decodes the first value and ignores the rest; the gateway refuses such a file
        for (String ins : List.of("ADD [\"http://127.0.0.1:8099/json\",\"/x\"]\"z\"", "RUN [\"a\"] b", "CMD [] x",
                "ENTRYPOINT [\"a\"]]", "SHELL [\"sh\"]#", "VOLUME [\"/v\"]/w", "ONBUILD COPY [\"a\",\"b\"]c",
                "COPY --chown=1 [\"a\",\"b\"] c", "HEALTHCHECK --interval=5s CMD [\"true\"] x")) {
            Dockerfile d = DockerfileParser.parse("FROM a\n" + ins + "\n");
            assertThat(d.errors()).as(ins).singleElement().satisfies(e -> {
                assertThat(e.line()).isEqualTo(2);
                assertThat(e.message()).contains("text after the JSON array");
            });
        }
        // Trailing whitespace only: the exec form, as the daemon reads it
        Dockerfile ok = DockerfileParser.parse("FROM a\nRUN [\"a\", \"b\"] \t\u00A0\n");
        assertThat(ok.errors()).isEmpty();
        assertThat(ok.instructions().get(1).json()).containsExactly("a", "b");
    }
}
