package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The policy's egress keys: global and per-team allowlists, egressTunnels, and strict parsing at load. */
class EgressPolicyTest {

    private static final String POLICY = """
            approvedImages: [reg.local/base/]
            egress:
              - "http://mirror.corp/debian/"
            teams:
              payments:
                egress: ["https://Maven.corp:443/repository/maven-public"]
                egressTunnels: refuse
              web:
                egress: ["http://npm.corp:8080/"]
              quiet:
                failOn: warning
            """;

    @Test
    void aTeamGetsTheGlobalEntriesAndItsOwnNeverAnotherTeams() {
        PolicyEvaluator p = Policies.evaluator(POLICY);
        assertThat(p.egress("payments").allow()).containsExactly("http://mirror.corp/debian/",
                "https://maven.corp/repository/maven-public/");
        assertThat(p.egress("web").allow()).containsExactly("http://mirror.corp/debian/", "http://npm.corp:8080/");
        assertThat(p.egress("quiet").allow()).containsExactly("http://mirror.corp/debian/");
        assertThat(p.egress("unknown").allow()).containsExactly("http://mirror.corp/debian/");
        assertThat(p.egress("payments").policyDigest()).startsWith("sha256:");
    }

    @Test
    void anAddOfAUrlNeedsTheTeamsOwnEffectiveAllowlist() {
        PolicyEvaluator p = Policies.evaluator(POLICY);
        String sum = " --checksum=sha256:" + "a".repeat(64);
        String jar = "ADD" + sum + " https://maven.corp/repository/maven-public/org/x/x-1.jar /opt/\nUSER 1\n";
        assertThat(addRefusals(p, "payments", jar)).isEmpty();
        // another team's entry never applies; the global entries do
        assertThat(addRefusals(p, "web", jar)).singleElement().asString()
                .contains("not in the egress allowlist of team web");
        assertThat(addRefusals(p, "web", "ADD" + sum + " http://mirror.corp/debian/x.deb /opt/\nUSER 1\n")).isEmpty();
        // a path that only starts like an entry, a dot segment, another scheme: refused
        assertThat(addRefusals(p, "payments", "ADD" + sum
                + " https://maven.corp/repository/maven-public-secret/x.jar /opt/\nUSER 1\n")).hasSize(1);
        assertThat(addRefusals(p, "web", "ADD" + sum + " http://mirror.corp/debian/../x.deb /opt/\nUSER 1\n"))
                .hasSize(1);
        assertThat(addRefusals(p, "web", "ADD" + sum + " https://mirror.corp/debian/x.deb /opt/\nUSER 1\n"))
                .hasSize(1);
        // no allowlist at all: every ADD of a URL is refused at submission
        assertThat(addRefusals(Policies.evaluator("approvedImages: [reg.local/base/]\n"), "payments", jar))
                .singleElement().asString().contains("it has none");
    }

