package io.buildgateway.builds;

import io.buildgateway.hostpool.BuildHosts;
import io.buildgateway.hostpool.BuildJob;
import io.buildgateway.intake.ContextIntake;
import io.buildgateway.hostpool.BuildOutcome;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.RequestInfo;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.annotation.PreDestroy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * Moves queued builds onto hosts. Claiming is a short transaction under an advisory lock (so replicas agree on host
 * capacity) with {@code FOR UPDATE SKIP LOCKED}; the claimed build carries a lease this replica renews while the
 * build runs. A build whose lease lapses (its replica died) is failed and audited, never left RUNNING.
 */
@Component
class BuildDispatcher {

    private static final Logger log = LoggerFactory.getLogger(BuildDispatcher.class);
    private static final long SCHEDULING_LOCK = 0x6267775f73636864L; // "bgw_schd"

    private final BuildRepository builds;
    private final BuildHosts hosts;
    private final BuildLogs logs;
    private final BuildProperties properties;
    private final ApplicationEventPublisher events;
    private final TransactionTemplate tx;
    private final JsonMapper json;
    private final MeterRegistry meters;
    private final Clock clock;
    private final Path contexts;
    private final String replica = "replica-" + UUID.randomUUID();
    private final ExecutorService workers;
    private final ScheduledExecutorService loop;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong queued = new AtomicLong();
    private final int maxWorkers;
    private final AtomicBoolean started = new AtomicBoolean();

    private final io.buildgateway.shared.BuildPhases phases;

    BuildDispatcher(BuildRepository builds, BuildHosts hosts, BuildLogs logs, BuildProperties properties,
            ApplicationEventPublisher events, TransactionTemplate tx, JsonMapper json, MeterRegistry meters,
            Clock clock, io.buildgateway.intake.IntakeProperties intake, io.buildgateway.shared.BuildPhases phases) {
        this.phases = phases;
        this.builds = builds;
        this.hosts = hosts;
        this.logs = logs;
        this.properties = properties;
        this.events = events;
        this.tx = tx;
        this.json = json;
        this.meters = meters;
        this.clock = clock;
        this.contexts = intake.storeDir().toAbsolutePath().normalize();
        this.maxWorkers = Math.max(1, hosts.totalCapacity());
        this.workers = Executors.newFixedThreadPool(maxWorkers, r -> {
            Thread t = new Thread(r, "build-worker");
            t.setDaemon(true);
            return t;
        });
        this.loop = Executors.newScheduledThreadPool(2, r -> {
            Thread t = new Thread(r, "build-dispatch");
            t.setDaemon(true);
            return t;
        });
        Gauge.builder("gateway.builds.queue.depth", queued, AtomicLong::get).description("builds waiting for a host")
                .register(meters);
    }

    @EventListener(ApplicationReadyEvent.class)
    void start() {
        if (started.compareAndSet(false, true)) {
            loop.scheduleWithFixedDelay(this::dispatchSafely, 0, properties.dispatchInterval().toMillis(),
                    TimeUnit.MILLISECONDS);
            loop.scheduleWithFixedDelay(this::recoverSafely, 5, 15, TimeUnit.SECONDS);
        }
    }

    @PreDestroy
    void stop() {
        loop.shutdownNow();
        workers.shutdownNow();
    }

    /** Called after a submission so the build starts without waiting for the next poll. */
    void wake() {
        if (started.get()) {
            loop.execute(this::dispatchSafely);
        }
    }

    private synchronized void dispatchSafely() {
        try {
            queued.set(builds.countByStatus(BuildStatus.QUEUED));
            while (inFlight.get() < maxWorkers) {
                Optional<UUID> claimed = claim();
                if (claimed.isEmpty()) {
                    break;
                }
                inFlight.incrementAndGet();
                UUID id = claimed.get();
                workers.execute(() -> {
                    try {
                        run(id);
                    } finally {
                        inFlight.decrementAndGet();
                        wake();
                    }
                });
            }
        } catch (RuntimeException e) {
            log.warn("dispatch failed; will retry", e);
        }
    }

