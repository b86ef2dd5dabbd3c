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
 * configured limits, and are tagged and pushed with the gateway's registry credentials only.
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

    private record Health(boolean healthy, boolean userns, Instant checkedAt, String error) {
    }

    BuildHosts(HostPoolProperties properties, ApplicationEventPublisher events, Clock clock,
            org.springframework.beans.factory.ObjectProvider<ImageGate> gates) {
        this.properties = properties;
        this.gates = gates.orderedStream().toList();
        this.clients = new DockerClients(properties);
        this.events = events;
        this.clock = clock;
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
            next = userns ? new Health(true, true, clock.instant(), null)
                    : new Health(false, false, clock.instant(),
                            "daemon does not run with user-namespace remapping (--userns-remap); refused as a build host");
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
        try {
            Step build;
            try (InputStream context = Files.newInputStream(job.context())) {
                build = build(docker, context, job.dockerfile(), job.target(), job.buildArgs(), Map.of(),
                        job.noCache(), true, stepOutput, cancelled, deadline);
            }
            if (build.outcome() != null) {
                return build.outcome();
            }
            long t1 = System.nanoTime();
            Step labelled = label(docker, build.imageId(), job, stepOutput, cancelled, deadline);
            long t2 = System.nanoTime();
            if (labelled.outcome() != null) {
                return labelled.outcome();
            }
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
            PushCallback push = new PushCallback();
            docker.pushImageCmd(name).withTag(job.tag()).withAuthConfig(pushAuth()).exec(push);
            BuildOutcome.Result waited = await(push, cancelled, deadline);
            if (waited != null) {
                return new BuildOutcome(waited, labelled.imageId(), null, null,
                        waited == BuildOutcome.Result.CANCELLED ? "cancelled while pushing"
                                : "push exceeded the build timeout of " + limits.timeout());
            }
            if (push.error != null || push.digest == null) {
                return BuildOutcome.failed("push to " + registry + " failed: "
                        + (push.error != null ? push.error : "the registry returned no digest"));
            }
            long t3 = System.nanoTime();
            output.accept("Pushed " + name + "@" + push.digest + "\n");
            log.info("build {} on {}: build {} ms, labels {} ms, verify {} ms, push {} ms", job.buildId(), job.host(),
                    (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (tv - t2) / 1_000_000, (t3 - tv) / 1_000_000);
            for (ImageGate gate : gates) {
                gate.pushed(built, push.digest);
            }
            return new BuildOutcome(BuildOutcome.Result.PUSHED, labelled.imageId(), push.digest,
                    name + "@" + push.digest, null,
                    new BuildOutcome.HostRun(host.name(), h.userns(), NETWORK_MODE, build.pulled()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new BuildOutcome(BuildOutcome.Result.CANCELLED, null, null, null, "the gateway is shutting down");
        } catch (Exception e) {
            log.warn("build {} failed on {}", job.buildId(), job.host(), e);
            return BuildOutcome.failed("build host error: " + summary(e));
        }
    }

    /** A build step's result: the full image id (and what the daemon pulled), or the outcome that ended it. */
    private record Step(String imageId, BuildOutcome outcome, List<PulledImage> pulled) {
        Step(String imageId, BuildOutcome outcome) {
            this(imageId, outcome, List.of());
        }
    }

    private Step build(DockerClient docker, InputStream context, String dockerfile, String target,
            Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, boolean pull,
            Consumer<String> output, BooleanSupplier cancelled, Instant deadline) throws InterruptedException {
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
                .withBuildAuthConfigs(authConfigurations());
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
                    ? "cancelled while building" : "build exceeded the timeout of " + limits.timeout()));
        }
        if (callback.error != null) {
            return new Step(null, BuildOutcome.failed("build failed: " + callback.error));
        }
        if (callback.imageId == null) {
            return new Step(null, BuildOutcome.failed("the daemon reported no image id"));
        }
        return new Step(docker.inspectImageCmd(callback.imageId).exec().getId(), null, callback.pulled());
    }

    /**
     * Puts the caller's and the gateway's labels on the built image in one step: a second build
     * {@code FROM <image id>} with a single LABEL instruction. (Labels passed to the classic builder become one step,
     * with a container of its own, per label.) {@code FROM} would consume ONBUILD triggers, so an image that declares
     * them is labelled by rebuilding it with the labels as build options instead, from the cache just filled.
     */
    private Step label(DockerClient docker, String imageId, BuildJob job, Consumer<String> output,
            BooleanSupplier cancelled, Instant deadline) throws Exception {
        if (job.labels().isEmpty()) {
            return new Step(imageId, null);
        }
        String[] onBuild = docker.inspectImageCmd(imageId).exec().getConfig().getOnBuild();
        if (onBuild != null && onBuild.length > 0) {
            try (InputStream context = Files.newInputStream(job.context())) {
                return build(docker, context, job.dockerfile(), job.target(), job.buildArgs(), job.labels(), false,
                        false, output, cancelled, deadline);
            }
        }
        byte[] tar = LabelStep.context(imageId, job.labels());
        return build(docker, new java.io.ByteArrayInputStream(tar), "Dockerfile", null, Map.of(), Map.of(), true,
                false, output, cancelled, deadline);
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

    private AuthConfigurations authConfigurations() {
        AuthConfigurations configs = new AuthConfigurations();
        HostPoolProperties.Registry registry = properties.registry();
        if (registry.username() != null && !registry.username().isBlank()) {
            configs.addConfig(pushAuth());
        }
        return configs;
    }

    private AuthConfig pushAuth() {
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
                pulls.status(item.getStatus());
            }
            if (item.isErrorIndicated()) {
                error = item.getErrorDetail() != null && item.getErrorDetail().getMessage() != null
                        ? item.getErrorDetail().getMessage() : item.getError();
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
