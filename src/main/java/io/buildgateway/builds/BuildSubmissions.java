package io.buildgateway.builds;

import static io.buildgateway.shared.Columns.instant;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.intake.ContextIntake;
import io.buildgateway.policy.Evaluation;
import io.buildgateway.policy.Finding;
import io.buildgateway.policy.PolicyEvaluator;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.RegistryUnavailable;
import io.buildgateway.shared.RequestInfo;
import io.buildgateway.shared.RequestTimings;
import io.buildgateway.shared.SecretNames;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.persistence.criteria.Predicate;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.data.domain.Sort;
import org.springframework.data.jpa.domain.Specification;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * Submitting, reading and cancelling builds. A submission is checked in the order that wastes least: parameters,
 * team, queue room, then the context is streamed in and checked, then the policy is evaluated; only then is a build
 * recorded (QUEUED, or REJECTED with its findings). A refused request changes nothing but the audit trail.
 */
@Service
public class BuildSubmissions {

    private final BuildRepository builds;
    private final ContextIntake intake;
    private final PolicyEvaluator policy;
    private final BuildProperties properties;
    private final BuildLogs logs;
    private final BuildDispatcher dispatcher;
    private final ApplicationEventPublisher events;
    private final TransactionTemplate tx;
    private final JsonMapper json;
    private final MeterRegistry meters;
    private final Clock clock;
    private final io.buildgateway.hostpool.BuildHosts hosts;
    /**
     * Reads the configs of the base images (approved, or the team's own let through) before a build, so the policy
     * judges what their triggers become and the build is pinned to them.
     */
    private final io.buildgateway.hostpool.ImageRegistry registry;
    private final io.buildgateway.shared.BuildPhases phases;
    private final org.springframework.jdbc.core.JdbcTemplate jdbc;
    /** The transaction's persistence context: a batch of submissions is inserted as one JDBC batch. */
    private final jakarta.persistence.EntityManager entities;
    private final RetryAfterSpread retryAfter;
    private final QuotaReservations reservations = new QuotaReservations();
    /** The other replicas' submissions under way, and this one's for them (issue #17). */
    private final SharedQuotaReservations shared;
    /** A team found at its quota is refused again for 500 ms without a count (issue #17). */
    private final QuotaMemory quotaMemory = new QuotaMemory(500_000_000L, System::nanoTime);
    /** When a team at its quota is told to come back (issue #17); null: the spread {@code retry-after} for all. */
    private final RetryAfterPacing pacing;

    BuildSubmissions(BuildRepository builds, ContextIntake intake, PolicyEvaluator policy, BuildProperties properties,
            BuildLogs logs, BuildDispatcher dispatcher, ApplicationEventPublisher events, TransactionTemplate tx,
            JsonMapper json, MeterRegistry meters, Clock clock, io.buildgateway.hostpool.BuildHosts hosts,
            io.buildgateway.hostpool.ImageRegistry registry,
            io.buildgateway.shared.BuildPhases phases, org.springframework.jdbc.core.JdbcTemplate jdbc,
            jakarta.persistence.EntityManager entities, SharedQuotaReservations shared) {
        this.shared = shared;
        this.jdbc = jdbc;
        this.entities = entities;
        this.hosts = hosts;
        this.registry = registry;
        this.phases = phases;
        this.builds = builds;
        this.intake = intake;
        this.policy = policy;
        this.properties = properties;
        this.logs = logs;
        this.dispatcher = dispatcher;
        this.events = events;
        this.tx = tx;
        this.json = json;
        this.meters = meters;
        this.clock = clock;
        this.retryAfter = new RetryAfterSpread(properties.retryAfter(), properties.retryAfterSpread());
        this.pacing = properties.retryAfterPacing()
                ? new RetryAfterPacing(properties.retryAfterMax().toSeconds(), System::nanoTime) : null;
    }

    private static final java.util.regex.Pattern DIGEST = java.util.regex.Pattern.compile("sha256:[0-9a-f]{64}");

    BuildView submit(BuildRequest request, InputStream body, long contentLength, GatewayPrincipal principal,
            RequestInfo info) {
        String team = request.image().team().value();
        if (!principal.canBuildFor(team)) {
            throw Problem.forbidden(principal.has(io.buildgateway.auth.Role.BUILDER)
                    ? "your token may build for teams " + principal.teams() + ", not '" + team + "'"
                    : "building needs the BUILDER role");
        }
        String target = hosts.registry() + "/" + request.image().repository();
        if (policy.isApprovedImage(target)) {
            // A team named like the base repository would otherwise overwrite an approved base with its own image.
            throw Problem.forbidden("'" + target + "' is an approved base image name; builds may not push there");
        }
        if (hosts.isQuarantined(request.image().repository())) {
            // Where images wait for their checks: refused before anything is uploaded, not failed once built.
            throw Problem.forbidden("'" + request.image().repository() + "' is under the gateway's quarantine "
                    + hosts.quarantine() + "/, where images wait for their checks; builds may not push there");
        }
        long quotaStart = RequestTimings.start();
        // Reserved before the count, so that of a team's submissions arriving together each sees the ones before it
        // as under way (QuotaReservations): no more than the quota's free slots go on to the costly part.
        long remembered = quotaMemory.atQuota(team);
        if (remembered >= 0) {
            throw teamQueueFull(team, remembered);
        }
        if (io.buildgateway.auth.WarmUpPass.is(principal)) {
            // The replica's own warm-up (WarmUp's HTTP legs): refused here as a team at its quota is, the path a
            // burst's refusals take, and never further: nothing is uploaded, counted or kept for it.
            throw teamQueueFull(team, properties.maxQueuedPerTeam());
        }
        try (QuotaReservations.Reservation reservation = reservations.reserve(team)) {
            int before = reservation.before();
            if (before >= properties.maxQueuedPerTeam()) {
                // The team's submissions under way here fill its quota already: the count cannot make room (it is
                // never negative), so this one is refused without it. In a burst that is most of a flood's requests,
                // and each count was a statement that the accepted submissions' statements queued behind.
                checkTeamQuota(team, before);
            }
            // The count reserves a row for this build in the same statement, and counts the other replicas' rows
            // that reserved before it (SharedQuotaReservations): a team's free slots are shared by all replicas.
            UUID id = UUID.randomUUID();
            SharedQuotaReservations.Counts queued = shared.reserve(team, id);
            try {
                if (queued.queued() >= properties.maxQueued()) {
                    throw new Problem(429, "queue-full", "Too many requests", "the build queue is full ("
                            + properties.maxQueued() + " queued); retry later")
                            .with("retryAfterSeconds", retryAfter.seconds()).summarisedInAudit();
                }
                // reservation.before() read again after the count
                checkTeamQuota(team, queued.queuedForTeam() + queued.peersBefore() + reservation.before());
                checkPin(request.pinFetchesFrom(), team);
                RequestTimings.end("quota", quotaStart);
                BuildView accepted = receiveAndRecord(request, body, contentLength, principal, info, team, reservation,
                        id, queued.ticket());
                if (pacing != null && accepted.status() == BuildStatus.QUEUED) {
                    pacing.accepted(team); // a slot of the team's quota taken: how fast its queue drains
                }
                return accepted;
            } catch (RuntimeException refusedOrBroken) {
                // No build row (or a rejected one, which counts for nothing): the reservation ends now, not after a
                // lease. A recorded build's row ends its reservation by itself, so success deletes nothing.
                shared.release(queued.ticket());
                throw refusedOrBroken;
            }
        }
    }

