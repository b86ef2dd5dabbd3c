package io.buildgateway.builds;

import io.buildgateway.egress.EgressGrant;
import java.util.UUID;

/**
 * What a build may fetch through the egress proxy when it starts (issue #14, docs/egress.md): the team's effective
 * allowlist under the policy in force at that moment, so that a mirror removed from the policy is refused to every
 * build that starts after the change (the grant names the digest of the policy it came from).
 */
interface BuildEgress {

    /** The build's grant, or null when its team's effective allowlist is empty (the build runs with network none). */
    EgressGrant grant(UUID buildId, String team);
}
