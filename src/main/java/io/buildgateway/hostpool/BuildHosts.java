package io.buildgateway.hostpool;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Info;
import com.github.dockerjava.api.model.Version;
import io.buildgateway.shared.DaemonThreads;
import io.buildgateway.shared.PeriodicTasks;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.annotation.PreDestroy;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Service;

/**
 * The pool of build hosts. A host is given builds only while its last health check succeeded and showed
 * user-namespace remapping ({@link HostHealth}). {@link #choose} picks the least-loaded healthy host for a build;
 * {@link #lease} hands it to the build as a {@link BuildHost}, whose operations (build, read the image, push) the build
 * sequence in {@code builds} calls. With registry tokens configured, the daemon gets a token that pulls only the
 * images approved for the build, and a push token (its own repository) only right before the push
 * ({@link RegistryAuth}); what the daemon pulled and fetched is the evidence of the confinement check
 * ({@link Confinement}, {@link BuildHost#violations}).
 */
@Service
public class BuildHosts implements PeriodicTasks.Owner {

    private static final Logger log = LoggerFactory.getLogger(BuildHosts.class);

    /** Every build step runs without a network: only the daemon pulls (approved images), never a step. */
    public static final String NETWORK_MODE = "none";

    /** How the failure reason of a build whose host's daemon died starts. */
    public static final String HOST_LOST = "host lost";

    /** The label the gateway puts on every image it builds; what leftovers are found and cleaned by. */
    public static final String BUILD_ID_LABEL = "io.buildgateway.build-id";

    private final HostPoolProperties properties;
    private final DockerClients clients;
    private final Clock clock;
    private final ScheduledExecutorService checker;
    private final ExecutorService cacheWorker;
    private final RegistryAuth auth;
    private final FixedHosts fixed;
    private final HostHealth health;
    private final BuildCacheCap cache;
    /** On-demand hosts (issue #16); null unless gateway.hostpool.ephemeral.enabled. */
    private final EphemeralHosts ephemeral;
    /** Per host, the repositories its running builds may pull or push ({@link #inUseOn}). */
    private final java.util.function.Function<String, Set<String>> inUse;
    private final org.springframework.beans.factory.ObjectProvider<RunningBuilds> running;
    /** The registry's images by digest, for the confinement check's reading of shared FROM vertices. */
    private final ImageRegistry registry;
    /** The health checks every health-interval, while the context runs this bean (PeriodicTasks). */
    private final PeriodicTasks periodic;

