package io.buildgateway.builds;

import io.buildgateway.hostpool.BuildHost;
import io.buildgateway.hostpool.BuildHosts;
import io.buildgateway.hostpool.BuildJob;
import io.buildgateway.hostpool.BuildOutcome;
import io.buildgateway.hostpool.BuiltImage;
import io.buildgateway.hostpool.HostBuild;
import io.buildgateway.hostpool.ImageGate;
import io.buildgateway.hostpool.ImageRegistry;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.BuildPhases;
import io.buildgateway.shared.DaemonThreads;
import jakarta.annotation.PreDestroy;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Service;

/**
 * A build's sequence on its host (issue #13, "the build sequence in one place"): the host leased from the pool
 * ({@link BuildHosts#lease}), the build on it, the confinement check ({@link ConfinementCheck}), the image checks
 * (every {@link ImageGate}: verification and scanning, which the scanning module implements), then the push — to the
 * build's quarantine repository beside the checks and named only when they passed ({@link QuarantinePush}), or after
 * them — with its retry ({@link PushRetry}), and the outcome. {@code cancelled} and the build's deadline are obeyed
 * at every step; {@code mayPush} is asked right before anything is named. The host pool owns the host-level
 * operations ({@link BuildHost}); this class owns the order and the decisions.
 */
@Service
class BuildSequence {

    private static final Logger log = LoggerFactory.getLogger(BuildSequence.class);

    private final BuildHosts hosts;
    private final List<ImageGate> gates;
    private final BuildPhases phases;
    private final Clock clock;
    private final ConfinementCheck confinement;
    private final QuarantinePush quarantinePush;
    private final ScheduledExecutorService later;
    private final HostTeamNames teamNames;
    /** Where a build's host-side tags change beside the registry's naming (one short daemon call each). */
    private final java.util.concurrent.ExecutorService beside;

