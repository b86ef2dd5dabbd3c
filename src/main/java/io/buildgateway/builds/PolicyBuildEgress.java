package io.buildgateway.builds;

import io.buildgateway.egress.EgressGrant;
import io.buildgateway.policy.PolicyEvaluator;
import java.util.Set;
import java.util.UUID;
import org.springframework.stereotype.Component;

/**
 * A build's egress grant from the policy in force when it starts: the team's effective allowlist (global entries and
 * its own, never another team's) and whether it refuses CONNECT tunnels. Not pinned; no {@code ADD <url>} fetched by
 * the daemon (docs/egress.md: ADD of a URL stays refused).
 */
@Component
class PolicyBuildEgress implements BuildEgress {

    private final PolicyEvaluator policy;

    PolicyBuildEgress(PolicyEvaluator policy) {
        this.policy = policy;
    }

    @Override
    public EgressGrant grant(UUID buildId, String team) {
        PolicyEvaluator.EgressAllowance allowance = policy.egress(team);
        if (allowance.allow().isEmpty()) {
            return null;
        }
        return new EgressGrant(buildId, team, allowance.policyDigest(), allowance.allow(), allowance.refuseTunnels(),
                null, Set.of());
    }
}
