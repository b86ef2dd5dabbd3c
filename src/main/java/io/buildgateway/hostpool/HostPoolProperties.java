package io.buildgateway.hostpool;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
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
 * @param ephemeral on-demand build hosts: a fresh daemon (or Pod) per build, thrown away afterwards (issue #16)
 * @param teamImageSweep how often each healthy fixed host's store is swept of team images' names that no build
 *        running there may pull or push (left by a replica that died mid-build, say; docs/security.md "BuildKit
 *        builds without a session"); zero or negative: no sweep, names go only when a build of theirs ends there
 * @param teamIsolation whether a fixed host runs builds of one team at a time ({@link TeamPlacement}), so that no
 *        build shares a host's image store with another team's images (docs/security.md); off: builds of any teams
 *        share a host up to its capacity (more builds at once in a pool of many teams, and a build whose
 *        {@code FROM} the policy misread could read another team's image from the store until the post-build checks
 *        fail it). Ephemeral hosts run one build each either way
 */
@Validated
@ConfigurationProperties("gateway.hostpool")
public record HostPoolProperties(
        @Valid @DefaultValue List<Host> hosts,
        @NotBlank @DefaultValue("1.41") String apiVersion,
        @NotNull @DefaultValue("15s") Duration healthInterval,
        @Valid @NotNull Registry registry,
        @Valid @NotNull @DefaultValue Limits build,
        @Valid @NotNull @DefaultValue Ephemeral ephemeral,
        @NotNull @DefaultValue("5m") Duration teamImageSweep,
        @DefaultValue("true") boolean teamIsolation) {

    /**
     * On-demand, ephemeral build hosts (docs/operations.md "Ephemeral build hosts"). When enabled, every build runs
     * on a host started for it alone and destroyed after it, whatever its outcome; the fixed {@code hosts} are still
     * checked and listed but given no builds.
     *
     * @param provider {@code local}: a fresh dockerd per build on this machine (scripts/buildhost.sh);
     *        {@code kubernetes}: a build-host Pod per build
     * @param name the pool's name, as builds record their host ({@code build.host}, provenance {@code host})
     * @param maxHosts builds running on ephemeral hosts at once (the pool's capacity)
     * @param warm hosts kept started and idle, so that a build does not wait for a daemon to start
     * @param startTimeout a host not ready by then is destroyed and the start counts as failed
     */
    public record Ephemeral(@DefaultValue("false") boolean enabled, @DefaultValue("local") Provider provider,
            @NotBlank @DefaultValue("ephemeral") String name, @Min(1) @DefaultValue("2") int maxHosts,
            @Min(0) @DefaultValue("1") int warm, @NotNull @DefaultValue("2m") Duration startTimeout,
            @Valid @NotNull @DefaultValue Local local, @Valid @NotNull @DefaultValue Kubernetes kubernetes) {

        public Ephemeral {
            provider = provider == null ? Provider.LOCAL : provider;
        }

        public static Ephemeral off() {
            return new Ephemeral(false, Provider.LOCAL, "ephemeral", 2, 1, Duration.ofMinutes(2),
                    new Local(Path.of("scripts/buildhost.sh"), null, null, null, null),
                    new Kubernetes(null, null, null, "build-host", 2376, null, null, null, null, null, null, null,
                            null, null, null));
        }
    }

    /** Where ephemeral hosts come from. */
    public enum Provider { LOCAL, KUBERNETES }

    /**
     * The local provider: scripts/buildhost.sh starts and stops each host (run as root, as env.sh runs host1).
     *
     * @param script the script
     * @param root where the hosts' data roots go (one folder per host, removed with it); an overlayfs-capable disk
     * @param runDir sockets and exec roots (short: unix socket paths are limited to ~100 bytes); default
     *        {@code /run/bgw-eph-<hash of root>}
     * @param tokenSocket the token registry's unix socket, which each host's forwarder leads to
     * @param egress the egress path of the hosts (issue #14, docs/egress.md): {@code proxy} is the gateway's egress
     *        proxy as this machine reaches it; each host's daemon gets the bridge and a forwarder to it (the script's
     *        BGW_BUILDHOST_EGRESS*), and the host the egress address {@code <bridge address>:<port>}; unset: the
     *        hosts have no egress path and a build whose team has an egress allowlist fails on them
     */
    public record Local(@DefaultValue("scripts/buildhost.sh") Path script, Path root, Path runDir,
            Path tokenSocket, @Valid HostEgress egress) {
    }

    /**
     * The Kubernetes provider: one Pod per build from the build host image (Dockerfile.buildhost), in the gateway's
     * namespace, on the dedicated tainted nodes, reached over mutual TLS.
     *
     * @param namespace where the Pods go (default: the client's namespace, i.e. the gateway's own in a cluster)
     * @param image the build host image, by digest in production
     * @param serverTlsSecret the Secret (by name: never read by the gateway) with the host's ca.pem, cert.pem, key.pem
     * @param clientTlsPath the gateway's client certificate folder (ca.pem, cert.pem, key.pem) for the daemons
     * @param subdomain the headless Service of the build hosts: the Pod is reached as
     *        {@code <pod>.<subdomain>.<namespace>.svc}, which the hosts' wildcard certificate names; unset: the Pod IP
     * @param ownerPod the gateway's own Pod name (downward API): the build-host Pods get it as owner, so Kubernetes
     *        deletes them if the gateway's Pod goes away before it could
     * @param labels added to the Pod's labels (the NetworkPolicy selecting build hosts must match them)
     * @param egress the egress path of the Pods (issue #14, docs/egress.md): each Pod gets BGW_EGRESS_PROXY,
     *        BGW_EGRESS_BRIDGE and BGW_EGRESS_PORT, as the chart's fixed build hosts do, and the host the egress
     *        address {@code <bridge address>:<port>}; unset: the Pods have no egress path and a build whose team has
     *        an egress allowlist fails on them
     * @param requests the daemon container's resource requests (Kubernetes quantities, e.g. {@code cpu: "2"}), as
     *        the chart's {@code buildHosts.resources.requests}: a namespace ResourceQuota refuses Pods without them
     * @param limits the daemon container's resource limits, as {@code buildHosts.resources.limits}
     */
    public record Kubernetes(String namespace, String image, String serverTlsSecret,
            @DefaultValue("build-host") String namePrefix, @DefaultValue("2376") int port, String clientTlsPath,
            String subdomain, String ownerPod, String serviceAccount, Map<String, String> labels,
            Map<String, String> nodeSelector, List<Toleration> tolerations, @Valid HostEgress egress,
            Map<String, String> requests, Map<String, String> limits) {

        public Kubernetes {
            requests = requests == null ? Map.of() : Map.copyOf(requests);
            limits = limits == null ? Map.of() : Map.copyOf(limits);
            labels = labels == null ? Map.of() : Map.copyOf(labels);
            nodeSelector = nodeSelector == null ? Map.of() : Map.copyOf(nodeSelector);
            tolerations = tolerations == null ? List.of() : List.copyOf(tolerations);
        }
    }

    /**
     * The egress path an ephemeral host sets up for itself (buildhost/entrypoint.sh, scripts/buildhost.sh): a bridge
     * inside the daemon's network namespace whose only neighbour is a forwarder to the gateway's egress proxy.
     *
     * @param proxy the gateway's egress proxy as the host reaches it, {@code host:port}
     * @param bridge the bridge's own address and /24 (dockerd's {@code --bip}), private, inside the host only
     * @param port the forwarder's port on the bridge address
     */
    public record HostEgress(@NotBlank String proxy, @DefaultValue("10.213.0.1/24") String bridge,
            @Min(1) @DefaultValue("3128") int port) {

        private static final Pattern PROXY = Pattern.compile(
                "[A-Za-z0-9._-]+:[0-9]{1,5}");
        private static final Pattern BRIDGE = Pattern.compile(
                "((?:10|172|192)\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3})/24");

        public HostEgress {
            bridge = bridge == null || bridge.isBlank() ? "10.213.0.1/24" : bridge.strip();
            // Checked here too so that a wrong setting stops the gateway at start, not each host at its start.
            if (proxy == null || !PROXY.matcher(proxy.strip()).matches()) {
                throw new IllegalArgumentException("the hosts' egress proxy must be host:port, not " + proxy);
            }
            proxy = proxy.strip();
            if (!BRIDGE.matcher(bridge).matches()) {
                throw new IllegalArgumentException("the hosts' egress bridge must be a private address/24 such as"
                        + " 10.213.0.1/24, not " + bridge);
            }
            if (port < 1 || port > 65535 || port == 2376) {
                throw new IllegalArgumentException("the hosts' egress port must be a port other than 2376, not "
                        + port);
            }
        }

        /** Where the host's steps reach the forwarder: {@code <bridge address>:<port>}. */
        public String address() {
            return bridge.substring(0, bridge.indexOf('/')) + ":" + port;
        }
    }

    /** A toleration of the build-host nodes' taint. */
    public record Toleration(String key, @DefaultValue("Equal") String operator, String value,
            @DefaultValue("NoSchedule") String effect) {
    }

    /**
     * @param tlsCertPath for {@code tcp://} endpoints: a folder with ca.pem, cert.pem, key.pem (mutual TLS)
     * @param builder {@code buildkit} (the default: dockerd {@value BuildHostVersions#MIN_ENGINE} or newer, refused
     *        by health when older) or {@code classic}, the deprecated classic builder, an explicit fallback for a
     *        host with an older daemon (no heredocs, no BuildKit-only flags)
     * @param egressAddress {@code ip:port} at which this host's build steps reach the gateway's egress proxy (the
     *        egress forwarder on the bridge inside the daemon's network namespace, docs/egress.md); unset: the host
     *        has no egress path, and a build whose team has an egress allowlist fails on it instead of getting
     *        network
     * @param buildCacheMax the most BuildKit build cache (layers' build records, cache mounts, context uploads) the
     *        host keeps: when a build ends with more, the pool prunes it down to this, least recently used first
     *        (docs/operations.md); unset: no cap of the gateway's (the daemon's own {@code builder.gc} still applies)
     * @param buildCacheUnusedFor when the cache is pruned down to the cap, only records unused for at least this long
     *        go (the {@code unused-for} filter of {@code POST /build/prune}); unset or 0: any record not in use
     */
    public record Host(@NotBlank String name, @NotBlank String endpoint, @Min(1) @DefaultValue("2") int capacity,
            String tlsCertPath, @DefaultValue("buildkit") Builder builder, String egressAddress, DataSize buildCacheMax,
            Duration buildCacheUnusedFor) {

        public Host {
            builder = builder == null ? Builder.BUILDKIT : builder;
            egressAddress = egressAddress == null || egressAddress.isBlank() ? null : egressAddress.strip();
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
     * @param quarantine the repository prefix under which a build's daemon pushes its image while the gateway still
     *        verifies and scans it ({@code <quarantine>/<build id>/<run>}; docs/security.md "Quarantine push"): no build
     *        is ever granted a pull of it and no build may name an image under it, whatever its team. The image is
     *        given its name only when every check passed; refused, its manifest is deleted. Empty: the push starts
     *        only after the checks (slower; for a registry that does not mount blobs across repositories)
     */
    public record Registry(@NotBlank String address, String username, String password, String url,
            @Valid Tokens tokens, @DefaultValue(QUARANTINE) String quarantine) {

        public static final String QUARANTINE = "gateway-quarantine";

        @org.springframework.boot.context.properties.bind.ConstructorBinding
        public Registry {
            quarantine = quarantine == null ? "" : quarantine.strip();
            if (quarantine.endsWith("/")) {
                quarantine = quarantine.substring(0, quarantine.length() - 1);
            }
        }

        /** The registry without quarantine pushes (tests of the HTTP API and the reference parsing). */
        public Registry(String address, String username, String password, String url, Tokens tokens) {
            this(address, username, password, url, tokens, "");
        }

        public URI apiUrl() {
            if (url != null && !url.isBlank()) {
                return URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
            }
            String host = address.startsWith("[") ? address.substring(0, address.indexOf(']') + 1)
                    : address.contains(":") ? address.substring(0, address.indexOf(':')) : address;
            boolean loopback = host.startsWith("127.") || host.equals("localhost") || host.equals("[::1]");
            return URI.create((loopback ? "http://" : "https://") + address);
        }

        @Override
        public String toString() {
            return "Registry[address=" + address + ", url=" + url + ", username=" + username + ", password="
                    + (password == null ? "unset" : "***") + ", quarantine=" + quarantine + "]";
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
