package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.shared.RegistryUnavailable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * dockerd 26's BuildKit panics (the whole daemon) on a RUN's {@code ${v#$X}} when {@code X} is set and empty. A base
 * image whose config's Env sets {@code X=} (or whose ONBUILD triggers declare {@code X}) makes such a pattern in a
 * child's RUN a crash though the child never declares {@code X}: the evaluation reads the bases' empty Env names with
 * their triggers and refuses the pattern as {@code dockerfile-canonical}, naming the base and the variable. No
 * registry, no daemon: the lookups are functions here.
 */
class BaseEmptyEnvTest {

    private static final String DIGEST = "@sha256:" + "a".repeat(64);
    private static final String REF = "reg.local/base/debian:12" + DIGEST;
    private static final PolicyEvaluator POLICY = Policies.evaluator("approvedImages: [reg.local/base/]\n");

    /** A build's evaluation with these bases' triggers (none) and empty Env names, by reference. */
    private static Evaluation build(String dockerfile, Map<String, String> args, Map<String, Set<String>> emptyEnv,
            List<String> asked) {
        return POLICY.evaluate(new PolicyEvaluator.Request(dockerfile, args, null, "payments", "payments/app", null,
                ref -> List.of(), true, null).withBaseEmptyEnv(ref -> {
                    asked.add(ref);
                    return emptyEnv.getOrDefault(ref, Set.of());
                }));
    }

    private static Evaluation build(String dockerfile, Set<String> emptyEnv) {
        return build(dockerfile, Map.of(), Map.of(REF, emptyEnv), new ArrayList<>());
    }

    private static List<Finding> crashes(Evaluation e) {
        return e.findings().stream().filter(f -> f.rule().equals("dockerfile-canonical"))
                .filter(f -> f.message().contains("crashes")).toList();
    }

    @Test
    void aRunPatternStartingWithAVariableTheBaseSetsEmptyIsRefusedNamingTheBaseAndTheVariable() {
        Evaluation e = build("FROM " + REF + "\nRUN echo ${PATH#$EMPTY}\nUSER 1\n", Set.of("EMPTY"));

        assertThat(e.passed()).isFalse();
        assertThat(e.canonicalDockerfile()).as("nothing to build").isNull();
        assertThat(crashes(e)).singleElement().satisfies(f -> {
            assertThat(f.severity()).isEqualTo(Finding.Severity.error);
            assertThat(f.line()).isEqualTo(2);
            assertThat(f.instruction()).isEqualTo("RUN");
            assertThat(f.message()).contains("${PATH#$EMPTY}").contains("base image '" + REF + "'")
                    .contains("sets EMPTY to an empty value").contains("dockerd 26").contains("crashes");
        });
        // the same in a heredoc, braced, and as a suffix pattern
        assertThat(crashes(build("FROM " + REF + "\nRUN <<EOF\necho ${HOME%${EMPTY}}\nEOF\nUSER 1\n",
                Set.of("EMPTY")))).hasSize(1);
        assertThat(crashes(build("FROM " + REF + "\nRUN echo ${HOME:#$EMPTY}\nUSER 1\n", Set.of("EMPTY"))))
                .hasSize(1);
    }

    @Test
    void negativeControlsPass() {
        // the base sets nothing empty (its X=nonempty is not in the lookup's answer), or other names only
        assertThat(build("FROM " + REF + "\nRUN echo ${PATH#$X}\nUSER 1\n", Set.of()).passed()).isTrue();
        assertThat(build("FROM " + REF + "\nRUN echo ${PATH#$NOT_SET}\nUSER 1\n", Set.of("EMPTY")).passed())
                .isTrue();
        // a script's own variable stays allowed; and a pattern that does not start with the variable
        Evaluation script = build("FROM " + REF + "\nRUN for f in *.c; do ext=.c; echo ${f%$ext} ${f#x$EMPTY};"
                + " done\nUSER 1\n", Set.of("EMPTY"));
        assertThat(crashes(script)).isEmpty();
        assertThat(script.passed()).isTrue();
        // not a RUN-only question: other instructions count every variable already, base or not
        assertThat(crashes(build("FROM " + REF + "\nWORKDIR /${PATH#$Q}\nUSER 1\n", Set.of()))).hasSize(1);
    }

    @Test
    void withoutTheLookupNothingChanges() {
        Evaluation e = POLICY.evaluate(new PolicyEvaluator.Request("FROM " + REF + "\nRUN echo ${PATH#$EMPTY}\n"
                + "USER 1\n", Map.of(), null, "payments", "payments/app", null, ref -> List.of(), true, null));
        assertThat(e.passed()).isTrue();
    }

    @Test
    void theBaseIsFoundThroughStagesAndBuildArgs() {
        List<String> asked = new ArrayList<>();
        // a stage built FROM the stage whose base sets it inherits the environment
        Evaluation staged = build("FROM " + REF + " AS a\nFROM a\nRUN echo ${PATH#$EMPTY}\nUSER 1\n", Map.of(),
                Map.of(REF, Set.of("EMPTY")), asked);
        assertThat(crashes(staged)).singleElement().satisfies(f -> assertThat(f.line()).isEqualTo(3));
        assertThat(asked).containsExactly(REF);
        // FROM $BASE: the base after substitution is the one asked for
        asked.clear();
        Evaluation byArg = build("ARG BASE=reg.local/base/x:1" + DIGEST + "\nFROM $BASE\nRUN echo ${PATH#$EMPTY}\n"
                + "USER 1\n", Map.of("BASE", REF), Map.of(REF, Set.of("EMPTY")), asked);
        assertThat(crashes(byArg)).singleElement().satisfies(f -> assertThat(f.message()).contains(REF));
        assertThat(asked).containsExactly(REF);
        // over the stages built: a variable one base sets empty counts in every stage (an over-approximation)
        String other = "reg.local/base/alpine:3" + DIGEST;
        Evaluation two = build("FROM " + REF + " AS a\nRUN true\nFROM " + other + "\nCOPY --from=a /x /x\n"
                + "RUN echo ${PATH%$EMPTY}\nUSER 1\n", Map.of(), Map.of(REF, Set.of("EMPTY")), new ArrayList<>());
        assertThat(crashes(two)).singleElement().satisfies(f -> assertThat(f.line()).isEqualTo(5));
    }

    @Test
    void scratchAndUnapprovedBasesAreNotAsked() {
        List<String> asked = new ArrayList<>();
        assertThat(build("FROM scratch\nRUN echo ${PATH#$EMPTY}\n", Map.of(), Map.of(), asked).findings())
                .noneMatch(f -> f.message().contains("crashes"));
        build("FROM evil.example/x:1\nRUN echo ${PATH#$EMPTY}\nUSER 1\n", Map.of(), Map.of(), asked);
        assertThat(asked).isEmpty();
    }

    @Test
    void anEnvOrArgAmongTheBasesTriggersCounts() {
        for (String trigger : List.of("ENV EMPTY=", "ENV EMPTY=x", "ARG EMPTY")) {
            Evaluation e = POLICY.evaluate(new PolicyEvaluator.Request("FROM " + REF + "\nRUN echo ${PATH#$EMPTY}\n"
                    + "USER 1\n", Map.of(), null, "payments", "payments/app", null, ref -> List.of(trigger), true,
                    null));
            assertThat(crashes(e)).as(trigger).singleElement().satisfies(f -> assertThat(f.message())
                    .contains("ONBUILD").contains("base image '" + REF + "'").contains("EMPTY"));
        }
        // a trigger whose name the daemon expands may set any variable
        Evaluation any = POLICY.evaluate(new PolicyEvaluator.Request("FROM " + REF + "\nRUN echo ${PATH#$Q}\n"
                + "USER 1\n", Map.of(), null, "payments", "payments/app", null, ref -> List.of("ENV ${N}="), true,
                null));
        assertThat(crashes(any)).hasSize(1);
        // a trigger declaring another name does not make $Q count
        Evaluation other = POLICY.evaluate(new PolicyEvaluator.Request("FROM " + REF + "\nRUN echo ${PATH#$Q}\n"
                + "USER 1\n", Map.of(), null, "payments", "payments/app", null, ref -> List.of("ENV W="), true,
                null));
        assertThat(crashes(other)).isEmpty();
    }

    @Test
    void anEnvThatCannotBeReadFailsClosedAndAnOutageRefusesTheEvaluation() {
        Function<String, Set<String>> broken = ref -> {
            throw new IllegalStateException("the config of " + ref + " has an Env that is not a list");
        };
        Evaluation e = POLICY.evaluate(new PolicyEvaluator.Request("FROM " + REF + "\nUSER 1\n", Map.of(), null,
                "payments", "payments/app", null, ref -> List.of(), true, null).withBaseEmptyEnv(broken));
        assertThat(e.passed()).isFalse();
        assertThat(e.findings()).anySatisfy(f -> {
            assertThat(f.rule()).isEqualTo("base-image-triggers");
            assertThat(f.message()).contains("environment of base image").contains("not a list");
        });
        assertThatThrownBy(() -> POLICY.evaluate(new PolicyEvaluator.Request("FROM " + REF + "\nUSER 1\n", Map.of(),
                null, "payments", "payments/app", null, ref -> List.of(), true, null).withBaseEmptyEnv(ref -> {
                    throw new RegistryUnavailable("the ONBUILD triggers of base image '" + ref + "'");
                }))).isInstanceOf(RegistryUnavailable.class);
    }
}
