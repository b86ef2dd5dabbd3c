package io.buildgateway.builds;

import io.buildgateway.hostpool.BuildHosts;
import io.buildgateway.hostpool.BuildJob;
import io.buildgateway.intake.ContextIntake;
import io.buildgateway.hostpool.BuildOutcome;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.PeriodicTasks;
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
import java.util.ArrayList;
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
class BuildDispatcher implements PeriodicTasks.Owner {

    private static final Logger log = LoggerFactory.getLogger(BuildDispatcher.class);
    /** Every claim's advisory lock; also taken where a host's state must not change under a claim (BuildSequence). */
    static final long SCHEDULING_LOCK = 0x6267775f73636864L; // "bgw_schd"

    private final BuildRepository builds;
    private final BuildHosts hosts;
    private final BuildSequence sequence;
    private final BuildLogs logs;
    private final BuildProperties properties;
    private final ApplicationEventPublisher events;
    private final TransactionTemplate tx;
    /** The lease's renewal right before a push or naming, bounded in time ({@link #stillOurs}). */
    private final TransactionTemplate renewBeforeNaming;
    private final JsonMapper json;
    private final MeterRegistry meters;
    private final Clock clock;
    private final Path contexts;
    /** This replica's lease owner name: {@code gateway.replica-name} (the pod's name, say) and a random suffix. */
    private final String replica;
    private final ExecutorService workers;
    private final ScheduledExecutorService loop;
    /**
     * Renews the leases of this replica's running builds, each every second, and of the lost builds its recovery
     * holds: threads of their own, so that no slow work of the loop (the lease recovery asks the registry whether a
     * lost build's image reached it, and the host to clean up) can delay a renewal until another replica takes a
     * healthy build for lost.
     */
    private final ScheduledExecutorService heartbeats = Executors.newScheduledThreadPool(2,
            io.buildgateway.shared.DaemonThreads.named("lease-heartbeat"));
    /** Deletes what lost runs left in the quarantine: registry calls (each up to 30 s) kept off the loop. */
    private final ScheduledExecutorService discards = Executors.newSingleThreadScheduledExecutor(
            io.buildgateway.shared.DaemonThreads.named("lost-run-discard"));
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong queued = new AtomicLong();
    private final int maxWorkers;
    /** The dispatch loop and the lease recovery, while the context runs this bean (PeriodicTasks). */
    private final PeriodicTasks periodic;

    private final io.buildgateway.shared.BuildPhases phases;
    private final org.springframework.beans.factory.ObjectProvider<io.buildgateway.egress.Egress> egress;
    private final org.springframework.beans.factory.ObjectProvider<BuildEgress> egressGrants;
    private final io.buildgateway.hostpool.ImageRegistry registry;
    private final RemoteAddFetch remoteAdds;
    private final HostTeamNames teamNames;

    BuildDispatcher(BuildRepository builds, BuildHosts hosts, BuildSequence sequence, BuildLogs logs,
            BuildProperties properties, ApplicationEventPublisher events, TransactionTemplate tx, JsonMapper json,
            MeterRegistry meters, Clock clock, io.buildgateway.intake.IntakeProperties intake, io.buildgateway.shared.BuildPhases phases,
            org.springframework.beans.factory.ObjectProvider<io.buildgateway.egress.Egress> egress,
            org.springframework.beans.factory.ObjectProvider<BuildEgress> egressGrants,
            io.buildgateway.hostpool.ImageRegistry registry, RemoteAddFetch remoteAdds, HostTeamNames teamNames,
            @org.springframework.beans.factory.annotation.Value("${gateway.replica-name:replica}") String replicaName) {
        // At most 140 characters of the name are kept: the lease owner column holds 200 (V18) with the suffixes
        // (the random one, and a recovery's "/recovery/<8 hex>").
        String name = replicaName.isBlank() ? "replica" : replicaName.strip();
        this.replica = name.substring(0, Math.min(name.length(), 140)) + "-" + UUID.randomUUID();
        this.phases = phases;
        this.registry = registry;
        this.remoteAdds = remoteAdds;
        this.teamNames = teamNames;
        this.egress = egress;
        this.egressGrants = egressGrants;
        this.builds = builds;
        this.hosts = hosts;
        this.sequence = sequence;
        this.logs = logs;
        this.properties = properties;
        this.events = events;
        this.tx = tx;
        this.renewBeforeNaming = new TransactionTemplate(java.util.Objects.requireNonNull(tx.getTransactionManager()));
        this.renewBeforeNaming.setTimeout(RENEW_BEFORE_NAMING);
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
        long check = properties.leaseCheckInterval().toMillis();
        this.periodic = new PeriodicTasks(loop).every(properties.dispatchInterval(), Duration.ZERO, this::dispatchSafely)
                .every(properties.leaseCheckInterval(), Duration.ofMillis(Math.min(5_000, check)), this::recoverSafely);
        Gauge.builder("gateway.builds.queue.depth", queued, AtomicLong::get).description("builds waiting for a host")
                .register(meters);
    }

    /** The dispatch loop and the lease recovery start once the application is ready (and the context runs). */
    @EventListener(ApplicationReadyEvent.class)
    void ready() {
        periodic.ready();
    }

    /**
     * A stopped or paused context claims nothing (PeriodicTasks). The builds this replica runs go on, with their
     * heartbeats, and end; another replica's recovery covers what a stopped one leaves. Started again, the loop resumes
     * at once.
     */
    @Override
    public PeriodicTasks periodicTasks() {
        return periodic;
    }

    /** This replica's name in the database: its builds' lease owner, and the writer of its quota reservations. */
    String replica() {
        return replica;
    }

    @PreDestroy
    void close() {
        loop.shutdownNow();
        heartbeats.shutdownNow();
        discards.shutdownNow();
        workers.shutdownNow();
    }

