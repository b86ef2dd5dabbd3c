package io.buildgateway.builds;

import io.buildgateway.egress.EgressGrant;
import io.buildgateway.egress.EgressRecords;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.stereotype.Component;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * What a claimed build may fetch through the egress proxy, from what its row recorded at submission (the team's
 * allowlist, whether it refuses tunnels, the build it is pinned to): the {@link EgressGrant} the worker opens a
 * session with. Null for a build whose allowlist is empty: it runs with network none, as every build did before.
 */
@Component
class BuildEgress {

    private final EgressRecords records;
    private final JsonMapper json;

    BuildEgress(EgressRecords records, JsonMapper json) {
        this.records = records;
        this.json = json;
    }

    /** {@code redact}: the build's redaction, applied to every URL the session records (EgressGrant). */
    EgressGrant grantFor(Build build, Set<String> daemonFetches, java.util.function.UnaryOperator<String> redact) {
        List<String> allow = build.egressAllow == null ? List.of()
                : json.readValue(build.egressAllow, new TypeReference<List<String>>() { });
        if (allow.isEmpty()) {
            return null;
        }
        Map<String, String> pinned = build.pinFetchesFrom == null ? null : records.pinnedFrom(build.pinFetchesFrom);
        return new EgressGrant(build.id, build.team, build.policyDigest, allow, build.egressRefuseTunnels, pinned,
                daemonFetches, redact);
    }
}