    private Optional<UUID> claim() {
        return tx.execute(s -> {
            builds.claimLock(SCHEDULING_LOCK);
            Map<String, Integer> active = activeByHost();
            Optional<String> host = hosts.choose(active);
            if (host.isEmpty()) {
                return Optional.<UUID>empty();
            }
            // Rebuilds the security team starts may hold only their share of the pool, so developers still build.
            long rebuildSlots = Math.max(1, (long) Math.floor(properties.rebuildShare() * hosts.totalCapacity()));
            List<Build> next = builds.claimNext(builds.runningRebuilds() < rebuildSlots);
            if (next.isEmpty()) {
                return Optional.<UUID>empty();
            }
            Build b = next.get(0);
            // The database's clock, not this JVM's: the lease is judged by other replicas (docs/operations.md).
            Instant now = builds.databaseNow();
            b.claim(host.get(), replica, now, properties.lease());
            events.publishEvent(new AuditRecord("build.started", "build/" + b.id, Outcome.SUCCESS,
                    Map.of("host", b.host, "waitedMillis", Duration.between(b.requestedAt, now).toMillis()),
                    RequestInfo.system()));
            return Optional.of(b.id);
        });
    }

    Map<String, Integer> activeByHost() {
        Map<String, Integer> active = new HashMap<>();
        for (Object[] row : builds.activeByHost()) {
            active.put((String) row[0], ((Number) row[1]).intValue());
        }
        return active;
    }

    private void run(UUID id) {
        Build b = builds.findById(id).orElseThrow();
        // The real values (kept only while the build is queued or running); build_args holds digests for the view.
        Map<String, String> args = json.readValue(b.buildArgValues != null ? b.buildArgValues : b.buildArgs,
                new TypeReference<Map<String, String>>() { });
        // A value shown as its digest (a name the policy does not declare public) never reaches the log, the
        // failure reason or the audit trail, wherever the daemon or a step repeats it.
        BuildArgRedactor redactor = BuildArgRedactor.ofShown(args, json.readValue(b.buildArgs,
                new TypeReference<Map<String, String>>() { }));
        BuildLogs.Writer buildLog = logs.writer(id, redactor);
        java.util.function.Consumer<String> output = buildLog::gateway;
        output.accept("Building on " + b.host + " (network none, user namespaces on)\n");
        Map<String, String> labels = new LinkedHashMap<>(json.readValue(b.labels,
                new TypeReference<Map<String, String>>() { }));
        // All labels are applied in one step after the build (hostpool's LabelStep), so each costs nothing extra.
        labels.put("io.buildgateway.build-id", b.id.toString());
        labels.put("io.buildgateway.requested-by", b.requestedBy);
        labels.put("io.buildgateway.context-digest", b.contextDigest);
        labels.put("io.buildgateway.policy-digest", b.policyDigest);
        // The daemon builds the re-packed context with the gateway's canonical Dockerfile (docs/security.md, layer A);
        // only builds queued before V11 have none and are built from their upload.
        String builtDigest = b.builtContextDigest != null ? b.builtContextDigest : b.contextDigest;
        if (b.builtContextDigest != null) {
            labels.put("io.buildgateway.built-context-digest", b.builtContextDigest);
        }
        String dockerfile = b.builtContextDigest != null ? ContextIntake.dockerfileEntry(b.dockerfile) : b.dockerfile;
        Path context = contexts.resolve(builtDigest.substring("sha256:".length()) + ".ctx");
        AtomicBoolean cancel = new AtomicBoolean(false);
        Timer.Sample sample = Timer.start(meters);
        ScheduledFuture<?> heartbeat = loop.scheduleWithFixedDelay(() -> beat(id, cancel), 1, 1, TimeUnit.SECONDS);
        BuildOutcome outcome;
        try {
            if (!Files.exists(context)) {
                outcome = new BuildOutcome(BuildOutcome.Result.FAILED, null, null, null,
                        "the build context " + builtDigest + " is no longer in the store");
            } else {
                List<String> allowedPulls = b.allowedPulls == null ? null
                        : json.readValue(b.allowedPulls, new TypeReference<List<String>>() { });
                BuildJob job = new BuildJob(b.id.toString(), b.host, context, dockerfile, b.target, args, labels,
                        b.noCache, b.image, b.tag, b.team, b.baseImage, allowedPulls);
                outcome = hosts.run(job, output, buildLog::step, cancel::get);
            }
        } catch (RuntimeException e) {
            log.error("build {} failed unexpectedly", id, e);
            outcome = new BuildOutcome(BuildOutcome.Result.FAILED, null, null, null, "internal error while building");
        } finally {
            heartbeat.cancel(false);
            buildLog.endSteps();
        }
        // A line per phase before the final line; signing happens in the transaction that marks the build
        // SUCCEEDED, so its line follows the final one.
        output.accept(io.buildgateway.shared.BuildPhases.lines(phases.take(id.toString())));
        finish(id, outcome, output, redactor);
        output.accept(io.buildgateway.shared.BuildPhases.lines(phases.take(id.toString())));
        BuildStatus status = statusOf(outcome);
        sample.stop(meters.timer("gateway.build.duration", "team", b.team, "status", status.name()));
        meters.counter("gateway.builds.finished", "team", b.team, "status", status.name()).increment();
    }

