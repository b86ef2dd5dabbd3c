package io.buildgateway.hostpool;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Build hosts, the registry the gateway pushes to, and the limits of every build.
 *
 * @param hosts the build hosts (name, Docker endpoint {@code unix://} or {@code tcp://}, concurrent builds)
 * @param apiVersion Engine API version docker-java speaks (it does not negotiate; 1.41 is understood by Debian 12's
 *        dockerd 20.10 and by dockerd 26); BuildKit builds use {@value BuildHostVersions#BUILDKIT_API} on their own
 * @param healthInterval how often each host's {@code /info} is checked
 * @param registry where images are pushed, with the gateway's own credentials
 * @param build limits applied to every build
 */
@Validated
@ConfigurationProperties("gateway.hostpool")
public record HostPoolProperties(
        @Valid @DefaultValue List<Host> hosts,
        @NotBlank @DefaultValue("1.41") String apiVersion,
        @NotNull @DefaultValue("15s") Duration healthInterval,
        @Valid @NotNull Registry registry,
        @Valid @NotNull @DefaultValue Limits build) {

    /**
     * @param tlsCertPath for {@code tcp://} endpoints: a folder with ca.pem, cert.pem, key.pem (mutual TLS)
     * @param builder {@code buildkit} (the default: dockerd {@value BuildHostVersions#MIN_ENGINE} or newer, refused
     *        by health when older) or {@code classic}, the deprecated classic builder, an explicit fallback for a
     *        host with an older daemon (no heredocs, no BuildKit-only flags)
     * @param buildCacheMax the most BuildKit build cache (layers' build records, cache mounts, context uploads) the
     *        host keeps: when a build ends with more, the pool prunes it down to this, least recently used first
     *        (docs/operations.md); unset: no cap of the gateway's (the daemon's own {@code builder.gc} still applies)
     * @param buildCacheUnusedFor when the cache is pruned down to the cap, only records unused for at least this long
     *        go (the {@code unused-for} filter of {@code POST /build/prune}); unset or 0: any record not in use
     */
    public record Host(@NotBlank String name, @NotBlank String endpoint, @Min(1) @DefaultValue("2") int capacity,
            String tlsCertPath, @DefaultValue("buildkit") Builder builder, DataSize buildCacheMax,
            Duration buildCacheUnusedFor) {

        public Host {
            builder = builder == null ? Builder.BUILDKIT : builder;
        }
    }

    /** Which of the daemon's builders runs a host's builds. */
    public enum Builder {
        /** {@code POST /build?version=2}: BuildKit, the daemon's default builder since dockerd 23. */
        BUILDKIT,
        /** The classic builder ({@code version=1}), deprecated by Docker: only as an explicit per-host fallback. */
        CLASSIC
    }

    /**
     * The gateway's registry. The password is never printed.
     *
     * @param address {@code host[:port]}, as in image references
     * @param url the registry's HTTP API ({@code https://registry.internal}); when unset, {@code http://} for a
     *        loopback address (which the Docker daemon, too, reaches without TLS) and {@code https://} otherwise
     * @param tokens how the gateway mints the registry tokens it gives build daemons (docs/security.md); when unset,
     *        daemons pull and push with {@code username}/{@code password}
     */
    public record Registry(@NotBlank String address, String username, String password, String url,
            @Valid Tokens tokens) {

        public java.net.URI apiUrl() {
            if (url != null && !url.isBlank()) {
                return java.net.URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
            }
            String host = address.startsWith("[") ? address.substring(0, address.indexOf(']') + 1)
                    : address.contains(":") ? address.substring(0, address.indexOf(':')) : address;
            boolean loopback = host.startsWith("127.") || host.equals("localhost") || host.equals("[::1]");
            return java.net.URI.create((loopback ? "http://" : "https://") + address);
        }

        @Override
        public String toString() {
            return "Registry[address=" + address + ", url=" + url + ", username=" + username + ", password="
                    + (password == null ? "unset" : "***") + "]";
        }
    }

    /**
     * The registry's token authentication as the gateway takes part in it: the registry the build daemons reach
     * ({@code auth: token} in distribution's configuration) trusts {@code certificatePath} as its
     * {@code rootcertbundle}, and accepts tokens with this issuer and service. The gateway signs them with
     * {@code keyPath} (PKCS#8 PEM, RSA or EC P-256; readable by the gateway alone).
     *
     * @param pushTtl how long the token minted right before a push is valid
     * @param pullablePrefixes repositories (under the registry) that any team's build may pull, such as the approved
     *        bases; besides these a build may pull only its own team's repositories ({@code <team>/…}), whatever else
     *        the policy approved
     */
    public record Tokens(@NotNull Path keyPath, @NotNull Path certificatePath,
            @NotBlank @DefaultValue("build-gateway") String issuer,
            @NotBlank @DefaultValue("build-gateway-registry") String service,
            @NotNull @DefaultValue("10m") Duration pushTtl,
            @NotNull @DefaultValue("base/") List<String> pullablePrefixes) {
    }

    /**
     * @param memory memory limit of each build step container (swap is disabled by setting memswap to the same)
     * @param cpuset CPUs the build step containers may use (cpuset syntax, e.g. {@code 0} or {@code 0-1}); empty: all
     * @param cpuShares relative CPU weight of build containers; 0: daemon default
     * @param timeout a build running longer is stopped and fails
     */
    public record Limits(@NotNull @DefaultValue("2GB") DataSize memory, @DefaultValue("") String cpuset,
            @Min(0) @DefaultValue("512") int cpuShares, @NotNull @DefaultValue("30m") Duration timeout) {
    }
}
