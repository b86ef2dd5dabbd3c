package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.policy.ImagePolicy.VulnerabilitySeverity;
import io.buildgateway.policy.PolicyEvaluator.Evidence;
import java.time.LocalDate;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The policy's image and vulnerability sections, and judging image evidence with severities and waivers. */
class ImagePolicyTest {

    @Test
    void defaultsProtectTheBasesHardening() {
        ImagePolicy p = Policies.document("approvedImages: [reg.local/base/]\n").image();
        assertThat(p).isEqualTo(ImagePolicy.DEFAULT);
        assertThat(p.vulnerabilities().blocks(VulnerabilitySeverity.critical, true)).isTrue();
        assertThat(p.vulnerabilities().blocks(VulnerabilitySeverity.critical, false)).isFalse();
        assertThat(p.vulnerabilities().blocks(VulnerabilitySeverity.high, true)).isFalse();
    }

    @Test
    void sectionsAreParsedStrictly() {
        ImagePolicy p = Policies.document("""
                image:
                  protectedPaths:
                    - /etc/motd
                    - {path: /opt/agent/**, refuse: [delete]}
                  setuidAllowed: [/usr/bin/ping]
                  allowedPorts: [443]
                vulnerabilities:
                  failOn: high
                  onlyWithFix: false
                  allow:
                    - {id: CVE-2024-1, reason: r, approver: a, expires: 2027-01-01}
                """).image();
        assertThat(p.protectedPaths()).containsExactly(new ImagePolicy.ProtectedPath("/etc/motd", true, true),
                new ImagePolicy.ProtectedPath("/opt/agent/**", false, true));
        assertThat(p.allowedPorts()).containsExactly(443);
        assertThat(p.vulnerabilities().blocks(VulnerabilitySeverity.high, false)).isTrue();
        assertThat(p.vulnerabilities().allow().get(0).covers("GHSA-x", List.of("CVE-2024-1"), "pkg",
                LocalDate.of(2026, 11, 28))).isTrue();
        assertThat(p.vulnerabilities().allow().get(0).covers("CVE-2024-1", List.of(), "pkg",
                LocalDate.of(2027, 1, 2))).isFalse();

        for (String bad : List.of("image: {protectedPaths: [etc/x]}", "image: {allowedPorts: [70000]}",
                "image: {unknown: 1}", "vulnerabilities: {failOn: severe}",
                "vulnerabilities: {allow: [{id: CVE-1, reason: r, approver: a}]}",
                "image: {protectedPaths: [{path: /x, refuse: [chmod]}]}")) {
            assertThatThrownBy(() -> Policies.document(bad)).as(bad)
                    .isInstanceOf(PolicyDocument.InvalidPolicyException.class);
        }
    }

    @Test
    void globsCoverSubtreesAndSegments() {
        ImagePolicy.ProtectedPath tree = new ImagePolicy.ProtectedPath("/etc/ssl/**", true, true);
        assertThat(tree.covers("/etc/ssl")).isTrue();
        assertThat(tree.covers("/etc/ssl/certs/a.pem")).isTrue();
        assertThat(tree.covers("/etc/sslx")).isFalse();
        // A file name with a line break is still inside (java.util.regex's '.' stopped at it).
        assertThat(tree.covers("/etc/ssl/x\ny")).isTrue();
        assertThat(tree.covers("/etc/ssl/\r\u2028")).isTrue();
        assertThat(new ImagePolicy.ProtectedPath("/etc/sudoers*", true, true).covers("/etc/sudoers\n")).isTrue();
        assertThat(tree.under("/etc")).isTrue();
        assertThat(tree.under("/usr")).isFalse();
        ImagePolicy.ProtectedPath star = new ImagePolicy.ProtectedPath("/etc/sudoers*", true, true);
        assertThat(star.covers("/etc/sudoers.bak")).isTrue();
        assertThat(star.covers("/etc/sudoers.d/x")).isFalse();
    }

    @Test
    void imageEvidenceIsJudgedWithSeveritiesTeamsAndWaivers() {
        PolicyEvaluator p = Policies.evaluator("""
                approvedImages: [reg.local/base/]
                rules:
                  image-privileged-port: warning
                teams:
                  legacy:
                    rules:
                      image-base-lineage: off
                waivers:
                  - rule: layer-world-writable
                    team: payments
                    image: payments/app
                    reason: shared cache, SEC-12
                    approver: sec
                    expires: 2027-01-01
                """);
        List<Evidence> evidence = List.of(new Evidence(ImageRules.PRIVILEGED_PORT, "port 80", null),
                new Evidence(ImageRules.WORLD_WRITABLE, "/cache", null),
                new Evidence(ImageRules.BASE_LINEAGE, "scratch", null),
                new Evidence(ImageRules.VULNERABILITY, "CVE-1", "accepted by sec until 2027-01-01"));

        Evaluation payments = p.judge("payments", "payments/app", evidence);
        assertThat(payments.passed()).isFalse(); // the lineage error stands
        assertThat(payments.findings()).filteredOn(f -> Boolean.TRUE.equals(f.waived())).extracting(Finding::rule)
                .containsExactlyInAnyOrder(ImageRules.WORLD_WRITABLE, ImageRules.VULNERABILITY);
        assertThat(payments.findings()).filteredOn(f -> f.rule().equals(ImageRules.PRIVILEGED_PORT))
                .extracting(Finding::severity).containsExactly(Finding.Severity.warning);

        Evaluation legacy = p.judge("legacy", "legacy/app", evidence);
        assertThat(legacy.findings()).extracting(Finding::rule).doesNotContain(ImageRules.BASE_LINEAGE);
        assertThat(legacy.passed()).isFalse(); // world-writable is not waived for this team

        assertThat(p.judge("payments", "payments/app", evidence.subList(0, 2)).passed()).isTrue();
    }

    @Test
    void teamsChooseAutomaticRebuilds() {
        PolicyEvaluator p = Policies.evaluator("""
                teams:
                  payments: {autoRebuild: true}
                  lending: {failOn: warning}
                """);
        assertThat(p.autoRebuildTeams()).containsExactly("payments");
        assertThatThrownBy(() -> Policies.document("teams: {x: {autoRebuild: sometimes}}"))
                .hasMessageContaining("autoRebuild");
    }

    @Test
    void imageRulesAreInTheRegistryAndCanBeWaived() {
        assertThat(PolicyEvaluator.registry()).extracting(RuleInfo::id).contains(ImageRules.SETUID_ADDED,
                ImageRules.COMPLIANCE);
        Policies.document("""
                waivers:
                  - {rule: image-compliance, team: t, reason: r, approver: a, expires: 2027-01-01}
                """);
    }
}