    private void beat(UUID id, AtomicBoolean cancel) {
        try {
            tx.executeWithoutResult(s -> builds.heartbeat(id, replica,
                    builds.databaseNow().plus(properties.lease())));
            if (Boolean.TRUE.equals(builds.cancelRequested(id))) {
                cancel.set(true);
            }
        } catch (RuntimeException e) {
            log.warn("heartbeat of build {} failed", id, e);
        }
    }

    private static BuildStatus statusOf(BuildOutcome outcome) {
        return switch (outcome.result()) {
            case PUSHED -> BuildStatus.SUCCEEDED;
            case CANCELLED -> BuildStatus.CANCELLED;
            case FAILED, TIMED_OUT -> BuildStatus.FAILED;
        };
    }

    /**
     * How long a worker keeps trying to record its build's outcome while the database cannot be reached: the
     * outcome (and its audit event, in the same transaction) is retried rather than lost. Past this, the lease
     * recovery of whichever replica sees the database first fails the build.
     */
    static final Duration RECORD_RETRY = Duration.ofMinutes(10);

    private void finish(UUID id, BuildOutcome outcome, java.util.function.Consumer<String> output,
            BuildArgRedactor redactor) {
        long giveUp = System.nanoTime() + RECORD_RETRY.toNanos();
        long backoffMillis = 500;
        boolean said = false;
        while (true) {
            try {
                finishOnce(id, outcome, output, redactor, !said);
                return;
            } catch (RuntimeException e) {
                if (!io.buildgateway.shared.DatabaseUnavailable.is(e) || System.nanoTime() > giveUp) {
                    throw e;
                }
                if (!said) {
                    log.warn("build {} ended {} but the database cannot be reached; retrying to record it", id,
                            statusOf(outcome));
                    said = true;
                }
                try {
                    Thread.sleep(backoffMillis);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
                backoffMillis = Math.min(backoffMillis * 2, 5_000);
            }
        }
    }

    private void finishOnce(UUID id, BuildOutcome outcome, java.util.function.Consumer<String> output,
            BuildArgRedactor redactor, boolean firstAttempt) {
        try {
            record(id, outcome, output, redactor, firstAttempt);
        } catch (Build.IllegalTransition ended) {
            // Another replica failed the build while this one ran it (its lease lapsed: a pause longer than the
            // lease, or the database unreachable for the heartbeat). That decision was recorded and audited; the
            // late outcome does not overwrite it.
            log.error("build {} ended {} on this replica but was already {} ({}); its outcome is not recorded{}", id,
                    statusOf(outcome), ended.from(), ended.getMessage(), outcome.imageRef() == null ? ""
                            : ": the image pushed as " + outcome.imageRef() + " has no record and must not be used");
            output.accept("Not recorded: the build had already ended " + ended.from() + "; this outcome does not"
                    + " replace it\n");
        } catch (RuntimeException e) {
            if (statusOf(outcome) != BuildStatus.SUCCEEDED || io.buildgateway.shared.DatabaseUnavailable.is(e)) {
                throw e;
            }
            // A listener of BuildSucceeded (inventory, provenance signing) failed: nothing of the success committed.
            // The image is in the registry, but without a record or signed provenance it is not the gateway's.
            log.error("recording the pushed image of build {} failed", id, e);
            record(id, new BuildOutcome(BuildOutcome.Result.FAILED, outcome.imageId(), null, null,
                    "the image was pushed as " + outcome.imageRef() + " but recording it failed ("
                            + summary(e) + "); it has no signed provenance and must not be used", outcome.run()),
                    output, redactor, true);
        }
    }

    private static String summary(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return message.length() > 200 ? message.substring(0, 200) + "…" : message;
    }

    private void record(UUID id, BuildOutcome outcome, java.util.function.Consumer<String> output,
            BuildArgRedactor redactor, boolean writeFinalLine) {
        BuildStatus status = statusOf(outcome);
        // The daemon's error may quote a build arg's value and may span lines: redacted, on one line.
        String reason = redactor.reason(outcome.reason());
        if (writeFinalLine) {
            // Once, even when recording is retried while the database is away.
            output.accept(switch (status) {
                case SUCCEEDED -> "Succeeded: " + outcome.imageRef() + "\n";
                case CANCELLED -> "Cancelled: " + reason + "\n";
                default -> "Failed: " + reason + "\n";
            });
        }
        tx.executeWithoutResult(s -> {
            Build b = builds.lockById(id).orElseThrow();
            b.finish(status, reason, builds.databaseNow());
            b.imageDigest = outcome.imageDigest();
            b.imageId = outcome.imageId();
            b.imageRef = status == BuildStatus.SUCCEEDED ? outcome.imageRef() : null;
            if (outcome.run() != null) {
                b.usernsRemap = outcome.run().usernsRemap();
                b.networkMode = outcome.run().networkMode();
                b.pulledImages = json.writeValueAsString(outcome.run().pulled());
            }
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("host", b.host);
            details.put("imageDigest", b.imageDigest);
            details.put("imageRef", b.imageRef);
            details.put("reason", reason);
            if (status == BuildStatus.SUCCEEDED) {
                events.publishEvent(new BuildSucceeded(b.id, b.team, b.image, b.tag, b.imageDigest, b.imageId,
                        b.baseImage, b.rebuildOf, b.requestedBy, b.finishedAt, run(b, outcome)));
            }
            events.publishEvent(new AuditRecord("build." + status.name().toLowerCase(), "build/" + id,
                    status == BuildStatus.SUCCEEDED ? Outcome.SUCCESS : Outcome.FAILED, details,
                    RequestInfo.system()));
        });
    }

    private BuildSucceeded.Run run(Build b, BuildOutcome outcome) {
        if (outcome.run() == null) {
            throw new IllegalStateException("the host pool reported a push without the facts of its run");
        }
        return new BuildSucceeded.Run(b.imageRef, b.contextDigest, b.contextSize, b.dockerfile, b.target,
                json.readValue(b.buildArgs, new TypeReference<Map<String, String>>() { }),
                json.readValue(b.labels, new TypeReference<Map<String, String>>() { }), b.noCache, b.policyDigest,
                b.host, outcome.run().usernsRemap(), outcome.run().networkMode(), b.requestedAt, b.startedAt,
                outcome.run().pulled().stream()
                        .map(p -> new BuildSucceeded.Pulled(p.reference(), p.digest(), p.step())).toList(),
                b.builtContextDigest, b.builtContextSize);
    }

    private void recoverSafely() {
        try {
            tx.executeWithoutResult(s -> {
                Instant now = builds.databaseNow();
                for (Build b : builds.expiredLeases(now)) {
                    String owner = String.valueOf(b.leaseOwner);
                    b.expire(now);
                    events.publishEvent(new AuditRecord("build.failed", "build/" + b.id, Outcome.FAILED,
                            Map.of("reason", b.failureReason, "leaseOwner", owner), RequestInfo.system()));
                    logs.append(b.id, "Failed: " + b.failureReason + "\n");
                }
            });
        } catch (RuntimeException e) {
            log.warn("lease recovery failed; will retry", e);
        }
    }
}