    /** Called after a submission so the build starts without waiting for the next poll. */
    void wake() {
        if (periodic.active()) {
            loop.execute(this::dispatchSafely);
        }
    }

    private synchronized void dispatchSafely() {
        if (!periodic.active()) {
            return; // a wake queued before the context stopped or paused: another replica (or a restart) claims it
        }
        try {
            queued.set(builds.countByStatus(BuildStatus.QUEUED));
            while (inFlight.get() < maxWorkers) {
                // The host the claim would choose, asked first whether it answers: this replica's view of it may be
                // older than the daemon's death (BuildHosts.answers). One that does not is unhealthy now, so the
                // claim chooses among the others; the loop ends, as each round drops a host or claims. Only when
                // something is queued: an idle poll costs no query and no ping.
                if (queued.get() > 0) {
                    Optional<String> next = hosts.teamIsolated() ? placed(rebuildsAllowed()).map(Placed::host)
                            : hosts.choose(activeByHost());
                    if (next.isPresent() && !hosts.answers(next.get())) {
                        continue;
                    }
                }
                List<UUID> claimed = claim(maxWorkers - inFlight.get());
                if (claimed.isEmpty()) {
                    break;
                }
                for (UUID id : claimed) {
                    inFlight.incrementAndGet();
                    workers.execute(() -> {
                        try {
                            run(id);
                        } finally {
                            inFlight.decrementAndGet();
                            wake();
                        }
                    });
                }
            }
        } catch (RuntimeException e) {
            log.warn("dispatch failed; will retry", e);
        }
    }

    /** Claims the next build (or, on a host that turns over to a team, up to {@code workers} of its builds). */
    private List<UUID> claim(int workers) {
        return tx.execute(s -> {
            builds.claimLock(SCHEDULING_LOCK);
            Optional<String> host;
            List<Build> next;
            if (hosts.teamIsolated()) {
                // A fixed host runs builds of one team at a time (hostpool.TeamPlacement): the first team in the
                // queue's order that a host admits, and its oldest build; on a host that runs nothing (its turn goes
                // to this team), as many of the team's builds as it takes, at once. Claimed one at a time, the next
                // claim's first waiting team kept the host after its first build (TeamPlacement keeps the host that
                // drains soonest), so with more teams queueing than hosts each turn ran one build: a host of 4 at a
                // quarter of its capacity (a review's find, 2026-12-07).
                Optional<Placed> placed = placed(rebuildsAllowed());
                if (placed.isEmpty()) {
                    return List.<UUID>of();
                }
                host = Optional.of(placed.get().host());
                int take = placed.get().rebuild() ? 1 : Math.max(1, Math.min(workers, placed.get().take()));
                next = builds.claimNextOf(placed.get().team(), placed.get().rebuild(), take);
            } else {
                Map<String, Integer> active = activeByHost();
                host = hosts.choose(active);
                if (host.isEmpty()) {
                    return List.<UUID>of();
                }
                next = builds.claimNext(rebuildsAllowed());
            }
            // The database's clock, not this JVM's: the lease is judged by other replicas (docs/operations.md).
            Instant now = next.isEmpty() ? null : builds.databaseNow();
            List<UUID> ids = new ArrayList<>(next.size());
            for (Build b : next) {
                b.claim(host.get(), replica, now, properties.lease());
                events.publishEvent(new AuditRecord("build.started", "build/" + b.id, Outcome.SUCCESS,
                        Map.of("host", b.host, "waitedMillis", Duration.between(b.requestedAt, now).toMillis(),
                                "replica", replica, "attempt", b.attempts),
                        RequestInfo.system()));
                ids.add(b.id);
            }
            return ids;
        });
    }

    /** Rebuilds the security team starts may hold only their share of the pool, so developers still build. */
    private boolean rebuildsAllowed() {
        long rebuildSlots = Math.max(1, (long) Math.floor(properties.rebuildShare() * hosts.totalCapacity()));
        return builds.runningRebuilds() < rebuildSlots;
    }

    /**
     * A queued group of builds (a team's developers' builds, or its rebuilds), the host its oldest goes to, and how
     * many of them the claim takes at once ({@link io.buildgateway.hostpool.TeamPlacement.Placement#take}).
     */
    record Placed(String team, boolean rebuild, String host, int take) {
    }

