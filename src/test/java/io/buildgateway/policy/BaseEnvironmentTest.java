package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A build's evaluation knows each approved base's environment (read with its triggers: {@link
 * PolicyEvaluator.BaseEnvironment}): a stage built on it starts with the base's Env, as BuildKit's does, so a word
 * with the base's variables is judged by its value instead of as unknown. No registry: the lookup is a map here.
 */
class BaseEnvironmentTest {

    private static final String REF = "reg.local/base/notebook:1@sha256:" + "a".repeat(64);
    private static final PolicyEvaluator POLICY = Policies.evaluator("approvedImages: [reg.local/base/]\n");

    private static List<String> findings(String dockerfile, Map<String, String> env) {
        PolicyEvaluator.BaseEnvironment lookup = new PolicyEvaluator.BaseEnvironment() {
            @Override
            public Set<String> apply(String ref) {
                return Set.of();
            }

            @Override
            public Map<String, String> values(String ref) {
                return ref.equals(REF) ? env : null;
            }

            @Override
            public boolean granted(String ref) {
                return true; // the build's daemon would pull it
            }
        };
        return POLICY.evaluate(new PolicyEvaluator.Request(dockerfile, Map.of(), null, "payments", "payments/app",
                null, ref -> List.of(), true, null).withBaseEmptyEnv(lookup)).findings().stream()
                .filter(f -> f.rule().startsWith("final-user") || f.rule().equals("expose-ssh"))
                .map(f -> f.rule() + ":" + f.severity()).toList();
    }

    private static final Map<String, String> NOTEBOOK = Map.of("PATH", "/opt/conda/bin:/usr/bin", "NB_UID", "1000",
            "SSH_PORT", "22", "ROOT_UID", "0");

    @Test
    void aUserOrPortFromTheBasesEnvironmentIsJudgedByItsValue() {
        assertThat(findings("FROM " + REF + "\nUSER $NB_UID\n", NOTEBOOK)).isEmpty();
        assertThat(findings("FROM " + REF + "\nUSER ${ROOT_UID}:${NB_UID}\n", NOTEBOOK))
                .containsExactly("final-user-root:error");
        assertThat(findings("FROM " + REF + "\nUSER ${PATH:+0:}x\n", NOTEBOOK)).containsExactly("final-user-root:error");
        assertThat(findings("FROM " + REF + "\nEXPOSE $SSH_PORT\nUSER 1\n", NOTEBOOK))
                .containsExactly("expose-ssh:error");
        // a name the base does not set is unset, as BuildKit reads it: ${X:-1000} is 1000
        assertThat(findings("FROM " + REF + "\nUSER ${NOT_SET:-1000}\n", NOTEBOOK)).isEmpty();
        // an ARG that gets a value overrides the base's ENV of its name (BuildKit's dispatchArg; checked on dockerd
        // 26 for a file's own ENV and the base's PATH: a reviewer's find); one without a value keeps it
        assertThat(findings("FROM " + REF + "\nARG NB_UID=0\nUSER $NB_UID\n", NOTEBOOK))
                .containsExactly("final-user-root:error");
        assertThat(findings("FROM " + REF + "\nARG NB_UID\nUSER $NB_UID\n", NOTEBOOK)).isEmpty();
        // through a stage built on the base
        assertThat(findings("FROM " + REF + " AS a\nFROM a\nUSER $NB_UID\n", NOTEBOOK)).isEmpty();
    }

    @Test
    void anArgAfterAnEnvOfItsNameWinsAndAStageBuiltOnAnotherSeesItsArgs() {
        // dockerd 26 (by hand): ENV U=1000, ARG U=0, LABEL u=$U labels 0; FROM that stage, ARG V=7 there: v=7, and
        // U is the ENV's 1000 again
        assertThat(findings("FROM " + REF + "\nENV U=1000\nARG U=0\nUSER $U\n", NOTEBOOK))
                .containsExactly("final-user-root:error");
        assertThat(findings("FROM " + REF + "\nARG U=0\nENV U=1000\nUSER $U\n", NOTEBOOK)).isEmpty();
        assertThat(findings("FROM " + REF + " AS a\nARG V=0\nFROM a\nUSER ${V:-1000}\n", NOTEBOOK))
                .containsExactly("final-user-root:error");
        assertThat(findings("FROM " + REF + " AS a\nENV U=1000\nARG U=0\nFROM a\nUSER $U\n", NOTEBOOK)).isEmpty();
    }

    @Test
    void withoutTheBasesEnvironmentTheWordsStayUnknown() {
        // no values (an index whose images differ, or a lint): judged by its worst case, as before
        assertThat(findings("FROM " + REF + "\nUSER $NB_UID\n", null)).containsExactly("final-user-unresolved:warning");
        assertThat(findings("FROM " + REF + "\nEXPOSE $SSH_PORT\nUSER 1\n", null)).isEmpty();
    }

    @Test
    void aBaseWithoutPathGetsTheBuildersDefault() {
        assertThat(findings("FROM " + REF + "\nUSER ${PATH:+0:}x\n", Map.of("NB_UID", "1000")))
                .containsExactly("final-user-root:error");
    }
}
