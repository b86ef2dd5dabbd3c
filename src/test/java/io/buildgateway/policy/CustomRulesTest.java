package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Custom rules in CEL, declared in the policy files. */
class CustomRulesTest {

    private static final PolicyEvaluator POLICY = Policies.evaluator("""
            approvedImages: [reg.local/base/]
            customRules:
              - id: no-wget
                severity: warning
                description: Use curl, not wget
                expression: instruction.keyword == 'RUN' && instruction.arguments.contains('wget')
              - id: payments-needs-owner-label
                severity: error
                scope: build
                description: Payments images carry an owner label
                message: payments images need LABEL owner=...
                expression: >
                  request.team == 'payments' &&
                  !dockerfile.instructions.exists(i, i.keyword == 'LABEL' && i.arguments.startsWith('owner='))
              - id: no-debug-build-arg
                severity: error
                scope: build
                description: No DEBUG build arg in production builds
                expression: "'DEBUG' in request.buildArgs && request.buildArgs['DEBUG'] == 'true'"
              - id: final-stage-from-debian
                severity: info
                scope: build
                description: The final stage builds on the approved Debian
                expression: "!dockerfile.stages[dockerfile.target].base.startsWith('reg.local/base/debian')"
            rules:
              no-wget: error
            """);

    private static Evaluation eval(String dockerfile, String team, Map<String, String> args) {
        return POLICY.evaluate(new PolicyEvaluator.Request(dockerfile, args, null, team, team + "/app", null));
    }

    @Test
    void perInstructionRulesReportTheLineAndTakeSeverityOverrides() {
        Evaluation e = eval("FROM reg.local/base/debian:12\nRUN wget -q https://x/y\nUSER 1\n", "web", Map.of());

        assertThat(e.findings()).filteredOn(f -> f.rule().equals("no-wget")).singleElement().satisfies(f -> {
            assertThat(f.line()).isEqualTo(2);
            assertThat(f.severity()).isEqualTo(Finding.Severity.error);
            assertThat(f.message()).isEqualTo("Use curl, not wget");
        });
        assertThat(e.passed()).isFalse();
    }

    @Test
    void buildScopedRulesSeeTheRequestAndTheWholeDockerfile() {
        String noLabel = "FROM reg.local/base/debian:12\nUSER 1\n";
        String labelled = "FROM reg.local/base/debian:12\nLABEL owner=team-a\nUSER 1\n";

        assertThat(eval(noLabel, "payments", Map.of()).findings()).extracting(Finding::rule)
                .contains("payments-needs-owner-label");
        assertThat(eval(labelled, "payments", Map.of()).findings()).extracting(Finding::rule)
                .doesNotContain("payments-needs-owner-label");
        assertThat(eval(noLabel, "web", Map.of()).findings()).extracting(Finding::rule)
                .doesNotContain("payments-needs-owner-label");
        assertThat(eval(noLabel, "web", Map.of("DEBUG", "true")).findings()).extracting(Finding::rule)
                .contains("no-debug-build-arg");
        assertThat(eval("FROM reg.local/base/alpine:3\nUSER 1\n", "web", Map.of()).findings())
                .extracting(Finding::rule).contains("final-stage-from-debian");
    }

    @Test
    void customRulesAreListedWithThePolicy() {
        assertThat(POLICY.describe().rules()).extracting(PolicyEvaluator.RuleView::id)
                .contains("no-wget", "payments-needs-owner-label");
    }

    @Test
    void brokenExpressionsAndIdsRefuseThePolicy() {
        assertThatThrownBy(() -> Policies.document("""
                customRules:
                  - {id: bad, severity: error, description: d, expression: "instruction.keyword =="}
                """)).hasMessageContaining("customRules[0].expression");
        assertThatThrownBy(() -> Policies.document("""
                customRules:
                  - {id: not-bool, severity: error, description: d, expression: "instruction.line + 1"}
                """)).hasMessageContaining("expression");
        assertThatThrownBy(() -> Policies.document("""
                customRules:
                  - {id: sudo, severity: error, description: d, expression: "true"}
                """)).hasMessageContaining("unlike any other rule id");
        assertThatThrownBy(() -> Policies.document("""
                customRules:
                  - {id: x, severity: error, expression: "true"}
                """)).hasMessageContaining("needs 'description'");
    }

    @Test
    void evaluationErrorsFailClosed() {
        PolicyEvaluator p = Policies.evaluator("""
                approvedImages: [reg.local/base/]
                customRules:
                  - {id: missing-key, severity: error, description: d, scope: build,
                     expression: "request.buildArgs['NOPE'] == 'x'"}
                """);

        Evaluation e = p.evaluate("FROM reg.local/base/x:1\nUSER 1\n", Map.of(), null);

        assertThat(e.passed()).isFalse();
        assertThat(e.findings()).filteredOn(f -> f.rule().equals("missing-key")).singleElement()
                .satisfies(f -> assertThat(f.message()).contains("could not be evaluated"));
    }
}
