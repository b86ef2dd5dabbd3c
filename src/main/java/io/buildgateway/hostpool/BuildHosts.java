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

    private record Health(boolean healthy, boolean userns, Instant checkedAt, String error) {
    }

    BuildHosts(HostPoolProperties properties, ApplicationEventPublisher events, Clock clock,
            org.springframework.beans.factory.ObjectProvider<ImageGate> gates,
            io.buildgateway.shared.BuildPhases phases) {
        this.properties = properties;
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
        this.checker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "host-health");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Checks start once the application is ready, so that the first health change reaches the audit trail (event
     * listeners and the schema exist by then). The first check runs synchronously: a ready gateway knows its hosts.
     */
    @org.springframework.context.event.EventListener(org.springframework.boot.context.event.ApplicationReadyEvent.class)
    void startChecks() {
        checkAll();
        checker.scheduleWithFixedDelay(this::checkAll, properties.healthInterval().toMillis(),
                properties.healthInterval().toMillis(), TimeUnit.MILLISECONDS);
    }

    @PreDestroy
    void stop() {
        checker.shutdownNow();
        clients.close();
    }

    /** Checks every host now. */
    public void checkAll() {
        for (HostPoolProperties.Host host : properties.hosts()) {
            check(host);
        }
    }

    private void check(HostPoolProperties.Host host) {
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
        Health previous = health.put(host.name(), next);
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
        return properties.hosts().stream().map(h -> {
            Health s = health.get(h.name());
            return new HostStatus(h.name(), h.endpoint(), s != null && s.healthy(), s != null && s.userns(),
                    activeByHost.getOrDefault(h.name(), 0), h.capacity(), s == null ? null : s.checkedAt(),
                    s == null ? "not checked yet" : s.error());
        }).toList();
    }

    public boolean anyHealthy() {
        return health.values().stream().anyMatch(Health::healthy);
    }

    /** The least-loaded healthy host with a free slot, if any. */
    public Optional<String> choose(Map<String, Integer> activeByHost) {
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
        return !properties.hosts().isEmpty()
                && properties.hosts().stream().allMatch(h -> h.builder() == HostPoolProperties.Builder.BUILDKIT);
    }

    public int totalCapacity() {
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
        HostPoolProperties.Host host = properties.hosts().stream().filter(h -> h.name().equals(job.host()))
                .findFirst().orElse(null);
        Health h = host == null ? null : health.get(host.name());
        if (host == null || h == null || !h.healthy() || !h.userns()) {
            return BuildOutcome.failed("build host " + job.host() + " is not a healthy user-namespaced host");
        }
        DockerClient docker = clients.build(host);
        HostPoolProperties.Limits limits = properties.build();
        String registry = properties.registry().address();
        String name = registry + "/" + job.repository();
        String ref = name + ":" + job.tag();
        Instant deadline = clock.instant().plus(limits.timeout());
        long t0 = System.nanoTime();
        Confinement.Plan plan = Confinement.plan(job, registry, pullablePrefixes());
        plan.refused().forEach((reference, why) -> output.accept("Not granted to the build daemon: " + reference
                + " (" + why + ")\n"));
        AuthConfigurations pullAuth = buildAuth(job, plan, limits);
        try {
            long t1;
            long t2;
            Built done;
            if (host.builder() == HostPoolProperties.Builder.BUILDKIT) {
                done = buildKit(host, job, plan, output, stepOutput, cancelled, deadline);
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
            docker.tagImageCmd(labelled.imageId(), name, job.tag()).withForce().exec();
            output.accept("Pushing " + ref + "\n");
            PushRetry retry = new PushRetry();
            PushCallback push;
            while (true) {
                push = new PushCallback();
                // A push token minted for each attempt: a long outage must not leave the retry with an expired one.
                docker.pushImageCmd(name).withTag(job.tag()).withAuthConfig(pushAuth(job, plan)).exec(push);
                BuildOutcome.Result waited = await(push, cancelled, deadline);
                if (waited != null) {
                    return new BuildOutcome(waited, labelled.imageId(), null, null,
                            waited == BuildOutcome.Result.CANCELLED ? "cancelled while pushing"
                                    : "push exceeded the build timeout of " + limits.timeout()
                                            + (retry.attempts() > 0 ? " after " + (retry.attempts() + 1)
                                                    + " attempts" : ""));
                }
                if (push.error == null && push.digest != null) {
                    break;
                }
                String error = push.error != null ? push.error : "the registry returned no digest";
                java.time.Duration wait = retry.afterFailure(error, clock.instant(), deadline);
                if (wait == null) {
                    return BuildOutcome.failed("push to " + registry + " failed"
                            + (retry.attempts() > 1 ? " " + retry.attempts() + " times within the build's deadline"
                                    : "") + ": " + error);
                }
                output.accept("Push to " + registry + " failed (" + error + "); attempt " + (retry.attempts() + 1)
                        + " in " + wait.toSeconds() + " s\n");
                log.warn("build {}: push attempt {} to {} failed: {}", job.buildId(), retry.attempts(), registry,
                        error);
                long until = System.nanoTime() + wait.toNanos();
                while (System.nanoTime() < until) {
                    if (cancelled.getAsBoolean()) {
                        return new BuildOutcome(BuildOutcome.Result.CANCELLED, labelled.imageId(), null, null,
                                "cancelled while pushing");
                    }
                    Thread.sleep(Math.min(200, Math.max(1, (until - System.nanoTime()) / 1_000_000)));
                }
            }
            long t3 = System.nanoTime();
            output.accept("Pushed " + name + "@" + push.digest + "\n");
            phases.record(job.buildId(), io.buildgateway.shared.BuildPhases.PUSH, t3 - tv);
            log.info("build {} on {}: build {} ms, labels {} ms, verify {} ms, push {} ms", job.buildId(), job.host(),
                    (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (tv - t2) / 1_000_000, (t3 - tv) / 1_000_000);
            for (ImageGate gate : gates) {
                gate.pushed(built, push.digest);
            }
            return new BuildOutcome(BuildOutcome.Result.PUSHED, labelled.imageId(), push.digest,
                    name + "@" + push.digest, null, run);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new BuildOutcome(BuildOutcome.Result.CANCELLED, null, null, null, "the gateway is shutting down");
        } catch (Exception e) {
            log.warn("build {} failed on {}", job.buildId(), job.host(), e);
            return BuildOutcome.failed("build host error: " + summary(e));
        }
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
        BuildKitBuild.Result result;
        try (InputStream context = Files.newInputStream(job.context())) {
            result = BuildKitBuild.build(http, context, job.dockerfile(), job.target(), job.buildArgs(), job.labels(),
                    job.noCache(), properties.build(), stepOutput, cancelled, deadline, clock);
        }
        List<PulledImage> used = used(result.trace(), pulls.pulled());
        BuildOutcome.HostRun run = new BuildOutcome.HostRun(host.name(), true, NETWORK_MODE, digested(used));
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
     * The daemon's credentials for the push, minted right before it: push and pull on the build's own repository,
     * pull on the granted repositories (so the registry can mount their layers instead of receiving them again).
     */
    private AuthConfig pushAuth(BuildJob job, Confinement.Plan plan) {
        if (tokens == null) {
            return passwordAuth();
        }
        return new AuthConfig().withRegistryAddress(properties.registry().address())
                .withRegistrytoken(tokens.mint("build/" + job.buildId(), Confinement.pushGrants(job, plan),
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
