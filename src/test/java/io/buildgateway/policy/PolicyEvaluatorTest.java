package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The built-in gate: approved images and a non-root final user, evaluated on the build as it will run. */
class PolicyEvaluatorTest {

    private final PolicyEvaluator policy = Policies.evaluator("approvedImages: [reg.local/base/]\n");

    /** The rules of the error findings (the gate); warnings and information are covered by BuiltinRulesTest. */
    private List<String> rules(String dockerfile) {
        return rules(dockerfile, Map.of(), null);
    }

    private List<String> rules(String dockerfile, Map<String, String> args, String target) {
        return policy.evaluate(dockerfile, args, target).findings().stream()
                .filter(f -> f.severity() == Finding.Severity.error).map(Finding::rule).toList();
    }

    /** The final-user rules' findings, as rule:severity. */
    private List<String> userRules(String dockerfile) {
        return policy.evaluate(dockerfile, Map.of(), null).findings().stream()
                .filter(f -> f.rule().startsWith("final-user")).map(f -> f.rule() + ":" + f.severity()).toList();
    }

    @Test
    void passesAnApprovedBaseWithANonRootUser() {
        Evaluation e = policy.evaluate("FROM reg.local/base/busybox:1@sha256:" + "a".repeat(64)
                + "\nRUN true\nUSER 1000:1000\n", Map.of(), null);

        assertThat(e.passed()).isTrue();
        assertThat(e.findings()).isEmpty();
        assertThat(e.policyDigest()).matches("sha256:[0-9a-f]{64}");
    }

    @Test
    void rejectsUnapprovedBaseImage() {
        assertThat(rules("FROM docker.io/library/alpine\nUSER 1\n")).containsExactly("unapproved-image");
        assertThat(rules("FROM reg.local/other/x\nUSER 1\n")).containsExactly("unapproved-image");
        assertThat(rules("FROM reg.local/base/../evil/x\nUSER 1\n")).containsExactly("unapproved-image");
    }

    @Test
    void resolvesBaseThroughArgDefaultsAndRequestBuildArgs() {
        String dockerfile = "ARG REG=reg.local\nARG IMG=base/busybox\nFROM ${REG}/${IMG}\nUSER 1\n";
        assertThat(rules(dockerfile)).isEmpty();
        assertThat(rules(dockerfile, Map.of("REG", "evil.example"), null)).containsExactly("unapproved-image");
        assertThat(rules("ARG B\nFROM $B\nUSER 1\n")).containsExactly("unapproved-image");
        assertThat(rules("ARG B=x\nFROM ${B:-reg.local/base/ok}\nUSER 1\n")).containsExactly("unapproved-image");
        assertThat(rules("ARG B\nFROM ${B:-reg.local/base/ok}\nUSER 1\n")).isEmpty();
    }

    @Test
    void checksEveryStageAndCopyFromImagesButAllowsStageReferences() {
        String multi = """
                FROM reg.local/base/jdk AS build
                RUN make
                FROM build AS test
                FROM reg.local/base/jre
                COPY --from=build /out /app
                COPY --from=docker.io/library/busybox /bin/sh /sh
                RUN --mount=type=bind,from=ghcr.io/evil/tools,target=/t true
                USER app
                """;
        List<String> found = rules(multi);
        assertThat(found).containsExactly("unapproved-image", "unapproved-image");
        assertThat(rules("FROM docker.io/library/golang AS build\nFROM reg.local/base/x\nUSER 1\n"))
                .containsExactly("unapproved-image");
    }

