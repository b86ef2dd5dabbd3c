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
 */
public record BuildJob(String buildId, String host, Path context, String dockerfile, String target,
        Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, String repository, String tag,
        String team, String baseImage, List<String> allowedPulls) {

    public BuildJob {
        allowedPulls = allowedPulls == null ? (baseImage == null ? List.of() : List.of(baseImage))
                : List.copyOf(allowedPulls);
    }

    /** A job whose only approved pull is its base image (until the caller passes the policy's full list). */
    public BuildJob(String buildId, String host, Path context, String dockerfile, String target,
            Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, String repository, String tag,
            String team, String baseImage) {
        this(buildId, host, context, dockerfile, target, buildArgs, labels, noCache, repository, tag, team, baseImage,
                null);
    }

    @Override
    public String toString() {
        return "BuildJob[" + buildId + " " + repository + ":" + tag + " on " + host + "]";
    }
}
