package io.buildgateway.shared;

import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-request timing log (issue #17, latency): with logger {@code io.buildgateway.timing} at DEBUG, every API request
 * logs one line with its method, path, status, total time and the named phases its code marked, e.g.
 * <pre>
 *   timing POST /api/v1/builds 202 total=41.2 auth=2.1 quota=1.3 upload=6.0 lint=12.5 repack=3.1 lock=0.6 insert=1.9
 *       audit=2.4 commit=1.7
 * </pre>
 * (milliseconds). {@code bench/load/timings.py} summarises such a log. Off by default (the logger is at INFO); when off
 * no request has timings, {@link #start()} returns 0 after one thread-local read and {@link #end} does nothing, so
 * the marks cost nothing measurable. The web layer's filter opens and closes a request's timings
 * ({@link #open()}/{@link #close()}); code on the request's thread marks phases:
 * <pre>
 *   long t = RequestTimings.start();
 *   ...
 *   RequestTimings.end("quota", t);
 * </pre>
 * A phase marked twice adds up. Not thread-safe across threads: a phase is marked on the request's own thread.
 */
public final class RequestTimings {

    public static final String LOGGER = "io.buildgateway.timing";
    private static final Logger LOG = LoggerFactory.getLogger(LOGGER);
    private static final ThreadLocal<RequestTimings> CURRENT = new ThreadLocal<>();
    /** Phases a request marks; more are dropped (a request marks a handful). */
    private static final int MAX_PHASES = 16;

    private final long startNanos = System.nanoTime();
    private final String[] names = new String[MAX_PHASES];
    private final long[] nanos = new long[MAX_PHASES];
    private int count;

    private RequestTimings() {
    }

    /** Whether requests are timed now (the logger at DEBUG). */
    public static boolean enabled() {
        return LOG.isDebugEnabled();
    }

    /** Starts timing the current thread's request when the logger is at DEBUG; returns whether it did. */
    public static boolean open() {
        if (!LOG.isDebugEnabled()) {
            return false;
        }
        CURRENT.set(new RequestTimings());
        return true;
    }

    /** Ends the current request's timings without logging them; returns them (null when none were open). */
    static RequestTimings detach() {
        RequestTimings t = CURRENT.get();
        CURRENT.remove();
        return t;
    }

    /** Ends the current request's timings and logs its line. */
    public static void close(String method, String path, int status, String note) {
        RequestTimings t = detach();
        if (t != null) {
            LOG.debug(t.line(method, path, status, note, System.nanoTime()));
        }
    }

    /** The start of a phase: {@link System#nanoTime()} while the current request is timed, else 0. */
    public static long start() {
        return CURRENT.get() == null ? 0 : System.nanoTime();
    }

    /** Records phase {@code name} from {@code start} (from {@link #start()}) to now; nothing when start is 0. */
    public static void end(String name, long start) {
        if (start == 0) {
            return;
        }
        RequestTimings t = CURRENT.get();
        if (t != null) {
            t.add(name, System.nanoTime() - start);
        }
    }

    private void add(String name, long took) {
        for (int i = 0; i < count; i++) {
            if (names[i].equals(name)) {
                nanos[i] += took;
                return;
            }
        }
        if (count < MAX_PHASES) {
            names[count] = name;
            nanos[count++] = took;
        }
    }

    String line(String method, String path, int status, String note, long nowNanos) {
        StringBuilder line = new StringBuilder(96).append("timing ").append(method).append(' ').append(path)
                .append(' ').append(status);
        appendMs(line.append(" total="), nowNanos - startNanos);
        for (int i = 0; i < count; i++) {
            appendMs(line.append(' ').append(names[i]).append('='), nanos[i]);
        }
        if (note != null) {
            line.append(' ').append(note);
        }
        return line.toString();
    }

    private static void appendMs(StringBuilder out, long nanos) {
        long tenths = TimeUnit.NANOSECONDS.toMicros(nanos) / 100;
        out.append(tenths / 10).append('.').append(tenths % 10);
    }
}
