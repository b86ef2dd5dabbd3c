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
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;
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
    /** Per host, whether the last {@code host.health-changed} the audit trail has says healthy. */
    private final Map<String, Boolean> auditedHealthy = new ConcurrentHashMap<>();

    /** The ids of the builds running now (any replica's), read when a host comes back: never its leftovers. */
    private final Supplier<Set<String>> running;
    /**
     * Per host, the repositories the builds running there may pull or push (any replica's), read when the host comes
     * back: an image named in one of them is never a leftover, tagged or not (a pinned base pulled by digest has
     * only its repository digest and looks dangling).
     */
    private final java.util.function.Function<String, Set<String>> inUse;
    private final String registry;
    /**
     * Whether the team-image sweep takes a repository's names off (a team's or the quarantine's): an untagged image
     * named in one is left to it, which decides under the scheduling lock; a claim after this clean-up's read of
     * {@link #inUse} could otherwise lose a digest-pulled base under it.
     */
    private final java.util.function.Predicate<String> leftToSweep;

    HostHealth(DockerClients clients, Clock clock, Consumer<Object> events, BuildCacheCap cache,
            Supplier<Set<String>> running) {
        this(clients, clock, events, cache, running, host -> Set.of(), "");
    }

    HostHealth(DockerClients clients, Clock clock, Consumer<Object> events, BuildCacheCap cache,
            Supplier<Set<String>> running, java.util.function.Function<String, Set<String>> inUse, String registry) {
        this(clients, clock, events, cache, running, inUse, registry, repository -> false);
    }

    HostHealth(DockerClients clients, Clock clock, Consumer<Object> events, BuildCacheCap cache,
            Supplier<Set<String>> running, java.util.function.Function<String, Set<String>> inUse, String registry,
            java.util.function.Predicate<String> leftToSweep) {
        this.leftToSweep = leftToSweep;
        this.running = running;
        this.inUse = inUse;
        this.registry = registry;
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
        Info info = null;
        try {
            info = clients.control(host).infoCmd().exec();
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
                // Only what was created before the daemon came back: another replica that saw it back first may
                // already run a build on it, whose untagged image must stay. The cutoff is this replica's last sight
                // of the host down, moved to the daemon's clock (its time now against ours).
                long cutoff = before.checkedAt().plus(daemonOffset(info)).getEpochSecond();
                // And never what a running build has there, whatever the times say: a replica that saw the host down
                // later than another saw it back, or whose clock the offset misjudges, would otherwise remove the
                // untagged image of a build that has just started (make test saw a context do that to HostLostIT's
                // next build; its tag then failed with "No such image"). Read after the listing, so a build that
                // made an image before the read is RUNNING in it (the claim commits before the build starts).
                // Nor an image named in a repository a build running on the host may pull: a team image the
                // gateway built carries its label, and pulled by digest (a pinned base) it has no tag.
                List<BuildHosts.Removed> removed = clean(clients.control(host), BuildHosts.BUILD_ID_LABEL, true,
                        cutoff, running, () -> inUse.apply(host.name()), registry, leftToSweep);
                log.info("build host {} is back: removed {} leftover container(s) and image(s) of the gateway's"
                        + " builds", host.name(), removed.size());
                if (!removed.isEmpty()) {
                    Map<String, Object> details = BuildHosts.Removed.details(removed);
                    details.put("reason", "the host is back after it was unhealthy");
                    try {
                        events.accept(new AuditRecord("host.leftovers-removed", "host/" + host.name(),
                                Outcome.SUCCESS, details, RequestInfo.system()));
                    } catch (RuntimeException e) {
                        log.error("build host {}: the removal of {} leftover(s) could not be audited: {} ({})",
                                host.name(), removed.size(), details, BuildHosts.summary(e));
                    }
                }
            } catch (RuntimeException e) {
                log.warn("build host {} is back but its leftovers could not be listed: {}", host.name(),
                        BuildHosts.summary(e));
            }
        }
        // The new state is in force at once (an unhealthy host must not be given builds while its audit waits).
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
        }
        // Audited against the last state the trail has, not the last one seen: a change whose event could not be
        // written (the database away) is written at the next check, instead of being lost because the state in
        // memory had already changed; and the other hosts are still checked.
        Boolean audited = auditedHealthy.get(host.name());
        if (audited == null || audited != next.healthy()) {
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("healthy", next.healthy());
            details.put("usernsRemap", next.userns());
            details.put("error", next.error());
            details.put("builder", host.builder().name().toLowerCase(Locale.ROOT));
            try {
                events.accept(new AuditRecord("host.health-changed", "host/" + host.name(),
                        next.healthy() ? Outcome.SUCCESS : Outcome.FAILED, details, RequestInfo.system()));
                auditedHealthy.put(host.name(), next.healthy());
            } catch (RuntimeException e) {
                log.warn("build host {} is {} but the change could not be audited; tried again at the next check: {}",
                        host.name(), next.healthy() ? "healthy" : "unhealthy", BuildHosts.summary(e));
            }
        }
    }

    /**
     * Containers with the label (any state) and images with it: every such image when {@code danglingOnly} is
     * false, else only untagged ones (a tagged image is an approved base, or a team image a running build may still
     * use: each build takes its team images' names off a shared host when it ends, BuildSequence, and the periodic
     * sweep takes those no running build may use, builds.TeamImageSweep).
     */
    static List<BuildHosts.Removed> clean(DockerClient docker, String label, boolean danglingOnly) {
        return clean(docker, label, danglingOnly, Long.MAX_VALUE, Set::of, Set::of, "", repository -> false);
    }

    /**
     * As {@link #clean(DockerClient, String, boolean)}, only what the daemon created before {@code createdBefore}
     * (epoch seconds, the daemon's clock), and never what carries the build id of a build in {@code running} (read
     * once, after the listings, and only when something was listed), nor an image with a name (a repository digest
     * or a tag) in {@code registry} of a repository in {@code inUse} (the repositories the builds running on the host
     * may pull or push; read once, after the listings, and only when an image was listed).
     */
    static List<BuildHosts.Removed> clean(DockerClient docker, String label, boolean danglingOnly,
            long createdBefore, Supplier<Set<String>> running, Supplier<Set<String>> inUse, String registry,
            java.util.function.Predicate<String> leftToSweep) {
        List<BuildHosts.Removed> removed = new java.util.ArrayList<>();
        List<Container> containers = docker.listContainersCmd().withShowAll(true).withLabelFilter(List.of(label))
                .exec();
        var listing = docker.listImagesCmd().withLabelFilter(label);
        if (danglingOnly) {
            listing.withDanglingFilter(true);
        }
        List<Image> images = listing.exec();
        Set<String> runningIds = containers.isEmpty() && images.isEmpty() ? Set.of() : running.get();
        Set<String> pulled = images.isEmpty() ? Set.of() : inUse.get();
        Predicate<Map<String, String>> kept = labels -> labels != null
                && runningIds.contains(labels.getOrDefault(BuildHosts.BUILD_ID_LABEL, ""));
        for (Container c : containers) {
            if (c.getCreated() != null && c.getCreated() >= createdBefore
                    || kept.test(c.getLabels())) {
                continue;
            }
            try {
                docker.removeContainerCmd(c.getId()).withForce(true).withRemoveVolumes(true).exec();
                removed.add(new BuildHosts.Removed("container", c.getId(), buildId(c.getLabels())));
            } catch (RuntimeException ignored) {
                // already gone
            }
        }
        for (Image i : images) {
            if (i.getCreated() != null && i.getCreated() >= createdBefore
                    || kept.test(i.getLabels()) || TeamImages.namedIn(i, registry, pulled::contains)
                    || danglingOnly && TeamImages.namedIn(i, registry, leftToSweep)) {
                // A dangling image named in a repository the sweep covers (a repository digest: a team image pulled
                // by digest, a pinned base) may be the base of a build claimed after the read above: left to the
                // sweep, which takes such names off under the scheduling lock (a review's find). One under a pullable
                // prefix (the sweep leaves those) is judged by the read above, as before.
                continue;
            }
            try {
                docker.removeImageCmd(i.getId()).withForce(true).exec();
                removed.add(new BuildHosts.Removed("image", i.getId(), buildId(i.getLabels())));
            } catch (RuntimeException ignored) {
                // in use as another image's parent, or already gone
            }
        }
        return removed;
    }

    private static String buildId(Map<String, String> labels) {
        return labels == null ? null : labels.get(BuildHosts.BUILD_ID_LABEL);
    }

    /** The daemon's clock minus ours, from its {@code SystemTime}; zero when it does not say. */
    Duration daemonOffset(Info info) {
        try {
            return info == null || info.getSystemTime() == null ? Duration.ZERO
                    : Duration.between(clock.instant(), OffsetDateTime.parse(info.getSystemTime())
                            .toInstant());
        } catch (RuntimeException e) {
            return Duration.ZERO;
        }
    }
}
