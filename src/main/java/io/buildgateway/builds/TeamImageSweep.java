package io.buildgateway.builds;

import io.buildgateway.hostpool.BuildHosts;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.DaemonThreads;
import io.buildgateway.shared.PeriodicTasks;
import io.buildgateway.shared.RequestInfo;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.annotation.PreDestroy;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Every {@code gateway.hostpool.team-image-sweep}, each healthy fixed build host's store is swept of the names of team
 * images (and quarantine copies) that no build running there may pull or push. Each build takes its own names off
 * when it ends ({@link BuildSequence}); what a replica that died mid-build left, or names from before that existed,
 * would otherwise stay until a build of that repository ends on that host, readable by any build there whose
 * {@code FROM} the policy misread (BuildKit builds with {@code pull=0}: docs/security.md, "BuildKit builds without a
 * session").
 *
 * <p>The decision is {@link HostTeamNames}' (the one each build's end takes): under the scheduling lock, in one
 * transaction with the untags, a few names per transaction. One replica sweeps at a time: each transaction first
 * takes the sweep's advisory lock without waiting (one key for every host; the base-image watch waits for its own),
 * and a replica that finds it taken leaves that host to the replica sweeping it. What was taken off is logged, counted
 * ({@code gateway.hosts.team-names.swept}, by host) and audited ({@code host.team-names-swept}). A host whose daemon
 * (or the database) fails during its sweep is left at that round, logged and counted
 * ({@code gateway.hosts.team-names.sweep-failures}, by host): its other rounds would each wait for the daemon again
 * under the scheduling lock.
 */
@Component
class TeamImageSweep implements PeriodicTasks.Owner {

    private static final Logger log = LoggerFactory.getLogger(TeamImageSweep.class);

    /** Names decided and taken off in one transaction (under the scheduling lock). */
    static final int NAMES_PER_ROUND = 20;
    /** Names a host is swept of at most in one sweep; the rest wait for the next. */
    static final int MAX_NAMES_PER_HOST = 2_000;

    /** One replica sweeps at a time ("bgw_swep"). */
    static final long SWEEP_LOCK = 0x6267775f73776570L;

    private final BuildHosts hosts;
    private final HostTeamNames teamNames;
    private final BuildRepository builds;
    private final TransactionTemplate tx;
    private final MeterRegistry meters;
    private final ApplicationEventPublisher events;
    private final ScheduledExecutorService sweeper;
    private final PeriodicTasks periodic;