    /**
     * With hosts isolated by team ({@link BuildHosts#teamIsolated}): the first group of queued builds, in
     * {@link BuildRepository#claimNext}'s order, that a host admits ({@link BuildHosts#place}), and that host; empty
     * when every queued build waits (for a slot, or for a host another team's builds hold).
     */
    private Optional<Placed> placed(boolean rebuildsAllowed) {
        List<Object[]> candidates = builds.claimCandidates(rebuildsAllowed);
        if (candidates.isEmpty()) {
            return Optional.empty();
        }
        Map<String, Map<String, Integer>> running = new HashMap<>();
        for (Object[] row : builds.runningByHostAndTeam()) {
            running.computeIfAbsent((String) row[0], h -> new HashMap<>()).put((String) row[1],
                    ((Number) row[2]).intValue());
        }
        List<String> teams = candidates.stream().map(row -> (String) row[0]).toList();
        return hosts.place(teams, running).map(p -> new Placed((String) candidates.get(p.candidate())[0],
                (Boolean) candidates.get(p.candidate())[1], p.host(), p.take()));
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
        Map<String, String> shownArgs = json.readValue(b.buildArgs, new TypeReference<Map<String, String>>() { });
        BuildArgRedactor shownRedactor = BuildArgRedactor.ofShown(args, shownArgs);
        // ... nor the pushed image's history, where BuildKit writes the args a RUN has in scope: the naming rewrites
        // it (null: no arg is shown as a digest, the config is named as pushed).
        HistoryRewrite history = HistoryRewrite.of(args, shownArgs, json);
        BuildArgRedactor redactor = shownRedactor;
        // Controlled egress (issue #14): a build whose team has an allowlist gets a session of the egress proxy for
        // as long as it runs; its secret is redacted from everything the build log shows, like a build arg's value.
        java.util.concurrent.atomic.AtomicReference<BuildLogs.Writer> logRef = new java.util.concurrent.atomic.AtomicReference<>();
        io.buildgateway.egress.EgressSession session = openEgress(b, shownRedactor, line -> {
            BuildLogs.Writer w = logRef.get();
            if (w != null) {
                w.gateway(line.endsWith("\n") ? line : line + "\n");
            }
        });
        if (session != null) {
            redactor = redactor.with(session.secret(), "[egress proxy secret]");
        }
        BuildLogs.Writer buildLog = logs.writer(id, redactor);
        logRef.set(buildLog);
        java.util.function.Consumer<String> output = buildLog::gateway;
        output.accept("Building on " + b.host + (session == null ? " (network none, user namespaces on)\n"
                : " (network to the egress proxy only, user namespaces on)\n"));
        Map<String, String> labels = new LinkedHashMap<>(json.readValue(b.labels,
                new TypeReference<Map<String, String>>() { }));
        // BuildKit writes every label in the build; the classic builder applies them in one step after it (hostpool's
        // LabelStep), so each costs nothing extra.
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
        // Set when a heartbeat finds the build no longer this replica's (another replica expired or re-queued it):
        // the worker then stops the daemon's build and pushes, records, signs and publishes nothing.
        AtomicBoolean lost = new AtomicBoolean(false);
        Timer.Sample sample = Timer.start(meters);
        // The attempt is part of the lease: a re-queued build claimed again by this same replica is a new run, and
        // the old run's heartbeat must find it no longer its own.
        int attempt = b.attempts;
        ScheduledFuture<?> heartbeat = heartbeats.scheduleWithFixedDelay(() -> beat(id, attempt, cancel, lost), 1, 1,
                TimeUnit.SECONDS);
        BuildOutcome outcome;
        RemoteAddFetch.Prepared prepared = null;
        try {
            if (!Files.exists(context)) {
                outcome = new BuildOutcome(BuildOutcome.Result.FAILED, null, null, null,
                        "the build context " + builtDigest + " is no longer in the store");
            } else {
                // ADD <url> of an egress build: fetched by the gateway through the build's session (docs/egress.md).
                prepared = session == null || b.builtContextDigest == null ? RemoteAddFetch.Prepared.unchanged(context)
                        : fetchRemoteAdds(b, context, args, session, output, redactor);
                if (prepared.failure() != null) {
                    outcome = new BuildOutcome(BuildOutcome.Result.FAILED, null, null, null, prepared.failure());
                } else {
                    List<String> allowedPulls = b.allowedPulls == null ? null
                            : json.readValue(b.allowedPulls, new TypeReference<List<String>>() { });
                    BuildJob job = new BuildJob(b.id.toString(), b.host, prepared.context(), dockerfile, b.target,
                            args, labels, b.noCache, b.image, b.tag, b.team, b.baseImage, allowedPulls,
                            session == null ? null : session.proxyUrl());
                    BuildArgRedactor runRedactor = redactor;
                    outcome = sequence.run(job, attempt, output, buildLog::step, () -> cancel.get() || lost.get(),
                            () -> stillOurs(id, attempt, lost), runRedactor::redact, history);
                }
            }
        } catch (RuntimeException e) {
            log.error("build {} failed unexpectedly", id, e);
            outcome = new BuildOutcome(BuildOutcome.Result.FAILED, null, null, null, "internal error while building");
        } finally {
            heartbeat.cancel(false);
            buildLog.endSteps();
            RemoteAddFetch.delete(prepared == null ? null : prepared.scratch());
        }
        io.buildgateway.egress.EgressRecord fetched = closeEgress(id, session);
        if (fetched != null && outcome.result() == BuildOutcome.Result.PUSHED) {
            // The proxy's record goes with the outcome into BuildSucceeded (provenance's resolvedDependencies).
            egressRecords.put(runKey(id, attempt), fetched);
        }
        if (!lost.get() && outcome.result() != BuildOutcome.Result.PUSHED) {
            stillOursAtEnd(id, attempt, lost);
        }
        if (lost.get() && outcome.result() != BuildOutcome.Result.PUSHED) {
            phases.take(id.toString());
            meters.counter("gateway.builds.lease-lost", "team", b.team).increment();
            log.warn("build {}: this replica lost its lease while running it (another replica ended or re-queued"
                    + " it); stopped on {} with nothing pushed or recorded", id, b.host);
            output.accept("Stopped on this replica: its lease lapsed and another replica took the build over;"
                    + " nothing of this run was pushed or recorded\n");
            sequence.writeViolationAlone(id, attempt);
            return;
        }
        // A line per phase before the final line; signing happens in the transaction that marks the build
        // SUCCEEDED, so its line follows the final one.
        output.accept(io.buildgateway.shared.BuildPhases.lines(phases.take(id.toString())));
        try {
            finish(id, attempt, outcome, output, redactor);
        } finally {
            sequence.writeViolationAlone(id, attempt); // when the outcome was not this run's to record
            egressRecords.remove(runKey(id, attempt));
            logs.wake(id); // final now: its follows end without waiting for their next poll
        }
        output.accept(io.buildgateway.shared.BuildPhases.lines(phases.take(id.toString())));
        BuildStatus status = statusOf(outcome);
        sample.stop(meters.timer("gateway.build.duration", "team", b.team, "status", status.name()));
        meters.counter("gateway.builds.finished", "team", b.team, "status", status.name()).increment();
    }

