package io.buildgateway.hostpool;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.BuildImageCmd;
import com.github.dockerjava.api.model.AuthConfig;
import com.github.dockerjava.api.model.AuthConfigurations;
import com.github.dockerjava.api.model.BuildResponseItem;
import com.github.dockerjava.api.model.Info;
import com.github.dockerjava.api.model.PushResponseItem;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.RequestInfo;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Service;

/**
 * The pool of build hosts. A host is given builds only while its last health check succeeded and showed
 * user-namespace remapping. Builds run with the classic builder, network {@code none}, the base pulled afresh,
 * configured limits, and are tagged and pushed with the gateway's registry credentials only. With registry tokens
 * configured, the daemon gets a token that pulls only the images approved for the build, and a push token (its own
 * repository) only right before the push; after the build, what the daemon pulled and fetched is checked against
 * the approved set ({@link Confinement}) before anything is verified or pushed.
 */
@Service
public class BuildHosts {

    private static final Logger log = LoggerFactory.getLogger(BuildHosts.class);
    private static final Pattern BUILT = Pattern.compile("Successfully built ([0-9a-f]{12,64})");

    /** Every build step runs without a network: only the daemon pulls (approved images), never a step. */
    public static final String NETWORK_MODE = "none";

    private final HostPoolProperties properties;
    private final DockerClients clients;
    private final ApplicationEventPublisher events;
    private final Clock clock;
    private final Map<String, Health> health = new ConcurrentHashMap<>();
    private final ScheduledExecutorService checker;
    private final List<ImageGate> gates;
    private final io.buildgateway.shared.BuildPhases phases;
    private final RegistryTokens tokens;
    private final ImageRegistry registryApi;
    private final FixedHosts fixed;
    /** On-demand hosts (issue #16); null unless gateway.hostpool.ephemeral.enabled. */
    private final EphemeralHosts ephemeral;
    private final io.micrometer.core.instrument.MeterRegistry meters;
    /** The last build cache size read per BuildKit host (health checks and the end of each build). */
    private final Map<String, Long> cacheBytes = new ConcurrentHashMap<>();

    private record Health(boolean healthy, boolean userns, Instant checkedAt, String error) {
    }

