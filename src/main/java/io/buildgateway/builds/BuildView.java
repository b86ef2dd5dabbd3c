package io.buildgateway.builds;

import io.buildgateway.policy.Finding;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The build resource of API.md. Build-arg values are shown only as digests unless the policy declares the name
 * public. Added to API.md's fields: {@code builtContextDigest}, the re-packed context the daemon received (the upload
 * with the gateway's canonical Dockerfile; null for rejected builds).
 */
public record BuildView(UUID id, String image, String tag, String team, BuildStatus status, String phase,
        String requestedBy, Instant requestedAt, Instant startedAt, Instant finishedAt, String host,
        String contextDigest, long contextSize, String dockerfile, String target, Map<String, String> buildArgs,
        Map<String, String> labels, boolean noCache, String policyDigest, List<Finding> findings, String imageDigest,
        String imageRef, String failureReason, UUID rebuildOf, String builtContextDigest) {
}
