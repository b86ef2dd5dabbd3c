package io.buildgateway.builds;

import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * The build queue and its workers.
 *
 * @param logsDir where build output is kept, one file per build
 * @param maxQueued queued builds beyond which submissions get 429
 * @param maxQueuedPerTeam queued builds of one team beyond which that team's submissions get 429 (at most
 *        {@code max-queued}), so that one team cannot fill the queue for everyone
 * @param retryAfter the {@code Retry-After} a 429 suggests (the mean of what refused clients are told)
 * @param dispatchInterval how often the queue is polled (submissions also wake it at once)
 * @param lease how long a claimed build stays owned without a heartbeat before it is recovered
 * @param maxLogSize build output beyond this is cut, with a note
 * @param maxBuildArgs the most build args and labels a request may carry, each
 * @param rebuildShare the share of the pool's capacity that rebuilds may hold at once (at least one slot);
 *        developers' queued builds are always claimed before rebuilds
 * @param contextRetention how long every build's context is kept; after that, only contexts still needed (queued or
 *        running builds, the latest successful build of each repository and tag) are
 * @param follow {@code GET /builds/{id}/logs?follow=true}: its own threads and limits
 * @param leaseCheckInterval how often each replica looks for builds whose lease lapsed (their replica was lost) and
 *        re-queues or fails them: a lost replica's builds are decided within {@code lease + lease-check-interval}
 *        (docs/operations.md, "Faults and recovery")
 * @param retryAfterSpread how far a 429's {@code Retry-After} may lie from {@code retry-after}, as a fraction of it
 *        (0 to below 1; default 0.5: 30s gives 15–45 s), so that clients refused together do not return together
 *        ({@link RetryAfterSpread})
 * @param retryAfterPacing a team at its quota is told to come back at paced times, spaced by how fast this replica
 *        saw its queue drain, one after another, instead of all of them every {@code retry-after}
 *        ({@link RetryAfterPacing}; off: every refusal gets {@code retry-after} with its spread)
 * @param retryAfterMax the longest {@code Retry-After} pacing gives
 */
@Validated
@ConfigurationProperties("gateway.builds")
public record BuildProperties(
        @NotNull Path logsDir,
        @Min(1) @DefaultValue("100") int maxQueued,
        @Min(1) @DefaultValue("20") int maxQueuedPerTeam,
        @NotNull @DefaultValue("30s") Duration retryAfter,
        @NotNull @DefaultValue("500ms") Duration dispatchInterval,
        @NotNull @DefaultValue("60s") Duration lease,
        @NotNull @DefaultValue("10MB") DataSize maxLogSize,
        @Min(0) @DefaultValue("64") int maxBuildArgs,
        @jakarta.validation.constraints.DecimalMin("0.0") @jakarta.validation.constraints.DecimalMax("1.0")
        @DefaultValue("0.5") double rebuildShare,
        @NotNull @DefaultValue("30d") Duration contextRetention,
        @jakarta.validation.Valid @NotNull @DefaultValue Follow follow,
        @NotNull @DefaultValue("15s") Duration leaseCheckInterval,
        @jakarta.validation.constraints.DecimalMin("0.0") @jakarta.validation.constraints.DecimalMax(value = "1.0",
                inclusive = false) @DefaultValue("0.5") double retryAfterSpread,
        @DefaultValue("true") boolean retryAfterPacing,
        @NotNull @DefaultValue("5m") Duration retryAfterMax) {

    public BuildProperties {
        if (lease.compareTo(Duration.ofSeconds(3)) < 0) {
            throw new IllegalArgumentException("gateway.builds.lease (" + lease + ") must be at least 3s: the worker"
                    + " renews it every second and a lease shorter than a few heartbeats lapses on one slow one");
        }
        if (retryAfterMax.toSeconds() < 1) {
            throw new IllegalArgumentException("gateway.builds.retry-after-max (" + retryAfterMax
                    + ") must be at least 1s");
        }
        if (maxQueuedPerTeam > maxQueued) {
            throw new IllegalArgumentException("gateway.builds.max-queued-per-team (" + maxQueuedPerTeam
                    + ") must not be more than gateway.builds.max-queued (" + maxQueued + ")");
        }
    }

    /**
     * Following a build's log runs on threads of its own (never the servlet container's or Spring's shared task
     * executor), one per open follow, and stays open until the build is final.
     *
     * @param maxPerCaller open follows one caller (token, or identity-provider / certificate principal) may hold;
     *        one more is 429 with {@code Retry-After}
     * @param maxTotal open follows of all callers together (the thread pool's size); one more is 503
     * @param heartbeat after this long without output, a heartbeat is written (text/plain: an empty line;
     *        NDJSON: {@code {"heartbeat":true}}), which also notices clients that went away
     * @param pollInterval how often an open follow looks for new output
     * @param maxDuration a safety net only, far beyond any build's timeout: a follow open this long ends (a build
     *        that waits in the queue this long is still followed by reconnecting)
     * @param retryAfter the {@code Retry-After} of a refused follow
     */
    public record Follow(
            @Min(1) @DefaultValue("4") int maxPerCaller,
            @Min(1) @DefaultValue("64") int maxTotal,
            @NotNull @DefaultValue("15s") Duration heartbeat,
            @NotNull @DefaultValue("250ms") Duration pollInterval,
            @NotNull @DefaultValue("12h") Duration maxDuration,
            @NotNull @DefaultValue("5s") Duration retryAfter) {

        public Follow {
            if (maxPerCaller > maxTotal) {
                throw new IllegalArgumentException("gateway.builds.follow.max-per-caller must not be more than "
                        + "gateway.builds.follow.max-total");
            }
        }
    }
}