    /**
     * Records of builds' egress between the end of their run and their SUCCEEDED transaction, by run ({@link
     * #runKey}): a lost run of a build that this replica claimed again as a new attempt must not take the new run's
     * record away (its provenance would lose the fetches).
     */
    private final Map<String, io.buildgateway.egress.EgressRecord> egressRecords =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** One run of a build: its id and attempt. */
    private static String runKey(UUID id, int attempt) {
        return id + "#" + attempt;
    }

    /** The build's egress session, or null (no allowlist recorded, or no egress proxy in this gateway). */
    private io.buildgateway.egress.EgressSession openEgress(Build b, BuildArgRedactor redactor,
            java.util.function.Consumer<String> buildLog) {
        io.buildgateway.egress.Egress proxy = egress.getIfAvailable();
        BuildEgress grants = egressGrants.getIfAvailable();
        if (proxy == null || grants == null) {
            return null;
        }
        // The allowlist recorded at submission (with the policy digest it came from); no ADD <url> fetched by the
        // daemon yet (docs/egress.md).
        // URLs are recorded redacted: a step may put a build arg's value (a token) in a URL's path or query.
        io.buildgateway.egress.EgressGrant grant = grants.grantFor(b, java.util.Set.of(), redactor::redact);
        return grant == null || grant.allow().isEmpty() ? null : proxy.open(grant, buildLog);
    }

    private RemoteAddFetch.Prepared fetchRemoteAdds(Build b, Path context, Map<String, String> args,
            io.buildgateway.egress.EgressSession session, java.util.function.Consumer<String> output,
            BuildArgRedactor redactor) {
        try {
            return remoteAdds.prepare(b.id, context, b.dockerfile, args, b.target, session,
                    line -> output.accept(line + "\n"));
        } catch (java.io.IOException e) {
            // Not the exception itself: its message (and its causes') can name a URL after substitution, holding a
            // build arg's value; the message is redacted as the build's failure reason is.
            log.warn("build {}: fetching its ADD <url>s failed: {} ({})", b.id, redactor.reason(e.getMessage()),
                    e.getClass().getSimpleName());
            return new RemoteAddFetch.Prepared(null, null, "fetching the build's ADD <url>s failed: "
                    + e.getMessage());
        }
    }

    /** Closes the session (always: its credentials die with the build) and returns what passed through it. */
    private io.buildgateway.egress.EgressRecord closeEgress(UUID id, io.buildgateway.egress.EgressSession session) {
        if (session == null) {
            return null;
        }
        try {
            session.close();
            return session.record();
        } catch (RuntimeException e) {
            log.error("closing the egress session of build {} failed", id, e);
            return null;
        }
    }

    private void beat(UUID id, int attempt, AtomicBoolean cancel, AtomicBoolean lost) {
        try {
            if (!renew(id, attempt)) {
                if (lost.compareAndSet(false, true)) {
                    log.warn("build {}: its lease is no longer this replica's; stopping it", id);
                }
                return;
            }
            if (Boolean.TRUE.equals(builds.cancelRequested(id))) {
                cancel.set(true);
            }
        } catch (RuntimeException e) {
            log.warn("heartbeat of build {} failed", id, e);
        }
    }

    /**
     * Asked once when a run ends without a push: whether the build is still this run's, as a heartbeat asks. The lease
     * recovery of another replica cancels a lost run's daemon build by its id, and the run may end on that cancel
     * ("context canceled") before its next heartbeat tells it the lease is gone: it is then stopped as a lost run, not
     * reported as a build that failed. A database that cannot be asked leaves it to the recording, which refuses an
     * outcome that is no longer this run's.
     */
    private void stillOursAtEnd(UUID id, int attempt, AtomicBoolean lost) {
        try {
            if (!renew(id, attempt)) {
                lost.set(true);
            }
        } catch (RuntimeException e) {
            log.debug("build {}: its lease could not be asked at the end of its run: {}", id, summary(e));
        }
    }

    /** Renews the build's lease; false when it is no longer RUNNING under this replica (0 rows). */
    private boolean renew(UUID id, int attempt) {
        return renew(tx, id, replica, attempt);
    }

    /**
     * Renews {@code owner}'s lease on attempt {@code attempt} of the build for a whole lease from the database's clock
     * when the row is written ({@link BuildRepository#renewLease}); false when it is no longer that owner's (0 rows).
     */
    private boolean renew(TransactionTemplate in, UUID id, String owner, int attempt) {
        long leaseMicros = java.util.concurrent.TimeUnit.NANOSECONDS.toMicros(properties.lease().toNanos());
        Integer renewed = in.execute(s -> builds.renewLease(id, owner, attempt, leaseMicros));
        return renewed != null && renewed == 1;
    }