    BuildHosts(HostPoolProperties properties, ApplicationEventPublisher events, Clock clock,
            MeterRegistry meters, org.springframework.beans.factory.ObjectProvider<RunningBuilds> running,
            ImageRegistry registry) {
        this.properties = properties;
        this.registry = registry;
        this.clients = new DockerClients(properties);
        this.clock = clock;
        this.auth = new RegistryAuth(properties, clock);
        if (!auth.tokens()) {
            log.warn("gateway.hostpool.registry.tokens is not set: build daemons pull and push with the gateway's own"
                    + " registry credentials, not with per-build tokens (docs/security.md)");
        }
        String quarantine = properties.registry().quarantine();
        List<String> pullable = RegistryAuth.pullablePrefixes(properties);
        if (!quarantine.isEmpty()) {
            if (pullable.stream().anyMatch(p -> (quarantine + "/").startsWith(p))) {
                throw new IllegalStateException("gateway.hostpool.registry.quarantine (" + quarantine + ") lies under"
                        + " a pullable prefix " + pullable + ": builds could pull images not yet checked");
            }
        }
        this.fixed = new FixedHosts(properties.hosts());
        this.checker = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("host-health"));
        this.periodic = new PeriodicTasks(checker).every(properties.healthInterval(), properties.healthInterval(),
                this::checkAll);
        // the caches' reads and prunes after builds on a thread of their own: a prune (or a daemon paused during
        // one) must not hold the health checks of every host
        this.cacheWorker = Executors.newSingleThreadExecutor(DaemonThreads.named("host-cache"));
        this.cache = new BuildCacheCap(clients, meters, events::publishEvent, cacheWorker);
        // Looked up when a host comes back, not now: the builds module that implements it depends on this bean.
        this.inUse = inUseOn(running::getIfAvailable, properties.registry().address());
        this.running = running;
        List<String> sharedPrefixes = RegistryAuth.pullablePrefixes(properties);
        this.health = new HostHealth(clients, clock, events::publishEvent, cache, () -> {
            RunningBuilds builds = running.getIfAvailable();
            return builds == null ? Set.of() : builds.ids();
        }, inUse, properties.registry().address(),
                repository -> TeamImages.swept(repository, sharedPrefixes, properties.registry().quarantine()));
        this.ephemeral = ephemeralHosts(properties, events);
    }

    /**
     * Per host, the repositories of the gateway's registry the builds running there (any replica's) may pull or push,
     * read from {@code running} when asked ({@link TeamImages#inUse}); none while there is no such bean.
     */
    static java.util.function.Function<String, Set<String>> inUseOn(java.util.function.Supplier<RunningBuilds> running,
            String registry) {
        return host -> {
            RunningBuilds builds = running.get();
            return builds == null ? Set.of() : TeamImages.inUse(builds.onHost(host), registry);
        };
    }

    private EphemeralHosts ephemeralHosts(HostPoolProperties properties, ApplicationEventPublisher events) {
        HostPoolProperties.Ephemeral config = properties.ephemeral();
        if (config == null || !config.enabled()) {
            return null;
        }
        if (properties.hosts().stream().anyMatch(h -> h.name().equals(config.name()))) {
            throw new IllegalStateException("gateway.hostpool.ephemeral.name " + config.name()
                    + " is also the name of a fixed host");
        }
        return switch (config.provider()) {
            case LOCAL -> new LocalEphemeralHosts(config, properties.registry().address(), this::verifyEphemeral,
                    events::publishEvent);
            case KUBERNETES -> new KubernetesEphemeralHosts(config,
                    new KubernetesClientBuilder().build(), this::verifyEphemeral,
                    events::publishEvent);
        };
    }

    /**
     * The check every ephemeral host passes before it is given a build, as health checks a fixed host: user-namespace
     * remapping on, a daemon new enough for BuildKit. Returns the daemon's {@code ID}, which differs for every fresh
     * daemon (it is generated with its data root).
     */
    private String verifyEphemeral(HostPoolProperties.Host host) {
        DockerClient control = clients.control(host);
        Info info = control.infoCmd().exec();
        List<String> options = info.getSecurityOptions() == null ? List.of() : info.getSecurityOptions();
        if (options.stream().noneMatch(o -> o.equals("name=userns") || o.startsWith("name=userns,"))) {
            throw new IllegalStateException("the ephemeral daemon does not run with user-namespace remapping");
        }
        Version version = control.versionCmd().exec();
        String tooOld = BuildHostVersions.refusal(host.builder(), version.getVersion(), version.getApiVersion());
        if (tooOld != null) {
            throw new IllegalStateException(tooOld);
        }
        return info.getId();
    }

    /** The ephemeral pool, for tests in this package; null when off. */
    EphemeralHosts ephemeralHosts() {
        return ephemeral;
    }

    /**
     * Checks start once the application is ready, so that the first health change reaches the audit trail (event
     * listeners and the schema exist by then). The first check runs synchronously: a ready gateway knows its hosts.
     */
    @org.springframework.context.event.EventListener(ApplicationReadyEvent.class)
    void startChecks() {
        checkAll();
        if (ephemeral != null) {
            ephemeral.begin();
        }
        periodic.ready();
    }

    /** The periodic checks pause with the context and resume at once when it runs again (PeriodicTasks). */
    @Override
    public PeriodicTasks periodicTasks() {
        return periodic;
    }

    @PreDestroy
    void close() {
        checker.shutdownNow();
        cacheWorker.shutdownNow();
        if (ephemeral != null) {
            ephemeral.close();
        }
        clients.close();
    }

    /** Checks every host now. */
    public void checkAll() {
        for (HostPoolProperties.Host host : properties.hosts()) {
            health.check(host);
        }
        if (ephemeral != null) {
            // a warm pool that could not be filled (a start failed) is tried again every round
            ephemeral.refill();
        }
    }

    /** Every configured host with its health, given the active builds per host (from the build queue). */
    public List<HostStatus> status(Map<String, Integer> activeByHost) {
        List<HostStatus> all = new ArrayList<>(properties.hosts().stream().map(h -> {
            HostHealth.Health s = health.get(h.name());
            return new HostStatus(h.name(), h.endpoint(), s != null && s.healthy(), s != null && s.userns(),
                    activeByHost.getOrDefault(h.name(), 0), h.capacity(), s == null ? null : s.checkedAt(),
                    s == null ? "not checked yet" : s.error(), cache.bytes(h.name()),
                    h.buildCacheMax() == null ? null : h.buildCacheMax().toBytes());
        }).toList());
        if (ephemeral != null) {
            // The pool as one row: its endpoint names the provider and the idle hosts it keeps warm.
            all.add(new HostStatus(ephemeral.name(), "ephemeral:" + ephemeral.kind() + "?warm="
                    + ephemeral.warmCount(), ephemeral.healthy(), true,
                    activeByHost.getOrDefault(ephemeral.name(), 0), ephemeral.capacity(), clock.instant(),
                    ephemeral.lastError(), null, null));
        }
        return all;
    }

    public boolean anyHealthy() {
        return ephemeral != null ? ephemeral.healthy() : health.anyHealthy();
    }

    /**
     * The least-loaded healthy host with a free slot, if any. With ephemeral hosts on, every build goes to the
     * ephemeral pool (a host of its own); the fixed hosts get none.
     */
    public Optional<String> choose(Map<String, Integer> activeByHost) {
        if (ephemeral != null) {
            return ephemeral.healthy() && activeByHost.getOrDefault(ephemeral.name(), 0) < ephemeral.capacity()
                    ? Optional.of(ephemeral.name()) : Optional.empty();
        }
        return properties.hosts().stream()
                .filter(h -> {
                    HostHealth.Health s = health.get(h.name());
                    return s != null && s.healthy() && s.userns();
                })
                .filter(h -> activeByHost.getOrDefault(h.name(), 0) < h.capacity())
                .min(Comparator.comparingDouble(h -> (double) activeByHost.getOrDefault(h.name(), 0) / h.capacity()))
                .map(HostPoolProperties.Host::name);
    }

    /**
     * Whether the claim places builds by team ({@code gateway.hostpool.team-isolation}, on by default): a fixed host
     * runs builds of one team at a time ({@link TeamPlacement}). Never with ephemeral hosts, each of which runs one
     * build and is destroyed after it.
     */
    public boolean teamIsolated() {
        return ephemeral == null && properties.teamIsolation();
    }

    /**
     * With {@link #teamIsolated}: the first of {@code teams} (the queued builds' teams in the queue's fair order)
     * a healthy host admits, and that host ({@link TeamPlacement#place}); {@code runningByHost} gives each host's
     * running builds by team.
     */
    public Optional<TeamPlacement.Placement> place(List<String> teams,
            Map<String, Map<String, Integer>> runningByHost) {
        List<TeamPlacement.Load> loads = properties.hosts().stream()
                .filter(h -> {
                    HostHealth.Health s = health.get(h.name());
                    return s != null && s.healthy() && s.userns();
                })
                .map(h -> new TeamPlacement.Load(h.name(), h.capacity(), runningByHost.getOrDefault(h.name(),
                        Map.of())))
                .toList();
        return TeamPlacement.place(teams, loads);
    }

    /**
     * Whether a host that {@link #choose} names answers now (a {@code /_ping}), asked just before a build is claimed
     * for it. Each replica's view of a host is as old as its last health check ({@code health-interval}), and in that
     * gap the daemon may be gone: in a chaos run another replica had seen it die, and this one claimed a build for it
     * 20 ms before its own check did; the build failed "host lost" at its first pull. When the host does not answer,
     * its health is checked at once (the change logged and audited as by the periodic check) and the answer is that
     * check's: false sends the caller to choose again, without the host. True for the ephemeral pool and for a name
     * that is no configured host.
     */
    public boolean answers(String host) {
        if (ephemeral != null) {
            return true;
        }
        HostPoolProperties.Host h = fixed.named(host).orElse(null);
        if (h == null) {
            return true;
        }
        try {
            clients.control(h).pingCmd().exec();
            return true;
        } catch (RuntimeException unreachable) {
            health.check(h);
            HostHealth.Health now = health.get(host);
            return now != null && now.healthy() && now.userns();
        }
    }

    /**
     * Whether every host's builder reads heredocs (BuildKit), so that a build accepted now reads as the policy read
     * it on whichever host runs it; a pool with a classic-builder fallback host refuses them.
     */
    public boolean readsHeredocs() {
        if (ephemeral != null) {
            return true; // every ephemeral host is a BuildKit daemon
        }
        return !properties.hosts().isEmpty()
                && properties.hosts().stream().allMatch(h -> h.builder() == HostPoolProperties.Builder.BUILDKIT);
    }

    public int totalCapacity() {
        if (ephemeral != null) {
            return ephemeral.capacity();
        }
        return properties.hosts().stream().mapToInt(HostPoolProperties.Host::capacity).sum();
    }

    public String registry() {
        return properties.registry().address();
    }

    /**
     * The registry's quarantine prefix ({@code gateway.hostpool.registry.quarantine}): where images wait for their
     * checks, in repositories no build is granted and no team owns; empty when images are pushed after the checks.
     */
    public String quarantine() {
        return properties.registry().quarantine();
    }

    /**
     * Whether a build of {@code team} would be granted a pull of {@code reference} (as {@link Confinement#plan}
     * decides for the daemon's token): an image of the gateway's registry, the team's own or under a pullable prefix,
     * not in the quarantine, its repository a well-formed name ({@code ..} or upper case never is). False for a
     * reference that does not parse.
     */
    public boolean grantable(String team, String reference) {
        String registry = registry();
        String repository;
        try {
            repository = Confinement.repository(reference, registry);
        } catch (RuntimeException unreadable) {
            return false;
        }
        return repository != null && ImageRegistry.isRepositoryName(repository) && team != null && !team.isEmpty()
                && Confinement.refusal(repository, team, registry, RegistryAuth.pullablePrefixes(properties),
                        quarantine()) == null;
    }

    /** Whether the repository lies under the quarantine prefix (never when there is none). */
    public boolean isQuarantined(String repository) {
        return underQuarantine(repository, quarantine());
    }

    static boolean underQuarantine(String repository, String quarantine) {
        return !quarantine.isEmpty() && (repository.equals(quarantine) || repository.startsWith(quarantine + "/"));
    }

    /** How long a build may take on its host, its pushes included ({@code gateway.hostpool.build.timeout}). */
    public Duration buildTimeout() {
        return properties.build().timeout();
    }

    /** No host could be given to a build; the message is the build's failure reason. */
    public static final class NoHost extends Exception {
        NoHost(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The build's host, given to it until the returned {@link BuildHost} is closed: the fixed host it was queued to
     * while that host is healthy and user-namespaced, or an ephemeral host started for it (from the warm pool when one
     * is idle), destroyed when it is closed.
     */
    public BuildHost lease(BuildJob job) throws NoHost {
        if (ephemeral != null && ephemeral.name().equals(job.host())) {
            BuildHostProvider.Lease lease;
            try {
                lease = ephemeral.acquire(job.host(), job.buildId());
            } catch (BuildHostProvider.Unavailable e) {
                throw new NoHost(e.getMessage());
            }
            return new BuildHost(properties, clients, auth, registry, cache, clock, lease, true, job, ephemeral.kind(), () -> {
                clients.forget(lease.host().name());
                ephemeral.release(lease);
            });
        }
        BuildHostProvider.Lease lease;
        try {
            lease = fixed.acquire(job.host(), job.buildId());
        } catch (BuildHostProvider.Unavailable e) {
            throw new NoHost("build host " + job.host() + " is not a healthy user-namespaced host");
        }
        HostHealth.Health h = health.get(lease.host().name());
        if (h == null || !h.healthy() || !h.userns()) {
            fixed.release(lease);
            throw new NoHost("build host " + job.host() + " is not a healthy user-namespaced host");
        }
        return new BuildHost(properties, clients, auth, registry, cache, clock, lease, h.userns(), job, null,
                () -> fixed.release(lease));
    }

    /**
     * Whether the fixed host {@code hostName} stopped answering: asked after a failed build, an unreachable daemon
     * makes the host unhealthy before the next claim, and the build's reason can say what happened rather than how
     * the stream ended ({@link #HOST_LOST}). False for an ephemeral pool or a host no longer configured.
     */
    public boolean lostDuringBuild(String hostName) {
        HostPoolProperties.Host host = fixed.named(hostName).orElse(null);
        if (host == null) {
            return false;
        }
        health.check(host);
        HostHealth.Health now = health.get(host.name());
        return now != null && !now.healthy() && now.error() != null && now.error().startsWith("daemon unreachable");
    }

    /** How often the fixed hosts are swept of team images' names ({@code gateway.hostpool.team-image-sweep}). */
    public Duration teamImageSweep() {
        return properties.teamImageSweep();
    }

    /**
     * The fixed hosts healthy now (user-namespaced, their daemon answering at the last check), by name: those whose
     * store the team-image sweep reads (an ephemeral host is destroyed with everything on it).
     */
    public List<String> healthyFixedHosts() {
        return properties.hosts().stream().filter(h -> {
            HostHealth.Health s = health.get(h.name());
            return s != null && s.healthy() && s.userns();
        }).map(HostPoolProperties.Host::name).toList();
    }

    /**
     * Every name (tag or repository digest) on the fixed host {@code hostName} of a repository in the gateway's
     * registry that the sweep takes off: a team's (under none of the pullable prefixes) or one under the quarantine
     * ({@link TeamImages#swept}), by repository. One listing with the host's control client (a bounded wait); throws
     * when the daemon does not answer. Empty for a name that is no fixed host.
     */
    public Map<String, List<String>> teamImageNames(String hostName) {
        HostPoolProperties.Host host = fixed.named(hostName).orElse(null);
        if (host == null) {
            return Map.of();
        }
        List<String> pullable = RegistryAuth.pullablePrefixes(properties);
        String quarantine = quarantine();
        return TeamImages.names(clients.control(host).listImagesCmd().exec(), registry(),
                repository -> TeamImages.swept(repository, pullable, quarantine));
    }

    /**
     * Takes these names off the fixed host {@code hostName} with its control client ({@link TeamImages#forget}: best
     * effort, a bounded wait each). Returns the names taken off, and whether the daemon failed on the way (its
     * failure ends the call: the rest are not asked for).
     */
    public TeamImages.Untagged forget(String hostName, java.util.Collection<String> references) {
        HostPoolProperties.Host host = fixed.named(hostName).orElse(null);
        return host == null || references.isEmpty() ? new TeamImages.Untagged(List.of(), false)
                : TeamImages.untag(clients.control(host), references);
    }

    /**
     * The daemon build id a run of a build carries on its host ({@code buildid=} of a BuildKit build): the build's id
     * and the run's attempt. Derived, not stored, so that the lease recovery can name a lost run's build from the row
     * alone; the attempt tells a lost run from the next attempt of the same build, which a re-queue may have put on
     * the same host.
     */
    public static String daemonBuildId(String buildId, int attempt) {
        return buildId + "-" + attempt;
    }

    /**
     * How a cancel of a lost run's daemon build went: the fixed host, the daemon build id, the builder the host is
     * configured with now, and the error, null when the daemon accepted the cancel.
     */
    public record Cancelled(String host, String daemonBuildId, String builder, String error) {
    }

    /**
     * Asks the fixed host {@code hostName}'s daemon to cancel the build it runs under {@code daemonBuildId}
     * ({@link #daemonBuildId}): a lost run's, which the daemon would otherwise let run until its client's connection
     * goes away, and a paused replica's connection stays open. Sent whatever the host's builder: the lost run may
     * have been a BuildKit build under an earlier configuration of the host, and for an id it does not run (a classic
     * build, one that ended) the daemon answers the same and does nothing. A cancel on a kept connection the daemon
     * had closed is sent once more on a new one ({@link BuildKitBuilder#cancel}). Null for a name that is no fixed
     * host (an ephemeral host is destroyed with its builds).
     */
    public Cancelled cancelBuild(String hostName, String daemonBuildId) {
        HostPoolProperties.Host host = fixed.named(hostName).orElse(null);
        if (host == null) {
            return null;
        }
        String builder = host.builder().name().toLowerCase(java.util.Locale.ROOT);
        try {
            BuildKitBuild.Cancel cancel = new BuildKitBuilder(properties, clients, auth, clock).cancel(host,
                    daemonBuildId, line -> log.info("cancelling {} on {}: {}", daemonBuildId, hostName, line.strip()));
            return new Cancelled(hostName, daemonBuildId, builder, cancel.error());
        } catch (java.io.IOException e) {
            return new Cancelled(hostName, daemonBuildId, builder, summary(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Cancelled(hostName, daemonBuildId, builder, "interrupted");
        }
    }

    /**
     * Removes what one build left on its host: containers and images labelled with its id (a build whose replica
     * was lost: its daemon stopped the build when the connection closed or the recovery cancelled it
     * ({@link #cancelBuild}), but an image it had finished stays).
     * {@code stillLost} is asked once more after the listing, right before anything is removed (only when something
     * was listed): false (another replica re-queued the build meanwhile, and a second run may carry the same label)
     * removes nothing. Best effort: returns what was removed, or null when the host could not be asked.
     */
    public List<Removed> cleanBuild(String hostName, String buildId, java.util.function.BooleanSupplier stillLost) {
        HostPoolProperties.Host host = fixed.named(hostName).orElse(null);
        if (host == null) {
            return null;
        }
        try {
            // an image the lost build made may be another running build's base now (pushed, then pulled by its
            // digest): kept, as the recovery clean-up keeps it; the lost build's own names do not keep it (it is
            // RUNNING under the recovery's lease until this is decided: a review's find)
            return HostHealth.clean(clients.control(host), BUILD_ID_LABEL + "=" + buildId, false, Long.MAX_VALUE,
                    () -> stillLost.getAsBoolean() ? Set.of() : Set.of(buildId), () -> {
                        RunningBuilds builds = running.getIfAvailable();
                        return builds == null ? Set.of()
                                : TeamImages.inUse(builds.onHostBesides(hostName, buildId), registry());
                    }, registry(), repository -> false);
        } catch (RuntimeException e) {
            // the error's kind only: the daemon's message may quote an image name, which may hold a build arg's value
            log.warn("could not clean build {} from host {}: {}", buildId, hostName, e.getClass().getSimpleName());
            return null;
        }
    }

    /** A container or image the gateway removed from a host: its kind, the daemon's id, the build it was of. */
    public record Removed(String kind, String id, String buildId) {

        /** At most this many are named one by one in an audit event; the count is always exact. */
        static final int NAMED = 100;

        /** The audit details of a removal: the objects (the first {@link #NAMED}), their count, their builds. */
        public static Map<String, Object> details(List<Removed> removed) {
            Map<String, Object> details = new java.util.LinkedHashMap<>();
            details.put("count", removed.size());
            details.put("builds", removed.stream().map(Removed::buildId).filter(java.util.Objects::nonNull)
                    .distinct().sorted().toList());
            details.put("removed", removed.stream().limit(NAMED).map(r -> {
                Map<String, Object> m = new java.util.LinkedHashMap<>();
                m.put("kind", r.kind());
                m.put("id", r.id());
                m.put("buildId", r.buildId());
                return m;
            }).toList());
            return details;
        }
    }

    /** Reads the host's build cache and prunes it to the host's cap ({@link BuildCacheCap}); for tests. */
    void enforceCap(HostPoolProperties.Host host, String buildId) {
        cache.enforceCap(host, buildId);
    }

    /** The root cause's message of an error from a daemon or a registry, at most 300 characters. */
    public static String summary(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return message.length() > 300 ? message.substring(0, 300) + "…" : message;
    }
}
