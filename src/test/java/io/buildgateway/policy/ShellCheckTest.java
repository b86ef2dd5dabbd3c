package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ShellCheck pass against the real shellcheck binary (Debian's package, installed by scripts/env.sh): which
 * line of the Dockerfile a finding lands on (continuations, dropped comment lines, flags, heredocs), the SHELL in
 * force, the ARG/ENV names in scope, and how the policy turns it on, maps severities, waives and fails closed.
 */
class ShellCheckTest {

    private static final String BASE = "approvedImages: [reg.local/base/]\n";
    private static final String ON = BASE + "shellcheck: {enabled: true}\n";

    @BeforeAll
    static void binaryIsInstalled() {
        assertThat(new ShellCheck("shellcheck", Duration.ofSeconds(5)).executable())
                .as("the shellcheck binary (apt-get install shellcheck; scripts/env.sh installs it)").isNotNull();
    }

    private static Evaluation evaluate(String policy, String dockerfile, Boolean shellcheck) {
        return Policies.evaluator(policy).evaluate(new PolicyEvaluator.Request(dockerfile, Map.of(), null, null,
                null, null, null, shellcheck));
    }

    private static List<Finding> sc(String policy, String dockerfile) {
        return evaluate(policy, dockerfile, null).findings().stream()
                .filter(f -> f.rule().startsWith("shellcheck")).toList();
    }

    private static List<String> at(List<Finding> findings) {
        return findings.stream().map(f -> f.rule() + "@" + f.line()).toList();
    }

    /**
     * Every ShellCheck process of the replica busy: the request is refused whole (503, audited, nothing recorded),
     * never judged with a "could not run" finding, which under a policy that asks for ShellCheck would have been a
     * rejection in the team's history for a moment of load (a review's finding, 2026-12-06).
     */
    @Test
    void aBusyShellCheckRefusesTheRequestInsteadOfJudgingIt() {
        PolicyEvaluator quick = new PolicyEvaluator(() -> Policies.document(ON), java.time.Clock.systemUTC(),
                new ShellCheck("shellcheck", Duration.ofMillis(300)));
        PolicyEvaluator.Request request = new PolicyEvaluator.Request("FROM reg.local/base/alpine:3.20\n"
                + "RUN echo \"$undefined\"\n", Map.of(), null, null, null, null, null, null);
        int permits = ShellCheck.RUNNING.drainPermits();
        try {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> quick.evaluate(request))
                    .isInstanceOfSatisfying(io.buildgateway.shared.Problem.class, p -> {
                        assertThat(p.status()).isEqualTo(503);
                        assertThat(p.typeName()).isEqualTo("shellcheck-unavailable");
                        assertThat(p.isAuditedAsRefusal()).isTrue();
                        assertThat(p.retryAfterSeconds()).isPresent();
                    });
        } finally {
            ShellCheck.RUNNING.release(permits);
        }
        assertThat(quick.evaluate(request).findings()).extracting(Finding::rule).contains("shellcheck-SC2154");
    }

    @Test
    void aFindingLandsOnTheLineOfItsCommandAcrossContinuationsAndDroppedComments() {
        List<Finding> f = sc(ON, """
                FROM reg.local/base/alpine:3.20
                RUN set -e; \\
                    # the builder drops this line
                
                    mkdir -p /srv \\
                    && echo "$undefined_one"
                RUN echo "$undefined_two"
                """);
        assertThat(at(f)).containsExactly("shellcheck-SC2154@6", "shellcheck-SC2154@7");
        assertThat(f.get(0).message()).startsWith("SC2154 (warning, column 14): undefined_one is referenced");
        assertThat(f.get(0).severity()).isEqualTo(Finding.Severity.warning);
        assertThat(f.get(0).instruction()).isEqualTo("RUN");
    }

    @Test
    void flagsAreBlankedSoColumnsAreTheDockerfilesOwn() {
        List<Finding> f = sc(ON, """
                FROM reg.local/base/alpine:3.20
                RUN --mount=type=cache,target=/var/cache/apk --network=none echo "$undefined_m"
                """);
        assertThat(at(f)).containsExactly("shellcheck-SC2154@2");
        assertThat(f.get(0).message()).contains("column 67");
    }

    @Test
    void argAndEnvNamesInScopeAreKnownVariablesButNotThoseOfAnotherStage() {
        List<Finding> f = sc(ON, """
                FROM reg.local/base/alpine:3.20 AS build
                ARG version=1.2
                ENV home_dir=/srv other=1
                RUN echo "$version" "$home_dir" "$other" "$http_proxy"
                FROM reg.local/base/alpine:3.20
                RUN echo "$version"
                FROM build
                RUN echo "$version" "$home_dir"
                """);
        assertThat(at(f)).containsExactly("shellcheck-SC2154@6");
    }

    @Test
    void theStagesShellDecidesTheDialectAndOtherShellsAreSkipped() {
        String run = "RUN if [[ \"$HOME\" == /root ]]; then echo root; fi\n";
        assertThat(sc(ON, "FROM reg.local/base/alpine:3.20\n" + run)).extracting(Finding::rule)
                .containsExactly("shellcheck-SC3010");
        assertThat(sc(ON, "FROM reg.local/base/alpine:3.20\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n"
                + run)).isEmpty();
        assertThat(sc(ON, "FROM reg.local/base/alpine:3.20\nSHELL [\"pwsh\", \"-Command\"]\nRUN echo $undefined\n"))
                .isEmpty();
        // A stage built FROM another keeps its SHELL.
        assertThat(sc(ON, "FROM reg.local/base/alpine:3.20 AS b\nSHELL [\"/bin/bash\", \"-c\"]\nFROM b\n" + run))
                .isEmpty();
        // Exec form is not a shell script.
        assertThat(sc(ON, "FROM reg.local/base/alpine:3.20\nRUN [\"sh\", \"-c\", \"echo $undefined\"]\n")).isEmpty();
    }

    @Test
    void heredocBodiesAreCheckedAtTheirOwnLines() {
        List<Finding> f = sc(ON, """
                FROM reg.local/base/alpine:3.20
                RUN <<EOF
                set -e
                echo "$undefined_h"
                EOF
                RUN bash -e <<'EOT'
                if [[ -n "$HOME" ]]; then echo "$undefined_b"; fi
                EOT
                RUN cat <<EOF >/etc/motd
                hello $undefined_c
                EOF
                RUN <<EOF
                #!/usr/bin/env python3
                print("$not_shell")
                EOF
                RUN <<EOF
                #!/bin/bash
                [[ -n "$HOME" ]] && echo "$undefined_d"
                EOF
                """);
        assertThat(at(f)).containsExactly("shellcheck-SC2154@4", "shellcheck-SC2154@7", "shellcheck-SC2154@10",
                "shellcheck-SC2154@18");
    }

    @Test
    void aSourcedFileIsNotFollowedAndSc1090IsLeftOutAsHadolintDoes() {
        assertThat(sc(ON, "FROM reg.local/base/alpine:3.20\nARG profile=/etc/profile\nRUN . \"$profile\"\n"))
                .extracting(Finding::rule).doesNotContain("shellcheck-SC1090");
    }

    @Test
    void onbuildRunIsCheckedAtItsLine() {
        assertThat(at(sc(ON, "FROM reg.local/base/alpine:3.20\nONBUILD RUN echo \"$undefined_o\"\n")))
                .containsExactly("shellcheck-SC2154@2");
    }

    @Test
    void aBacktickEscapeContinuesLikeABackslash() {
        List<Finding> f = sc(ON, "# escape=`\nFROM reg.local/base/alpine:3.20\nRUN mkdir -p /srv && `\n"
                + "    echo \"$undefined_e\"\n");
        assertThat(at(f)).containsExactly("shellcheck-SC2154@4");
    }

    @Test
    void offInTheBuildGateUnlessThePolicyTurnsItOnAndOnWhenLintAsks() {
        String dockerfile = "FROM reg.local/base/alpine:3.20\nRUN echo \"$undefined_x\"\n";
        assertThat(sc(BASE, dockerfile)).isEmpty();
        assertThat(evaluate(BASE, dockerfile, true).findings()).extracting(Finding::rule)
                .contains("shellcheck-SC2154");
        assertThat(evaluate(ON, dockerfile, false).findings()).extracting(Finding::rule)
                .doesNotContain("shellcheck-SC2154");
    }

    @Test
    void scCodesAreSeverityMappedSwitchedOffAndWaivedLikeAnyRule() {
        String policy = ON + """
                failOn: error
                rules:
                  shellcheck-SC2154: error
                  shellcheck-SC2086: off
                teams:
                  web:
                    rules:
                      shellcheck-SC2154: info
                waivers:
                  - rule: shellcheck-SC2154
                    team: ops
                    line: 3
                    reason: set by the base image's entrypoint
                    approver: sec@example.com
                    expires: 2027-01-31
                """;
        String dockerfile = "FROM reg.local/base/alpine:3.20\nRUN echo $undefined_a\nRUN echo $undefined_b\n";
        Evaluation anyone = evaluate(policy, dockerfile, null);
        assertThat(anyone.findings()).filteredOn(f -> f.rule().startsWith("shellcheck"))
                .extracting(f -> f.rule() + "@" + f.line() + ":" + f.severity() + (f.waived() == null ? "" : ":waived"))
                .containsExactly("shellcheck-SC2154@2:error", "shellcheck-SC2154@3:error");
        assertThat(anyone.passed()).isFalse();
        Evaluation web = Policies.evaluator(policy).evaluate(new PolicyEvaluator.Request(dockerfile, Map.of(), null,
                "web", null, null, null, null));
        assertThat(web.findings()).filteredOn(f -> f.rule().startsWith("shellcheck")).extracting(Finding::severity)
                .containsOnly(Finding.Severity.info);
        Evaluation ops = Policies.evaluator(policy).evaluate(new PolicyEvaluator.Request(dockerfile, Map.of(), null,
                "ops", null, null, null, null));
        assertThat(ops.findings()).filteredOn(f -> f.rule().startsWith("shellcheck"))
                .extracting(f -> f.line() + ":" + f.waived()).containsExactly("2:null", "3:true");
    }

    @Test
    void aMissingBinaryFailsClosedInTheGateAndIsAnErrorWhenLintAsks() {
        PolicyDocument doc = Policies.document(ON);
        PolicyEvaluator missing = new PolicyEvaluator(() -> doc, Policies.NOV_2026,
                new ShellCheck("/nonexistent/shellcheck", Duration.ofSeconds(5)));
        String dockerfile = "FROM reg.local/base/alpine:3.20\nRUN true\n";
        Evaluation gate = missing.evaluate(dockerfile, Map.of(), null);
        assertThat(gate.passed()).isFalse();
        assertThat(gate.findings()).filteredOn(f -> f.rule().equals("shellcheck")).singleElement()
                .satisfies(f -> {
                    assertThat(f.severity()).isEqualTo(Finding.Severity.error);
                    assertThat(f.message()).contains("is not installed");
                });
        assertThatThrownBy(() -> missing.evaluate(new PolicyEvaluator.Request(dockerfile, Map.of(), null, null, null,
                null, null, true))).isInstanceOf(ShellCheck.Unavailable.class).hasMessageContaining("not installed");
    }

    @Test
    void thePolicyKeyIsValidatedStrictly() {
        assertThatThrownBy(() -> Policies.document(BASE + "shellcheck: {enabled: please}\n"))
                .isInstanceOf(PolicyDocument.InvalidPolicyException.class).hasMessageContaining("shellcheck.enabled");
        assertThatThrownBy(() -> Policies.document(BASE + "shellcheck: {enabled: true, severity: {SC2086: info}}\n"))
                .isInstanceOf(PolicyDocument.InvalidPolicyException.class).hasMessageContaining("unknown key 'severity'");
        assertThatThrownBy(() -> Policies.document(BASE + "rules: {shellcheck-SC20: info}\n"))
                .isInstanceOf(PolicyDocument.InvalidPolicyException.class).hasMessageContaining("unknown rule");
        assertThatThrownBy(() -> Policies.document(BASE + "shellcheck: true\n"))
                .isInstanceOf(PolicyDocument.InvalidPolicyException.class).hasMessageContaining("mapping");
    }

    @Test
    void sarifCarriesTheScRulesAndTheirLines() {
        Evaluation e = evaluate(ON, "FROM reg.local/base/alpine:3.20\nRUN true\nRUN echo \"$undefined_s\"\n", null);
        Map<String, Object> sarif = Sarif.of(e, "Dockerfile");
        String text = sarif.toString();
        assertThat(text).contains("ruleId=shellcheck-SC2154", "startLine=3",
                "helpUri=https://www.shellcheck.net/wiki/SC2154");
    }
}
