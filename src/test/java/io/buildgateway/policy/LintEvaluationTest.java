package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A lint ({@link PolicyEvaluator#lint}) leaves out the canonical writer's self-check, which only a build needs: its
 * findings and verdict are the build's evaluation's, for every corpus file, with and without heredoc support (the
 * canonical writer's problems differ between the two), and it carries no canonical text to build from.
 */
class LintEvaluationTest {

    private static final PolicyEvaluator SHIPPED = new PolicyEvaluator(
            () -> PolicyStore.load(Path.of("config", "policy"), List.of()), Policies.NOV_2026);

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.buildgateway.policy.CorpusTest#files")
    void lintFindsWhatTheBuildsEvaluationFinds(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        for (boolean heredocs : new boolean[] {false, true}) {
            PolicyEvaluator.Request request = new PolicyEvaluator.Request(text, Map.of(), null, "corpus",
                    "corpus/app", null, heredocs);
            Evaluation build = SHIPPED.evaluate(request);
            Evaluation lint = SHIPPED.lint(request);

            assertThat(lint.findings()).as(file.getFileName() + " heredocs=" + heredocs)
                    .isEqualTo(build.findings());
            assertThat(lint.passed()).isEqualTo(build.passed());
            assertThat(lint.pulls()).isEqualTo(build.pulls());
            assertThat(lint.baseImage()).isEqualTo(build.baseImage());
            assertThat(lint.canonicalDockerfile()).isNull();
        }
    }
}
