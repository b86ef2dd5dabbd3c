package io.buildgateway.hostpool;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Image;
import com.github.dockerjava.api.model.Info;
import com.github.dockerjava.api.model.Version;
import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.RequestInfo;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The health of the fixed build hosts: each host's {@code /info} and version read (at start, every
 * {@code health-interval}, and after a failed build); a host is healthy only with user-namespace remapping on and a
 * daemon new enough for its builder. A change is logged and audited ({@code host.health-changed}); a host that comes
 * back is cleaned of the gateway's leftovers before it is given builds again.
 */
final class HostHealth {

    private static final Logger log = LoggerFactory.getLogger(BuildHosts.class);

    /** A host's last check; {@code error} says why it is unhealthy. */
    record Health(boolean healthy, boolean userns, Instant checkedAt, String error) {
    }

    private final DockerClients clients;
    private final Clock clock;
    private final Consumer<Object> events;
    private final BuildCacheCap cache;
    private final Map<String, Health> health = new ConcurrentHashMap<>();

    HostHealth(DockerClients clients, Clock clock, Consumer<Object> events, BuildCacheCap cache) {
        this.clients = clients;
        this.clock = clock;
        this.events = events;
        this.cache = cache;
    }

    /** The host's last check; null before its first. */
    Health get(String host) {
        return health.get(host);
    }

    boolean anyHealthy() {
        return health.values().stream().anyMatch(Health::healthy);
    }

    synchronized void check(HostPoolProperties.Host host) {
        Health next;
        try {
            Info info = clients.control(host).infoCmd().exec();
            List<String> options = info.getSecurityOptions() == null ? List.of() : info.getSecurityOptions();
            boolean userns = options.stream().anyMatch(o -> o.equals("name=userns") || o.startsWith("name=userns,"));
            Version version = clients.control(host).versionCmd().exec();
            String tooOld = BuildHostVersions.refusal(host.builder(), version.getVersion(), version.getApiVersion());
            next = !userns ? new Health(false, false, clock.instant(),
                            "daemon does not run with user-namespace remapping (--userns-remap); refused as a build host")
                    : tooOld != null ? new Health(false, true, clock.instant(), tooOld)
                    : new Health(true, true, clock.instant(), null);
        } catch (RuntimeException e) {
            next = new Health(false, false, clock.instant(), "daemon unreachable: " + BuildHosts.summary(e));
        }
        Health before = health.get(host.name());
        if (before != null && !before.healthy() && next.healthy()) {
            // The daemon is back (restarted after it died, say): connections pooled before it died lead nowhere, so
            // the host gets new clients. What the gateway's builds left on it when it went away is removed before
            // the host is given builds again. Untagged images and containers only: a tagged image was pushed and is
            // the host's cache.
            clients.renew(host.name());
            try {
                int removed = clean(clients.control(host), BuildHosts.BUILD_ID_LABEL, true);
                log.info("build host {} is back: removed {} leftover container(s) and image(s) of the gateway's"
                        + " builds", host.name(), removed);
            } catch (RuntimeException e) {
                log.warn("build host {} is back but its leftovers could not be listed: {}", host.name(),
                        BuildHosts.summary(e));
            }
        }
        Health previous = health.put(host.name(), next);
        if (next.healthy() && host.builder() == HostPoolProperties.Builder.BUILDKIT) {
            cache.readCache(host);
        }
        if (previous == null || previous.healthy() != next.healthy()) {
            if (next.healthy()) {
                log.info("build host {} is healthy (userns remapping on)", host.name());
            } else {
                log.warn("build host {} is unhealthy: {}", host.name(), next.error());
            }
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("healthy", next.healthy());
            details.put("usernsRemap", next.userns());
            details.put("error", next.error());
            details.put("builder", host.builder().name().toLowerCase(Locale.ROOT));
            events.accept(new AuditRecord("host.health-changed", "host/" + host.name(),
                    next.healthy() ? Outcome.SUCCESS : Outcome.FAILED, details, RequestInfo.system()));
        }
    }

    /**
     * Containers with the label (any state) and images with it: every such image when {@code danglingOnly} is
     * false, else only untagged ones (a tagged image is a pushed one, which the host keeps as cache).
     */
    static int clean(DockerClient docker, String label, boolean danglingOnly) {
        int removed = 0;
        for (Container c : docker.listContainersCmd().withShowAll(true)
                .withLabelFilter(List.of(label)).exec()) {
            try {
                docker.removeContainerCmd(c.getId()).withForce(true).withRemoveVolumes(true).exec();
                removed++;
            } catch (RuntimeException ignored) {
                // already gone
            }
        }
        var images = docker.listImagesCmd().withLabelFilter(label);
        if (danglingOnly) {
            images.withDanglingFilter(true);
        }
        for (Image i : images.exec()) {
            try {
                docker.removeImageCmd(i.getId()).withForce(true).exec();
                removed++;
            } catch (RuntimeException ignored) {
                // in use as another image's parent, or already gone
            }
        }
        return removed;
    }
}
