package io.buildgateway.shared.web;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Counts refused requests (the 4xx the audit trail records) per source in fixed windows, in memory, with no I/O and
 * no clock of its own (the caller passes the time), so it can be tested without waiting.
 * <ul>
 * <li>A source with {@code limit} refusals in its current window is blocked until the window ends:
 * {@link #blocked} says for how long, and counts the blocked request.</li>
 * <li>The first {@code limit} refusals of a window are audited one by one ({@link #refused} returns true); later
 * ones (requests that were already past the check when the limit was reached) are only counted.</li>
 * <li>Every window with something not audited one by one (blocked requests, refusals beyond the limit) becomes one
 * {@link Aggregate} when it ends ({@link #closed}) or at shutdown ({@link #drain}).</li>
 * <li>An aggregate that could not be written (the database away) is handed back ({@link #unwritten}) and returned
 * again by the next {@link #closed} or {@link #drain}: its refusals are in no other audit event. While kept, a
 * source's aggregates join into one (from the first window's start to the last one's end), and beyond
 * {@code maxSources} kept sources the rest join under {@link #OVERFLOW}: memory stays bounded and every refusal stays
 * in exactly one count.</li>
 * <li>Memory is bounded: at most {@code maxSources} sources are tracked; while the table is full, every other
 * source shares one window under {@link #OVERFLOW}, so a flood from many addresses is limited as one.</li>
 * </ul>
 * Thread-safe (one lock; every operation is a map lookup).
 */
public final class RefusalLimiter {

    /** The source name under which untracked sources are counted while the table is full. */
    public static final String OVERFLOW = "other-sources";

    /** One source's window as the audit trail records it. */
    public record Aggregate(String source, Instant windowStart, Instant windowEnd, long refusals, long audited,
            long rateLimited) {

        /** Refused or blocked requests that have no audit row of their own. */
        public long notAuditedIndividually() {
            return refusals - audited + rateLimited;
        }

        /** Both as one aggregate of {@code source}: from the earlier start to the later end, the counts added up. */
        Aggregate joined(String source, Aggregate other) {
            return new Aggregate(source, windowStart.isBefore(other.windowStart) ? windowStart : other.windowStart,
                    windowEnd.isAfter(other.windowEnd) ? windowEnd : other.windowEnd, refusals + other.refusals,
                    audited + other.audited, rateLimited + other.rateLimited);
        }
    }

    private static final class Window {
        final String source;
        final Instant start;
        final Instant end;
        long refusals;
        long audited;
        long rateLimited;

        Window(String source, Instant start, Duration length) {
            this.source = source;
            this.start = start;
            this.end = start.plus(length);
        }

        Aggregate aggregate() {
            return new Aggregate(source, start, end, refusals, audited, rateLimited);
        }

        boolean worthAuditing() {
            return refusals > audited || rateLimited > 0;
        }
    }

    private final int limit;
    private final Duration window;
    private final int maxSources;
    private final Map<String, Window> windows = new HashMap<>();
    private final List<Aggregate> ended = new ArrayList<>();
    /** Aggregates whose audit event could not be written, by source (at most {@code maxSources} and the overflow). */
    private final Map<String, Aggregate> unwritten = new LinkedHashMap<>();

    public RefusalLimiter(int limit, Duration window, int maxSources) {
        if (limit < 1 || window.isNegative() || window.isZero() || maxSources < 1) {
            throw new IllegalArgumentException("limit and maxSources must be positive and window longer than zero");
        }
        this.limit = limit;
        this.window = window;
        this.maxSources = maxSources;
    }

    /**
     * Whether a request from this source must be refused before any other work (429): returns the seconds until
     * its window ends (at least 1), and counts it; empty when it may go on.
     */
    public synchronized OptionalLong blocked(String source, Instant now) {
        Window w = current(key(source), now, false);
        if (w == null || w.refusals < limit) {
            return OptionalLong.empty();
        }
        w.rateLimited++;
        long millis = Duration.between(now, w.end).toMillis();
        return OptionalLong.of(Math.max(1, (millis + 999) / 1000));
    }

    /** Counts a refusal; returns whether it gets an audit row of its own (the first {@code limit} of a window). */
    public synchronized boolean refused(String source, Instant now) {
        Window w = current(key(source), now, true);
        w.refusals++;
        if (w.refusals <= limit) {
            w.audited++;
            return true;
        }
        return false;
    }

    /**
     * Removes and returns the windows that have ended and hold anything not audited one by one, after the aggregates
     * handed back as {@link #unwritten}.
     */
    public synchronized List<Aggregate> closed(Instant now) {
        List<Aggregate> out = takeEnded();
        for (Iterator<Window> it = windows.values().iterator(); it.hasNext(); ) {
            Window w = it.next();
            if (!now.isBefore(w.end)) {
                it.remove();
                if (w.worthAuditing()) {
                    out.add(w.aggregate());
                }
            }
        }
        return out;
    }

    /** At shutdown: every window, ended or not, that holds anything not audited one by one. */
    public synchronized List<Aggregate> drain() {
        List<Aggregate> out = takeEnded();
        windows.values().stream().filter(Window::worthAuditing).map(Window::aggregate).forEach(out::add);
        windows.clear();
        return out;
    }

    /**
     * Hands back an aggregate of {@link #closed} or {@link #drain} whose audit event could not be written: returned
     * again by the next of them, joined with the source's other unwritten ones.
     */
    public synchronized void unwritten(Aggregate aggregate) {
        String source = unwritten.containsKey(aggregate.source()) || unwritten.size() < maxSources
                ? aggregate.source() : OVERFLOW;
        Aggregate kept = source.equals(aggregate.source()) ? aggregate : new Aggregate(source,
                aggregate.windowStart(), aggregate.windowEnd(), aggregate.refusals(), aggregate.audited(),
                aggregate.rateLimited());
        unwritten.merge(source, kept, (earlier, later) -> earlier.joined(source, later));
    }

    private List<Aggregate> takeEnded() {
        List<Aggregate> out = new ArrayList<>(unwritten.values());
        unwritten.clear();
        out.addAll(ended);
        ended.clear();
        return out;
    }

    /** Sources tracked now (for metrics and tests). */
    public synchronized int trackedSources() {
        return windows.size();
    }

    private String key(String source) {
        String s = source == null || source.isBlank() ? "unknown" : source;
        if (windows.containsKey(s) || windows.size() < maxSources) {
            return s;
        }
        return OVERFLOW;
    }

    private Window current(String key, Instant now, boolean create) {
        Window w = windows.get(key);
        if (w != null && !now.isBefore(w.end)) {
            windows.remove(key);
            if (w.worthAuditing()) {
                ended.add(w.aggregate());
            }
            w = null;
        }
        if (w == null && create) {
            w = new Window(key, now, window);
            windows.put(key, w);
        }
        return w;
    }
}