    /**
     * Asked right before the push, and before each retried push or naming of the image: renews the lease, so that no
     * other replica can expire the build for a whole lease from now, and answers whether it is still this replica's.
     * A database that cannot be asked answers no: an image pushed without a lease could be pushed again by a second
     * attempt. The renewal waits at most {@link #RENEW_BEFORE_NAMING} (its statement is cancelled then): a row held
     * locked elsewhere, or a database that hangs, must not hold the build's thread, nor let it name the image, until
     * it answers; a retry's attempt fails instead and the backoff decides (PushRetry#onlyWhileHeld).
     */
    private boolean stillOurs(UUID id, int attempt, AtomicBoolean lost) {
        // Asked up to three times when the database does not answer within the bound: a stall of a few seconds
        // (a lock held by a cancel or a recovery pass) must not discard a checked image as cancelled (a review's
        // find: the bound made such a stall end the run where the unbounded renewal had waited it out). The bound is
        // the statement's; getting a connection has the pool's own timeout, so a database that is away can hold
        // this for up to three of those.
        for (int ask = 1; ; ask++) {
            try {
                if (renew(renewBeforeNaming, id, replica, attempt)) {
                    return true;
                }
                lost.set(true);
                return false;
            } catch (RuntimeException e) {
                log.warn("build {}: its lease could not be renewed before pushing or naming its image (ask {} of 3):"
                        + " {}", id, ask, summary(e));
                if (ask == 3 || lost.get()) {
                    return false;
                }
            }
            try {
                Thread.sleep(1_000L * ask);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    /** How long {@link #stillOurs} waits for the lease's renewal, in seconds (a transaction timeout). */
    static final int RENEW_BEFORE_NAMING = 5;

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

    private void finish(UUID id, int attempt, BuildOutcome outcome, java.util.function.Consumer<String> output,
            BuildArgRedactor redactor) {
        long giveUp = System.nanoTime() + RECORD_RETRY.toNanos();
        long backoffMillis = 500;
        boolean said = false;
        while (true) {
            try {
                finishOnce(id, attempt, outcome, output, redactor, !said);
                return;
            } catch (RuntimeException e) {
                if (!io.buildgateway.shared.DatabaseUnavailable.is(e) || System.nanoTime() > giveUp) {
                    throw e;
                }
                if (!said) {
                    log.warn("build {} ended {} but the database cannot be reached; retrying to record it", id,
                            statusOf(outcome));
                    output.accept("The database cannot be reached: recording this build's outcome is retried for up"
                            + " to " + RECORD_RETRY.toMinutes() + " min\n");
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

    private void finishOnce(UUID id, int attempt, BuildOutcome outcome, java.util.function.Consumer<String> output,
            BuildArgRedactor redactor, boolean firstAttempt) {
        try {
            record(id, attempt, outcome, output, redactor, firstAttempt);
        } catch (Build.IllegalTransition ended) {
            // This run's lease lapsed while it ran (a pause longer than the lease, or the database unreachable for
            // the heartbeat), and the build is no longer this run's: failed, re-queued, held by a lease recovery, or
            // claimed again as a new attempt (by any replica, this one too). That decision was recorded and audited;
            // the late outcome does not overwrite it.
            boolean isFinal = ended.from() != BuildStatus.RUNNING && ended.from() != BuildStatus.QUEUED;
            log.error("build {} attempt {} ended {} on this replica but is no longer this run's ({}); its outcome is"
                    + " not recorded{}", id, attempt, statusOf(outcome), ended.from(), outcome.imageRef() == null ? ""
                            : ": the image pushed as " + outcome.imageRef() + " has no record and must not be used");
            output.accept(isFinal
                    ? "Not recorded: the build had already ended " + ended.from() + "; this outcome does not"
                            + " replace it\n"
                    : "Not recorded: this run's lease lapsed and the build was re-queued or taken over; this"
                            + " outcome does not replace that\n");
        } catch (RuntimeException e) {
            if (statusOf(outcome) != BuildStatus.SUCCEEDED || io.buildgateway.shared.DatabaseUnavailable.is(e)) {
                throw e;
            }
            // A listener of BuildSucceeded (inventory, provenance signing) failed: nothing of the success committed.
            // The image is in the registry, but without a record or signed provenance it is not the gateway's.
            log.error("recording the pushed image of build {} failed", id, e);
            record(id, attempt, new BuildOutcome(BuildOutcome.Result.FAILED, outcome.imageId(), null, null,
                    "the image was pushed as " + outcome.imageRef() + " but recording it failed ("
                            + summary(e) + "); it has no signed provenance and must not be used", outcome.run()),
                    output, redactor, true);
        }
    }

    private static String summary(Throwable e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return message.length() > 200 ? message.substring(0, 200) + "…" : message;
    }

    private void record(UUID id, int attempt, BuildOutcome outcome, java.util.function.Consumer<String> output,
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
            if (b.status() == BuildStatus.RUNNING && (!replica.equals(b.leaseOwner) || b.attempts != attempt)) {
                // Re-queued after this replica's lease lapsed and claimed again (by another replica, or by this one
                // as a new attempt), or held by a lease recovery: not this run's to end.
                throw new Build.IllegalTransition(id, b.status(), "finish a run another replica holds");
            }
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
            if (outcome.run() != null && outcome.run().ephemeral()) {
                details.put("hostInstance", outcome.run().hostInstance());
                details.put("daemonId", outcome.run().daemonId());
            }
            details.put("imageDigest", b.imageDigest);
            details.put("imageRef", b.imageRef);
            details.put("reason", reason);
            if (status == BuildStatus.SUCCEEDED) {
                events.publishEvent(new BuildSucceeded(b.id, b.team, b.image, b.tag, b.imageDigest, b.imageId,
                        b.baseImage, b.rebuildOf, b.requestedBy, b.finishedAt, run(b, outcome)));
            }
            AuditRecord violation = sequence.unwrittenViolation(id, attempt);
            if (violation != null) {
                events.publishEvent(violation); // its own append failed: it commits with the failure it caused
            }
            events.publishEvent(new AuditRecord("build." + status.name().toLowerCase(), "build/" + id,
                    status == BuildStatus.SUCCEEDED ? Outcome.SUCCESS : Outcome.FAILED, details,
                    RequestInfo.system()));
        });
        sequence.violationWritten(id, attempt);
    }

    private BuildSucceeded.Run run(Build b, BuildOutcome outcome) {
        if (outcome.run() == null) {
            throw new IllegalStateException("the host pool reported a push without the facts of its run");
        }
        io.buildgateway.egress.EgressRecord egressed = egressRecord(b.id, b.attempts);
        return new BuildSucceeded.Run(b.imageRef, b.contextDigest, b.contextSize, b.dockerfile, b.target,
                json.readValue(b.buildArgs, new TypeReference<Map<String, String>>() { }),
                json.readValue(b.labels, new TypeReference<Map<String, String>>() { }), b.noCache, b.policyDigest,
                b.host, outcome.run().usernsRemap(), outcome.run().networkMode(), b.requestedAt, b.startedAt,
                outcome.run().pulled().stream()
                        .map(p -> new BuildSucceeded.Pulled(p.reference(), p.digest(), p.step())).toList(),
                b.builtContextDigest, b.builtContextSize, outcome.run().ephemeral()
                        ? new BuildSucceeded.EphemeralHost(outcome.run().hostInstance(), outcome.run().daemonId(),
                                outcome.run().hostFacts())
                        : null,
                egressed.fetches().stream().map(f -> new BuildSucceeded.Fetched(f.url(), f.status(), f.size(),
                        f.sha256())).toList(),
                egressed.tunnels().stream().map(t -> new BuildSucceeded.Tunnelled(t.host(), t.port(),
                        t.bytesOut(), t.bytesIn())).toList());
    }

    private io.buildgateway.egress.EgressRecord egressRecord(UUID id, int attempt) {
        io.buildgateway.egress.EgressRecord r = egressRecords.get(runKey(id, attempt));
        return r != null ? r : new io.buildgateway.egress.EgressRecord(List.of(), List.of(), List.of());
    }

    /**
     * Decides the builds whose lease lapsed (their replica was lost: killed, partitioned from the database, or paused
     * longer than the lease), one at a time, until none is left. A build is re-queued once when that is safe: not
     * asked to cancel, on its first attempt, and nothing of it in the registry (its tag does not carry its build id).
     * Otherwise it fails, "replica lost", with why it was not re-queued. Either way the lost run's daemon build is
     * cancelled first by its daemon build id ({@link BuildHosts#daemonBuildId}: the daemon stops a build only when its
     * client's connection goes away, and a paused replica's stays open, its RUN step going on), then what it left on
     * its host is removed by its label. Audited; a line in the build's log.
     *
     * <p>In three steps, so that no remote call runs inside a transaction: the build is taken over under a lease of
     * this replica's recovery ({@link Build#takeOver}, committed at once); the registry and the host are asked with
     * no row locked and no connection held, while that lease is renewed; the decision is a short transaction of its
     * own, taken only while the lease is still the recovery's. A registry or a daemon that hangs delays only this
     * one build's decision (every call has its own timeout): a cancel of the build, the other replicas' recovery of
     * other builds and this replica's dispatch go on meanwhile.
     */
    private void recoverSafely() {
        // A stopping or paused context takes nothing over: what is left lapses to the next replica's recovery.
        while (periodic.active() && !Thread.currentThread().isInterrupted()) {
            LostRun lost;
            try {
                lost = tx.execute(s -> takeOverNext());
            } catch (RuntimeException e) {
                log.warn("lease recovery failed; will retry: {}", summary(e));
                return;
            }
            if (lost == null) {
                return;
            }
            try {
                if (!recover(lost)) {
                    return;
                }
            } catch (RuntimeException e) {
                // Not expected (each step handles its own failures); the lease lapses and the build is taken over
                // again, and this replica's recovery goes on at its next check.
                log.warn("build {}: its recovery failed; it is recovered again once the lease of this recovery lapses",
                        lost.id(), e);
                return;
            }
        }
    }

    /**
     * What the recovery knew of a lost build when it took the build over: the lost owner (the replica whose lease
     * lapsed, also when an earlier recovery of the build died: {@link Build#lostLeaseOwner}) and this take-over's own
     * owner name.
     */
    private record LostRun(UUID id, String owner, String recovery, String host, String image, String tag,
            int attempts) {
    }

    /**
     * The names of the team images the lost run brought onto its fixed host (its approved pulls and its own
     * repository outside the pullable prefixes, its run's quarantine copy) come off it, except those of repositories
     * another build running there may pull or push ({@link HostTeamNames}, as the end of a build takes them): once the
     * lost run is decided its host may go to another team (hostpool.TeamPlacement), which must not find them there.
     * Its labelled images went with {@link BuildHosts#cleanBuild}; a team base it pulled carries another build's label.
     * Best effort: what stays is the periodic sweep's.
     */
    private void forgetLostRunNames(LostRun lost) {
        try {
            Build b = builds.findById(lost.id()).orElse(null);
            if (b == null) {
                return;
            }
            java.util.Set<String> repositories = new java.util.HashSet<>(io.buildgateway.hostpool.TeamImages.inUse(
                    HostTeamNames.running(List.<Object[]>of(new Object[] {b.image, b.allowedPulls, b.baseImage}),
                            json), hosts.registry()));
            if (!hosts.quarantine().isEmpty()) {
                repositories.add(QuarantinePush.quarantineOf(hosts.quarantine(), lost.id().toString(),
                        lost.attempts()));
            }
            Map<String, List<String>> names = new java.util.TreeMap<>(hosts.teamImageNames(lost.host()));
            names.keySet().retainAll(repositories);
            List<String> off = teamNames.forgetUnused(lost.host(), lost.id(), lost.attempts(), names,
                    references -> hosts.forget(lost.host(), references).removed());
            if (off != null && !off.isEmpty()) {
                // the names may carry a build arg's value: counted here, named at DEBUG only
                log.info("build {}: took {} team image name(s) of its lost run off {}", lost.id(), off.size(),
                        lost.host());
                log.debug("build {}: took {} off {}", lost.id(), off, lost.host());
            }
        } catch (RuntimeException e) {
            log.warn("build {}: the team images' names of its lost run stay on {} until the sweep: {}", lost.id(),
                    lost.host(), summary(e));
        }
    }

    /** Takes over the longest lapsed lease of a running build, if there is one (inside a transaction). */
    private LostRun takeOverNext() {
        Instant now = builds.databaseNow();
        Build b = builds.nextExpiredLease(now).orElse(null);
        if (b == null) {
            return null;
        }
        // Not the workers' name, so that a run of this very replica whose lease lapsed (a pause longer than the lease)
        // finds its lease gone and stops; and a name of its own per take-over, so that two recoveries of one replica
        // (a context stopped and started again while one still ran) never hold one lease between them. Other code
        // tells a recovery's lease by Build.RECOVERY.
        String recovery = replica + Build.RECOVERY + "/" + UUID.randomUUID().toString().substring(0, 8);
        b.takeOver(recovery, now, properties.lease());
        return new LostRun(b.id, String.valueOf(b.lostLeaseOwner), recovery, b.host, b.image, b.tag, b.attempts);
    }

    /** Asks, cleans up and decides one taken-over build; false when the replica is stopping (the loop ends). */
    private boolean recover(LostRun lost) {
        ScheduledFuture<?> renewal;
        try {
            renewal = heartbeats.scheduleWithFixedDelay(() -> renewRecovery(lost), 1, 1, TimeUnit.SECONDS);
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            // The gateway is stopping: the recovery's lease lapses and another replica takes the build over.
            log.debug("the gateway is stopping: build {} is left to the next recovery", lost.id());
            return false;
        }
        String notRequeued;
        try {
            // First, before the registry is asked (it may hang for its timeout): the lost run is lost whatever the
            // decision, and its step must not go on meanwhile. No renewal guards it, unlike the cleanup below: the id
            // names the lost attempt alone, never a re-queued run of the build.
            if (lost.host() != null && !stopping()) {
                cancelLostRun(lost);
            }
            notRequeued = notRequeued(lost);
            // The cleanup only while the lease is still this recovery's, renewed right before it: once another
            // replica took the build over and re-queued it, a second run on this host carries the same build-id
            // label, and removing "the lost run's leftovers" would remove that run.
            if (stopping() || !renewRecovery(lost)) {
                return leaveToNextRecovery(lost);
            }
            if (lost.host() != null) {
                // And once more after the listing, right before anything is removed: a pause of this JVM after the
                // renewal above longer than the lease must not remove a second run's objects either.
                List<BuildHosts.Removed> removed = hosts.cleanBuild(lost.host(), lost.id().toString(),
                        () -> !stopping() && renewRecovery(lost));
                if (removed != null && !removed.isEmpty()) {
                    log.info("build {}: removed {} leftover(s) of its lost run from {}", lost.id(), removed.size(),
                            lost.host());
                    Map<String, Object> details = BuildHosts.Removed.details(removed);
                    details.put("host", lost.host());
                    details.put("attempt", lost.attempts());
                    details.put("reason", "replica lost: the leftovers of its run");
                    auditAlone(new AuditRecord("build.leftovers-removed", "build/" + lost.id(), Outcome.SUCCESS,
                            details, RequestInfo.system()));
                }
                if (!stopping() && renewRecovery(lost)) {
                    forgetLostRunNames(lost);
                }
            }
        } finally {
            renewal.cancel(false);
        }
        if (stopping()) {
            return leaveToNextRecovery(lost);
        }
        Boolean decided;
        try {
            decided = tx.execute(s -> decide(lost, notRequeued));
        } catch (RuntimeException e) {
            // The build stays under the recovery's lease, which lapses: then it is taken over and decided again.
            log.warn("build {}: the decision on its lost run failed; it is recovered again once the lease of this"
                    + " recovery lapses: {}", lost.id(), summary(e));
            return true;
        }
        if (!Boolean.TRUE.equals(decided)) {
            log.info("build {}: no longer this recovery's (its lease lapsed meanwhile); decided elsewhere", lost.id());
            return true;
        }
        // What the lost run's quarantine push left in the registry (the lost replica could not discard it): deleted
        // now, and once more a minute later, for a push the daemon ended on its own after its client was gone.
        if (!hosts.quarantine().isEmpty()) {
            String quarantine = QuarantinePush.quarantineOf(hosts.quarantine(), lost.id().toString(), lost.attempts());
            try {
                discards.execute(() -> discardLostRun(lost.id(), quarantine, true));
            } catch (java.util.concurrent.RejectedExecutionException stopping) {
                log.debug("the gateway is stopping: {} is not deleted", quarantine);
            }
        }
        return true;
    }

    /**
     * Cancels the lost run's daemon build on its host by the id it ran under (the build's id and the lost attempt,
     * so a re-queued attempt on the same host is never the one cancelled), and audits the cancel, accepted or not:
     * {@code build.host-run-cancelled} with the host, the daemon build id, the attempt and the host's builder. The
     * daemon cannot tell whether it had such a build (it answers a cancel of an unknown id the same), so the event
     * records that the cancel was sent and accepted, not that a step was running. A daemon that does not answer
     * leaves the build to end with the lost replica's connection; the recovery goes on either way.
     */
    private void cancelLostRun(LostRun lost) {
        String daemonBuildId = BuildHosts.daemonBuildId(lost.id().toString(), lost.attempts());
        BuildHosts.Cancelled cancelled = hosts.cancelBuild(lost.host(), daemonBuildId);
        if (cancelled == null) {
            return; // no fixed host: an ephemeral host is destroyed with what runs on it
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("host", cancelled.host());
        details.put("daemonBuildId", cancelled.daemonBuildId());
        details.put("attempt", lost.attempts());
        details.put("builder", cancelled.builder());
        details.put("reason", "replica lost: its run's build on the host's daemon");
        if (cancelled.error() != null) {
            details.put("error", cancelled.error());
            log.warn("build {}: the cancel of its lost run's daemon build {} on {} failed: {}", lost.id(),
                    daemonBuildId, lost.host(), cancelled.error());
        } else {
            log.info("build {}: cancelled its lost run's daemon build {} on {}", lost.id(), daemonBuildId,
                    lost.host());
        }
        auditAlone(new AuditRecord("build.host-run-cancelled", "build/" + lost.id(),
                cancelled.error() == null ? Outcome.SUCCESS : Outcome.FAILED, details, RequestInfo.system()));
    }

    /**
     * Interrupted (the gateway closing: the registry's answer may be the interrupt's "could not tell") or the context
     * stopped: the recovery decides nothing more.
     */
    private boolean stopping() {
        return Thread.currentThread().isInterrupted() || !periodic.active();
    }

    /**
     * Decides nothing: the next recovery (of any replica) takes the build over. A stopping replica gives its lease up
     * at once (else the build would wait a whole lease for it); a lapsed one is gone already.
     */
    private boolean leaveToNextRecovery(LostRun lost) {
        log.info("build {}: its recovery stops here (this replica is stopping, or the lease of its recovery lapsed);"
                + " the next recovery decides it", lost.id());
        if (!stopping()) {
            return true;
        }
        try {
            tx.execute(s -> builds.heartbeat(lost.id(), lost.recovery(), lost.attempts(), builds.databaseNow()));
        } catch (RuntimeException e) {
            log.debug("build {}: the lease of its recovery is left to lapse: {}", lost.id(), summary(e));
        }
        return false;
    }

    /**
     * Renews the recovery's lease on a lost build while the registry and its host are asked; false when it is no
     * longer this recovery's (another replica took it over: a renewal never succeeds again then), or when it could
     * not be asked.
     */
    private boolean renewRecovery(LostRun lost) {
        try {
            return renew(tx, lost.id(), lost.recovery(), lost.attempts());
        } catch (RuntimeException e) {
            log.warn("build {}: the lease of its recovery could not be renewed: {}", lost.id(), summary(e));
            return false;
        }
    }

    /** Re-queues or expires a lost build still under this recovery's lease; false when it no longer is. */
    private boolean decide(LostRun lost, String notRequeued) {
        Build b = builds.lockById(lost.id()).orElse(null);
        if (b == null || b.status() != BuildStatus.RUNNING || !lost.recovery().equals(b.leaseOwner)
                || b.attempts != lost.attempts()) {
            return false;
        }
        Instant now = builds.databaseNow();
        // A cancel asked while the registry and the host were asked counts: it is read here, under the row's lock.
        String why = b.cancelRequested ? "not re-queued: it had been asked to cancel" : notRequeued;
        if (why == null) {
            int attempt = b.attempts + 1;
            b.requeue(now, lost.recovery());
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("reason", "replica lost");
            details.put("leaseOwner", lost.owner());
            details.put("host", lost.host());
            details.put("attempt", attempt);
            events.publishEvent(new AuditRecord("build.requeued", "build/" + b.id, Outcome.SUCCESS, details,
                    RequestInfo.system()));
            logs.append(b.id, "Replica lost: the gateway replica running this build on " + lost.host()
                    + " stopped renewing its lease; nothing of it reached the registry, so it is queued again"
                    + " (attempt " + attempt + " of " + Build.MAX_ATTEMPTS + ")\n");
            meters.counter("gateway.builds.requeued", "team", b.team).increment();
        } else {
            b.expire(now, Build.LEASE_EXPIRED + "; " + why, lost.recovery());
            events.publishEvent(new AuditRecord("build.failed", "build/" + b.id, Outcome.FAILED,
                    Map.of("reason", b.failureReason, "leaseOwner", lost.owner()), RequestInfo.system()));
            logs.append(b.id, "Failed: " + b.failureReason + "\n");
        }
        return true;
    }

    /** Deletes a lost run's quarantine copy; a failure leaves it unreadable to builds and teams, and is logged. */
    private void discardLostRun(UUID buildId, String quarantine, boolean again) {
        try {
            if (registry.deleteManifest(quarantine, QuarantinePush.QUARANTINE_TAG)) {
                log.info("deleted the quarantine copy {} of a lost run", quarantine);
                Map<String, Object> details = new LinkedHashMap<>();
                details.put("repository", quarantine);
                details.put("tag", QuarantinePush.QUARANTINE_TAG);
                details.put("reason", "replica lost: the quarantine copy of its run");
                auditAlone(new AuditRecord("build.quarantine-discarded", "build/" + buildId, Outcome.SUCCESS,
                        details, RequestInfo.system()));
            }
        } catch (java.io.IOException | RuntimeException e) {
            log.warn("could not delete the quarantine copy {} of a lost run (it stays unreadable to builds and"
                    + " teams): {}", quarantine, summary(e));
        }
        if (again) {
            try {
                discards.schedule(() -> discardLostRun(buildId, quarantine, false), 60, TimeUnit.SECONDS);
            } catch (java.util.concurrent.RejectedExecutionException stopping) {
                log.debug("the gateway is stopping: {} is not checked again", quarantine);
            }
        }
    }

    /**
     * Audits a removal done outside any transaction (from a host, from the registry): the removal cannot be undone
     * when the append fails, so the event is logged at ERROR with its details instead of being lost silently.
     */
    private void auditAlone(AuditRecord event) {
        try {
            events.publishEvent(event);
        } catch (RuntimeException e) {
            log.error("{} of {} could not be audited: {} ({})", event.action(), event.target(), event.details(),
                    summary(e));
        }
    }

    /**
     * Why a build whose replica was lost is not re-queued, as far as its attempts and the registry tell (a cancel is
     * read at the decision); null when a second attempt is safe.
     */
    private String notRequeued(LostRun b) {
        if (b.attempts() >= Build.MAX_ATTEMPTS) {
            return "not re-queued: this was its attempt " + b.attempts() + " of " + Build.MAX_ATTEMPTS;
        }
        try {
            java.util.Optional<String> pushedBy = registry.label(b.image(), b.tag(), BuildHosts.BUILD_ID_LABEL);
            if (pushedBy.isPresent() && pushedBy.get().equals(b.id().toString())) {
                return "not re-queued: its image had reached the registry as " + b.image() + ":" + b.tag()
                        + " (unverified by a record; do not use it)";
            }
            return null;
        } catch (java.io.IOException | RuntimeException e) {
            return "not re-queued: the registry could not tell whether it had pushed (" + summary(e) + ")";
        }
    }
}
