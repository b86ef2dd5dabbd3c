package io.buildgateway.builds;

import java.time.Instant;
import java.util.UUID;

/**
 * Published in the transaction that records a build as SUCCEEDED: the image is in the registry under
 * {@code imageDigest}. The inventory listens for it.
 *
 * @param baseImage the image the final stage starts from, as the policy resolved it (null for scratch)
 * @param rebuildOf the build this one rebuilt, or null
 */
public record BuildSucceeded(UUID buildId, String team, String repository, String tag, String imageDigest,
        String imageId, String baseImage, UUID rebuildOf, String requestedBy, Instant finishedAt) {
}