    @Test
    void rejectsRootFinalUserByNameUidAndIndirection() {
        assertThat(rules("FROM reg.local/base/x\nUSER root\n")).containsExactly("final-user-root");
        assertThat(rules("FROM reg.local/base/x\nUSER 0\n")).containsExactly("final-user-root");
        assertThat(rules("FROM reg.local/base/x\nUSER 0:0\n")).containsExactly("final-user-root");
        assertThat(rules("FROM reg.local/base/x\nUSER 000\n")).containsExactly("final-user-root");
        assertThat(rules("FROM reg.local/base/x\nARG U=root\nUSER $U\n")).containsExactly("final-user-root");
        assertThat(rules("FROM reg.local/base/x\nENV U=0\nUSER ${U}:${U}\n")).containsExactly("final-user-root");
        assertThat(rules("ARG U=root\nFROM reg.local/base/x\nARG U\nUSER $U\n")).containsExactly("final-user-root");
        assertThat(rules("FROM reg.local/base/x\nARG U=app\nUSER $U\n", Map.of("U", "root"), null))
                .containsExactly("final-user-root");
        assertThat(rules("FROM reg.local/base/x\nUSER 1000\nUSER root\n")).containsExactly("final-user-root");
        assertThat(rules("FROM reg.local/base/x\nUSER +0\n")).containsExactly("final-user-root");
        assertThat(rules("FROM reg.local/base/x\nUSER -00:app\n")).containsExactly("final-user-root");
    }

    /**
     * dockerd 26 sets User "0:nobody" for both (checked by hand; found by SubstitutionDifferentialIT): a stage from
     * scratch has the default PATH, and a variable the base image may set is judged by its worst case.
     */
    @Test
    void aUserThatDependsOnPathOrTheBaseImagesEnvIsJudgedByWhatTheBuilderMakesOfIt() {
        // On an image base, unknown before the build: a warning, and image-user-root reads the built image.
        assertThat(userRules("FROM reg.local/base/x\nUSER ${PATH:+0:}nobody\n"))
                .containsExactly("final-user-unresolved:warning");
        assertThat(rules("FROM scratch\nUSER ${PATH:+0:}nobody\n")).containsExactly("final-user-root");
        assertThat(rules("FROM scratch\nUSER ${PATH:-0}\n")).isEmpty();
        // Inherited from the stage it builds on; and the pair's quotes read once, as the builder reads them.
        assertThat(rules("FROM scratch AS a\nENV U=0\nFROM a\nUSER ${U:+0:}x\n")).containsExactly(
                "final-user-root");
        assertThat(rules("FROM scratch\nENV A=\"'0'\"\nUSER $A\n")).isEmpty();
        // Through an ENV or ARG whose value keeps a variable the base may set (a reviewer's find): BuildKit's U is 0.
        assertThat(userRules("FROM reg.local/base/x\nENV U=${PATH:+0}\nUSER $U\n")).containsExactly(
                "final-user-unresolved:warning");
        assertThat(userRules("FROM reg.local/base/x\nARG U=${PATH:+0}\nUSER $U\n")).containsExactly(
                "final-user-unresolved:warning");
        assertThat(userRules("FROM reg.local/base/x\nUSER $NB_UID\n"))
                .containsExactly("final-user-unresolved:warning");
        assertThat(rules("FROM reg.local/base/x\nENV U=1000\nUSER $U:$U\n")).isEmpty();
    }

    @Test
    void missingUserMeansTheBaseUserWhichIsRoot() {
        assertThat(rules("FROM reg.local/base/x\nRUN true\n")).containsExactly("final-user-root");
    }

    @Test
    void onlyTheFinalStageAndItsAncestorsDecideTheUser() {
        assertThat(rules("FROM reg.local/base/x AS build\nUSER root\nFROM reg.local/base/y\nUSER 10\n")).isEmpty();
        assertThat(rules("FROM reg.local/base/x AS base\nUSER 10\nFROM base\nRUN true\n")).isEmpty();
        assertThat(rules("FROM reg.local/base/x AS base\nUSER root\nFROM base\nRUN true\n"))
                .containsExactly("final-user-root");
    }

