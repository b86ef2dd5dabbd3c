package io.buildgateway.hostpool;

import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * One push by a build host's daemon, started by {@link BuildHost#push}: awaited to its end (the registry's manifest
 * digest or the daemon's error), or stopped by closing its stream. Whether a failed push is tried again, and what
 * happens to what reached the registry, is the build sequence's decision (builds.BuildSequence).
 */
public final class HostPush {

    /**
     * How an awaited push ended: {@code stopped} when the wait was cut short by a cancel or the deadline (the stream
     * is closed), else the pushed {@code digest} or the daemon's {@code error} (either may be null).
     */
    public record Ended(String digest, String error, BuildOutcome.Result stopped) {
    }

    private final DaemonStreams.PushCallback callback;
    private final Clock clock;

    HostPush(DaemonStreams.PushCallback callback, Clock clock) {
        this.callback = callback;
        this.clock = clock;
    }

    /** Waits for the push to end; a cancel or the deadline closes its stream, which stops the daemon's push. */
    public Ended await(BooleanSupplier cancelled, Instant deadline) throws InterruptedException {
        BuildOutcome.Result stopped = DaemonStreams.await(callback, cancelled, deadline, clock);
        return new Ended(callback.digest, callback.error, stopped);
    }

    /** Waits up to {@code millis} for the push to end by itself; true when it has ended. */
    public boolean awaitEnd(long millis) throws InterruptedException {
        return callback.done.await(millis, TimeUnit.MILLISECONDS);
    }

    /** Closes the push's stream: the daemon stops the push (on its own time). */
    public void stop() {
        DaemonStreams.closeQuietly(callback);
    }

    /** {@link System#nanoTime()} when the push's stream ended, 0 while it runs (a timing for the build's log). */
    public long endedAt() {
        return callback.endedAt;
    }

    /** The manifest digest the daemon reported so far; null until it has pushed the manifest. */
    public String digest() {
        return callback.digest;
    }
}
