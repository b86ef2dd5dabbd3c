package io.buildgateway.policy;

import java.util.List;
import java.util.Map;

/**
 * The {@code ADD <url>}s of the canonical Dockerfile a build runs, for the build side that fetches them through the
 * build's egress session before the daemon builds (docs/egress.md, "ADD <url>"), and the text with those ADDs
 * rewritten into COPYs of the fetched files ({@code dockerfile.RemoteAdds} says how ADD's meaning is kept).
 */
public final class RemoteSources {

    private RemoteSources() {
    }

    /**
     * One ADD with URL sources: its line in the canonical text, its URLs, its {@code --checksum} (or null), the file
     * names ADD gives them, and why it cannot be fetched and rewritten (null when it can).
     */
    public record Add(int line, List<String> urls, String checksum, List<String> names, String problem) {
    }

    /**
     * The ADDs with URL sources of a canonical Dockerfile, and the ONBUILD ADD triggers with one that fire in this
     * build (those of a stage a later stage builds FROM, not the target's), each at its ONBUILD line.
     */
    public static List<Add> find(String canonicalDockerfile, Map<String, String> buildArgs, String target) {
        return io.buildgateway.dockerfile.RemoteAdds.find(canonicalDockerfile, buildArgs, target).stream()
                .map(a -> new Add(a.line(), a.urls(), a.checksum(), a.names(), a.problem())).toList();
    }

    /**
     * The canonical text with the ADD (or ONBUILD ADD) at each line replaced by a COPY (or ONBUILD COPY) of these
     * context paths (one per URL).
     */
    public static String rewrite(String canonicalDockerfile, Map<Integer, List<String>> contextPaths) {
        return io.buildgateway.dockerfile.RemoteAdds.rewrite(canonicalDockerfile, contextPaths);
    }
}
