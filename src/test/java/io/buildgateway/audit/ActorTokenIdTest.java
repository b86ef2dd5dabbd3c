package io.buildgateway.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.RequestInfo;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** An event of a token-authenticated request names the token's id (token names are neither unique nor reserved). */
class ActorTokenIdTest {

    @Test
    void aTokensRequestAddsItsIdToTheDetails() {
        AuditRecord record = new AuditRecord("team.created", "team/x", Outcome.SUCCESS, Map.of("name", "x"),
                new RequestInfo("ci", "10.0.0.1", "r1", "5f0c6a54-0000-4000-8000-000000000001"));

        assertThat(CanonicalJson.write(AuditTrail.details(record)))
                .isEqualTo("{\"actorTokenId\":\"5f0c6a54-0000-4000-8000-000000000001\",\"name\":\"x\"}");
    }

    @Test
    void otherCallersDetailsAreUnchanged() {
        Map<String, Object> details = Map.of("name", "x");
        AuditRecord record = new AuditRecord("team.created", "team/x", Outcome.SUCCESS, details,
                new RequestInfo("oidc:alice", "10.0.0.1", "r1"));

        assertThat(AuditTrail.details(record)).isSameAs(details);
        assertThat(AuditTrail.details(new AuditRecord("a", "t", Outcome.SUCCESS, details, null))).isSameAs(details);
    }
}
