package io.buildgateway.egress;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * The egress proxy (docs/egress.md).
 *
 * @param listen {@code host:port} of the proxy's own listener; port 0 picks a free one (tests, where several
 *        gateways share a JVM), and {@link EgressProxy#listenPort()} tells the build side which
 * @param advertisedPort the port build steps use ({@code 127.0.0.1:<port>} inside the build host's namespace, where a
 *        forwarder leads to the listener); 0 = the listener's own port
 * @param connectTimeout connecting to a mirror
 * @param responseTimeout from the request to the mirror's response headers
 * @param idleTimeout reading a proxy client's request, and silence on a tunnel
 * @param maxConnections connections served at once; more are answered 503 at once
 * @param headTimeout a client's whole request head must arrive within this (408 after it), each read within it too
 * @param maxPinnedBody a pinned build's response is buffered to a file to check its digest first: at most this much
 * @param peerAddress where the other replicas reach this replica's listener to relay a build step's connection to
 *        the replica that holds its session: {@code host:port}, {@code [v6]:port}, or a host alone (the listener's
 *        port); blank = the listener's own address, loopback for a wildcard listener (replicas on one host only).
 *        The Helm chart sets the pod's IP (docs/egress.md, "Several replicas")
 */
@Validated
@ConfigurationProperties("gateway.egress")
public record EgressProperties(
        @NotBlank @DefaultValue("127.0.0.1:0") String listen,
        @Min(0) @Max(65535) @DefaultValue("0") int advertisedPort,
        @NotNull @DefaultValue("10s") Duration connectTimeout,
        @NotNull @DefaultValue("60s") Duration responseTimeout,
        @NotNull @DefaultValue("5m") Duration idleTimeout,
        @Min(1) @DefaultValue("64") int maxConnections,
        @NotNull @DefaultValue("2GB") DataSize maxPinnedBody,
        @DefaultValue("") String peerAddress,
        @NotNull @DefaultValue("30s") Duration headTimeout) {
}
