package io.buildgateway.builds;

import io.buildgateway.hostpool.BuildOutcome;
import io.buildgateway.hostpool.HostPush;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One registry operation of a build tried again while the registry is away (issue #17, "the registry down during a
 * push"): the push after the checks, the quarantine push beside them, and the naming of the quarantined image
 * ({@code ImageRegistry.promote}) all go through {@link #run}. A failed attempt is tried again after 1 s, then twice
 * as long each time up to 30 s, for as long as the next attempt starts before the build's deadline; a refusal by the
 * registry ({@code denied}: the push token's grant) is final at once, since asking again gets the same answer. A
 * cancel is obeyed while waiting. When the attempts run out the build is FAILED with the last error and the number
 * of attempts; nothing is recorded (no inventory row, no provenance) for an image the registry did not take.
 */
final class PushRetry {

    private static final Logger log = LoggerFactory.getLogger(PushRetry.class);

    static final Duration FIRST = Duration.ofSeconds(1);
    static final Duration MAX = Duration.ofSeconds(30);

    /**
     * One attempt: its result, {@link Failed} to be tried again, or {@link Stopped} to end the build; any other
     * exception is not the registry being away and ends the retry as it is.
     */
    @FunctionalInterface
    interface Attempt<T> {
        T run() throws Exception;
    }

    /** An attempt that failed with the registry's (or the daemon's) error; tried again unless final. */
    static final class Failed extends Exception {
        Failed(String error) {
            super(error, null, false, false);
        }
    }

    /** The build ends here with this outcome (cancelled, timed out, or out of attempts). */
    static final class Stopped extends Exception {
        private final transient BuildOutcome outcome;

        Stopped(BuildOutcome outcome) {
            super(outcome.reason(), null, false, false);
            this.outcome = outcome;
        }

        BuildOutcome outcome() {
            return outcome;
        }
    }

    private final String buildId;
    private final String imageId;
    private final Duration timeout;
    private final Instant deadline;
    private final Clock clock;
    private final BooleanSupplier cancelled;
    private final Consumer<String> output;
    /**
     * Asked after each failed attempt of an operation the build host's daemon makes (the push, the quarantine push):
     * true when that daemon stopped answering. Its push cannot succeed then, whatever the registry does, so the build
     * ends at once and {@code BuildSequence.run} names it "host lost" instead of waiting out the deadline.
     */
    private final BooleanSupplier hostLost;
    /**
     * Asked before each attempt after the first ({@link #onlyWhileHeld}): renews the build's run lease and answers
     * whether this replica still holds it. Always yes unless set: the quarantine push names nothing.
     */
    private BooleanSupplier held = () -> true;
    private int attempts;
    private Duration backoff = FIRST;
    /** The operation {@link #run} is trying ("push to 127.0.0.1:5000") and its last error, for the reason. */
    private String what;
    private String lastError;

    /** The backoff alone, for a test of when attempts are made. */
    PushRetry() {
        this(null, null, null, null, Clock.systemUTC(), () -> false, line -> { });
    }

    PushRetry(String buildId, String imageId, Duration timeout, Instant deadline, Clock clock,
            BooleanSupplier cancelled, Consumer<String> output) {
        this(buildId, imageId, timeout, deadline, clock, cancelled, output, () -> false);
    }

    PushRetry(String buildId, String imageId, Duration timeout, Instant deadline, Clock clock,
            BooleanSupplier cancelled, Consumer<String> output, BooleanSupplier hostLost) {
        this.hostLost = hostLost;
        this.buildId = buildId;
        this.imageId = imageId;
        this.timeout = timeout;
        this.deadline = deadline;
        this.clock = clock;
        this.cancelled = cancelled;
        this.output = output;
    }

    /** Why an attempt was not made: the lease could not be renewed right before it ({@link #onlyWhileHeld}). */
    static final String LEASE_NOT_RENEWED = "this replica could not renew the build's lease, so it did not try";

    /**
     * An operation that puts a name in the registry (the naming of the checked image, the push without a quarantine)
     * is tried again only while this replica still holds the build's run lease, renewed right before each attempt
     * after the first by {@code held}. A retry can come long after the lease was last checked (the backoff reaches
     * 30 s, an outage can outlast the lease); a replica that lost the lease meanwhile (its build re-queued and run
     * again, or failed, by another) would move a tag for a run that is not recorded. When {@code held} says no (the
     * lease lost, or the database could not renew it) the attempt is not made and counts as failed: the backoff
     * goes on, a lost lease ends the build through {@code cancelled}, and a database blip only costs an attempt.
     */
    PushRetry onlyWhileHeld(BooleanSupplier held) {
        this.held = held;
        return this;
    }

    /**
     * Runs {@code attempt} until it succeeds, tried again after each {@link Failed} as the class says. {@code what}
     * names the operation in the log and in the failure reason ("push to 127.0.0.1:5000").
     */
    <T> T run(String what, Attempt<T> attempt) throws Exception {
        this.what = what;
        while (true) {
            String error;
            try {
                if (attempts > 0 && !held.getAsBoolean()) {
                    throw new Failed(LEASE_NOT_RENEWED);
                }
                return attempt.run();
            } catch (Failed e) {
                error = e.getMessage();
                lastError = error;
            }
            if (hostLost.getAsBoolean()) {
                attempts++;
                log.warn("build {}: the {} failed and its build host stopped answering: {}", buildId, what, error);
                throw new Stopped(new BuildOutcome(BuildOutcome.Result.FAILED, null, null, null, what
                        + " failed: " + error + " (the build host's daemon stopped answering)"));
            }
            Duration wait = afterFailure(error, clock.instant(), deadline);
            if (wait == null) {
                throw new Stopped(new BuildOutcome(BuildOutcome.Result.FAILED, null, null, null, what + " failed"
                        + (attempts > 1 ? " " + attempts + " times within the build's deadline" : "") + ": "
                        + error));
            }
            output.accept(Character.toUpperCase(what.charAt(0)) + what.substring(1) + " failed (" + error
                    + "); attempt " + (attempts + 1) + " in " + wait.toSeconds() + " s\n");
            log.warn("build {}: attempt {} of the {} failed: {}", buildId, attempts, what, error);
            long until = System.nanoTime() + wait.toNanos();
            while (System.nanoTime() < until) {
                if (cancelled.getAsBoolean()) {
                    throw stopped(BuildOutcome.Result.CANCELLED);
                }
                Thread.sleep(Math.min(200, Math.max(1, (until - System.nanoTime()) / 1_000_000)));
            }
        }
    }

    /**
     * How an attempt ends the build when its wait was cut short: a cancel, or the build's deadline. The deadline's
     * reason names the operation (and so the registry) and, after failed attempts, the last error: an attempt that
     * hangs on a registry that went away must not end the build with a reason that does not say where.
     */
    Stopped stopped(BuildOutcome.Result waited) {
        return new Stopped(new BuildOutcome(waited, imageId, null, null,
                waited == BuildOutcome.Result.CANCELLED ? "cancelled while pushing"
                        : (what != null ? what : "push") + " exceeded the build timeout of " + timeout
                                + (attempts > 0 ? " after " + (attempts + 1) + " attempts (last error: " + lastError
                                        + ")" : "")));
    }

    /** Counts an attempt that failed; returns the wait before the next one, or null when the build gives up. */
    Duration afterFailure(String error, Instant now, Instant deadline) {
        attempts++;
        if (error != null && error.toLowerCase(Locale.ROOT).contains("denied")) {
            return null;
        }
        Duration wait = backoff;
        if (!now.plus(wait).isBefore(deadline)) {
            return null;
        }
        backoff = backoff.multipliedBy(2).compareTo(MAX) > 0 ? MAX : backoff.multipliedBy(2);
        return wait;
    }

    int attempts() {
        return attempts;
    }

    /** One push attempt's end: the pushed digest, or why it failed (tried again) or stopped (not). */
    String awaitPush(HostPush push, BooleanSupplier cancelled, Instant deadline)
            throws Failed, Stopped, InterruptedException {
        HostPush.Ended end = push.await(cancelled, deadline);
        if (end.stopped() != null) {
            throw stopped(end.stopped());
        }
        if (end.error() != null || end.digest() == null) {
            throw new Failed(end.error() != null ? end.error() : "the registry returned no digest");
        }
        return end.digest();
    }
}