    BuildSequence(BuildHosts hosts, ObjectProvider<ImageGate> gates, BuildPhases phases, ImageRegistry registryApi,
            ApplicationEventPublisher events, Clock clock, HostTeamNames teamNames) {
        this.hosts = hosts;
        this.teamNames = teamNames;
        this.gates = gates.orderedStream().toList();
        this.phases = phases;
        this.clock = clock;
        this.confinement = new ConfinementCheck(events::publishEvent);
        this.later = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("quarantine-cleanup"));
        this.beside = Executors.newCachedThreadPool(DaemonThreads.named("host-tags"));
        this.quarantinePush = new QuarantinePush(hosts, registryApi, this.gates, phases, clock, later, beside);
    }

    /**
     * A confinement violation of this run whose event could not be appended when it was found: published by the
     * dispatcher in the transaction that records the build's failure (retried while the database is away).
     */
    AuditRecord unwrittenViolation(java.util.UUID buildId, int attempt) {
        return confinement.unwritten(buildId.toString(), attempt);
    }

    void violationWritten(java.util.UUID buildId, int attempt) {
        confinement.written(buildId.toString(), attempt);
    }

    /** The run's outcome was not recorded by this run: its unwritten violation event, if any, goes on its own. */
    void writeViolationAlone(java.util.UUID buildId, int attempt) {
        confinement.writeAlone(buildId.toString(), attempt);
    }

    @PreDestroy
    void stop() {
        later.shutdownNow();
        beside.shutdownNow();
    }

    /**
     * Runs a build on its host and pushes the result. Blocks until pushed, failed, cancelled or timed out. The
     * daemon's build stream (what the build's steps print, and the daemon's step lines) goes to {@code stepOutput}
     * and only the gateway's own messages to {@code output}, so that the log can tell them apart; {@code cancelled}
     * is polled while the build runs. {@code mayPush} is asked right before the image is tagged and pushed (or
     * named), and a false answer stops the build there, cancelled, with nothing pushed (the dispatcher answers whether
     * this replica still holds the build's lease, renewing it); it is asked again before each retried push or naming,
     * where a false answer fails only that attempt ({@link PushRetry#onlyWhileHeld}). A build that fails because its host's daemon stopped
     * answering fails as "host lost", and the host is marked unhealthy at once.
     */
    BuildOutcome run(BuildJob job, int attempt, Consumer<String> output, Consumer<String> stepOutput,
            BooleanSupplier cancelled, BooleanSupplier mayPush, java.util.function.UnaryOperator<String> redact) {
        return run(job, attempt, output, stepOutput, cancelled, mayPush, redact, null);
    }

    /**
     * {@link #run(BuildJob, int, Consumer, Consumer, BooleanSupplier, BooleanSupplier,
     * java.util.function.UnaryOperator)} with {@code history} the rewrite of the image config the naming applies
     * ({@link HistoryRewrite}: non-public build-arg values out of {@code history[].created_by}); null: none.
     */
    BuildOutcome run(BuildJob job, int attempt, Consumer<String> output, Consumer<String> stepOutput,
            BooleanSupplier cancelled, BooleanSupplier mayPush, java.util.function.UnaryOperator<String> redact,
            java.util.function.UnaryOperator<byte[]> history) {
        BuildOutcome outcome = dispatch(job, attempt, output, stepOutput, cancelled, mayPush, redact, history);
        if (outcome.result() != BuildOutcome.Result.FAILED) {
            return outcome;
        }
        // A failure may be the daemon's death: asked now, an unreachable daemon makes the host unhealthy before the
        // next claim, and the build's reason says what happened rather than how the stream ended.
        if (hosts.lostDuringBuild(job.host())) {
            log.warn("build {}: host {} lost during the build ({})", job.buildId(), job.host(),
                    redact.apply(outcome.reason()));
            return new BuildOutcome(BuildOutcome.Result.FAILED, outcome.imageId(), null, null, BuildHosts.HOST_LOST
                    + ": build host " + job.host() + " stopped answering during the build (" + outcome.reason() + ")",
                    outcome.run());
        }
        return outcome;
    }

    /**
     * The build on its host: a fixed one (leased), or an ephemeral one started for it alone (from the warm pool when
     * one is idle), destroyed afterwards whatever the outcome — pushed, failed, cancelled, timed out or an error of
     * the gateway's; the ephemeral host's identity goes into the outcome for the record and the provenance.
     */
    private BuildOutcome dispatch(BuildJob job, int attempt, Consumer<String> output, Consumer<String> stepOutput,
            BooleanSupplier cancelled, BooleanSupplier mayPush, java.util.function.UnaryOperator<String> redact,
            java.util.function.UnaryOperator<byte[]> history) {
        if (hosts.isQuarantined(job.repository())) {
            return failed("repository " + job.repository() + " is under the gateway's quarantine "
                    + hosts.quarantine() + "/ (gateway.hostpool.registry.quarantine), where images wait for their"
                    + " checks");
        }
        BuildHost host;
        try {
            host = hosts.lease(job);
        } catch (BuildHosts.NoHost e) {
            return failed(e.getMessage());
        }
        try (host) {
            if (host.ephemeral()) {
                output.accept("Ephemeral build host " + host.instance() + " (daemon " + host.daemonId()
                        + "): started for this build alone, destroyed after it\n");
            }
            try {
                return host.identify(runOn(host, job, attempt, output, stepOutput, cancelled, mayPush, redact,
                        history));
            } finally {
                forgetTeamImages(host, job, attempt);
            }
        }
    }

    /**
     * After a build on a shared host, whatever its outcome: the names of the team images it was granted or pushed
     * come off the host ({@link BuildHost#forget}), and its own quarantine copy's, except those of repositories another
     * build running on the host (on any replica, or another attempt of this one) may still pull or push
     * ({@link HostTeamNames}, which the periodic sweep shares). Decided under the scheduling lock, which every claim
     * takes ({@link BuildDispatcher}), so no build is claimed for this host between the database's answer and the
     * untags: a build claimed later pulls again. Another team's build whose {@code FROM} the policy misread then finds
     * nothing by that name on the host (BuildKit builds with {@code pull=0}) instead of reading the image
     * (docs/security.md, "BuildKit builds without a session"). The database or the daemon away: the names stay, for a
     * later build or the next sweep.
     */
    private void forgetTeamImages(BuildHost host, BuildJob job, int attempt) {
        if (host.ephemeral()) {
            return; // destroyed with everything on it
        }
        try {
            String quarantine = hosts.quarantine();
            Map<String, List<String>> names = host.teamImageNames(quarantine.isEmpty() ? null
                    : QuarantinePush.quarantineOf(quarantine, job.buildId(), attempt));
            if (names.isEmpty()) {
                return;
            }
            List<String> removed = teamNames.forgetUnused(job.host(), java.util.UUID.fromString(job.buildId()),
                    attempt, names, host::forget);
            if (removed != null && !removed.isEmpty()) {
                log.debug("build {}: took {} off host {}", job.buildId(), removed, job.host());
            }
        } catch (RuntimeException e) {
            log.warn("build {}: the team images' names stay on host {} for now: {}", job.buildId(), job.host(),
                    BuildHosts.summary(e));
        }
    }

    private BuildOutcome runOn(BuildHost host, BuildJob job, int attempt, Consumer<String> output,
            Consumer<String> stepOutput, BooleanSupplier cancelled, BooleanSupplier mayPush,
            java.util.function.UnaryOperator<String> redact, java.util.function.UnaryOperator<byte[]> history) {
        String quarantine = hosts.quarantine();
        if (job.egressProxy() != null && !host.hasEgressPath()) {
            return failed("build host " + job.host() + " has no egress path (a BuildKit host with"
                    + " gateway.hostpool.hosts[].egress-address), and this build's team has an egress allowlist");
        }
        String registry = hosts.registry();
        String name = registry + "/" + job.repository();
        String ref = name + ":" + job.tag();
        Instant deadline = clock.instant().plus(hosts.buildTimeout());
        long t0 = System.nanoTime();
        host.prepare(output);
        try {
            // The gates hear of the build before it runs (the scanner lays out the base's files for OpenSCAP while
            // the image is built), inside the try whose finally tells them it ended: a gate that throws here fails
            // the build like any host error, and what it prepared still goes.
            List<String> baseLayers = host.baseLayers();
            for (ImageGate gate : gates) {
                gate.starting(job.buildId(), baseLayers);
            }
            HostBuild done = host.build(attempt, output, stepOutput, cancelled, deadline);
            BuildOutcome confined = confinement.check(job, attempt, host, done, output, redact);
            if (confined != null) {
                done.images().forEach(host::remove);
                return confined;
            }
            if (done.ended() != null) {
                return done.ended();
            }
            long t2 = System.nanoTime();
            long t1 = done.labelledFrom() != 0 ? done.labelledFrom() : t2;
            String imageId = done.imageId();
            BuildOutcome.HostRun run = done.run();
            phases.record(job.buildId(), BuildPhases.BUILD, t2 - t0);
            if (!quarantine.isEmpty()) {
                // the quarantine push starts first; the image is read (inspected, then saved by the gates) beside it
                return quarantinePush.checkWhilePushing(host, job, imageId, ref,
                        QuarantinePush.quarantineOf(quarantine, job.buildId(), attempt), run, output, cancelled,
                        mayPush, deadline, t0, t1, t2, history);
            }
            BuiltImage built = host.image(imageId, ref, output, deadline);
            Optional<BuildOutcome> stopped = ImageGates.examine(gates, built, imageId, cancelled);
            if (stopped.isPresent()) {
                if (stopped.get().result() == BuildOutcome.Result.FAILED) {
                    host.remove(imageId);
                }
                return stopped.get();
            }
            long tv = System.nanoTime();
            if (cancelled.getAsBoolean() || !mayPush.getAsBoolean()) {
                host.remove(imageId);
                return new BuildOutcome(BuildOutcome.Result.CANCELLED, imageId, null, null,
                        cancelled.getAsBoolean() ? "cancelled before pushing"
                                : "stopped before pushing: this replica no longer holds the build");
            }
            if (history != null) {
                // Not covered without the quarantine: the daemon pushes the config as built, so its history keeps
                // what BuildKit wrote of the build args (docs/security.md, "Known limits").
                output.accept("Warning: without a quarantine (gateway.hostpool.registry.quarantine) the image is"
                        + " pushed as built: its history may show the values of build args the policy does not"
                        + " declare public\n");
            }
            host.tag(imageId, name, job.tag());
            output.accept("Pushing " + ref + "\n");
            // The push names the image: retried only while the build is still this run's (the lease renewed first).
            PushRetry retry = quarantinePush.retryOnHost(job, imageId, deadline, cancelled, output)
                    .onlyWhileHeld(mayPush);
            // A push token minted for each attempt: a long outage must not leave the retry with an expired one.
            String pushed = retry.run("push to " + registry, () -> retry.awaitPush(host.push(name, job.tag(),
                    job.repository()), cancelled, deadline));
            long t3 = System.nanoTime();
            output.accept("Pushed " + name + "@" + pushed + "\n");
            phases.record(job.buildId(), BuildPhases.PUSH, t3 - tv);
            log.info("build {} on {}: build {} ms, labels {} ms, verify {} ms, push {} ms", job.buildId(), job.host(),
                    (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (tv - t2) / 1_000_000, (t3 - tv) / 1_000_000);
            for (ImageGate gate : gates) {
                gate.pushed(built, pushed);
            }
            return new BuildOutcome(BuildOutcome.Result.PUSHED, imageId, pushed, name + "@" + pushed, null, run);
        } catch (PushRetry.Stopped e) {
            return e.outcome();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new BuildOutcome(BuildOutcome.Result.CANCELLED, null, null, null, "the gateway is shutting down");
        } catch (Exception e) {
            log.warn("build {} failed on {}", job.buildId(), job.host(), e);
            return failed("build host error: " + BuildHosts.summary(e));
        } finally {
            for (ImageGate gate : gates) {
                try {
                    gate.ended(job.buildId());
                } catch (RuntimeException e) {
                    log.warn("build {}: a gate failed to clean up after the build", job.buildId(), e);
                }
            }
        }
    }

    private static BuildOutcome failed(String reason) {
        return new BuildOutcome(BuildOutcome.Result.FAILED, null, null, null, reason);
    }
}