    @Test
    void theTargetStageIsTheFinalStage() {
        String dockerfile = "FROM reg.local/base/x AS debug\nUSER root\nFROM reg.local/base/x AS prod\nUSER 10\n";
        assertThat(rules(dockerfile, Map.of(), "prod")).isEmpty();
        assertThat(rules(dockerfile, Map.of(), "debug")).containsExactly("final-user-root");
        assertThat(rules(dockerfile, Map.of(), "nope")).containsExactly("unknown-target");
    }

    @Test
    void aSyntaxDirectiveNeedsAnApprovedFrontendNotAnApprovedBase() {
        assertThat(rules("# syntax=docker/dockerfile:1\nFROM reg.local/base/x\nUSER 1\n"))
                .containsExactly("dockerfile-canonical");
        // a frontend runs the whole build: an approved base prefix does not approve it (BuildKitPolicyTest)
        assertThat(rules("# syntax=reg.local/base/frontend:1\nFROM reg.local/base/x\nUSER 1\n"))
                .containsExactly("dockerfile-canonical");
    }

    @Test
    void syntaxErrorsAreFindingsWithLines() {
        Evaluation e = policy.evaluate("FROM reg.local/base/x\nFROBNICATE now\nUSER 1\n", Map.of(), null);
        assertThat(e.passed()).isFalse();
        assertThat(e.findings()).filteredOn(f -> f.severity() == Finding.Severity.error).singleElement().satisfies(f -> {
            assertThat(f.rule()).isEqualTo("dockerfile-syntax");
            assertThat(f.line()).isEqualTo(2);
        });
        assertThat(rules("# just a comment\n")).containsExactly("dockerfile-syntax");
    }

    /** What the build daemon's registry token is limited to: every image named, after substitution, not stages. */
    @Test
    void listsEveryImageTheBuildCouldPullAfterSubstitution() {
        Evaluation e = policy.evaluate("""
                ARG TAG=12
                FROM reg.local/base/debian:${TAG} AS build
                RUN make
                FROM build AS test
                FROM scratch
                COPY --from=build /out /app
                COPY --from=reg.local/base/busybox:1 /bin/sh /sh
                USER 1
                """, Map.of("TAG", "13"), null);
        assertThat(e.pulls()).containsExactly("reg.local/base/debian:13", "reg.local/base/busybox:1");
        assertThat(e.baseImage()).isNull();
    }

    @Test
    void theCanonicalDockerfileIsWhatTheDaemonGetsAndItsProblemsAreUnwaivableErrors() {
        Evaluation e = policy.evaluate("# check=skip=all\n# escape=`\nFROM reg.local/base/x\nENV A=1 \\\n B=2\nUSER 1\n",
                Map.of(), null);
        assertThat(e.canonicalDockerfile()).isEqualTo("# escape=\\\nFROM reg.local/base/x\nENV A=1  B=2\nUSER 1\n");

        Evaluation heredoc = policy.evaluate("FROM reg.local/base/x\nRUN <<EOF\nUSER root\nEOF\nUSER 1\n", Map.of(), null);
        assertThat(heredoc.passed()).isFalse();
        assertThat(heredoc.canonicalDockerfile()).isNull();
        assertThat(heredoc.findings()).filteredOn(f -> f.rule().equals("dockerfile-canonical")).singleElement()
                .satisfies(f -> {
                    assertThat(f.severity()).isEqualTo(Finding.Severity.error);
                    assertThat(f.line()).isEqualTo(2);
                    assertThat(f.instruction()).isEqualTo("RUN");
                    assertThat(f.waived()).isNull();
                });
        Evaluation buildkit = policy.evaluate(new PolicyEvaluator.Request(
                "FROM reg.local/base/x\nRUN <<EOF\ntrue\nEOF\nUSER 1\n", Map.of(), null, null, null, null, true));
        assertThat(buildkit.canonicalDockerfile()).isEqualTo("# escape=\\\nFROM reg.local/base/x\nRUN <<EOF\ntrue\nEOF\nUSER 1\n");
    }
}
