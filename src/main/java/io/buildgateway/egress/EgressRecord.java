package io.buildgateway.egress;

import java.time.Instant;
import java.util.List;

/** What one build fetched, tunnelled and was refused through the egress proxy. */
public record EgressRecord(List<Fetch> fetches, List<Tunnel> tunnels, List<Refusal> refusals) {

    public EgressRecord {
        fetches = List.copyOf(fetches);
        tunnels = List.copyOf(tunnels);
        refusals = List.copyOf(refusals);
    }

    /** A plain-HTTP response the proxy passed: the URL (without userinfo), its status, size and body sha256. */
    public record Fetch(String url, int status, long size, String sha256, Instant at) {}

    /** A CONNECT tunnel the proxy opened, with the bytes it carried each way. */
    public record Tunnel(String host, int port, long bytesOut, long bytesIn, Instant at) {}

    /** A request the proxy refused, and why. */
    public record Refusal(String url, String reason, Instant at) {}
}
