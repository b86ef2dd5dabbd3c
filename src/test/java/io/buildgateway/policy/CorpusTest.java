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
 * {@code # expect-file: rule…} for a finding without a line (about the request or the whole file),
 * {@code # buildarg: K=V} and {@code # target: stage} for the request. Evaluated under the shipped policy, or under
 * {@code # policy: name} (src/test/resources/corpus-policies/name), with {@code # context: file…} as the context's
 * file names, and {@code # base-triggers: none|unreadable} as what the registry says of the base images' ONBUILD
 * triggers (by default nothing is asked, as in a lint).
 *
 * <p>Issue #12: every rule has a positive case ({@code expect}) and a negative case, {@code # quiet: rule…} for the
 * next line that is not an annotation (or {@code # quiet-file: rule…}): a line where the rule has something to judge
 * and must find nothing wrong.
 * {@link #everyRuleHasAPositiveAndANegativeCase} holds the corpus to it.
 */
class CorpusTest {

    static final Path CORPUS = Path.of("src", "test", "resources", "corpus");
    private static final Path POLICIES = Path.of("src", "test", "resources", "corpus-policies");
    private static final PolicyEvaluator SHIPPED = evaluator(Path.of("config", "policy"));

    /** Rules that cannot have one of the two cases, and why. Only what no Dockerfile can show belongs here. */
    static final Map<String, String> NOT_IN_THE_CORPUS = Map.of(
            "onbuild-trigger", "an info finding on every ONBUILD by design: no ONBUILD can be quiet, and a file"
                    + " without one gives the rule nothing to judge (positives: neg-onbuild-misuse and others)");

    private static PolicyEvaluator evaluator(Path dir) {
        return new PolicyEvaluator(() -> PolicyStore.load(dir, List.of()), Policies.NOV_2026);
    }

    /** What a corpus file asks for: its expected and its quiet rules by line, and the request's parts. */
    record Annotations(List<String> expected, List<String> quiet, Map<String, String> buildArgs, String target,
            String policy, java.util.Set<String> context, String baseTriggers) {
    }

    static Annotations annotations(String text) {
        Map<String, String> buildArgs = new LinkedHashMap<>();
        String target = null;
        String policy = null;
        java.util.Set<String> context = null;
        String baseTriggers = null;
        List<String> expected = new ArrayList<>();
        List<String> quiet = new ArrayList<>();
        List<String> pending = new ArrayList<>();
        List<String> pendingQuiet = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            int number = i + 1;
            if (line.startsWith("# expect:")) {
                pending.addAll(List.of(line.substring(9).strip().split("\\s+")));
            } else if (line.startsWith("# quiet:")) {
                pendingQuiet.addAll(List.of(line.substring(8).strip().split("\\s+")));
            } else if (line.startsWith("# expect-file:")) {
                for (String rule : line.substring(14).strip().split("\\s+")) {
                    expected.add(rule + "@null"); // a finding about the request or the file, with no line
                }
            } else if (line.startsWith("# quiet-file:")) {
                for (String rule : line.substring(13).strip().split("\\s+")) {
                    quiet.add(rule + "@null");
                }
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
            } else if (line.startsWith("# policy:")) {
                policy = line.substring(9).strip();
            } else if (line.startsWith("# context:")) {
                context = new java.util.LinkedHashSet<>(List.of(line.substring(10).strip().split("\\s+")));
            } else if (line.startsWith("# base-triggers:")) {
                baseTriggers = line.substring(16).strip();
            } else if (!line.isEmpty()) {
                for (String rule : pending) {
                    expected.add(rule + "@" + number);
                }
                for (String rule : pendingQuiet) {
                    quiet.add(rule + "@" + number);
                }
                pending.clear();
                pendingQuiet.clear();
            }
        }
        return new Annotations(expected, quiet, buildArgs, target, policy, context, baseTriggers);
    }

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
        Annotations a = annotations(text);
        java.util.function.Function<String, List<String>> triggers = a.baseTriggers() == null ? null
                : switch (a.baseTriggers()) {
                    case "none" -> image -> List.of();
                    case "unreadable" -> image -> {
                        throw new IllegalStateException("registry unreachable (corpus)");
                    };
                    default -> throw new IllegalArgumentException(file + ": base-triggers none or unreadable");
                };
        PolicyEvaluator evaluator = a.policy() == null ? SHIPPED : evaluator(POLICIES.resolve(a.policy()));
        // Heredocs read as BuildKit does: the annotations are about the lint rules; that a classic builder cannot
        // take a heredoc is dockerfile-canonical's business (CanonicalDockerfileTest, ParserDifferentialIT).
        Evaluation e = evaluator.evaluate(new PolicyEvaluator.Request(text, a.buildArgs(), a.target(), "corpus",
                "corpus/app", a.context(), triggers, true, null));
        List<String> actual = e.findings().stream().map(f -> f.rule() + "@" + f.line()).sorted().toList();

        assertThat(actual).as(file.getFileName() + " → " + e.findings())
                .containsExactlyElementsOf(a.expected().stream().sorted().toList());
        // A quiet line is one where the rule has something to judge: it must not also be expected there.
        assertThat(a.quiet().stream().filter(a.expected()::contains).toList())
                .as(file.getFileName() + ": quiet and expected on the same line").isEmpty();
    }

    /**
     * Issue #12's corpus: for every built-in Dockerfile rule a positive case (it fires where annotated) and a
     * negative one (a line where it has something to judge and is quiet); and no annotation names a rule that does
     * not exist, so a misspelt {@code quiet} cannot pass for a negative case.
     */
    @Test
    void everyRuleHasAPositiveAndANegativeCase() throws IOException {
        java.util.Set<String> known = BuiltinRules.ids();
        java.util.Set<String> positive = new java.util.TreeSet<>();
        java.util.Set<String> negative = new java.util.TreeSet<>();
        List<String> unknown = new ArrayList<>();
        for (Path file : files().toList()) {
            Annotations a = annotations(Files.readString(file, StandardCharsets.UTF_8));
            for (String at : a.expected()) {
                String rule = at.substring(0, at.lastIndexOf('@'));
                positive.add(rule);
                if (!known.contains(rule)) {
                    unknown.add(file.getFileName() + ": " + rule);
                }
            }
            for (String at : a.quiet()) {
                String rule = at.substring(0, at.lastIndexOf('@'));
                negative.add(rule);
                if (!known.contains(rule)) {
                    unknown.add(file.getFileName() + ": " + rule);
                }
            }
        }
        assertThat(unknown).as("annotations naming no built-in rule").isEmpty();
        List<String> missing = new ArrayList<>();
        for (String rule : new java.util.TreeSet<>(known)) {
            if (!positive.contains(rule)) {
                missing.add(rule + ": no positive case (# expect)");
            }
            if (!negative.contains(rule) && !NOT_IN_THE_CORPUS.containsKey(rule)) {
                missing.add(rule + ": no negative case (# quiet)");
            }
        }
        assertThat(missing).as("rules without a positive and a negative case in " + CORPUS).isEmpty();
    }
}
