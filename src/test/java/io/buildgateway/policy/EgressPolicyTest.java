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