    @Test
    void anOnbuildAddOfAUrlInThisFileIsJudgedByTheAllowlistWhereItFires() {
        PolicyEvaluator p = Policies.evaluator(POLICY);
        String sum = " --checksum=sha256:" + "a".repeat(64);
        String file = "FROM reg.local/base/debian:12 AS tools\nONBUILD ADD" + sum + " %s /opt/\nFROM tools\nUSER 1\n";
        java.util.function.BiFunction<String, String, List<Finding>> eval = (team, url) -> p.evaluate(
                new PolicyEvaluator.Request(file.formatted(url), java.util.Map.of(), null, team, team + "/app", null,
                        null)).findings().stream().filter(f -> f.severity() == Finding.Severity.error).toList();
        String jar = "https://maven.corp/repository/maven-public/org/x/x-1.jar";
        assertThat(eval.apply("payments", jar)).isEmpty();
        assertThat(eval.apply("web", jar)).extracting(Finding::rule, Finding::line)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("add-url-outside-egress", 2));
    }

    @Test
    void aBaseImagesOnbuildAddOfAUrlIsRefusedEvenWhenTheAllowlistAdmitsIt() {
        PolicyEvaluator p = Policies.evaluator(POLICY);
        String jar = "https://maven.corp/repository/maven-public/org/x/x-1.jar";
        List<Finding> errors = p.evaluate(new PolicyEvaluator.Request("FROM reg.local/base/onbuild:1\nUSER 1\n",
                java.util.Map.of(), null, "payments", "payments/app", null,
                ref -> List.of("ADD --checksum=sha256:" + "a".repeat(64) + " " + jar + " /opt/"))).findings().stream()
                .filter(f -> f.severity() == Finding.Severity.error).toList();
        assertThat(errors).singleElement().satisfies(f -> {
            assertThat(f.rule()).isEqualTo("base-image-triggers");
            assertThat(f.line()).isEqualTo(1);
            assertThat(f.message()).contains("base image 'reg.local/base/onbuild:1'").contains(jar)
                    .contains("cannot rewrite");
        });
        // A base trigger that adds a local file is no such case.
        assertThat(p.evaluate(new PolicyEvaluator.Request("FROM reg.local/base/onbuild:1\nUSER 1\n",
                java.util.Map.of(), null, "payments", "payments/app", null, ref -> List.of("COPY a /a")))
                .findings()).noneMatch(f -> f.rule().equals("base-image-triggers"));
    }

    private static List<String> addRefusals(PolicyEvaluator p, String team, String instructions) {
        return p.evaluate(new PolicyEvaluator.Request("FROM reg.local/base/debian:12\n" + instructions,
                java.util.Map.of(), null, team, team + "/app", null, null)).findings().stream()
                .filter(f -> f.rule().equals("add-url-outside-egress")).map(Finding::message).toList();
    }

    @Test
    void tunnelsAreAllowedUnlessTheTeamRefusesThem() {
        PolicyEvaluator p = Policies.evaluator(POLICY);
        assertThat(p.egress("payments").refuseTunnels()).isTrue();
        assertThat(p.egress("web").refuseTunnels()).isFalse();
        assertThat(p.egress("nobody").refuseTunnels()).isFalse();
    }

    @Test
    void withoutEgressKeysNoTeamMayFetchAnything() {
        PolicyEvaluator p = Policies.evaluator("approvedImages: [reg.local/base/]\n");
        assertThat(p.egress("payments").allow()).isEmpty();
    }

    @Test
    void aBadEntryIsALoadErrorThatNamesIt() {
        assertThatThrownBy(() -> Policies.document("egress: [\"http://mirror.corp/debian/../x\"]\n"))
                .isInstanceOf(PolicyDocument.InvalidPolicyException.class)
                .hasMessageContaining("egress[0]").hasMessageContaining("'..' segment");
        assertThatThrownBy(() -> Policies.document("teams:\n  a:\n    egress: [\"ftp://x/\"]\n"))
                .hasMessageContaining("teams.a.egress[0]").hasMessageContaining("http or https");
        assertThatThrownBy(() -> Policies.document("egress: [\"http://u:pw@mirror.corp/\"]\n"))
                .hasMessageContaining("userinfo").hasMessageNotContaining("pw");
        assertThatThrownBy(() -> Policies.document("egress: [\"http://mirror.corp/?q=1\"]\n"))
                .hasMessageContaining("query");
        assertThatThrownBy(() -> Policies.document("egress: \"http://mirror.corp/\"\n"))
                .hasMessageContaining("egress: must be a list");
        assertThatThrownBy(() -> Policies.document("egress: [42]\n"))
                .hasMessageContaining("egress[0]: must be a string");
    }

    @Test
    void egressTunnelsIsAllowOrRefuse() {
        assertThatThrownBy(() -> Policies.document("teams:\n  a:\n    egressTunnels: never\n"))
                .hasMessageContaining("teams.a.egressTunnels: must be allow or refuse");
        assertThatThrownBy(() -> Policies.document("teams:\n  a:\n    egressTunnels: false\n"))
                .hasMessageContaining("must be allow or refuse");
        assertThatThrownBy(() -> Policies.document("teams:\n  a:\n    egres: []\n"))
                .hasMessageContaining("unknown key 'egres'");
    }

    @Test
    void entriesAreKeptInNormalForm() {
        PolicyDocument doc = Policies.document("egress: [\"HTTP://x\"]\n".replace("HTTP", "http"));
        assertThat(doc.egressFor(null)).isEqualTo(List.of("http://x/"));
    }
}
