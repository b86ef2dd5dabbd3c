package io.buildgateway.hostpool;

import java.nio.file.Path;
import java.util.Map;

/**
 * What to build and where to push it.
 *
 * @param repository {@code <team>/<name>} under the registry
 * @param labels the caller's labels merged with the gateway's own
 * @param baseImage the image the final stage starts from, as the policy resolved it; null for {@code scratch}
 */
public record BuildJob(String buildId, String host, Path context, String dockerfile, String target,
        Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, String repository, String tag,
        String team, String baseImage) {

    @Override
    public String toString() {
        return "BuildJob[" + buildId + " " + repository + ":" + tag + " on " + host + "]";
    }
}
