package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A base the policy does not approve but lets through (a waiver of {@code unapproved-image}, or the rule off for a
 * team) is read and pinned as an approved one is, when the build's daemon would be granted its pull anyway (the
 * team's own images): its ONBUILD triggers are judged and the build names the digest read. A base the daemon would not
 * be granted (an address the Dockerfile chose) is never read. No registry: the lookups are maps.
 */
class GrantedBaseReadTest {

    private static final String D = "sha256:" + "7".repeat(64);
    private static final String TEAM_BASE = "reg.local/payments/tools:1";

    private static final PolicyEvaluator WAIVED = Policies.evaluator("""
            approvedImages: [reg.local/base/]
            waivers:
              - rule: unapproved-image
                team: payments
                image: payments/app
                reason: the team's own tools image, SEC-77
                approver: sec
                expires: 2027-01-01
            """);
    private static final PolicyEvaluator RULE_OFF = Policies.evaluator("""
            approvedImages: [reg.local/base/]
            teams:
              payments:
                rules:
                  unapproved-image: off
            """);

    /** The registry's answers, and which bases the daemon would be granted. */
    private static final class Reads implements PolicyEvaluator.BaseEnvironment {
        final List<String> asked = new ArrayList<>();
        final Set<String> granted;
        final List<String> triggers;

        Reads(Set<String> granted, List<String> triggers) {
            this.granted = granted;
            this.triggers = triggers;
        }

        List<String> triggers(String ref) {
            asked.add(ref);
            if (triggers == null) {
                throw new IllegalStateException("the registry has no image " + ref);
            }
            return triggers;
        }

        @Override
        public Set<String> apply(String ref) {
            return Set.of();
        }

        @Override
        public Map<String, String> values(String ref) {
            return Map.of("PATH", "/bin");
        }

        @Override
        public String digest(String ref) {
            return D;
        }

        @Override
        public boolean granted(String ref) {
            return granted.contains(ref);
        }
    }

    private static Evaluation evaluate(PolicyEvaluator policy, String dockerfile, Reads reads) {
        return policy.evaluate(new PolicyEvaluator.Request(dockerfile, Map.of(), null, "payments", "payments/app",
                null, reads::triggers, true, false).withBaseEmptyEnv(reads));
    }

    @Test
    void aWaivedBaseTheDaemonWouldPullIsReadPinnedAndItsTriggersJudged() {
        for (PolicyEvaluator policy : List.of(WAIVED, RULE_OFF)) {
            Reads reads = new Reads(Set.of(TEAM_BASE), List.of("ADD http://mirror.example/x.tgz /x"));
            Evaluation e = evaluate(policy, "FROM " + TEAM_BASE + "\nUSER 1000\n", reads);

            assertThat(reads.asked).containsExactly(TEAM_BASE);
            // the trigger is judged as the daemon would run it: a remote ADD is refused
            assertThat(e.passed()).isFalse();
            assertThat(e.findings()).filteredOn(f -> f.severity() == Finding.Severity.error && f.waived() == null)
                    .extracting(Finding::rule).contains("base-image-triggers");
        }
        Reads quiet = new Reads(Set.of(TEAM_BASE), List.of());
        Evaluation e = evaluate(WAIVED, "FROM " + TEAM_BASE + "\nUSER 1000\n", quiet);
        assertThat(e.passed()).isTrue();
        assertThat(e.canonicalDockerfile()).contains("FROM " + TEAM_BASE + "@" + D + "\n");
        assertThat(e.pulls()).containsExactly(TEAM_BASE + "@" + D);
        assertThat(e.baseDigest()).isEqualTo(D);
        // the bases among the pulls, known apart for the post-build check of each stage's FROM
        Evaluation copying = evaluate(WAIVED, "FROM " + TEAM_BASE + "\nCOPY --from=reg.local/base/x:1@sha256:"
                + "9".repeat(64) + " /a /a\nUSER 1000\n", new Reads(Set.of(TEAM_BASE), List.of()));
        assertThat(copying.basePulls()).containsExactly(TEAM_BASE + "@" + D);
        assertThat(copying.pulls()).hasSize(2);
        // one name as a base and as a copy source by another digest: the build's check could not tell them apart
        String other = "sha256:" + "9".repeat(64);
        Evaluation twoDigests = evaluate(WAIVED, "FROM " + TEAM_BASE + "\nCOPY --from=" + TEAM_BASE + "@" + other
                + " /a /a\nUSER 1000\n", new Reads(Set.of(TEAM_BASE), List.of()));
        assertThat(twoDigests.passed()).isFalse();
        assertThat(twoDigests.findings()).filteredOn(f -> f.rule().equals("dockerfile-canonical"))
                .singleElement().satisfies(f -> {
                    assertThat(f.line()).isEqualTo(2);
                    assertThat(f.message()).contains(TEAM_BASE + "@" + other, TEAM_BASE + "@" + D);
                });
        assertThat(evaluate(WAIVED, "FROM " + TEAM_BASE + "\nCOPY --from=" + TEAM_BASE + "@" + D + " /a /a\n"
                + "USER 1000\n", new Reads(Set.of(TEAM_BASE), List.of())).passed()).as("the same digest").isTrue();
    }

