package io.buildgateway.dockerfile;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The parser keeps a file's lines as offsets into its text and reads them in place (continuations, comments, blank
 * lines, heredoc bodies) instead of making a string per line: the lines it finds are those of the string-per-line
 * split it replaces (kept verbatim below), and the continuation test over a range answers as over that range's copy.
 */
class LineOffsetsTest {

    /** Line ends (\n, \r\n, lone \r), a BOM, Go spaces, both escapes, '#', a letter, non-ASCII. */
    private static final String ALPHABET = "a\n\n\r \t\\`#\uFEFF\u0085é\u2028";

    @Test
    void theLinesAreThoseOfTheStringPerLineSplit() {
        Random r = new Random(41);
        for (int n = 0; n < 50_000; n++) {
            String text = random(r, 24);
            List<ParseError> errors = new ArrayList<>();
            List<ParseError> oldErrors = new ArrayList<>();
            DockerfileParser.Lines lines = DockerfileParser.splitLines(text, errors);
            assertThat(lines.all()).as("'%s'", text).isEqualTo(splitLinesAsBefore(text, oldErrors));
            assertThat(errors).isEqualTo(oldErrors);
            for (int k = 0; k < lines.size(); k++) {
                assertThat(text.substring(lines.start(k), lines.end(k))).isEqualTo(lines.get(k));
            }
        }
        // Many lines: the offset arrays grow.
        String many = "RUN a \\\n".repeat(5_000) + "b\n";
        assertThat(DockerfileParser.splitLines(many, new ArrayList<>()).all())
                .isEqualTo(splitLinesAsBefore(many, new ArrayList<>()));
    }

    @Test
    void aTooLongLineEndsTheLinesAsBefore() {
        String text = "FROM a\n" + "x".repeat(DockerfileParser.MAX_LINE_BYTES + 1) + "\nUSER b\n";
        List<ParseError> errors = new ArrayList<>();
        List<ParseError> oldErrors = new ArrayList<>();

        assertThat(DockerfileParser.splitLines(text, errors).all()).containsExactly("FROM a")
                .isEqualTo(splitLinesAsBefore(text, oldErrors));
        assertThat(errors).isEqualTo(oldErrors).hasSize(1);
    }

    @Test
    void theContinuationOfARangeIsThatOfItsCopy() {
        Random r = new Random(43);
        for (int n = 0; n < 50_000; n++) {
            String text = random(r, 12);
            int from = r.nextInt(text.length() + 1);
            int to = from + r.nextInt(text.length() - from + 1);
            for (char escape : new char[] {'\\', '`'}) {
                int inCopy = DockerfileParser.continuation(text.substring(from, to), escape);
                assertThat(DockerfileParser.continuation(text, from, to, escape))
                        .as("'%s' [%d, %d) escape %s", text, from, to, escape)
                        .isEqualTo(inCopy < 0 ? -1 : from + inCopy);
            }
        }
    }

    @Test
    void continuedLinesCommentsAndHeredocsAreReadInPlace() {
        Dockerfile d = DockerfileParser.parse("FROM a\r\n  RUN echo \\ \r\n# note\r\n\r\n   \t\r\n  b \\\n\tc\n"
                + "RUN <<-EOF\n\t\techo x\r\n\tEOF\r\r\nUSER u\n");

        assertThat(d.instructions()).extracting(Instruction::keyword).containsExactly("FROM", "RUN", "RUN", "USER");
        assertThat(d.instructions().get(1).arguments()).isEqualTo("echo   b \tc");
        assertThat(d.instructions().get(1).line()).isEqualTo(2);
        assertThat(d.instructions().get(1).endLine()).isEqualTo(7);
        assertThat(d.commentLines()).containsEntry(3, "# note");
        assertThat(d.instructions().get(2).heredocs()).singleElement()
                .satisfies(h -> assertThat(h.body()).isEqualTo("echo x\n"));
        assertThat(d.instructions().get(3).line()).isEqualTo(11);
        assertThat(d.errors()).isEmpty();
    }

    private static String random(Random r, int max) {
        StringBuilder text = new StringBuilder();
        for (int k = r.nextInt(max); k > 0; k--) {
            text.append(ALPHABET.charAt(r.nextInt(ALPHABET.length())));
        }
        return text.toString();
    }

    /** The split the offsets replace, verbatim (a string per line). */
    private static List<String> splitLinesAsBefore(String text, List<ParseError> errors) {
        List<String> lines = new ArrayList<>();
        int n = Math.min(text.length(), DockerfileParser.MAX_BYTES + 1);
        if (text.length() > DockerfileParser.MAX_BYTES) {
            errors.add(new ParseError(1, "Dockerfile is larger than " + DockerfileParser.MAX_BYTES + " bytes"));
        }
        int start = !text.isEmpty() && text.charAt(0) == '\uFEFF' ? 1 : 0;
        for (int nl = text.indexOf('\n', start); nl >= 0 && nl < n; nl = text.indexOf('\n', start)) {
            int end = nl > start && text.charAt(nl - 1) == '\r' ? nl - 1 : nl;
            lines.add(text.substring(start, end));
            start = nl + 1;
        }
        if (start < n) {
            int end = text.charAt(n - 1) == '\r' ? n - 1 : n;
            lines.add(text.substring(start, end));
        }
        for (int k = 0; k < lines.size(); k++) {
            String line = lines.get(k);
            if (line.length() > DockerfileParser.MAX_LINE_BYTES / 3
                    && DockerfileParser.utf8Length(line) > DockerfileParser.MAX_LINE_BYTES) {
                errors.add(new ParseError(k + 1, "dockerfile line greater than max allowed size of "
                        + DockerfileParser.MAX_LINE_BYTES));
                return lines.subList(0, k);
            }
        }
        return lines;
    }
}
