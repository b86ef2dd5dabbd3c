package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The policy file: severities, teams, the threshold, waivers and their expiry, and strict validation. */
class PolicyAsCodeTest {

    private static final String ROOT_USER = "FROM reg.local/base/x:1\nRUN apt-get install -y curl\nUSER root\n";

    @Test
    void severitiesCanBeOverriddenOrSwitchedOff() {
        PolicyEvaluator p = Policies.evaluator("""
                approvedImages: [reg.local/base/]
                rules:
                  final-user-root: warning
                  apt-unpinned: off
                """);

        Evaluation e = p.evaluate(ROOT_USER, Map.of(), null);

        assertThat(e.passed()).isTrue();
        assertThat(e.findings()).extracting(Finding::rule).contains("final-user-root").doesNotContain("apt-unpinned");
        assertThat(e.findings()).filteredOn(f -> f.rule().equals("final-user-root"))
                .extracting(Finding::severity).containsOnly(Finding.Severity.warning);
    }

    @Test
    void teamsCanHaveTheirOwnThresholdAndSeverities() {
        PolicyEvaluator p = Policies.evaluator("""
                approvedImages: [reg.local/base/]
                teams:
                  payments:
                    failOn: warning
                  sandbox:
                    rules:
                      final-user-root: info
                """);
        String unpinned = "FROM reg.local/base/x:1\nRUN apt-get install -y curl\nUSER 1\n";

        assertThat(p.evaluate(req(unpinned, "other")).passed()).isTrue();
        assertThat(p.evaluate(req(unpinned, "payments")).passed()).isFalse();
        assertThat(p.evaluate(req(ROOT_USER, "sandbox")).passed()).isTrue();
        assertThat(p.evaluate(req(ROOT_USER, "other")).passed()).isFalse();
    }

    @Test
    void waiversMarkFindingsAndStopApplyingWhenExpired() {
        PolicyEvaluator p = Policies.evaluator("""
                approvedImages: [reg.local/base/]
                waivers:
                  - rule: final-user-root
                    team: payments
                    image: payments/legacy
                    line: 3
                    reason: vendor image needs root until SEC-1234
                    approver: alice@bank.example
                    expires: 2026-12-31
                  - rule: final-user-root
                    team: lending
                    reason: expired exception
                    approver: bob@bank.example
                    expires: 2026-11-01
                """);

        Evaluation waived = p.evaluate(new PolicyEvaluator.Request(ROOT_USER, Map.of(), null, "payments",
                "payments/legacy", null));
        Evaluation otherImage = p.evaluate(new PolicyEvaluator.Request(ROOT_USER, Map.of(), null, "payments",
                "payments/new", null));
        Evaluation expired = p.evaluate(new PolicyEvaluator.Request(ROOT_USER, Map.of(), null, "lending",
                "lending/app", null));

        assertThat(waived.passed()).isTrue();
        assertThat(waived.findings()).filteredOn(f -> f.rule().equals("final-user-root"))
                .singleElement().satisfies(f -> assertThat(f.waived()).isTrue());
        assertThat(otherImage.passed()).isFalse();
        assertThat(expired.passed()).isFalse();
        assertThat(expired.findings()).allSatisfy(f -> assertThat(f.waived()).isNull());
    }

    @Test
    void inlineIgnoreCommentsAreReportedNotObeyed() {
        PolicyEvaluator p = Policies.evaluator("approvedImages: [reg.local/base/]\n");

        Evaluation e = p.evaluate("# check=skip=all\nFROM reg.local/base/x:1\n# hadolint ignore=DL3002\nUSER root\n",
                Map.of(), null);

        assertThat(e.passed()).isFalse();
        assertThat(e.findings()).extracting(Finding::rule).contains("final-user-root", "inline-ignore-comment");
    }

    @Test
    void invalidPoliciesAreRefusedWithTheReason() {
        assertThatThrownBy(() -> Policies.document("approvedImages: [x/]\nfailOnn: error\n"))
                .hasMessageContaining("unknown key 'failOnn'");
        assertThatThrownBy(() -> Policies.document("rules:\n  no-such-rule: error\n"))
                .hasMessageContaining("unknown rule 'no-such-rule'");
        assertThatThrownBy(() -> Policies.document("rules:\n  sudo: fatal\n"))
                .hasMessageContaining("error, warning or info");
        assertThatThrownBy(() -> Policies.document("waivers:\n  - rule: sudo\n    team: a\n    reason: r\n"
                + "    expires: 2027-01-01\n")).hasMessageContaining("needs 'approver'");
        assertThatThrownBy(() -> Policies.document("approvedImages: !!java.net.URL [x]\n"))
                .hasMessageContaining("not valid YAML");
        assertThatThrownBy(() -> Policies.document("a: 1\na: 2\n")).hasMessageContaining("not valid YAML");
    }