    /** The part of {@link #submit} after the cheap checks: upload, policy, re-pack, the record and its audit event. */
    private BuildView receiveAndRecord(BuildRequest request, InputStream body, long contentLength,
            GatewayPrincipal principal, RequestInfo info, String team, QuotaReservations.Reservation reservation,
            UUID id, long ticket) {
        intake.checkDeclaredLength(contentLength);
        long intakeStart = System.nanoTime();
        ContextIntake.StoredContext context = intake.receive(body, request.dockerfile());
        long policyStart = System.nanoTime();
        RequestTimings.end("upload", intakeStart);
        // Counted again before the policy check and the re-pack, the costly part of a submission: while this one
        // uploaded, the team's other submissions may have taken the free slots (a flooding team's clients wake after
        // the same Retry-After). Without this recount 4 in 10 of a flood's 429s came only from the exact count under
        // the lock below, each after ~0.7 s of CPU for lint and re-pack. The decision itself stays under the lock.
        // The upload is left to context retention, as the lock's refusal leaves it: another submission of the same
        // bytes may be between its upload and its insert.
        long recountStart = RequestTimings.start();
        checkTeamQuota(team, shared.recount(team, ticket) + reservation.before());
        RequestTimings.end("recount", recountStart);
        long lintStart = RequestTimings.start();
        // Cache mounts live in the team's namespace; a noCache build starts from an empty one of its own.
        // Findings quote the Dockerfile after substitution; a value the policy keeps as a digest is not shown there.
        BuildArgRedactor redactor = BuildArgRedactor.of(request.buildArgs(),
                name -> policy.isPublicBuildArg(team, name));
        Evaluation evaluation;
        try {
            BaseReads bases = new BaseReads(team, true);
            evaluation = policy.evaluate(new PolicyEvaluator.Request(context.dockerfile(), request.buildArgs(),
                    request.target(), team, request.image().repository(), context.files(), bases::triggers,
                    hosts.readsHeredocs(), null)
                    .withCacheNamespace(PolicyEvaluator.cacheNamespace(team, request.noCache() ? id.toString()
                            : null))
                    .withBaseEmptyEnv(bases));
        } catch (RegistryUnavailable e) {
            // The reference is after substitution: it may hold a build arg's value, kept out of the log and answer.
            LOG.warn("{} cannot be read, the submission is refused 503: {}", redactor.redact(e.what()),
                    redactor.redact(e.reason()));
            throw redactor.isEmpty() ? e : new RegistryUnavailable(redactor.redact(e.what()));
        }
        List<Finding> findings = redact(evaluation.findings(), redactor);
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        Build build = new Build(id);
        build.image = request.image().repository();
        build.tag = request.tag();
        build.team = team;
        build.requestedBy = principal.name();
        build.requestedAt = now;
        build.contextDigest = context.digest().value();
        build.contextSize = context.size();
        build.dockerfile = request.dockerfile();
        build.target = request.target();
        Map<String, String> shownArgs = policy.shownBuildArgs(team, request.buildArgs());
        build.buildArgs = json.writeValueAsString(shownArgs);
        build.buildArgValues = evaluation.passed() ? json.writeValueAsString(request.buildArgs()) : null;
        build.labels = json.writeValueAsString(request.labels());
        build.noCache = request.noCache();
        build.policyDigest = evaluation.policyDigest();
        build.findings = json.writeValueAsString(findings);
        build.baseImage = recordableBase(evaluation.baseImage());
        build.baseDigest = evaluation.baseDigest();
        build.allowedPulls = json.writeValueAsString(evaluation.pulls());
        build.basePulls = evaluation.basePulls() == null ? null : json.writeValueAsString(evaluation.basePulls());
        recordEgress(build, team);
        build.pinFetchesFrom = request.pinFetchesFrom();
        RequestTimings.end("lint", lintStart);
        if (evaluation.passed()) {
            ContextIntake.StoredContext built;
            long repackStart = RequestTimings.start();
            try {
                built = repack(context, request.dockerfile(), evaluation);
            } catch (Problem storeFull) {
                // 507 (the store filled up between the upload and its re-pack): no build row, and the upload goes
                // too unless another build uses the same bytes, so a full store leaves nothing half-submitted.
                deleteRejectedContext(context.digest());
                throw storeFull;
            }
            RequestTimings.end("repack", repackStart);
            build.builtContextDigest = built.digest().value();
            build.builtContextSize = built.size();
            build.queue();
        } else {
            build.reject("rejected by policy: " + findings.stream()
                    .filter(f -> f.severity() == Finding.Severity.error && !Boolean.TRUE.equals(f.waived()))
                    .count() + " error finding(s)", now);
        }
        long policyEnd = System.nanoTime();
        phases.record(build.id.toString(), io.buildgateway.shared.BuildPhases.INTAKE, policyStart - intakeStart);
        phases.record(build.id.toString(), io.buildgateway.shared.BuildPhases.POLICY, policyEnd - policyStart);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("image", build.image);
        details.put("tag", build.tag);
        details.put("team", team);
        details.put("contextDigest", build.contextDigest);
        details.put("contextSize", build.contextSize);
        if (build.builtContextDigest != null) {
            details.put("builtContextDigest", build.builtContextDigest);
        }
        details.put("dockerfile", build.dockerfile);
        details.put("buildArgs", SecretNames.redact(shownArgs));
        details.put("policyDigest", evaluation.policyDigest());
        if (build.pinFetchesFrom != null) {
            details.put("pinFetchesFrom", build.pinFetchesFrom.toString());
        }
        if (!evaluation.passed()) {
            details.put("findings", findings.stream().map(Finding::rule).toList());
        }
        Recording recording = new Recording(build, new AuditRecord(evaluation.passed() ? "build.queued"
                : "build.rejected", "build/" + build.id, evaluation.passed() ? Outcome.SUCCESS : Outcome.REJECTED,
                details, info), reservation, Thread.currentThread());
        if (evaluation.passed()) {
            recordQueued(recording);
        } else {
            recordAlone(recording);
        }
        meters.counter("gateway.builds.submitted", "team", team).increment();
        if (!evaluation.passed()) {
            deleteRejectedContext(context.digest());
            meters.counter("gateway.builds.finished", "team", team, "status", "REJECTED").increment();
            StringBuilder log = new StringBuilder("Rejected by policy " + evaluation.policyDigest() + ":\n");
            findings.forEach(f -> log.append("  ").append(f.severity()).append(' ').append(f.rule())
                    .append(f.line() == null ? "" : " (line " + f.line() + ")").append(": ").append(f.message())
                    .append('\n'));
            log.append(io.buildgateway.shared.BuildPhases.lines(phases.take(build.id.toString())));
            logs.append(build.id, log.toString());
            throw new Problem(422, "policy-rejected", "Rejected by policy",
                    "the Dockerfile does not pass the security policy; see findings")
                    .with("buildId", build.id.toString())
                    .with("policyDigest", evaluation.policyDigest())
                    .with("findings", findings);
        }
        long logStart = RequestTimings.start();
        logs.append(build.id, "Queued: context " + build.contextDigest + " (" + build.contextSize + " bytes), policy "
                + evaluation.policyDigest() + " passed; the daemon builds the re-packed context "
                + build.builtContextDigest + " with the gateway's canonical Dockerfile\n");
        dispatcher.wake();
        RequestTimings.end("log", logStart);
        return view(build);
    }