    BuildHosts(HostPoolProperties properties, ApplicationEventPublisher events, Clock clock,
            org.springframework.beans.factory.ObjectProvider<ImageGate> gates,
            io.buildgateway.shared.BuildPhases phases, ImageRegistry registryApi,
            io.micrometer.core.instrument.MeterRegistry meters) {
        this.properties = properties;
        this.registryApi = registryApi;
        this.meters = meters;
        this.phases = phases;
        this.gates = gates.orderedStream().toList();
        this.clients = new DockerClients(properties);
        this.events = events;
        this.clock = clock;
        HostPoolProperties.Tokens tokenConfig = properties.registry().tokens();
        this.tokens = tokenConfig == null ? null : new RegistryTokens(tokenConfig, clock);
        if (tokens == null) {
            log.warn("gateway.hostpool.registry.tokens is not set: build daemons pull and push with the gateway's own"
                    + " registry credentials, not with per-build tokens (docs/security.md)");
        }
        String quarantine = properties.registry().quarantine();
        if (!quarantine.isEmpty()) {
            if (pullablePrefixes().stream().anyMatch(p -> (quarantine + "/").startsWith(p))) {
                throw new IllegalStateException("gateway.hostpool.registry.quarantine (" + quarantine + ") lies under"
                        + " a pullable prefix " + pullablePrefixes() + ": builds could pull images not yet checked");
            }
        }
        this.fixed = new FixedHosts(properties.hosts());
        this.ephemeral = ephemeralHosts(properties);
        this.checker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "host-health");
            t.setDaemon(true);
            return t;
        });
    }

    private EphemeralHosts ephemeralHosts(HostPoolProperties properties) {
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
                    new io.fabric8.kubernetes.client.KubernetesClientBuilder().build(), this::verifyEphemeral,
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
        com.github.dockerjava.api.model.Version version = control.versionCmd().exec();
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
    @org.springframework.context.event.EventListener(org.springframework.boot.context.event.ApplicationReadyEvent.class)
    void startChecks() {
        checkAll();
        if (ephemeral != null) {
            ephemeral.begin();
        }
        checker.scheduleWithFixedDelay(this::checkAll, properties.healthInterval().toMillis(),
                properties.healthInterval().toMillis(), TimeUnit.MILLISECONDS);
    }

    @PreDestroy
    void stop() {
        checker.shutdownNow();
        if (ephemeral != null) {
            ephemeral.close();
        }
        clients.close();
    }

    /** Checks every host now. */
    public void checkAll() {
        for (HostPoolProperties.Host host : properties.hosts()) {
            check(host);
        }
        if (ephemeral != null) {
            // a warm pool that could not be filled (a start failed) is tried again every round
            ephemeral.refill();
        }
    }

    private synchronized void check(HostPoolProperties.Host host) {
        Health next;
        try {
            Info info = clients.control(host).infoCmd().exec();
            List<String> options = info.getSecurityOptions() == null ? List.of() : info.getSecurityOptions();
            boolean userns = options.stream().anyMatch(o -> o.equals("name=userns") || o.startsWith("name=userns,"));
            com.github.dockerjava.api.model.Version version = clients.control(host).versionCmd().exec();
            String tooOld = BuildHostVersions.refusal(host.builder(), version.getVersion(), version.getApiVersion());
            next = !userns ? new Health(false, false, clock.instant(),
                            "daemon does not run with user-namespace remapping (--userns-remap); refused as a build host")
                    : tooOld != null ? new Health(false, true, clock.instant(), tooOld)
                    : new Health(true, true, clock.instant(), null);
        } catch (RuntimeException e) {
            next = new Health(false, false, clock.instant(), "daemon unreachable: " + summary(e));
        }
        Health before = health.get(host.name());
        if (before != null && !before.healthy() && next.healthy()) {
            // The daemon is back (restarted after it died, say): what the gateway's builds left on it when it went
            // away is removed before the host is given builds again. Untagged images and containers only: a
            // tagged image was pushed and is the host's cache.
            try {
                int removed = clean(clients.control(host), BUILD_ID_LABEL, true);
                log.info("build host {} is back: removed {} leftover container(s) and image(s) of the gateway's"
                        + " builds", host.name(), removed);
            } catch (RuntimeException e) {
                log.warn("build host {} is back but its leftovers could not be listed: {}", host.name(), summary(e));
            }
        }
        Health previous = health.put(host.name(), next);
        if (next.healthy() && host.builder() == HostPoolProperties.Builder.BUILDKIT) {
            readCache(host);
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
            details.put("builder", host.builder().name().toLowerCase(java.util.Locale.ROOT));
            events.publishEvent(new AuditRecord("host.health-changed", "host/" + host.name(),
                    next.healthy() ? Outcome.SUCCESS : Outcome.FAILED, details, RequestInfo.system()));
        }
    }

    /** Every configured host with its health, given the active builds per host (from the build queue). */
    public List<HostStatus> status(Map<String, Integer> activeByHost) {
        List<HostStatus> all = new java.util.ArrayList<>(properties.hosts().stream().map(h -> {
            Health s = health.get(h.name());
            return new HostStatus(h.name(), h.endpoint(), s != null && s.healthy(), s != null && s.userns(),
                    activeByHost.getOrDefault(h.name(), 0), h.capacity(), s == null ? null : s.checkedAt(),
                    s == null ? "not checked yet" : s.error(), cacheBytes.get(h.name()),
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
        return ephemeral != null ? ephemeral.healthy() : health.values().stream().anyMatch(Health::healthy);
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
                    Health s = health.get(h.name());
                    return s != null && s.healthy() && s.userns();
                })
                .filter(h -> activeByHost.getOrDefault(h.name(), 0) < h.capacity())
                .min(Comparator.comparingDouble(h -> (double) activeByHost.getOrDefault(h.name(), 0) / h.capacity()))
                .map(HostPoolProperties.Host::name);
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
     * Runs a build on its host and pushes the result. Blocks until pushed, failed, cancelled or timed out; output
     * lines go to {@code output}; {@code cancelled} is polled while the build runs.
     */
    public BuildOutcome run(BuildJob job, Consumer<String> output, BooleanSupplier cancelled) {
        return run(job, output, output, cancelled);
    }

    /**
     * As {@link #run(BuildJob, Consumer, BooleanSupplier)}, with the daemon's build stream (what the build's steps
     * print, and the daemon's step lines) going to {@code stepOutput} and only the gateway's own messages to
     * {@code output}, so that the log can tell them apart.
     */
    public BuildOutcome run(BuildJob job, Consumer<String> output, Consumer<String> stepOutput,
            BooleanSupplier cancelled) {
        return run(job, output, stepOutput, cancelled, () -> true);
    }

    /**
     * As {@link #run(BuildJob, Consumer, Consumer, BooleanSupplier)}; {@code mayPush} is asked once, right before
     * the image is tagged and pushed, and a false answer stops the build there, cancelled, with nothing pushed (the
     * dispatcher answers whether this replica still holds the build's lease, renewing it). A build that fails
     * because its host's daemon stopped answering fails as "host lost", and the host is marked unhealthy at once.
     */
    public BuildOutcome run(BuildJob job, Consumer<String> output, Consumer<String> stepOutput,
            BooleanSupplier cancelled, BooleanSupplier mayPush) {
        BuildOutcome outcome = dispatch(job, output, stepOutput, cancelled, mayPush);
        if (outcome.result() != BuildOutcome.Result.FAILED) {
            return outcome;
        }
        HostPoolProperties.Host host = fixed.named(job.host()).orElse(null);
        if (host == null) {
            return outcome;
        }
        // A failure may be the daemon's death: asked now, an unreachable daemon makes the host unhealthy before the
        // next claim, and the build's reason says what happened rather than how the stream ended.
        check(host);
        Health now = health.get(host.name());
        if (now != null && !now.healthy() && now.error() != null && now.error().startsWith("daemon unreachable")) {
            log.warn("build {}: host {} lost during the build ({})", job.buildId(), host.name(), outcome.reason());
            return new BuildOutcome(BuildOutcome.Result.FAILED, outcome.imageId(), null, null, HOST_LOST + ": build"
                    + " host " + host.name() + " stopped answering during the build (" + outcome.reason() + ")",
                    outcome.run());
        }
        return outcome;
    }

    /** How the failure reason of a build whose host's daemon died starts. */
    public static final String HOST_LOST = "host lost";

    /** The label the gateway puts on every image it builds; what leftovers are found and cleaned by. */
    public static final String BUILD_ID_LABEL = "io.buildgateway.build-id";

    /**
     * Removes what one build left on its host: containers and images labelled with its id (a build whose replica
     * was lost: its daemon stopped the build when the connection closed, but an image it had finished stays).
     * Best effort: returns how many objects were removed, or -1 when the host could not be asked.
     */
    public int cleanBuild(String hostName, String buildId) {
        HostPoolProperties.Host host = fixed.named(hostName).orElse(null);
        if (host == null) {
            return -1;
        }
        try {
            return clean(clients.control(host), BUILD_ID_LABEL + "=" + buildId, false);
        } catch (RuntimeException e) {
            log.warn("could not clean build {} from host {}: {}", buildId, hostName, summary(e));
            return -1;
        }
    }

    /**
     * Containers with the label (any state) and images with it: every such image when {@code danglingOnly} is
     * false, else only untagged ones (a tagged image is a pushed one, which the host keeps as cache).
     */
    private static int clean(DockerClient docker, String label, boolean danglingOnly) {
        int removed = 0;
        for (com.github.dockerjava.api.model.Container c : docker.listContainersCmd().withShowAll(true)
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
        for (com.github.dockerjava.api.model.Image i : images.exec()) {
            try {
                docker.removeImageCmd(i.getId()).withForce(true).exec();
                removed++;
            } catch (RuntimeException ignored) {
                // in use as another image's parent, or already gone
            }
        }
        return removed;
    }

    /** The build on its host: a fixed one (leased), or an ephemeral one started for it. */
    private BuildOutcome dispatch(BuildJob job, Consumer<String> output, Consumer<String> stepOutput,
            BooleanSupplier cancelled, BooleanSupplier mayPush) {
        String quarantine = properties.registry().quarantine();
        if (!quarantine.isEmpty() && (job.repository().equals(quarantine)
                || job.repository().startsWith(quarantine + "/"))) {
            return BuildOutcome.failed("repository " + job.repository() + " is under the gateway's quarantine "
                    + quarantine + "/ (gateway.hostpool.registry.quarantine), where images wait for their checks");
        }
        if (ephemeral != null && ephemeral.name().equals(job.host())) {
            return runEphemeral(job, output, stepOutput, cancelled, mayPush);
        }
        BuildHostProvider.Lease lease;
        try {
            lease = fixed.acquire(job.host(), job.buildId());
        } catch (BuildHostProvider.Unavailable e) {
            return BuildOutcome.failed("build host " + job.host() + " is not a healthy user-namespaced host");
        }
        try {
            HostPoolProperties.Host host = lease.host();
            Health h = health.get(host.name());
            if (h == null || !h.healthy() || !h.userns()) {
                return BuildOutcome.failed("build host " + job.host() + " is not a healthy user-namespaced host");
            }
            return runOn(host, h, job, output, stepOutput, cancelled, mayPush);
        } finally {
            fixed.release(lease);
        }
    }

    /**
     * A build on a host started for it alone (from the warm pool when one is idle), destroyed afterwards whatever
     * the outcome — pushed, failed, cancelled, timed out or an error of the gateway's. The host's identity goes into
     * the outcome for the record and the provenance.
     */
    private BuildOutcome runEphemeral(BuildJob job, Consumer<String> output, Consumer<String> stepOutput,
            BooleanSupplier cancelled, BooleanSupplier mayPush) {
        BuildHostProvider.Lease lease;
        try {
            lease = ephemeral.acquire(job.host(), job.buildId());
        } catch (BuildHostProvider.Unavailable e) {
            return BuildOutcome.failed(e.getMessage());
        }
        try {
            output.accept("Ephemeral build host " + lease.instance() + " (daemon " + lease.daemonId()
                    + "): started for this build alone, destroyed after it\n");
            BuildOutcome outcome = runOn(lease.host(), new Health(true, true, clock.instant(), null), job, output,
                    stepOutput, cancelled, mayPush);
            if (outcome.run() == null) {
                return outcome;
            }
            BuildOutcome.HostRun run = outcome.run();
            Map<String, String> facts = new LinkedHashMap<>(lease.facts());
            facts.put("provider", ephemeral.kind());
            return new BuildOutcome(outcome.result(), outcome.imageId(), outcome.imageDigest(), outcome.imageRef(),
                    outcome.reason(), new BuildOutcome.HostRun(job.host(), run.usernsRemap(), run.networkMode(),
                            run.pulled(), lease.instance(), lease.daemonId(), facts));
        } finally {
            clients.forget(lease.host().name());
            ephemeral.release(lease);
        }
    }

    private BuildOutcome runOn(HostPoolProperties.Host host, Health h, BuildJob job, Consumer<String> output,
            Consumer<String> stepOutput, BooleanSupplier cancelled, BooleanSupplier mayPush) {
        String quarantine = properties.registry().quarantine();
        if (job.egressProxy() != null && (host.builder() != HostPoolProperties.Builder.BUILDKIT
                || host.egressAddress() == null)) {
            return BuildOutcome.failed("build host " + job.host() + " has no egress path (a BuildKit host with"
                    + " gateway.hostpool.hosts[].egress-address), and this build's team has an egress allowlist");
        }
        DockerClient docker = clients.build(host);
        HostPoolProperties.Limits limits = properties.build();
        String registry = properties.registry().address();
        String name = registry + "/" + job.repository();
        String ref = name + ":" + job.tag();
        Instant deadline = clock.instant().plus(limits.timeout());
        long t0 = System.nanoTime();
        Confinement.Plan plan = Confinement.plan(job, registry, pullablePrefixes(),
                properties.registry().quarantine());
        plan.refused().forEach((reference, why) -> output.accept("Not granted to the build daemon: " + reference
                + " (" + why + ")\n"));
        AuthConfigurations pullAuth = buildAuth(job, plan, limits);
        try {
            long t1;
            long t2;
            Built done;
            if (host.builder() == HostPoolProperties.Builder.BUILDKIT) {
                try {
                    done = buildKit(host, job, plan, output, stepOutput, cancelled, deadline);
                } finally {
                    afterBuild(host, job.buildId());
                }
                t1 = System.nanoTime();
                t2 = t1;
            } else {
                done = classic(docker, h, job, plan, pullAuth, output, stepOutput, cancelled, deadline);
                t1 = done.builtAt();
                t2 = System.nanoTime();
            }
            if (done.outcome() != null) {
                return done.outcome();
            }
            Step labelled = new Step(done.imageId(), null);
            BuildOutcome.HostRun run = done.run();
            phases.record(job.buildId(), io.buildgateway.shared.BuildPhases.BUILD, t2 - t0);
            DockerBuiltImage built = new DockerBuiltImage(docker, properties.apiVersion(), job, labelled.imageId(),
                    ref, output, deadline);
            if (!quarantine.isEmpty()) {
                return checkWhilePushing(docker, job, plan, built, labelled.imageId(), quarantineOf(quarantine, job),
                        run, output, cancelled, mayPush, deadline, t0, t1, t2);
            }
            for (ImageGate gate : gates) {
                ImageGate.Verdict verdict = gate.examine(built);
                if (!verdict.passed()) {
                    removeQuietly(docker, labelled.imageId());
                    return new BuildOutcome(BuildOutcome.Result.FAILED, labelled.imageId(), null, null,
                            verdict.reason());
                }
                if (cancelled.getAsBoolean()) {
                    return new BuildOutcome(BuildOutcome.Result.CANCELLED, labelled.imageId(), null, null,
                            "cancelled while verifying");
                }
            }
            long tv = System.nanoTime();
            if (cancelled.getAsBoolean() || !mayPush.getAsBoolean()) {
                removeQuietly(docker, labelled.imageId());
                return new BuildOutcome(BuildOutcome.Result.CANCELLED, labelled.imageId(), null, null,
                        cancelled.getAsBoolean() ? "cancelled before pushing"
                                : "stopped before pushing: this replica no longer holds the build");
            }
            docker.tagImageCmd(labelled.imageId(), name, job.tag()).withForce().exec();
            output.accept("Pushing " + ref + "\n");
            PushRetry retry = retry(job, labelled.imageId(), deadline, cancelled, output);
            // A push token minted for each attempt: a long outage must not leave the retry with an expired one.
            String pushed = retry.run("push to " + registry, () -> awaitPush(startPush(docker, name, job.tag(),
                    pushAuth(job, plan, job.repository())), retry, cancelled, deadline));
            long t3 = System.nanoTime();
            output.accept("Pushed " + name + "@" + pushed + "\n");
            phases.record(job.buildId(), io.buildgateway.shared.BuildPhases.PUSH, t3 - tv);
            log.info("build {} on {}: build {} ms, labels {} ms, verify {} ms, push {} ms", job.buildId(), job.host(),
                    (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (tv - t2) / 1_000_000, (t3 - tv) / 1_000_000);
            for (ImageGate gate : gates) {
                gate.pushed(built, pushed);
            }
            return new BuildOutcome(BuildOutcome.Result.PUSHED, labelled.imageId(), pushed,
                    name + "@" + pushed, null, run);
        } catch (PushRetry.Stopped e) {
            return e.outcome();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new BuildOutcome(BuildOutcome.Result.CANCELLED, null, null, null, "the gateway is shutting down");
        } catch (Exception e) {
            log.warn("build {} failed on {}", job.buildId(), job.host(), e);
            return BuildOutcome.failed("build host error: " + summary(e));
        }
    }


    /**
     * The push beside the checks (docs/security.md "Quarantine push"): the daemon pushes the image to the build's
     * quarantine repository ({@code <quarantine>/<build id>/<run>}, which no build is granted and no team owns) while the
     * gates read it from the host; only when every gate passed does the gateway give the pushed manifest its name
     * ({@link ImageRegistry#promote}: blobs mounted, the same manifest bytes under the tag, so the same digest) and
     * tell the gates it was pushed. A refusal, a cancel, a timeout or an error stops the push and deletes whatever
     * reached the quarantine; nothing is recorded as pushed. The push phase's time is what the build waited for the
     * push and the naming after the checks, the part the checks did not hide.
     */
    private BuildOutcome checkWhilePushing(DockerClient docker, BuildJob job, Confinement.Plan plan,
            DockerBuiltImage built, String imageId, String quarantine, BuildOutcome.HostRun run,
            Consumer<String> output, BooleanSupplier cancelled, BooleanSupplier mayPush, Instant deadline, long t0,
            long t1, long t2) throws Exception {
        String registry = properties.registry().address();
        String name = registry + "/" + job.repository();
        String held = registry + "/" + quarantine;
        docker.tagImageCmd(imageId, held, QUARANTINE_TAG).withForce().exec();
        long tp = System.nanoTime();
        // the latest attempt of the quarantine push: the first runs beside the checks, a failed one is started again
        PushCallback[] push = {startPush(docker, held, QUARANTINE_TAG, pushAuth(job, plan, quarantine))};
        boolean named = false;
        boolean refused = false;
        try {
            for (ImageGate gate : gates) {
                ImageGate.Verdict verdict = gate.examine(built);
                if (!verdict.passed()) {
                    // let the push end first: a push stopped by closing its stream may still write its manifest
                    // after the deletion (the daemon ends it on its own time), so the refused image would stay
                    refused = true;
                    removeQuietly(docker, imageId);
                    return new BuildOutcome(BuildOutcome.Result.FAILED, imageId, null, null, verdict.reason());
                }
                if (cancelled.getAsBoolean()) {
                    return new BuildOutcome(BuildOutcome.Result.CANCELLED, imageId, null, null,
                            "cancelled while verifying");
                }
            }
            long tv = System.nanoTime();
            output.accept("Pushing " + name + ":" + job.tag() + "\n");
            PushRetry pushing = retry(job, imageId, deadline, cancelled, output);
            String quarantined = pushing.run("push to " + registry, () -> {
                if (pushing.attempts() > 0) {
                    push[0] = startPush(docker, held, QUARANTINE_TAG, pushAuth(job, plan, quarantine));
                }
                return awaitPush(push[0], pushing, cancelled, deadline);
            });
            long pushed = System.nanoTime();
            if (!mayPush.getAsBoolean()) {
                // the quarantine copy is deleted in finally: nothing of this run is named or recorded
                return new BuildOutcome(BuildOutcome.Result.CANCELLED, imageId, null, null,
                        "stopped before naming the image: this replica no longer holds the build");
            }
            // Idempotent: an attempt whose answer was lost mounts the same blobs and puts the same bytes again.
            PushRetry naming = retry(job, imageId, deadline, cancelled, output);
            String digest = naming.run("naming the image in " + registry, () -> {
                try {
                    return registryApi.promote(quarantine, quarantined, job.repository(), job.tag());
                } catch (ImageRegistry.Unreachable e) {
                    throw new PushRetry.Failed(e.getMessage());
                }
            });
            named = true;
            docker.tagImageCmd(imageId, name, job.tag()).withForce().exec();
            untagQuietly(docker, held + ":" + QUARANTINE_TAG);
            long t3 = System.nanoTime();
            output.accept("Pushed " + name + "@" + digest + "\n");
            phases.record(job.buildId(), io.buildgateway.shared.BuildPhases.PUSH, t3 - tv);
            log.info("build {} on {}: build {} ms, labels {} ms, verify {} ms, push {} ms beside it, then waited {} ms"
                    + " and named it in {} ms", job.buildId(), job.host(), (t1 - t0) / 1_000_000,
                    (t2 - t1) / 1_000_000, (tv - t2) / 1_000_000, (pushed - tp) / 1_000_000,
                    Math.max(0, pushed - tv) / 1_000_000, (t3 - pushed) / 1_000_000);
            for (ImageGate gate : gates) {
                gate.pushed(built, digest);
            }
            return new BuildOutcome(BuildOutcome.Result.PUSHED, imageId, digest, name + "@" + digest, null, run);
        } finally {
            if (!named) {
                // refused, cancelled, timed out, failed, or an exception on the way: nothing may stay pushed
                discard(push[0], quarantine, job, refused ? deadline : null);
            }
        }
    }

    /** The tag of an image in its run's quarantine repository (the repository alone names the build and run). */
    static final String QUARANTINE_TAG = "checking";

    /**
     * The quarantine repository of one run of a build, {@code <quarantine>/<build id>/<run>}: a re-queued build's
     * second run (or a lapsed first run still pushing from another replica) never shares a repository with its
     * other run, so one run's discard cannot delete the manifest the other is naming.
     */
    static String quarantineOf(String quarantine, BuildJob job) {
        return quarantine + "/" + job.buildId() + "/" + java.util.HexFormat.of().formatHex(
                java.nio.ByteBuffer.allocate(4).putInt(RUNS.nextInt()).array());
    }

    private static final java.security.SecureRandom RUNS = new java.security.SecureRandom();

    /** The retry of one registry operation of this build (push, quarantine push, naming), within its deadline. */
    private PushRetry retry(BuildJob job, String imageId, Instant deadline, BooleanSupplier cancelled,
            Consumer<String> output) {
        return new PushRetry(job.buildId(), imageId, properties.build().timeout(), deadline, clock, cancelled, output);
    }

    private static PushCallback startPush(DockerClient docker, String name, String tag, AuthConfig auth) {
        PushCallback push = new PushCallback();
        docker.pushImageCmd(name).withTag(tag).withAuthConfig(auth).exec(push);
        return push;
    }

    /** One push attempt's end: the pushed digest, or why it failed (tried again) or stopped (not). */
    private String awaitPush(PushCallback push, PushRetry retry, BooleanSupplier cancelled, Instant deadline)
            throws PushRetry.Failed, PushRetry.Stopped, InterruptedException {
        BuildOutcome.Result waited = await(push, cancelled, deadline);
        if (waited != null) {
            throw retry.stopped(waited);
        }
        if (push.error != null || push.digest == null) {
            throw new PushRetry.Failed(push.error != null ? push.error : "the registry returned no digest");
        }
        return push.digest;
    }

    /**
     * Ends the quarantine push and deletes what reached the registry. With {@code waitUntil} (a refusal: the image is
     * already built and the push nearly done) the push runs to its end first, so its manifest cannot land after the
     * deletion; otherwise (cancel, timeout, error) closing the stream stops the daemon, and as the daemon may still
     * write the manifest after the client is gone, the deletion is repeated once a little later on the checker's
     * thread. Should a deletion fail, the image stays in a repository no build and no team can read, and the
     * warning says so; the build's outcome is unchanged.
     */
    private void discard(PushCallback push, String quarantine, BuildJob job, Instant waitUntil) {
        try {
            boolean ended = waitUntil != null && push.done.await(Math.max(1,
                    java.time.Duration.between(Instant.now(), waitUntil).toMillis()), TimeUnit.MILLISECONDS);
            if (!ended) {
                closeQuietly(push);
                if (!push.done.await(30, TimeUnit.SECONDS)) {
                    log.warn("build {}: the daemon did not end its quarantine push within 30 s", job.buildId());
                }
            }
            deleteQuarantined(push.digest, quarantine, job);
            if (!ended) {
                try {
                    checker.schedule(() -> deleteQuarantined(null, quarantine, job), 10, TimeUnit.SECONDS);
                } catch (java.util.concurrent.RejectedExecutionException stopping) {
                    log.debug("the gateway is stopping: {} is not checked again", quarantine);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            deleteQuarantined(push.digest, quarantine, job);
        }
    }

    private void deleteQuarantined(String digest, String quarantine, BuildJob job) {
        try {
            if (digest != null) {
                registryApi.deleteManifest(quarantine, digest);
            }
            registryApi.deleteManifest(quarantine, QUARANTINE_TAG);
        } catch (IOException | RuntimeException e) {
            log.warn("build {}: could not delete its image from the quarantine repository {} (it stays unreadable"
                    + " to builds and teams): {}", job.buildId(), quarantine, summary(e));
        }
    }

    private static void untagQuietly(DockerClient docker, String reference) {
        try {
            docker.removeImageCmd(reference).withNoPrune(true).exec();
        } catch (RuntimeException ignored) {
            // already gone; the image keeps its real tag either way
        }
    }

    /**
     * After a BuildKit build, whatever its outcome: reads the host's build cache and, above the host's cap, prunes it
     * down to the cap (least recently used first), on the health checker's thread so that the build's result does
     * not wait and prunes of one host never overlap. Each prune is audited ({@code host.cache-pruned}) and timed
     * ({@code gateway.hostpool.cache.prune}).
     */
    private void afterBuild(HostPoolProperties.Host host, String buildId) {
        try {
            checker.execute(() -> enforceCap(host, buildId));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            log.debug("the gateway is stopping: the build cache of {} is not checked after build {}", host.name(),
                    buildId);
        }
    }

    /** Reads the host's build cache size; null when the daemon did not answer (health reports the daemon). */
    private BuildCache.Usage readCache(HostPoolProperties.Host host) {
        try {
            BuildCache.Usage usage = BuildCache.usage(clients.http(host));
            if (cacheBytes.put(host.name(), usage.bytes()) == null) {
                io.micrometer.core.instrument.Gauge.builder("gateway.hostpool.cache.size", cacheBytes,
                        m -> m.getOrDefault(host.name(), 0L)).tag("host", host.name()).baseUnit("bytes")
                        .description("the BuildKit build cache of a build host, as last read").register(meters);
            }
            return usage;
        } catch (java.io.IOException | RuntimeException e) {
            log.warn("cannot read the build cache of {}: {}", host.name(), summary(e));
            return null;
        }
    }

    void enforceCap(HostPoolProperties.Host host, String buildId) {
        BuildCache.Usage before = readCache(host);
        if (before == null || host.buildCacheMax() == null || before.bytes() <= host.buildCacheMax().toBytes()) {
            return;
        }
        long cap = host.buildCacheMax().toBytes();
        long t0 = System.nanoTime();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("host", host.name());
        details.put("build", buildId);
        details.put("cap", cap);
        details.put("bytesBefore", before.bytes());
        Outcome outcome;
        try {
            long unusedFor = host.buildCacheUnusedFor() == null ? 0 : host.buildCacheUnusedFor().toSeconds();
            long reclaimed = BuildCache.prune(clients.http(host), cap, unusedFor > 0 ? unusedFor + "s" : null);
            BuildCache.Usage after = readCache(host);
            details.put("bytesAfter", after == null ? null : after.bytes());
            details.put("reclaimed", reclaimed);
            outcome = Outcome.SUCCESS;
            log.info("build cache of {} pruned from {} to {} bytes (cap {}) after build {}", host.name(),
                    before.bytes(), after == null ? "?" : after.bytes(), cap, buildId);
        } catch (java.io.IOException | RuntimeException e) {
            details.put("error", summary(e));
            outcome = Outcome.FAILED;
            log.warn("pruning the build cache of {} failed: {}", host.name(), summary(e));
        }
        long nanos = System.nanoTime() - t0;
        details.put("durationMs", TimeUnit.NANOSECONDS.toMillis(nanos));
        io.micrometer.core.instrument.Timer.builder("gateway.hostpool.cache.prune").tag("host", host.name())
                .tag("outcome", outcome.name().toLowerCase(java.util.Locale.ROOT))
                .description("one prune of a build host's BuildKit cache down to its cap").register(meters)
                .record(nanos, TimeUnit.NANOSECONDS);
        events.publishEvent(new AuditRecord("host.cache-pruned", "host/" + host.name(), outcome, details,
                RequestInfo.system()));
    }

    /** A built (and labelled) image id, or the outcome that ended the build; the host's facts for the record. */
    private record Built(String imageId, BuildOutcome outcome, BuildOutcome.HostRun run, long builtAt) {
    }

    /** The classic builder's build, then the label step; confinement checked on both. */
    private Built classic(DockerClient docker, Health h, BuildJob job, Confinement.Plan plan,
            AuthConfigurations pullAuth, Consumer<String> output, Consumer<String> stepOutput,
            BooleanSupplier cancelled, Instant deadline) throws Exception {
        Step build;
        try (InputStream context = Files.newInputStream(job.context())) {
            build = build(docker, context, job.dockerfile(), job.target(), job.buildArgs(), Map.of(),
                    job.noCache(), true, pullAuth, stepOutput, cancelled, deadline);
        }
        BuildOutcome.HostRun run = new BuildOutcome.HostRun(job.host(), h.userns(), NETWORK_MODE, build.pulled());
        if (build.outcome() != null) {
            BuildOutcome confined = confine(job, h.userns(), plan, build, null, output);
            return new Built(null, confined != null ? confined : build.outcome(), run, 0);
        }
        long t1 = System.nanoTime();
        Step labelled = label(docker, build.imageId(), job, pullAuth, stepOutput, cancelled, deadline);
        BuildOutcome confined = confine(job, h.userns(), plan, build, labelled, output);
        if (confined != null) {
            removeQuietly(docker, build.imageId());
            if (labelled.imageId() != null) {
                removeQuietly(docker, labelled.imageId());
            }
            return new Built(null, confined, run, t1);
        }
        if (labelled.outcome() != null) {
            return new Built(null, labelled.outcome(), run, t1);
        }
        return new Built(labelled.imageId(), null, run, t1);
    }

    /**
     * A BuildKit build ({@link BuildKitBuild}): the granted images pulled first with the build's pull token, then
     * the build from the host's image store with the labels in the same build; confinement checked against what the
     * build's FROM steps used, what BuildKit fetched itself and its error.
     */
    private Built buildKit(HostPoolProperties.Host host, BuildJob job, Confinement.Plan plan,
            Consumer<String> output, Consumer<String> stepOutput, BooleanSupplier cancelled, Instant deadline)
            throws Exception {
        com.github.dockerjava.transport.DockerHttpClient http = clients.http(host);
        String registry = properties.registry().address();
        if (!plan.refused().isEmpty()) {
            // BuildKit would take a refused image from the host's store (another build's) without asking the
            // registry: a build that names one is stopped before it runs, as a confinement violation.
            List<PulledImage> refused = plan.refused().keySet().stream()
                    .map(r -> new PulledImage(r, "(not granted)", "FROM " + r)).toList();
            Step stopped = new Step(null, BuildOutcome.failed("an image the build names is not granted to it"),
                    refused, List.of(), null, null);
            BuildOutcome confined = confine(job, true, plan, stopped, null, output);
            return new Built(null, confined != null ? confined : stopped.outcome(),
                    new BuildOutcome.HostRun(host.name(), true, NETWORK_MODE, List.of()), 0);
        }
        List<String> toPull = job.allowedPulls().stream()
                .filter(r -> plan.granted().contains(Confinement.repository(r, registry))).distinct().toList();
        String token = tokens == null ? null : tokens.mint("build/" + job.buildId(), Confinement.pullGrants(plan),
                properties.build().timeout().plusMinutes(1));
        BuildKitBuild.Pull pulls = BuildKitBuild.pull(http, toPull, registry, token, output);
        if (pulls.error() != null) {
            Step failed = new Step(null, BuildOutcome.failed(pulls.error()), pulls.pulled(), List.of(), pulls.error(),
                    "FROM");
            BuildOutcome confined = confine(job, true, plan, failed, null, output);
            return new Built(null, confined != null ? confined : failed.outcome(),
                    new BuildOutcome.HostRun(host.name(), true, NETWORK_MODE, pulls.pulled()), 0);
        }
        Map<String, String> buildArgs = job.buildArgs();
        String networkMode = NETWORK_MODE;
        String recordedMode = NETWORK_MODE;
        if (job.egressProxy() != null) {
            // Checked before the build: a host without an egress path never runs the build without its network.
            buildArgs = EgressPath.buildArgs(job.buildArgs(), EgressPath.stepProxy(job.egressProxy(),
                    host.egressAddress()));
            networkMode = EgressPath.BUILDKIT_NETWORK_MODE;
            recordedMode = EgressPath.RECORDED_NETWORK_MODE;
            output.accept("Steps have network to the egress proxy only (docs/egress.md)\n");
        }
        BuildKitBuild.Result result;
        try (InputStream context = Files.newInputStream(job.context())) {
            result = BuildKitBuild.build(http, context, job.dockerfile(), job.target(), buildArgs, job.labels(),
                    job.noCache(), properties.build(), networkMode, stepOutput, cancelled, deadline, clock);
        }
        List<PulledImage> used = used(result.trace(), pulls.pulled());
        BuildOutcome.HostRun run = new BuildOutcome.HostRun(host.name(), true, recordedMode, digested(used));
        String error = result.error() != null ? result.error() : result.trace().error();
        BuildOutcome ended = result.stopped() != null
                ? new BuildOutcome(result.stopped(), null, null, null, result.stopped() == BuildOutcome.Result.CANCELLED
                        ? "cancelled while building" : "build exceeded the timeout of " + properties.build().timeout())
                : error != null ? BuildOutcome.failed("build failed: " + error)
                : result.imageId() == null ? BuildOutcome.failed("the daemon reported no image id") : null;
        if (error != null && result.stopped() == null) {
            output.accept("ERROR: " + error + "\n");
        }
        Step step = new Step(result.imageId(), ended, used, result.trace().fetched(),
                result.stopped() == null ? error : null, result.trace().failedStep());
        BuildOutcome confined = confine(job, true, plan, step, null, output);
        if (confined != null) {
            if (result.imageId() != null) {
                removeQuietly(clients.build(host), result.imageId());
            }
            return new Built(null, confined, run, 0);
        }
        if (ended != null) {
            return new Built(null, ended, run, 0);
        }
        return new Built(result.imageId(), null, run, 0);
    }

    /**
     * The images the build's FROM steps used, each by the digest of its pull; one the gateway did not pull came
     * from the host's image store (another build's), which the confinement check judges by its repository.
     */
    private static List<PulledImage> used(BuildKitTrace trace, List<PulledImage> pulled) {
        List<PulledImage> used = new java.util.ArrayList<>(pulled);
        for (String reference : trace.used()) {
            int at = reference.indexOf('@');
            String name = at > 0 ? reference.substring(0, at) : reference;
            boolean known = pulled.stream().anyMatch(p -> withTag(p.reference()).equals(withTag(name))
                    || (at > 0 && p.digest().equals(reference.substring(at + 1))));
            if (!known) {
                used.add(new PulledImage(name, at > 0 ? reference.substring(at + 1) : "(from the host's image store)",
                        "FROM " + reference));
            }
        }
        return used;
    }

    /** {@code repo} and {@code repo:latest} name the same image (BuildKit's vertex names always carry the tag). */
    private static String withTag(String reference) {
        int at = reference.indexOf('@');
        String name = at > 0 ? reference.substring(0, at) : reference;
        return name.lastIndexOf(':') > name.lastIndexOf('/') ? name : name + ":latest";
    }

    /** Only images known by a digest go into the build's record (provenance names every one by digest). */
    private static List<PulledImage> digested(List<PulledImage> images) {
        return images.stream().filter(p -> p.digest().startsWith("sha256:")).toList();
    }

    /**
     * A build step's result: the full image id, or the outcome that ended it; either way what the daemon pulled,
     * the steps in which it downloaded a remote source, and its error.
     */
    private record Step(String imageId, BuildOutcome outcome, List<PulledImage> pulled, List<String> fetched,
            String error, String failedStep) {
        Step(String imageId, BuildOutcome outcome) {
            this(imageId, outcome, List.of(), List.of(), null, null);
        }

        Step(String imageId, BuildOutcome outcome, List<PulledImage> pulled, List<String> fetched, String error) {
            this(imageId, outcome, pulled, fetched, error, null);
        }
    }

    /**
     * The confinement check of a build (and its label step): null when the daemon stayed inside what was granted;
     * otherwise the failed outcome, audited as {@code build.confinement-violation}. Runs before verification and
     * push, and also on a failed build, whose error may show an attempt the confinement stopped.
     */
    private BuildOutcome confine(BuildJob job, boolean userns, Confinement.Plan plan, Step build, Step labelled,
            Consumer<String> output) {
        String registry = properties.registry().address();
        List<PulledImage> pulled = new java.util.ArrayList<>(build.pulled());
        List<String> fetched = new java.util.ArrayList<>(build.fetched());
        String error = build.error();
        String failedStep = build.failedStep();
        if (labelled != null) {
            pulled.addAll(labelled.pulled());
            fetched.addAll(labelled.fetched());
            if (error == null) {
                error = labelled.error();
                failedStep = labelled.failedStep();
            }
        }
        List<String> violations = Confinement.violations(plan, registry, pulled, fetched, error, failedStep);
        if (violations.isEmpty()) {
            return null;
        }
        for (String v : violations) {
            output.accept("CONFINEMENT: " + v + "\n");
        }
        log.warn("build {} on {} left its confinement: {}", job.buildId(), job.host(), violations);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("host", job.host());
        details.put("team", job.team());
        details.put("repository", job.repository());
        details.put("violations", violations);
        details.put("granted", plan.granted().stream().sorted().toList());
        details.put("pulled", pulled.stream().map(p -> p.reference() + "@" + p.digest()).toList());
        events.publishEvent(new AuditRecord("build.confinement-violation", "build/" + job.buildId(), Outcome.DENIED,
                details, RequestInfo.system()));
        String reason = "confinement violation: " + String.join("; ", violations);
        if (build.outcome() != null && build.outcome().reason() != null) {
            reason += " (" + build.outcome().reason() + ")";
        }
        return new BuildOutcome(BuildOutcome.Result.FAILED, null, null, null, reason,
                new BuildOutcome.HostRun(job.host(), userns, NETWORK_MODE, digested(pulled)));
    }

    private List<String> pullablePrefixes() {
        HostPoolProperties.Tokens config = properties.registry().tokens();
        return config == null ? List.of("base/") : config.pullablePrefixes();
    }

    private Step build(DockerClient docker, InputStream context, String dockerfile, String target,
            Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, boolean pull,
            AuthConfigurations auth, Consumer<String> output, BooleanSupplier cancelled, Instant deadline)
            throws InterruptedException {
        HostPoolProperties.Limits limits = properties.build();
        long memory = limits.memory().toBytes();
        BuildCallback callback = new BuildCallback(output);
        BuildImageCmd cmd = docker.buildImageCmd()
                .withTarInputStream(context)
                .withDockerfilePath(dockerfile)
                .withNetworkMode(NETWORK_MODE)
                .withPull(pull)
                .withNoCache(noCache)
                .withRemove(true)
                .withForcerm(true)
                .withMemory(memory)
                .withMemswap(memory)
                .withLabels(labels)
                .withBuildAuthConfigs(auth);
        if (!limits.cpuset().isBlank()) {
            cmd.withCpusetcpus(limits.cpuset());
        }
        if (limits.cpuShares() > 0) {
            cmd.withCpushares(Integer.toString(limits.cpuShares()));
        }
        if (target != null && !target.isBlank()) {
            cmd.withTarget(target);
        }
        buildArgs.forEach(cmd::withBuildArg);
        cmd.exec(callback);
        BuildOutcome.Result waited = await(callback, cancelled, deadline);
        if (waited != null) {
            return new Step(null, new BuildOutcome(waited, null, null, null, waited == BuildOutcome.Result.CANCELLED
                    ? "cancelled while building" : "build exceeded the timeout of " + limits.timeout()),
                    callback.pulled(), callback.fetched(), null);
        }
        if (callback.error != null) {
            return new Step(null, BuildOutcome.failed("build failed: " + callback.error), callback.pulled(),
                    callback.fetched(), callback.error, callback.failedStep());
        }
        if (callback.imageId == null) {
            return new Step(null, BuildOutcome.failed("the daemon reported no image id"), callback.pulled(),
                    callback.fetched(), null);
        }
        return new Step(docker.inspectImageCmd(callback.imageId).exec().getId(), null, callback.pulled(),
                callback.fetched(), null);
    }

    /**
     * Puts the caller's and the gateway's labels on the built image in one step: a second build
     * {@code FROM <image id>} with a single LABEL instruction. (Labels passed to the classic builder become one step,
     * with a container of its own, per label.) {@code FROM} would consume ONBUILD triggers, so an image that declares
     * them is labelled by rebuilding it with the labels as build options instead, from the cache just filled.
     */
    private Step label(DockerClient docker, String imageId, BuildJob job, AuthConfigurations auth,
            Consumer<String> output, BooleanSupplier cancelled, Instant deadline) throws Exception {
        if (job.labels().isEmpty()) {
            return new Step(imageId, null);
        }
        String[] onBuild = docker.inspectImageCmd(imageId).exec().getConfig().getOnBuild();
        if (onBuild != null && onBuild.length > 0) {
            try (InputStream context = Files.newInputStream(job.context())) {
                return build(docker, context, job.dockerfile(), job.target(), job.buildArgs(), job.labels(), false,
                        false, auth, output, cancelled, deadline);
            }
        }
        byte[] tar = LabelStep.context(imageId, job.labels());
        return build(docker, new java.io.ByteArrayInputStream(tar), "Dockerfile", null, Map.of(), Map.of(), true,
                false, new AuthConfigurations(), output, cancelled, deadline);
    }

    /**
     * Waits for the stream to end. On cancel or timeout it closes the stream (again on each poll, in case the daemon
     * had not answered yet), which makes the daemon stop the build. docker-java's own timed awaitCompletion closes
     * the stream when its timeout passes, so it cannot be used to poll.
     */
    private BuildOutcome.Result await(StreamCallback<?> callback, BooleanSupplier cancelled, Instant deadline)
            throws InterruptedException {
        BuildOutcome.Result stop = null;
        while (!callback.done.await(250, TimeUnit.MILLISECONDS)) {
            if (stop == null && cancelled.getAsBoolean()) {
                stop = BuildOutcome.Result.CANCELLED;
            } else if (stop == null && clock.instant().isAfter(deadline)) {
                stop = BuildOutcome.Result.TIMED_OUT;
            }
            if (stop != null) {
                closeQuietly(callback);
            }
        }
        return stop;
    }

    /** A callback whose end can be awaited without closing it. */
    private abstract static class StreamCallback<T> extends ResultCallback.Adapter<T> {
        final java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        volatile String error;

        @Override
        public void onError(Throwable throwable) {
            if (error == null) {
                error = summary(throwable);
            }
            // Not super.onError: it logs every stream end as an error, including the cancels we cause ourselves.
            closeQuietly(this);
            done.countDown();
        }

        @Override
        public void onComplete() {
            try {
                super.onComplete();
            } finally {
                done.countDown();
            }
        }

        @Override
        public void close() throws java.io.IOException {
            super.close();
        }
    }

    /**
     * The daemon's credentials for the build's pulls: with tokens, one that pulls the granted repositories only,
     * valid for the build's timeout (a late stage may pull late); without, the gateway's own credentials.
     */
    private AuthConfigurations buildAuth(BuildJob job, Confinement.Plan plan, HostPoolProperties.Limits limits) {
        AuthConfigurations configs = new AuthConfigurations();
        HostPoolProperties.Registry registry = properties.registry();
        if (tokens != null) {
            configs.addConfig(new AuthConfig().withRegistryAddress(registry.address())
                    .withRegistrytoken(tokens.mint("build/" + job.buildId(), Confinement.pullGrants(plan),
                            limits.timeout().plusMinutes(1))));
        } else if (registry.username() != null && !registry.username().isBlank()) {
            configs.addConfig(passwordAuth());
        }
        return configs;
    }

    /**
     * The daemon's credentials for the push, minted right before it: push and pull on {@code repository} (the build's
     * own, or its quarantine),
     * pull on the granted repositories (so the registry can mount their layers instead of receiving them again).
     */
    private AuthConfig pushAuth(BuildJob job, Confinement.Plan plan, String repository) {
        if (tokens == null) {
            return passwordAuth();
        }
        return new AuthConfig().withRegistryAddress(properties.registry().address())
                .withRegistrytoken(tokens.mint("build/" + job.buildId(), Confinement.pushGrants(repository, plan),
                        properties.registry().tokens().pushTtl()));
    }

    private AuthConfig passwordAuth() {
        HostPoolProperties.Registry registry = properties.registry();
        AuthConfig auth = new AuthConfig().withRegistryAddress(registry.address());
        if (registry.username() != null && !registry.username().isBlank()) {
            auth.withUsername(registry.username()).withPassword(registry.password());
        }
        return auth;
    }

    /**
     * Reads the daemon's build stream: output lines, the built image id, and the daemon's own pull messages
     * ({@code status} items, which a build step cannot write: step output arrives as {@code stream}). The classic
     * builder pulls for a step as {@code Digest: sha256:…} then {@code Status: … for <reference>}.
     */
    private static final class BuildCallback extends StreamCallback<BuildResponseItem> {
        private final Consumer<String> output;
        private final PullLog pulls = new PullLog();
        volatile String imageId;

        BuildCallback(Consumer<String> output) {
            this.output = output;
        }

        List<PulledImage> pulled() {
            return pulls.pulled();
        }

        List<String> fetched() {
            return pulls.fetched();
        }

        String failedStep() {
            return pulls.failedStep();
        }

        @Override
        public void onNext(BuildResponseItem item) {
            if (item.getStream() != null) {
                output.accept(item.getStream());
                Matcher m = BUILT.matcher(item.getStream());
                if (m.find()) {
                    imageId = m.group(1);
                }
                pulls.stream(item.getStream());
            }
            if (item.getStatus() != null) {
                pulls.status(item.getStatus(), item.getId());
            }
            if (item.isErrorIndicated()) {
                error = item.getErrorDetail() != null && item.getErrorDetail().getMessage() != null
                        ? item.getErrorDetail().getMessage() : item.getError();
                pulls.error(error);
                output.accept("ERROR: " + error + "\n");
            }
        }
    }

    private static final class PushCallback extends StreamCallback<PushResponseItem> {
        volatile String digest;

        @Override
        public void onNext(PushResponseItem item) {
            if (item.getAux() != null && item.getAux().getDigest() != null) {
                digest = item.getAux().getDigest();
            }
            if (item.isErrorIndicated()) {
                error = item.getErrorDetail() != null && item.getErrorDetail().getMessage() != null
                        ? item.getErrorDetail().getMessage() : item.getError();
            }
        }
    }

    /** A refused image must not stay on the host under any name another build could pull or push. */
    private static void removeQuietly(DockerClient docker, String imageId) {
        try {
            docker.removeImageCmd(imageId).withForce(true).exec();
        } catch (RuntimeException ignored) {
            // still in use by a concurrent build's cache, or already gone; it carries no tag either way
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing a stream the daemon may already have ended
        }
    }

    static String summary(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return message.length() > 300 ? message.substring(0, 300) + "…" : message;
    }
}
