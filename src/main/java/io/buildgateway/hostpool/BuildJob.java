package io.buildgateway.hostpool;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What to build and where to push it.
 *
 * @param repository {@code <team>/<name>} under the registry
 * @param labels the caller's labels merged with the gateway's own
 * @param baseImage the image the final stage starts from, as the policy resolved it; null for {@code scratch}
 * @param allowedPulls every image reference the policy approved this build to pull (each stage's base,
 *        {@code COPY --from} images), as resolved by the policy. The daemon's registry token covers these
 *        repositories only (and of them only the team's own and the pullable prefixes), and after the build every
 *        image the daemon pulled must be among them.
 * @param egressProxy the build's egress proxy URL with its credentials ({@code http://build-<id>:<secret>@host:port},
 *        as the gateway's egress module handed it out; the host pool puts the host's own {@code egressAddress} in
 *        place of {@code host:port}), or null: the build's steps run with network {@code none}. A plain value, so
 *        that the host pool does not depend on the egress module (docs/architecture.md).
 */
public record BuildJob(String buildId, String host, Path context, String dockerfile, String target,
        Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, String repository, String tag,
        String team, String baseImage, List<String> allowedPulls, String egressProxy) {

    public BuildJob {
        allowedPulls = allowedPulls == null ? (baseImage == null ? List.of() : List.of(baseImage))
                : List.copyOf(allowedPulls);
    }

    /** A job without egress: its steps run with network none. */
    public BuildJob(String buildId, String host, Path context, String dockerfile, String target,
            Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, String repository, String tag,
            String team, String baseImage, List<String> allowedPulls) {
        this(buildId, host, context, dockerfile, target, buildArgs, labels, noCache, repository, tag, team, baseImage,
                allowedPulls, null);
    }

    /** A job whose only approved pull is its base image (until the caller passes the policy's full list). */
    public BuildJob(String buildId, String host, Path context, String dockerfile, String target,
            Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, String repository, String tag,
            String team, String baseImage) {
        this(buildId, host, context, dockerfile, target, buildArgs, labels, noCache, repository, tag, team, baseImage,
                null, null);
    }

    /**
     * The base image as the build pulled and used it: pinned by the digest the policy judged when the approved pulls
     * name it so ({@code baseImage@sha256:…}: the host's store holds it by that name, not by the tag), else
     * {@code baseImage}. The host is asked about this one; the tag stays the build's record of its base (the
     * inventory follows its moves).
     */
    public String pinnedBaseImage() {
        if (baseImage == null || baseImage.contains("@")) {
            return baseImage;
        }
        for (String pull : allowedPulls) {
            if (pull.startsWith(baseImage + "@sha256:")) {
                return pull;
            }
        }
        return baseImage;
    }

    /** The egress proxy's credentials never appear in a job's text. */
    @Override
    public String toString() {
        return "BuildJob[" + buildId + " " + repository + ":" + tag + " on " + host
                + (egressProxy == null ? "" : ", with egress") + "]";
    }
}