    TeamImageSweep(BuildHosts hosts, HostTeamNames teamNames, BuildRepository builds, TransactionTemplate tx,
            MeterRegistry meters, ApplicationEventPublisher events) {
        this.hosts = hosts;
        this.teamNames = teamNames;
        this.builds = builds;
        this.tx = tx;
        this.meters = meters;
        this.events = events;
        this.sweeper = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("team-image-sweep"));
        this.periodic = new PeriodicTasks(sweeper);
        Duration interval = hosts.teamImageSweep();
        if (!interval.isNegative() && !interval.isZero()) {
            periodic.every(interval, interval, this::sweepSafely);
        }
    }

    /** The sweeps start once the application is ready (and the context runs). */
    @EventListener(ApplicationReadyEvent.class)
    void start(ApplicationReadyEvent ready) {
        periodic.ready();
    }

    @Override
    public PeriodicTasks periodicTasks() {
        return periodic;
    }

    @PreDestroy
    void close() {
        sweeper.shutdownNow();
    }

    private void sweepSafely() {
        try {
            sweep(periodic::active);
        } catch (RuntimeException e) {
            log.warn("the sweep of team images' names off the build hosts failed; tried again at the next: {}",
                    BuildHosts.summary(e));
        }
    }

    /**
     * Sweeps every healthy fixed host now; returns the names taken off, by host (a host another replica was sweeping,
     * or whose daemon or the database did not answer, is left out).
     */
    Map<String, List<String>> sweep() {
        return sweep(() -> true);
    }

    /** As {@link #sweep()}, stopping between hosts and between rounds once {@code goOn} says so (a stopping context). */
    Map<String, List<String>> sweep(java.util.function.BooleanSupplier goOn) {
        Map<String, List<String>> swept = new LinkedHashMap<>();
        for (String host : hosts.healthyFixedHosts()) {
            if (!goOn.getAsBoolean()) {
                break;
            }
            HostSweep result;
            try {
                // Listed once; then at most NAMES_PER_ROUND names per transaction, so the scheduling lock (every
                // replica's claims wait for it) is never held for more than a few untags (a review's find: the first
                // sweep after a rollout may find hundreds). A build claimed between two rounds is seen by the next.
                List<Map<String, List<String>>> rounds = rounds(hosts.teamImageNames(host), NAMES_PER_ROUND,
                        MAX_NAMES_PER_HOST);
                result = sweepRounds(rounds, goOn, round -> {
                    boolean[] daemonFailed = {false};
                    try {
                        List<String> off = tx.execute(status -> {
                            if (!builds.tryLock(SWEEP_LOCK)) {
                                return null; // another replica sweeps now
                            }
                            return teamNames.forgetUnused(host, null, 0, round, references -> {
                                io.buildgateway.hostpool.TeamImages.Untagged untagged = hosts.forget(host,
                                        references);
                                daemonFailed[0] |= untagged.daemonFailed();
                                return untagged.removed();
                            });
                        });
                        return new Round(off, daemonFailed[0]);
                    } catch (RuntimeException e) {
                        // the round's transaction (the database): the earlier rounds' names are off and recorded below
                        log.warn("build host {}: team images' names stay until the next sweep: {}", host,
                                BuildHosts.summary(e));
                        return new Round(List.of(), true);
                    }
                });
            } catch (RuntimeException e) {
                // the listing: nothing was taken off
                log.warn("build host {}: team images' names stay until the next sweep: {}", host,
                        BuildHosts.summary(e));
                result = new HostSweep(List.of(), false, true);
            }
            if (result.failed()) {
                meters.counter("gateway.hosts.team-names.sweep-failures", "host", host).increment();
            }
            List<String> removed = result.removed();
            boolean another = result.another();
            if (another && removed.isEmpty()) {
                continue;
            }
            swept.put(host, removed);
            if (!removed.isEmpty()) {
                record(host, removed);
            }
        }
        return swept;
    }

    /** One round's outcome: the names taken off (null: another replica sweeps the hosts now), whether the daemon failed. */
    record Round(List<String> off, boolean daemonFailed) {
    }

    /** One host's sweep: the names taken off, whether another replica was sweeping, whether it stopped on a failure. */
    record HostSweep(List<String> removed, boolean another, boolean failed) {
    }

    /**
     * Runs a host's rounds in order, while {@code goOn} says so, until one finds another replica sweeping or its daemon
     * failed: the host's other rounds would each wait for the daemon again under the scheduling lock that every
     * replica's claims take; the health check decides about the host, and the next sweep (or a build's end) takes the
     * rest.
     */
    static HostSweep sweepRounds(List<Map<String, List<String>>> rounds, java.util.function.BooleanSupplier goOn,
            java.util.function.Function<Map<String, List<String>>, Round> sweep) {
        List<String> removed = new java.util.ArrayList<>();
        for (Map<String, List<String>> round : rounds) {
            if (!goOn.getAsBoolean()) {
                break;
            }
            Round r = sweep.apply(round);
            if (r.off() == null) {
                return new HostSweep(removed, true, false);
            }
            removed.addAll(r.off());
            if (r.daemonFailed()) {
                return new HostSweep(removed, false, true);
            }
        }
        return new HostSweep(removed, false, false);
    }

    /**
     * The names by repository in rounds of at most {@code perRound} names (a repository's names may span two), at most
     * {@code max} in all.
     */
    static List<Map<String, List<String>>> rounds(Map<String, List<String>> names, int perRound, int max) {
        List<Map<String, List<String>>> rounds = new java.util.ArrayList<>();
        Map<String, List<String>> round = new LinkedHashMap<>();
        int inRound = 0;
        int total = 0;
        for (Map.Entry<String, List<String>> e : names.entrySet()) {
            for (String name : e.getValue()) {
                if (total++ >= max) {
                    break;
                }
                if (inRound == perRound) {
                    rounds.add(round);
                    round = new LinkedHashMap<>();
                    inRound = 0;
                }
                round.computeIfAbsent(e.getKey(), k -> new java.util.ArrayList<>()).add(name);
                inRound++;
            }
        }
        if (!round.isEmpty()) {
            rounds.add(round);
        }
        return rounds;
    }

    /**
     * Logged, counted and audited after the sweep's transactions (the audit chain's lock is not held beside them). A
     * name may carry a build arg's value (a FROM or COPY --from after substitution, pulled as such), and the build
     * that could redact it is gone: the trail and the log at INFO get the count and each name's sha256, the names
     * themselves only the DEBUG log.
     */
    private void record(String host, List<String> removed) {
        List<String> hashed = removed.stream().map(io.buildgateway.policy.PolicyEvaluator::valueDigest).toList();
        log.info("build host {}: swept {} team image name(s) no running build there may use (sha256 of each: {})",
                host, removed.size(), hashed.size() > 20 ? hashed.subList(0, 20) + "…" : hashed);
        log.debug("build host {}: swept {}", host, removed);
        meters.counter("gateway.hosts.team-names.swept", "host", host).increment(removed.size());
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("count", removed.size());
        details.put("nameDigests", hashed.stream().limit(100).toList());
        details.put("reason", "no build running on the host may pull or push their repositories");
        try {
            events.publishEvent(new AuditRecord("host.team-names-swept", "host/" + host, AuditRecord.Outcome.SUCCESS,
                    details, RequestInfo.system()));
        } catch (RuntimeException e) {
            log.error("build host {}: the sweep of {} team image name(s) could not be audited: {} ({})", host,
                    removed.size(), details, BuildHosts.summary(e));
        }
    }
}
