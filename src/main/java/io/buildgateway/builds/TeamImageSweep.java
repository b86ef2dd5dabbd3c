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
 * transaction with the untags. One replica sweeps a host at a time: the transaction first takes the sweep's
 * advisory lock without waiting, as the base-image watch serialises itself with one (a replica that finds it taken
 * leaves that host to the replica sweeping it). What was taken off is logged, counted
 * ({@code gateway.hosts.team-names.swept}, by host) and audited ({@code host.team-names-swept}).
 */
@Component
class TeamImageSweep implements PeriodicTasks.Owner {

    private static final Logger log = LoggerFactory.getLogger(TeamImageSweep.class);

    /** One replica sweeps a host at a time ("bgw_swep"). */
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
            sweep();
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
        Map<String, List<String>> swept = new LinkedHashMap<>();
        for (String host : hosts.healthyFixedHosts()) {
            List<String> removed;
            try {
                removed = tx.execute(status -> {
                    if (!builds.tryLock(SWEEP_LOCK)) {
                        return null; // another replica sweeps now
                    }
                    return teamNames.forgetUnused(host, null, 0, hosts.teamImageNames(host),
                            references -> hosts.forget(host, references));
                });
            } catch (RuntimeException e) {
                log.warn("build host {}: team images' names stay until the next sweep: {}", host,
                        BuildHosts.summary(e));
                continue;
            }
            if (removed == null) {
                continue;
            }
            swept.put(host, removed);
            if (!removed.isEmpty()) {
                record(host, removed);
            }
        }
        return swept;
    }

    /** Logged, counted and audited after the sweep's transaction (the audit chain's lock is not held beside it). */
    private void record(String host, List<String> removed) {
        log.info("build host {}: swept {} team image name(s) no running build there may use: {}", host,
                removed.size(), removed.size() > 20 ? removed.subList(0, 20) + "…" : removed);
        meters.counter("gateway.hosts.team-names.swept", "host", host).increment(removed.size());
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("count", removed.size());
        details.put("names", removed.stream().limit(100).toList());
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
