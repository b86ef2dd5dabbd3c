package io.buildgateway.egress;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * What one build may fetch through the egress proxy.
 *
 * @param buildId the build
 * @param team the build's team (named in refusal lines)
 * @param policyDigest the digest of the policy the allowlist came from (named in refusal lines)
 * @param allow the team's effective allowlist (global entries and its own), as URL prefixes
 * @param refuseTunnels the team set {@code egressTunnels: refuse}: no CONNECT at all
 * @param pinnedSha256ByUrl for a pinned build, the URLs the earlier build fetched with status 200 and their sha256
 *        (lower-case hex); {@code null} when the build is not pinned
 * @param daemonFetches the {@code ADD <url>}s the policy approved for this build
 */
public record EgressGrant(UUID buildId, String team, String policyDigest, List<String> allow,
        boolean refuseTunnels, Map<String, String> pinnedSha256ByUrl, Set<String> daemonFetches) {

    public EgressGrant {
        allow = List.copyOf(allow);
        pinnedSha256ByUrl = pinnedSha256ByUrl == null ? null : Map.copyOf(pinnedSha256ByUrl);
        daemonFetches = daemonFetches == null ? Set.of() : Set.copyOf(daemonFetches);
    }

    /** Whether the build is pinned to an earlier build's fetches. */
    public boolean pinned() {
        return pinnedSha256ByUrl != null;
    }
}
