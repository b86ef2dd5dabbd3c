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
 * @param redact the build's redaction (the values of build args the policy keeps as digests): applied to every URL
 *        before it is recorded, audited or logged, since a step may put such a value in a URL's path or query
 */
public record EgressGrant(UUID buildId, String team, String policyDigest, List<String> allow,
        boolean refuseTunnels, Map<String, String> pinnedSha256ByUrl, Set<String> daemonFetches,
        java.util.function.UnaryOperator<String> redact) {

    /** A grant whose URLs are recorded as they are (a build with no value to keep back). */
    public EgressGrant(UUID buildId, String team, String policyDigest, List<String> allow, boolean refuseTunnels,
            Map<String, String> pinnedSha256ByUrl, Set<String> daemonFetches) {
        this(buildId, team, policyDigest, allow, refuseTunnels, pinnedSha256ByUrl, daemonFetches,
                java.util.function.UnaryOperator.identity());
    }

    public EgressGrant {
        redact = redact == null ? java.util.function.UnaryOperator.identity() : redact;
        allow = List.copyOf(allow);
        pinnedSha256ByUrl = pinnedSha256ByUrl == null ? null : Map.copyOf(pinnedSha256ByUrl);
        daemonFetches = daemonFetches == null ? Set.of() : Set.copyOf(daemonFetches);
    }

    /** Whether the build is pinned to an earlier build's fetches. */
    public boolean pinned() {
        return pinnedSha256ByUrl != null;
    }

    /**
     * The digest the pinned-to build recorded for this URL, or null: looked up as requested, then as recorded (the
     * earlier build recorded its URLs redacted; the same build arg is redacted the same way in both).
     */
    public String pinnedSha256(String url) {
        String sha = pinnedSha256ByUrl.get(url);
        return sha != null ? sha : pinnedSha256ByUrl.get(redact.apply(url));
    }
}