    @Test
    void publicBuildArgsAreDeclaredGloballyAndPerTeamAndOthersAreShownAsDigests() {
        PolicyEvaluator p = Policies.evaluator("publicBuildArgs: [VERSION]\nteams:\n  payments:\n"
                + "    publicBuildArgs: [MODE]\n");
        Map<String, String> args = new java.util.LinkedHashMap<>();
        args.put("VERSION", "1.2.3");
        args.put("MODE", "test");
        args.put("DB_PASS", "hunter2");

        assertThat(p.shownBuildArgs("payments", args)).containsExactly(Map.entry("VERSION", "1.2.3"),
                Map.entry("MODE", "test"), Map.entry("DB_PASS",
                        "sha256:f52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf526a3f6c7"));
        assertThat(p.shownBuildArgs("lending", args).get("MODE")).isEqualTo(PolicyEvaluator.valueDigest("test"));
        assertThat(p.shownBuildArgs(null, args).get("VERSION")).isEqualTo("1.2.3");
        assertThat(p.isPublicBuildArg("payments", "MODE")).isTrue();
        assertThat(p.isPublicBuildArg("lending", "MODE")).isFalse();
        // Nothing is public unless declared
        assertThat(Policies.evaluator("approvedImages: [x/]\n").shownBuildArgs("payments", args).values())
                .allMatch(v -> v.matches("sha256:[0-9a-f]{64}"));
    }

    @Test
    void publicBuildArgsAreValidatedStrictly() {
        assertThatThrownBy(() -> Policies.document("publicBuildArgs: [DB_PASSWORD]\n"))
                .hasMessageContaining("publicBuildArgs").hasMessageContaining("looks like a secret");
        assertThatThrownBy(() -> Policies.document("teams:\n  a:\n    publicBuildArgs: [API_TOKEN]\n"))
                .hasMessageContaining("teams.a.publicBuildArgs").hasMessageContaining("looks like a secret");
        assertThatThrownBy(() -> Policies.document("publicBuildArgs: [\"A B\"]\n"))
                .hasMessageContaining("is not a build-arg name");
        assertThatThrownBy(() -> Policies.document("publicBuildArgs: [1]\n")).hasMessageContaining("must be a string");
        assertThatThrownBy(() -> Policies.document("publicBuildArgs: VERSION\n")).hasMessageContaining("must be a list");
        assertThatThrownBy(() -> Policies.document("teams:\n  a:\n    publicBuildArg: [X]\n"))
                .hasMessageContaining("unknown key 'publicBuildArg'");
    }

    @Test
    void theDigestCoversEveryFileAndChangesWithThem() {
        PolicyDocument a = Policies.document("approvedImages: [reg.local/base/]\n");
        PolicyDocument b = Policies.document("approvedImages: [reg.local/base/]\n\n");

        assertThat(a.digest()).matches("sha256:[0-9a-f]{64}").isNotEqualTo(b.digest());
        assertThat(a.source()).contains("# file: policy.yaml").contains("reg.local/base/");
    }

    @Test
    void theShippedPolicyLoadsAndPassesAnOrdinaryDockerfile() {
        PolicyDocument shipped = PolicyStore.load(java.nio.file.Path.of("config/policy"), List.of());
        PolicyEvaluator p = new PolicyEvaluator(() -> shipped, Policies.NOV_2026);

        Evaluation e = p.evaluate("FROM 127.0.0.1:5000/base/debian:12\nRUN apt-get update && apt-get install -y "
                + "curl\nCOPY app /app\nUSER 1000\nCMD [\"/app\"]\n", Map.of(), null);

        assertThat(e.passed()).isTrue();
        assertThat(e.findings()).extracting(Finding::severity).doesNotContain(Finding.Severity.error);
    }

    @Test
    void sarifCarriesRulesResultsAndSuppressions() {
        PolicyEvaluator p = Policies.evaluator("""
                approvedImages: [reg.local/base/]
                waivers:
                  - {rule: sudo, team: "*", reason: r, approver: a, expires: 2030-01-01}
                """);
        Evaluation e = p.evaluate("FROM reg.local/base/x:1\nRUN sudo true\nUSER root\n", Map.of(), null);

        Map<String, Object> sarif = Sarif.of(e, "Dockerfile");

        assertThat(sarif).containsEntry("version", "2.1.0");
        @SuppressWarnings("unchecked")
        Map<String, Object> run = ((List<Map<String, Object>>) sarif.get("runs")).get(0);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> results = (List<Map<String, Object>>) run.get("results");
        assertThat(results).anySatisfy(r -> {
            assertThat(r).containsEntry("ruleId", "sudo").containsKey("suppressions");
        });
        assertThat(results).anySatisfy(r -> assertThat(r).containsEntry("ruleId", "final-user-root")
                .containsEntry("level", "error"));
        assertThat(run.get("properties").toString()).contains(e.policyDigest());
    }

    private static PolicyEvaluator.Request req(String dockerfile, String team) {
        return new PolicyEvaluator.Request(dockerfile, Map.of(), null, team, team + "/app", null);
    }
}
