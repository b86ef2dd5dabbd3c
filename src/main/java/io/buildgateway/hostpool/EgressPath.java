package io.buildgateway.hostpool;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How a build's steps reach the gateway's egress proxy (issue #14, docs/egress.md). Pure logic.
 *
 * <p>A step of a user-namespaced daemon cannot join the daemon's own network namespace (BuildKit's network mode
 * {@code host}): runc fails to mount {@code /sys} because the step's user namespace does not own that network
 * namespace. So the daemon's namespace has a bridge (scripts/env.sh: {@code --bip}) and a step with network runs in
 * BuildKit's network mode {@code default}, on that bridge, whose only neighbour is the egress forwarder; nothing in
 * the namespace routes further (no other interface, no NAT).
 *
 * <p>The proxy reaches the step as BuildKit's predefined build args ({@code HTTP_PROXY}, {@code HTTPS_PROXY},
 * {@code NO_PROXY} and their lower-case forms), which BuildKit passes to RUN steps' environment without writing them
 * into the image's configuration or history.
 */
final class EgressPath {

    /** BuildKit's network mode of a step that has the egress bridge: the daemon's default network. */
    static final String BUILDKIT_NETWORK_MODE = "default";
    /** How the build's record and provenance name the network of a build with egress. */
    static final String RECORDED_NETWORK_MODE = "egress-proxy";
    /** Predefined proxy build args, upper and lower case (tools read one or the other). */
    static final List<String> PROXY_ARGS = List.of("HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
            "https_proxy");
    /**
     * Nothing bypasses the proxy: an empty {@code NO_PROXY}. (A mirror may even be on an address a tool would treat
     * as local: the test mirrors are on the gateway host's loopback, which a step reaches only through the proxy.)
     */
    static final String NO_PROXY = "";

    private EgressPath() {
    }

    /**
     * The proxy URL as the host's steps reach it: the credentials of {@code proxyUrl}, the host and port of
     * {@code egressAddress} ({@code ip:port}).
     *
     * @throws IllegalArgumentException when either is not of that form
     */
    static String stepProxy(String proxyUrl, String egressAddress) {
        URI proxy = URI.create(proxyUrl);
        if (!"http".equals(proxy.getScheme()) || proxy.getRawUserInfo() == null) {
            throw new IllegalArgumentException("the egress proxy URL is not http://user:secret@host:port");
        }
        URI address = URI.create("http://" + egressAddress);
        if (address.getHost() == null || address.getPort() < 1 || !address.getRawPath().isEmpty()) {
            throw new IllegalArgumentException("egress address " + egressAddress + " is not ip:port");
        }
        try {
            return new URI("http", proxy.getRawUserInfo(), address.getHost(), address.getPort(), null, null, null)
                    .toASCIIString().replace("%25", "%");
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("the egress proxy URL cannot be rewritten", e);
        }
    }

    /** The build's own args with the proxy args over them (a caller's {@code HTTP_PROXY} never wins). */
    static Map<String, String> buildArgs(Map<String, String> buildArgs, String stepProxy) {
        Map<String, String> args = new LinkedHashMap<>(buildArgs);
        for (String name : PROXY_ARGS) {
            args.put(name, stepProxy);
        }
        args.put("NO_PROXY", NO_PROXY);
        args.put("no_proxy", NO_PROXY);
        return args;
    }
}
