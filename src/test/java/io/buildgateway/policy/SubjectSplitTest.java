package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.dockerfile.DockerfileParser;
import io.buildgateway.dockerfile.Instruction;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The Subject's hand-written replacements of regular expressions must answer as the expressions did (they were
 * compiled on every RUN with a heredoc), and a RUN's commands are split once and shared by every rule.
 */
class SubjectSplitTest {

    /** Spaces of every kind the two readings could disagree on: ASCII \s, Unicode spaces, controls. */
    private static final String ALPHABET = "ab3.py \t\n\u000B\f\r\u001C\u00A0\u2003\u3000-";

    @Test
    void splitAtWhitespaceIsStripThenSplitAtBackslashS() {
        Random r = new Random(5);
        for (int n = 0; n < 20_000; n++) {
            StringBuilder text = new StringBuilder();
            for (int k = r.nextInt(12); k > 0; k--) {
                text.append(ALPHABET.charAt(r.nextInt(ALPHABET.length())));
            }
            String t = text.toString();
            assertThat(Subject.splitAtWhitespace(t)).as("'%s'", t).containsExactly(t.strip().split("\\s+"));
        }
    }

    @Test
    void isVersionedPython3IsTheExpression() {
        for (String name : List.of("python3", "python3.", "python3.1", "python3.12", "python3.12a", "python3.x",
                "python2.7", "xpython3.1", "python3.1.2", "python3.٣", "PYTHON3.1", "python3.12 ")) {
            assertThat(Subject.isVersionedPython3(name)).as(name).isEqualTo(name.matches("python3\\.[0-9]+"));
        }
    }

    @Test
    void aRunIsSplitOnceAndItsCommandsAreSharedWithRuns() throws Exception {
        String file = "FROM 127.0.0.1:5000/base/debian:12\nRUN --network=none apt-get update && apt-get install -y a\n"
                + "RUN <<EOF\necho hi | tee x\nEOF\n";
        var parsed = DockerfileParser.parse(file, true);
        var plan = io.buildgateway.dockerfile.BuildStages.plan(parsed, Map.of(), null);
        Subject s = new Subject(parsed, plan, Map.of(), null, null, null, PolicyStore.load(java.nio.file.Path.of("config/policy"), List.of()), null);
        Instruction withFlag = parsed.instructions().get(1);
        Instruction heredoc = parsed.instructions().get(2);
        List<Subject.Run> runs = s.runs();
        assertThat(runs).hasSize(2);
        // The expansion made a new instruction for the RUN with a flag; its commands are the written RUN's.
        assertThat(s.commands(withFlag)).isSameAs(runs.get(0).commands());
        assertThat(s.commands(withFlag)).extracting(ShellCommands.Command::program).containsExactly("apt-get",
                "apt-get");
        assertThat(s.commands(heredoc)).isSameAs(runs.get(1).commands());
        assertThat(s.scriptOf(heredoc)).isEqualTo(Subject.script(heredoc)).contains("echo hi | tee x");
        assertThat(s.commands(heredoc)).extracting(ShellCommands.Command::program).containsExactly("echo", "tee");
    }
}
