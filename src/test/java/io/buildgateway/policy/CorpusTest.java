package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The corpus under src/test/resources/corpus: real-world shapes (multi-stage Java, Go to distroless, Node, Python,
 * heredoc scripts, ARG-parametrised bases), each with defects, and adversarial files that try to get an unapproved
 * image or a root final user past the gate by indirection. Every file states its findings, exactly:
 * {@code # expect: rule…} for the next line that is not an annotation, {@code # expect-at N: rule…} for line N,
 * {@code # buildarg: K=V} and {@code # target: stage} for the request. Evaluated under the shipped policy.
 */
class CorpusTest {

    static final Path CORPUS = Path.of("src", "test", "resources", "corpus");
    private static final PolicyEvaluator SHIPPED = new PolicyEvaluator(
            () -> PolicyStore.load(Path.of("config", "policy"), List.of()), Policies.NOV_2026);

    static Stream<Path> files() throws IOException {
        return Files.list(CORPUS).filter(p -> p.toString().endsWith(".Dockerfile")).sorted().toList().stream();
    }

    @Test
    void theCorpusIsLargeEnough() throws IOException {
        assertThat(files().count()).isGreaterThanOrEqualTo(150);
        assertThat(files().filter(p -> p.getFileName().toString().startsWith("adv-")).count())
                .isGreaterThanOrEqualTo(30);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("files")
    void findingsAreExactlyAsAnnotated(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        Map<String, String> buildArgs = new LinkedHashMap<>();
        String target = null;
        List<String> expected = new ArrayList<>();
        List<String> pending = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            int number = i + 1;
            if (line.startsWith("# expect:")) {
                pending.addAll(List.of(line.substring(9).strip().split("\\s+")));
            } else if (line.startsWith("# expect-at ")) {
                String[] parts = line.substring(12).split(":", 2);
                for (String rule : parts[1].strip().split("\\s+")) {
                    expected.add(rule + "@" + Integer.parseInt(parts[0].strip()));
                }
            } else if (line.startsWith("# buildarg:")) {
                String[] kv = line.substring(11).strip().split("=", 2);
                buildArgs.put(kv[0], kv[1]);
            } else if (line.startsWith("# target:")) {
                target = line.substring(9).strip();
            } else if (!line.isEmpty() && !pending.isEmpty()) {
                for (String rule : pending) {
                    expected.add(rule + "@" + number);
                }
                pending.clear();
            }
        }
        // Heredocs read as BuildKit does: the annotations are about the lint rules; that a classic builder cannot
        // take a heredoc is dockerfile-canonical's business (CanonicalDockerfileTest, ParserDifferentialIT).
        Evaluation e = SHIPPED.evaluate(new PolicyEvaluator.Request(text, buildArgs, target, "corpus",
                "corpus/app", null, true));
        List<String> actual = e.findings().stream().map(f -> f.rule() + "@" + f.line()).sorted().toList();

        assertThat(actual).as(file.getFileName() + " → " + e.findings())
                .containsExactlyElementsOf(expected.stream().sorted().toList());
    }
}
