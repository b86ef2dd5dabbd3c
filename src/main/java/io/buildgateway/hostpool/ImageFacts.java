package io.buildgateway.hostpool;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An image's configuration as the daemon reports it, reduced to what verification and the inventory need.
 *
 * @param id the image id ({@code sha256:} of its configuration)
 * @param layers the uncompressed layer digests (diff ids), base first
 * @param user the configured user ({@code ""} when none, which means root)
 * @param env {@code NAME=value} entries
 * @param exposedPorts as the daemon lists them ({@code 80/tcp})
 */
public record ImageFacts(String id, List<String> layers, String user, List<String> env, Set<String> exposedPorts,
        List<String> entrypoint, List<String> cmd, Map<String, String> labels, String os, String architecture,
        List<String> repoDigests) {

    public ImageFacts {
        layers = List.copyOf(layers);
        env = List.copyOf(env);
        exposedPorts = Set.copyOf(exposedPorts);
        entrypoint = entrypoint == null ? null : List.copyOf(entrypoint);
        cmd = cmd == null ? null : List.copyOf(cmd);
        labels = Map.copyOf(labels);
        repoDigests = List.copyOf(repoDigests);
    }
}