    @Test
    void aWaivedBaseThatCannotBeReadFailsClosed() {
        Reads missing = new Reads(Set.of(TEAM_BASE), null);
        Evaluation e = evaluate(WAIVED, "FROM " + TEAM_BASE + "\nUSER 1000\n", missing);

        assertThat(e.passed()).isFalse();
        assertThat(e.findings()).filteredOn(f -> f.severity() == Finding.Severity.error && f.waived() == null)
                .extracting(Finding::rule).containsExactly("base-image-triggers");
    }

    /** A base that refuses the build anyway is not read: a registry outage must not turn that 422 into a 503. */
    @Test
    void anUnapprovedBaseThePolicyDoesNotLetThroughIsNotRead() {
        PolicyEvaluator strict = Policies.evaluator("approvedImages: [reg.local/base/]\n");
        Reads reads = new Reads(Set.of(TEAM_BASE), List.of());
        Evaluation e = evaluate(strict, "FROM " + TEAM_BASE + "\nUSER 1000\n", reads);

        assertThat(reads.asked).isEmpty();
        assertThat(e.findings()).extracting(Finding::rule).contains("unapproved-image");
        assertThat(e.passed()).isFalse();

        // a waiver of another team, another image or one expired lets nothing through either
        for (String waiver : List.of("team: other\n    image: payments/app", "team: payments\n    image: payments/x")) {
            Reads r = new Reads(Set.of(TEAM_BASE), List.of());
            evaluate(Policies.evaluator("approvedImages: [reg.local/base/]\nwaivers:\n  - rule: unapproved-image\n    "
                    + waiver + "\n    reason: r\n    approver: a\n    expires: 2027-01-01\n"),
                    "FROM " + TEAM_BASE + "\nUSER 1000\n", r);
            assertThat(r.asked).as(waiver).isEmpty();
        }
        Reads expired = new Reads(Set.of(TEAM_BASE), List.of());
        evaluate(Policies.evaluator("approvedImages: [reg.local/base/]\nwaivers:\n  - rule: unapproved-image\n"
                + "    team: payments\n    reason: r\n    approver: a\n    expires: 2026-11-01\n"),
                "FROM " + TEAM_BASE + "\nUSER 1000\n", expired);
        assertThat(expired.asked).isEmpty();
    }

    @Test
    void aBaseLetThroughBelowTheThresholdOrByAWaiverOfItsLineIsRead() {
        for (String policy : List.of(
                "approvedImages: [reg.local/base/]\nrules:\n  unapproved-image: warning\n",
                "approvedImages: [reg.local/base/]\nteams:\n  payments:\n    failOn: warning\n    rules:\n"
                        + "      unapproved-image: info\n",
                "approvedImages: [reg.local/base/]\nwaivers:\n  - rule: unapproved-image\n    team: '*'\n"
                        + "    line: 1\n    reason: r\n    approver: a\n    expires: 2027-01-01\n")) {
            Reads reads = new Reads(Set.of(TEAM_BASE), List.of());
            Evaluation e = evaluate(Policies.evaluator(policy), "FROM " + TEAM_BASE + "\nUSER 1000\n", reads);
            assertThat(reads.asked).as(policy).containsExactly(TEAM_BASE);
            assertThat(e.pulls()).as(policy).containsExactly(TEAM_BASE + "@" + D);
        }
    }

    /** Approved, but the daemon would not be granted it (another team's repository): not read, refused at dispatch. */
    @Test
    void anApprovedBaseTheDaemonWouldNotBeGrantedIsNotRead() {
        PolicyEvaluator approving = Policies.evaluator("approvedImages: [reg.local/base/, reg.local/payments/]\n");
        Reads reads = new Reads(Set.of(), List.of());
        evaluate(approving, "FROM " + TEAM_BASE + "\nUSER 1000\n", reads);
        assertThat(reads.asked).isEmpty();
        Reads granted = new Reads(Set.of(TEAM_BASE), List.of());
        evaluate(approving, "FROM " + TEAM_BASE + "\nUSER 1000\n", granted);
        assertThat(granted.asked).containsExactly(TEAM_BASE);
    }

    @Test
    void aBaseTheDaemonWouldNotBeGrantedIsNeverRead() {
        Reads reads = new Reads(Set.of(), List.of("ADD http://mirror.example/x.tgz /x"));
        Evaluation e = evaluate(WAIVED, "FROM " + TEAM_BASE + "\nUSER 1000\n", reads);

        assertThat(reads.asked).isEmpty();
        assertThat(e.canonicalDockerfile()).contains("FROM " + TEAM_BASE + "\n");
        assertThat(e.pulls()).containsExactly(TEAM_BASE);
    }
}