    /** A submission ready to be recorded: its row, its audit event, its quota reservation, and the request's thread. */
    record Recording(Build build, AuditRecord event, QuotaReservations.Reservation reservation,
            Thread caller) {
    }

    /** How a recording ended: written in a batch or alone, and the team's refusal when the quota had no room. */
    record Recorded(boolean batched, Problem refused) {
    }

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(BuildSubmissions.class);
    private static final org.slf4j.Logger BATCH_TIMINGS = org.slf4j.LoggerFactory.getLogger(RequestTimings.LOGGER);

    /** Per team, the group commit of its accepted submissions on this replica ({@link #recordQueued}). */
    private final java.util.concurrent.ConcurrentHashMap<String, io.buildgateway.shared.GroupCommit<Recording,
            Recorded>> recorders = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Records a submission that passed the policy, together with the team's others that are ready at the same moment
     * (issue #17: a group commit). Each one recorded alone takes the team's lock, counts, inserts, appends its event
     * and commits, and the team's next one waits for all of that: in a load run's first second ten accepted
     * submissions waited up to 1.7 s for the team's lock, behind one another and behind the audit chain. Ready
     * together, they now share one transaction: one team lock, one count, the rows in one JDBC batch, their events in
     * one append, one commit. The quota decision is the same as alone (the count under the team's lock, and the
     * batch's rows in their order of arrival); those beyond the quota are refused as they would have been. A batch
     * that fails is recorded again one by one, so one bad row cannot take the others with it.
     */
    private void recordQueued(Recording recording) {
        long start = RequestTimings.start();
        Recorded recorded = recorders.computeIfAbsent(recording.build().team, team ->
                new io.buildgateway.shared.GroupCommit<>(this::recordTogether, this::recordAlone)).append(recording);
        if (recorded.batched()) {
            RequestTimings.end("batch", start); // the single path marks its own phases
        }
        if (recorded.refused() != null) {
            throw recorded.refused();
        }
    }

    /** The batch of {@link #recordQueued}: one transaction for submissions of one team, in their order of arrival. */
    List<Recorded> recordTogether(List<Recording> batch) {
        String team = batch.get(0).build().team;
        List<Recorded> out = new ArrayList<>(batch.size());
        long[] at = new long[5]; // start, locked and counted, inserted, appended, before the commit
        at[0] = System.nanoTime();
        tx.executeWithoutResult(s -> {
            out.clear();
            builds.claimLock(TEAM_QUOTA_LOCK ^ team.hashCode());
            long queued = builds.countByStatusAndTeam(BuildStatus.QUEUED, team);
            at[1] = System.nanoTime();
            List<Build> rows = new ArrayList<>(batch.size());
            List<AuditRecord> records = new ArrayList<>(batch.size());
            for (Recording r : batch) {
                try {
                    checkTeamQuota(team, queued + rows.size());
                    rows.add(r.build());
                    records.add(r.event());
                    out.add(new Recorded(true, null));
                } catch (Problem full) {
                    out.add(new Recorded(true, full));
                }
            }
            if (!rows.isEmpty()) {
                entities.unwrap(org.hibernate.Session.class).setJdbcBatchSize(rows.size());
                builds.saveAll(rows);
                builds.flush();
            }
            at[2] = System.nanoTime();
            if (!rows.isEmpty()) {
                events.publishEvent(new AuditRecord.Batch(records));
            }
            at[3] = System.nanoTime();
            // as in recordAlone: ended before the commit (QuotaReservations)
            batch.forEach(r -> r.reservation().close());
            at[4] = System.nanoTime();
        });
        if (BATCH_TIMINGS.isDebugEnabled()) {
            // Its own line beside the requests' (bench/load/timings.py sums them up): the batch's members mark only
            // "batch", the time from asking to be recorded to their answer.
            long end = System.nanoTime();
            BATCH_TIMINGS.debug(String.format(java.util.Locale.ROOT, "timing record-batch team=%s size=%d accepted=%d"
                    + " total=%.1f lock=%.1f insert=%.1f audit=%.1f commit=%.1f", team, batch.size(),
                    out.stream().filter(r -> r.refused() == null).count(), (end - at[0]) / 1e6,
                    (at[1] - at[0]) / 1e6, (at[2] - at[1]) / 1e6, (at[3] - at[2]) / 1e6, (end - at[4]) / 1e6));
        }
        return out;
    }

    /**
     * Records one submission in a transaction of its own: QUEUED under the team's lock after the exact count (a
     * refusal is thrown), REJECTED without it. Marks its phases when it runs on the submission's own thread.
     */
    private Recorded recordAlone(Recording recording) {
        Build build = recording.build();
        boolean mark = Thread.currentThread() == recording.caller();
        long[] commitStart = {0};
        tx.executeWithoutResult(s -> {
            long lockStart = mark ? RequestTimings.start() : 0;
            if (build.status() == BuildStatus.QUEUED) {
                // Exact under concurrent uploads: one team's submissions are counted and recorded one at a time.
                builds.claimLock(TEAM_QUOTA_LOCK ^ build.team.hashCode());
                checkTeamQuota(build.team, builds.countByStatusAndTeam(BuildStatus.QUEUED, build.team));
            }
            RequestTimings.end("lock", lockStart);
            long insertStart = mark ? RequestTimings.start() : 0;
            // Persisted (no select: Build is Persistable) and flushed now, before the audit event takes the audit
            // chain's lock, which is held until the commit: the row's INSERT is no longer inside that lock.
            builds.saveAndFlush(build);
            RequestTimings.end("insert", insertStart);
            long auditStart = mark ? RequestTimings.start() : 0;
            events.publishEvent(recording.event());
            RequestTimings.end("audit", auditStart);
            // Ended before the commit, not after the request: once the row is committed the team's other submissions
            // count it, and they must not also count it as under way (QuotaReservations).
            recording.reservation().close();
            commitStart[0] = mark ? RequestTimings.start() : 0;
        });
        RequestTimings.end("commit", commitStart[0]);
        return new Recorded(false, null);
    }

    /**
     * The warm-up's rehearsal of the record ({@link WarmUp}, issue #17): the given builds, never saved, recorded as
     * accepted submissions are, one alone or several together ({@link #recordAlone}, {@link #recordTogether}: the
     * team's lock, the count, the INSERTs, the {@code build.queued} events' append under the audit chain's lock), in a
     * transaction that is rolled back at its end. Nothing of it stays or is seen: the rows were never committed, so
     * no other transaction (another replica's claim) could read them; an appended event that rolls back is not in the
     * chain, and its seq goes to the next event (AuditTrail); its log line is written at debug as rolled back. What
     * it leaves is this JVM's compiled code and the connection's prepared statements. In a load run's first second
     * the first batch of nine took 623 ms, 244 of them in the rows' INSERT and 315 in the events' append: the first
     * of the JVM's life (docs/benchmarks.md). At most the team quota's number of them are recorded together.
     */
    void rehearseRecord(List<Build> given) {
        if (given.isEmpty() || given.stream().anyMatch(b -> b.status() != BuildStatus.QUEUED || !b.team.equals(
                given.get(0).team))) {
            throw new IllegalArgumentException("a rehearsal records queued builds of one team");
        }
        List<Build> rows = given.subList(0, Math.min(given.size(), Math.max(1, properties.maxQueuedPerTeam())));
        List<QuotaReservations.Reservation> reserved = new ArrayList<>();
        try {
            tx.executeWithoutResult(s -> {
                s.setRollbackOnly(); // the transactions of recordAlone and recordTogether join this one
                List<Recording> batch = new ArrayList<>();
                for (Build b : rows) {
                    QuotaReservations.Reservation reservation = reservations.reserve(b.team);
                    reserved.add(reservation);
                    batch.add(new Recording(b, new AuditRecord("build.queued", "build/" + b.id, Outcome.SUCCESS,
                            Map.of("image", b.image, "tag", b.tag, "team", b.team, "rehearsal", true), null),
                            reservation, Thread.currentThread()));
                }
                if (batch.size() == 1) {
                    recordAlone(batch.get(0));
                } else {
                    for (Recorded r : recordTogether(batch)) {
                        if (r.refused() != null) {
                            throw r.refused();
                        }
                    }
                }
            });
        } finally {
            reserved.forEach(QuotaReservations.Reservation::close);
        }
    }

    /**
     * The configs of one evaluation's bases, each read once ({@link io.buildgateway.hostpool.ImageRegistry#baseConfig},
     * one registry read and one cache entry for both): the policy asks for a base's ONBUILD triggers and then for the
     * names its Env sets to an empty value, and both must come from the same answer, whatever the registry's cache
     * does between the two questions (a tag moved, a ttl of 0). {@code timed}: the time marked as the request's phase
     * {@code triggers}.
     */
    private final class BaseReads implements io.buildgateway.policy.PolicyEvaluator.BaseEnvironment {
        private final boolean timed;
        /** Whether each base is read from the registry now rather than from the cache (a rebuild's). */
        private final boolean current;
        /** The build's team: a base its daemon would be granted is read, approved or not. */
        private final String team;
        private final Map<String, io.buildgateway.hostpool.ImageRegistry.BaseConfig> read = new java.util.HashMap<>();

        BaseReads(String team, boolean timed) {
            this(team, timed, false);
        }

        BaseReads(String team, boolean timed, boolean current) {
            this.team = team;
            this.timed = timed;
            this.current = current;
        }

        @Override
        public boolean granted(String imageRef) {
            return hosts.grantable(team, imageRef);
        }

        List<String> triggers(String imageRef) {
            return config(imageRef).triggers();
        }

        /** The names the base's Env sets to an empty value. */
        @Override
        public java.util.Set<String> apply(String imageRef) {
            return config(imageRef).emptyEnv();
        }

        @Override
        public Map<String, String> values(String imageRef) {
            return config(imageRef).env();
        }

        /** The digest of the manifest read: what the build is pinned to. */
        @Override
        public String digest(String imageRef) {
            return config(imageRef).digest();
        }

        private synchronized io.buildgateway.hostpool.ImageRegistry.BaseConfig config(String imageRef) {
            io.buildgateway.hostpool.ImageRegistry.BaseConfig config = read.get(imageRef);
            if (config == null) {
                long start = timed ? RequestTimings.start() : 0;
                try {
                    config = baseConfig(imageRef, current);
                } finally {
                    if (timed) {
                        RequestTimings.end("triggers", start);
                    }
                }
                read.put(imageRef, config); // a failure is not kept: it fails the evaluation (or is its finding)
            }
            return config;
        }
    }

    /**
     * The config (ONBUILD triggers, empty Env names) of a base from the registry. A registry that cannot be reached
     * (refused, timed out, 5xx) is {@link RegistryUnavailable}: the submission is refused 503 with Retry-After and
     * nothing is recorded, rather than rejected by policy for a fault that is nobody's (bench/chaos.sh's registry
     * outage got a 422 and a REJECTED build, "could not be read (no reason given)"). Any other failure (no such image,
     * a digest that does not match, a config that does not read) stays a finding of the policy's, which refuses the
     * build.
     */
    private io.buildgateway.hostpool.ImageRegistry.BaseConfig baseConfig(String imageRef, boolean current) {
        try {
            return current ? registry.currentBaseConfig(imageRef) : registry.baseConfig(imageRef);
        } catch (java.io.UncheckedIOException e) {
            if (e.getCause() instanceof io.buildgateway.hostpool.ImageRegistry.Unreachable unreachable) {
                // Logged where the build args are known (the reference is after substitution: it may hold one).
                throw new RegistryUnavailable("the config of image '" + imageRef + "'",
                        unreachable.getMessage());
            }
            throw e;
        }
    }

    /** Findings with the values of non-public build args replaced in their message and instruction. */
    static List<Finding> redact(List<Finding> findings, BuildArgRedactor redactor) {
        if (redactor.isEmpty()) {
            return findings;
        }
        return findings.stream().map(f -> new Finding(f.rule(), f.severity(), redactor.redact(f.message()), f.line(),
                redactor.redact(f.instruction()), f.waived())).toList();
    }

    /**
     * A team at its quota of queued builds gets 429 with Retry-After (and the refusal is audited by the web layer, in
     * its per-second summary), whatever room the global queue has: one team cannot fill the queue for every other.
     * Checked before the upload (cheap) and again, under a per-team lock, in the transaction that records the build.
     */
    private void checkTeamQuota(String team, long queuedForTeam) {
        quotaMemory.counted(team, queuedForTeam, properties.maxQueuedPerTeam());
        if (queuedForTeam >= properties.maxQueuedPerTeam()) {
            throw teamQueueFull(team, queuedForTeam);
        }
    }

    private Problem teamQueueFull(String team, long queuedForTeam) {
        return new Problem(429, "team-queue-full", "Too many requests", "team '" + team + "' has "
                + queuedForTeam + " builds queued or being submitted, its quota (" + properties.maxQueuedPerTeam()
                + "); retry when some have started")
                .with("team", team)
                .with("maxQueuedPerTeam", properties.maxQueuedPerTeam())
                .with("retryAfterSeconds", pacing != null ? pacing.refused(team, retryAfter.seconds())
                        : retryAfter.seconds())
                .summarisedInAudit(); // a flood's refusals change nothing: counted per second, not a row each
    }

    /**
     * A build may pin its downloads to an earlier build of its own team only (docs/egress.md). Another team's build
     * and a build that does not exist get the same answer, so the parameter does not tell whether an id exists.
     */
    private void checkPin(UUID pin, String team) {
        if (pin != null && builds.findById(pin).filter(b -> b.team.equals(team)).isEmpty()) {
            String message = "no build " + pin + " of team '" + team + "' to pin the fetches to";
            throw Problem.badRequest("invalid-parameter", "pinFetchesFrom: " + message)
                    .with("errors", List.of(Map.of("field", "pinFetchesFrom", "message", message)));
        }
    }

    /** The team's egress allowlist as the policy in force gives it, kept with the build like its allowed pulls. */
    private void recordEgress(Build build, String team) {
        PolicyEvaluator.EgressAllowance egress = policy.egress(team);
        build.egressAllow = json.writeValueAsString(egress.allow());
        build.egressRefuseTunnels = egress.refuseTunnels();
    }

    /** Advisory-lock key space of the per-team quota check ("bgw_team" xor the team's hash). */
    private static final long TEAM_QUOTA_LOCK = 0x6267775f7465616dL;

    /**
     * The context the daemon builds: the upload re-packed from the gateway's own inspection, with the canonical
     * Dockerfile the policy's parse wrote in place of the submitted one (docs/security.md, layer A). Timed as
     * {@code gateway.builds.prepare} (bench/build-vs-direct.sh reports its share of the gateway's overhead).
     */
    private ContextIntake.StoredContext repack(ContextIntake.StoredContext uploaded, String dockerfile,
            Evaluation evaluation) {
        if (evaluation.canonicalDockerfile() == null) {
            // passed implies a canonical text (dockerfile-canonical is an unwaivable error); never build the upload
            throw new IllegalStateException("a passed evaluation without a canonical Dockerfile");
        }
        long t0 = System.nanoTime();
        ContextIntake.StoredContext built = intake.repack(uploaded, dockerfile,
                evaluation.canonicalDockerfile().getBytes(StandardCharsets.UTF_8));
        meters.timer("gateway.builds.prepare").record(System.nanoTime() - t0, java.util.concurrent.TimeUnit.NANOSECONDS);
        return built;
    }

    /**
     * A rejected context is not kept: its digest and findings stay on the build record. The store is by content, so
     * an upload that another (not rejected) build also sent stays for that one.
     */
    private void deleteRejectedContext(io.buildgateway.shared.Digest digest) {
        if (!builds.existsByContextDigestAndStatusNot(digest.value(), BuildStatus.REJECTED)) {
            intake.delete(digest);
        }
    }

    /**
     * Queues a rebuild of a build's image from its stored context: the same Dockerfile, target, build args and
     * labels, no build cache, the base pulled afresh (every build pulls), under the policy in force now. The new
     * build records the one it rebuilds ({@code rebuildOf}); if today's policy refuses the Dockerfile it is recorded
     * REJECTED like any submission. Called by the inventory's rebuild requests, which check the caller's role.
     */
    public BuildView rebuild(UUID originId, String requestedBy, String reason, RequestInfo info) {
        Build origin = builds.findById(originId).orElseThrow(() -> Problem.notFound("build " + originId));
        java.nio.file.Path stored = intake.pathOf(io.buildgateway.shared.Digest.parse(origin.contextDigest));
        if (!java.nio.file.Files.exists(stored)) {
            throw new Problem(409, "context-gone", "Conflict", "the context " + origin.contextDigest + " of build "
                    + originId + " is no longer stored; it cannot be rebuilt");
        }
        ContextIntake.StoredContext context;
        try (InputStream in = java.nio.file.Files.newInputStream(stored)) {
            context = intake.inspectOnly(in, origin.dockerfile);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Map<String, String> args = json.readValue(origin.buildArgs, new TypeReference<Map<String, String>>() { });
        // Only public values are kept; a digest cannot be built from. Such a build is not rebuilt (the caller gets
        // a 409 naming the args, and selector rebuilds report it SKIPPED); it must be submitted again.
        List<String> secret = args.entrySet().stream()
                .filter(e -> !policy.isPublicBuildArg(origin.team, e.getKey()) || DIGEST.matcher(e.getValue()).matches())
                .map(Map.Entry::getKey).sorted().toList();
        if (!secret.isEmpty()) {
            throw new Problem(409, "build-args-not-kept", "Conflict", "build " + originId + " was given build args "
                    + secret + " whose values are not kept (only their digests are, as the policy does not declare"
                    + " them public); it cannot be rebuilt: submit it again");
        }
        UUID id = UUID.randomUUID();
        // A rebuild is a noCache build: its cache mounts start empty, in a namespace of its own. Its bases are read
        // now, not from the cache: it is pinned to what it reads, and it is asked for because a base's tag moved.
        BaseReads bases = new BaseReads(origin.team, false, true);
        Evaluation evaluation = policy.evaluate(new PolicyEvaluator.Request(context.dockerfile(), args, origin.target,
                origin.team, origin.image, context.files(), bases::triggers, hosts.readsHeredocs(), null)
                .withCacheNamespace(PolicyEvaluator.cacheNamespace(origin.team, id.toString()))
                .withBaseEmptyEnv(bases));
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        Build build = new Build(id);
        build.image = origin.image;
        build.tag = origin.tag;
        build.team = origin.team;
        build.requestedBy = requestedBy;
        build.requestedAt = now;
        build.contextDigest = origin.contextDigest;
        build.contextSize = origin.contextSize;
        build.dockerfile = origin.dockerfile;
        build.target = origin.target;
        build.buildArgs = origin.buildArgs;
        build.buildArgValues = evaluation.passed() ? origin.buildArgs : null;
        build.labels = origin.labels;
        build.noCache = true;
        build.rebuildOf = origin.id;
        build.policyDigest = evaluation.policyDigest();
        build.findings = json.writeValueAsString(evaluation.findings());
        build.baseImage = recordableBase(evaluation.baseImage());
        build.baseDigest = evaluation.baseDigest();
        build.allowedPulls = json.writeValueAsString(evaluation.pulls());
        build.basePulls = evaluation.basePulls() == null ? null : json.writeValueAsString(evaluation.basePulls());
        recordEgress(build, origin.team);
        if (evaluation.passed()) {
            ContextIntake.StoredContext built = repack(context, origin.dockerfile, evaluation);
            build.builtContextDigest = built.digest().value();
            build.builtContextSize = built.size();
            build.queue();
        } else {
            build.reject("rejected by policy on rebuild", now);
        }
        tx.executeWithoutResult(s -> {
            builds.saveAndFlush(build); // before the audit chain's lock, as in submit
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("image", build.image);
            details.put("tag", build.tag);
            details.put("team", build.team);
            details.put("rebuildOf", origin.id.toString());
            details.put("reason", reason);
            details.put("contextDigest", build.contextDigest);
            details.put("policyDigest", evaluation.policyDigest());
            events.publishEvent(new AuditRecord(evaluation.passed() ? "build.queued" : "build.rejected",
                    "build/" + build.id, evaluation.passed() ? Outcome.SUCCESS : Outcome.REJECTED, details, info));
        });
        logs.append(build.id, (evaluation.passed() ? "Queued" : "Rejected by policy") + ": rebuild of " + origin.id
                + " (" + reason + "), context " + build.contextDigest + ", no cache, base pulled afresh\n");
        dispatcher.wake();
        return view(build);
    }

    Evaluation lint(String dockerfile, BuildRequest request) {
        return lint(dockerfile, request, null);
    }

    /** Lints a Dockerfile; {@code shellcheck}: true asks for the ShellCheck pass, null lets the policy decide. */
    Evaluation lint(String dockerfile, BuildRequest request, Boolean shellcheck) {
        return evaluateLint(lintRequest(dockerfile, request, null, shellcheck));
    }

    /** Lints a whole context. The archive is checked like a build's but not kept. */
    Evaluation lintContext(InputStream body, long contentLength, BuildRequest request) {
        return lintContext(body, contentLength, request, null);
    }

    Evaluation lintContext(InputStream body, long contentLength, BuildRequest request, Boolean shellcheck) {
        intake.checkDeclaredLength(contentLength);
        ContextIntake.StoredContext context = intake.inspectOnly(body, request.dockerfile());
        return evaluateLint(lintRequest(context.dockerfile(), request, context.files(), shellcheck));
    }

    /**
     * A ShellCheck pass that was asked for and cannot run is the service's failure, said plainly: a 503. The findings
     * quote the Dockerfile after substitution: a build arg's value the policy keeps as a digest is replaced there, as
     * in a build's findings (a lint's SARIF is often uploaded to a code-scanning service).
     */
    private Evaluation evaluateLint(PolicyEvaluator.Request request) {
        try {
            Evaluation e = policy.lint(request);
            BuildArgRedactor redactor = BuildArgRedactor.of(request.buildArgs(),
                    name -> policy.isPublicBuildArg(request.team(), name));
            if (redactor.isEmpty()) {
                return e;
            }
            return new Evaluation(e.passed(), e.policyDigest(), redact(e.findings(), redactor),
                    redactor.redact(e.baseImage()), e.pulls().stream().map(redactor::redact).toList(),
                    e.canonicalDockerfile() == null ? null : redactor.redact(e.canonicalDockerfile()));
        } catch (io.buildgateway.policy.ShellCheck.Unavailable e) {
            throw io.buildgateway.policy.ShellCheck.refusal(e.getMessage());
        }
    }

    /**
     * Lint takes the image (and so the team, for team settings and waivers) as optional. It reads the Dockerfile as
     * a build submitted now would be read (heredocs and BuildKit's flags when every host builds with BuildKit), so
     * that lint and build agree.
     */
    private PolicyEvaluator.Request lintRequest(String dockerfile, BuildRequest request,
            java.util.Set<String> contextFiles, Boolean shellcheck) {
        return new PolicyEvaluator.Request(dockerfile, request.buildArgs(), request.target(),
                request.image() == null ? null : request.image().team().value(),
                request.image() == null ? null : request.image().repository(), contextFiles, null,
                hosts.readsHeredocs(), shellcheck);
    }

    /**
     * A build as its caller may see it (the status read, polled by every CI job: issue #17, latency). One statement
     * on a connection in auto-commit mode — no transaction around it, no persistence context — reading the row by
     * its primary key, only the columns of the view.
     */
    public BuildView get(UUID id, GatewayPrincipal principal) {
        requireReadsBuilds(principal); // before the lookup: whether an id exists is not the DEPLOYER's to learn
        long readStart = RequestTimings.start();
        List<Build> found = jdbc.query(VIEW_SELECT, BuildSubmissions::viewRow, id);
        RequestTimings.end("read", readStart);
        if (found.isEmpty()) {
            throw Problem.notFound("build " + id);
        }
        Build build = found.get(0);
        checkReadable(id, build.team, principal);
        long viewStart = RequestTimings.start();
        BuildView view = view(build);
        RequestTimings.end("view", viewStart);
        return view;
    }

    /**
     * The base as the record keeps it: a reference the column holds (512 characters, no NUL); any other is no image
     * reference the daemon would parse (at most 255 characters of name), so the build is recorded with no base
     * rather than the submission failing on the column: the policy's unapproved-image finding says why (a team that
     * waived or turned that rule off has it fail on the daemon instead).
     */
    static String recordableBase(String base) {
        return base == null || base.length() > 512 || base.indexOf('\0') >= 0 ? null : base;
    }

    /** The columns {@link #view(Build)} shows, and nothing else of the row. */
    static final String VIEW_SELECT = "select id, image, tag, team, status, phase, requested_by, requested_at,"
            + " started_at, finished_at, host, context_digest, context_size, dockerfile, target, build_args, labels,"
            + " no_cache, policy_digest, findings, image_digest, image_ref, failure_reason, rebuild_of,"
            + " built_context_digest from build where id = ?";

    /** A detached, read-only {@link Build} with the columns of {@link #VIEW_SELECT}; never saved. */
    static Build viewRow(java.sql.ResultSet rs, int row) throws java.sql.SQLException {
        Build b = Build.readOnly(rs.getObject("id", UUID.class), BuildStatus.valueOf(rs.getString("status")));
        b.image = rs.getString("image");
        b.tag = rs.getString("tag");
        b.team = rs.getString("team");
        b.phase = rs.getString("phase");
        b.requestedBy = rs.getString("requested_by");
        b.requestedAt = instant(rs, "requested_at");
        b.startedAt = instant(rs, "started_at");
        b.finishedAt = instant(rs, "finished_at");
        b.host = rs.getString("host");
        b.contextDigest = rs.getString("context_digest");
        b.contextSize = rs.getLong("context_size");
        b.dockerfile = rs.getString("dockerfile");
        b.target = rs.getString("target");
        b.buildArgs = rs.getString("build_args");
        b.labels = rs.getString("labels");
        b.noCache = rs.getBoolean("no_cache");
        b.policyDigest = rs.getString("policy_digest");
        b.findings = rs.getString("findings");
        b.imageDigest = rs.getString("image_digest");
        b.imageRef = rs.getString("image_ref");
        b.failureReason = rs.getString("failure_reason");
        b.rebuildOf = rs.getObject("rebuild_of", UUID.class);
        b.builtContextDigest = rs.getString("built_context_digest");
        return b;
    }

    /**
     * The front door for other protocols (the Docker Engine API's {@code POST /build}): the parameters of
     * {@code POST /api/v1/builds} as a query map, validated by the same rules (400 problem listing every invalid
     * one), then {@link #submit(BuildRequest, InputStream, long, GatewayPrincipal, RequestInfo)} unchanged: team
     * rules, quota, intake, policy, audit.
     */
    public BuildView submit(Map<String, String[]> parameters, InputStream body, long contentLength,
            GatewayPrincipal principal, RequestInfo info) {
        BuildRequest request = BuildRequest.parse(parameters, properties.maxBuildArgs(), BuildRequest.BUILD_PARAMETERS,
                true);
        return submit(request, body, contentLength, principal, info);
    }

    /** One line of a build's log: the gateway's own or the build's (a step's output), never to be confused. */
    public record LogLine(boolean gateway, String text) {
    }

    /** Lines of a build's log from a byte offset, and where to continue ({@code next}). */
    public record LogRead(List<LogLine> lines, long next) {
    }

    /** Reads a build's log from {@code offset} for a caller who may read the build (else 403/404 problem). */
    public LogRead readLog(UUID id, long offset, GatewayPrincipal principal) {
        readable(id, principal);
        try {
            BuildLogs.Chunk chunk = logs.read(id, offset, BuildLogs.READ_MAX);
            return new LogRead(chunk.lines().stream()
                    .map(l -> new LogLine(l.source() == BuildLogs.Source.GATEWAY, l.text())).toList(), chunk.next());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private Build readable(UUID id, GatewayPrincipal principal) {
        requireReadsBuilds(principal);
        Build build = builds.findById(id).orElseThrow(() -> Problem.notFound("build " + id));
        checkReadable(id, build.team, principal);
        return build;
    }

    private static void requireReadsBuilds(GatewayPrincipal principal) {
        if (!principal.readsBuilds()) {
            throw Problem.forbidden(READING_BUILDS);
        }
    }

    private static void checkReadable(UUID id, String team, GatewayPrincipal principal) {
        if (!principal.canReadBuildsOf(team)) {
            throw Problem.forbidden("build " + id + " belongs to team '" + team + "', which your token cannot read");
        }
    }

    /** API.md's roles table: builds are read by a BUILDER of their team, SECURITY, AUDITOR and ADMIN. */
    private static final String READING_BUILDS = "your token's roles do not allow reading builds: that needs the"
            + " BUILDER role for the build's team, or SECURITY, AUDITOR or ADMIN";

    /** Authorises reading the log of a build; returns whether it is final now. */
    BuildStatus statusForLogs(UUID id, GatewayPrincipal principal) {
        return readable(id, principal).status();
    }

    BuildStatus status(UUID id) {
        return builds.findById(id).map(b -> b.status()).orElse(BuildStatus.FAILED);
    }

    record Page(List<BuildView> items, String nextCursor) {
    }

    Page list(String image, String team, BuildStatus status, String requestedBy, int limit, String cursor,
            GatewayPrincipal principal) {
        requireReadsBuilds(principal);
        Cursor after = cursor == null ? null : Cursor.parse(cursor);
        Specification<Build> spec = (root, query, cb) -> {
            List<Predicate> where = new ArrayList<>();
            if (image != null) {
                where.add(cb.equal(root.get("image"), image));
            }
            if (team != null) {
                where.add(cb.equal(root.get("team"), team));
            }
            if (status != null) {
                where.add(cb.equal(root.get("status"), status));
            }
            if (requestedBy != null) {
                where.add(cb.equal(root.get("requestedBy"), requestedBy));
            }
            if (!principal.readsAllTeams()) {
                // a BUILDER's teams (readsBuilds, checked below, refuses a token without one)
                where.add(principal.teams().isEmpty() ? cb.disjunction() : root.get("team").in(principal.teams()));
            }
            if (after != null) {
                where.add(cb.or(cb.lessThan(root.get("requestedAt"), after.at()),
                        cb.and(cb.equal(root.get("requestedAt"), after.at()), cb.lessThan(root.get("id"), after.id()))));
            }
            return cb.and(where.toArray(Predicate[]::new));
        };
        Sort sort = Sort.by(Sort.Order.desc("requestedAt"), Sort.Order.desc("id"));
        List<Build> found = builds.findBy(spec, q -> q.sortBy(sort).limit(limit + 1).all());
        List<BuildView> items = found.stream().limit(limit).map(this::view).toList();
        String next = found.size() > limit ? new Cursor(found.get(limit - 1).requestedAt, found.get(limit - 1).id)
                .encode() : null;
        return new Page(items, next);
    }

    /** Queued: cancelled at once. Running: flagged; the worker stops it on its host within a second. */
    public BuildView cancel(UUID id, GatewayPrincipal principal, RequestInfo info) {
        Build build = readable(id, principal);
        if (!principal.canBuildFor(build.team) && !principal.has(io.buildgateway.auth.Role.ADMIN)) {
            throw Problem.forbidden("cancelling needs the BUILDER role for team '" + build.team + "' or ADMIN");
        }
        BuildView cancelled = tx.execute(s -> {
            Build b = builds.lockById(id).orElseThrow();
            BuildStatus atRequest = b.status();
            boolean ended;
            try {
                ended = b.cancel(info.actor(), clock.instant().truncatedTo(ChronoUnit.MICROS));
            } catch (Build.IllegalTransition alreadyEnded) {
                throw new Problem(409, "build-final", "Conflict", "build " + id + " has already ended ("
                        + b.status() + ")");
            }
            events.publishEvent(new AuditRecord("build.cancel-requested", "build/" + id, Outcome.SUCCESS,
                    Map.of("statusAtRequest", atRequest.name()), info));
            if (ended) {
                // a queued build ends here; a running one ends (build.cancelled) when its host has stopped it
                events.publishEvent(new AuditRecord("build.cancelled", "build/" + id, Outcome.SUCCESS,
                        Map.of("reason", b.failureReason), info));
            }
            return view(b);
        });
        quotaMemory.forget(build.team); // the freed slot is usable at once, not after the memory's 500 ms
        return cancelled;
    }

    BuildView view(Build b) {
        List<Finding> findings = json.readValue(b.findings, new TypeReference<List<Finding>>() { });
        Map<String, String> args = json.readValue(b.buildArgs, new TypeReference<Map<String, String>>() { });
        Map<String, String> labels = json.readValue(b.labels, new TypeReference<Map<String, String>>() { });
        return new BuildView(b.id, b.image, b.tag, b.team, b.status(), b.phase, b.requestedBy, b.requestedAt,
                b.startedAt, b.finishedAt, b.host, b.contextDigest, b.contextSize, b.dockerfile, b.target,
                SecretNames.redact(args), labels, b.noCache, b.policyDigest, findings, b.imageDigest, b.imageRef,
                b.failureReason, b.rebuildOf, b.builtContextDigest);
    }

    /** Opaque page cursor: the last item's request time and id. */
    record Cursor(Instant at, UUID id) {
        String encode() {
            return Base64.getUrlEncoder().withoutPadding().encodeToString(
                    (at.toString() + "|" + id).getBytes(StandardCharsets.UTF_8));
        }

        static Cursor parse(String value) {
            try {
                String[] parts = new String(Base64.getUrlDecoder().decode(value), StandardCharsets.UTF_8).split("\\|");
                return new Cursor(io.buildgateway.shared.Instants.requireStorable(Instant.parse(parts[0])),
                        UUID.fromString(parts[1]));
            } catch (RuntimeException e) {
                throw Problem.badRequest("invalid-parameter", "cursor is not a cursor this gateway returned")
                        .with("errors", List.of(Map.of("field", "cursor", "message", "invalid")));
            }
        }
    }
}
