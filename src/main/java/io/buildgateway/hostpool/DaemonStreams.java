package io.buildgateway.hostpool;

import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.PushResponseItem;
import java.io.Closeable;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The daemon's streams (a build's, a push's) as the host pool reads them: a callback whose end can be awaited without
 * closing it, and the wait that stops the daemon on a cancel or at the deadline by closing the stream.
 */
final class DaemonStreams {

    private DaemonStreams() {
    }

    /**
     * Waits for the stream to end. On cancel or timeout it closes the stream (again on each poll, in case the daemon
     * had not answered yet), which makes the daemon stop the build. docker-java's own timed awaitCompletion closes
     * the stream when its timeout passes, so it cannot be used to poll.
     */
    static BuildOutcome.Result await(StreamCallback<?> callback, BooleanSupplier cancelled, Instant deadline,
            Clock clock) throws InterruptedException {
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
    abstract static class StreamCallback<T> extends ResultCallback.Adapter<T> {
        final CountDownLatch done = new CountDownLatch(1);
        volatile String error;
        /** {@link System#nanoTime()} when the stream ended (0 while it runs): a timing for the build's log. */
        volatile long endedAt;

        @Override
        public void onError(Throwable throwable) {
            if (error == null) {
                error = BuildHosts.summary(throwable);
            }
            // Not super.onError: it logs every stream end as an error, including the cancels we cause ourselves.
            closeQuietly(this);
            endedAt = System.nanoTime();
            done.countDown();
        }

        @Override
        public void onComplete() {
            try {
                super.onComplete();
            } finally {
                endedAt = System.nanoTime();
                done.countDown();
            }
        }

        @Override
        public void close() throws IOException {
            super.close();
        }
    }

    /** A push's stream: the manifest digest the daemon reports, or its error. */
    static final class PushCallback extends StreamCallback<PushResponseItem> {
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

    static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing a stream the daemon may already have ended
        }
    }
}
