package io.buildgateway.builds;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The {@code Retry-After} of a team found at its quota, paced to how fast the team's queue drains on this replica
 * (issue #17, latency under load). A flooding team's clients all wait at the quota; with one {@code retry-after} for
 * all, each of them comes back every {@code retry-after} whether or not a slot has opened, and almost every return is
 * refused again: in the load bench 45 refusals per accepted build, each a request, a problem response and an audit
 * row, on the same cores that answer the status reads. Here every refusal of the team takes the next free return
 * time, spaced by {@code 1 / (2 × the rate at which this replica accepted the team's builds since it was first
 * refused)}: the refused clients come back about twice as fast as slots open (so the queue stays full and the hosts
 * busy), one after another in the order they were refused, instead of all of them every few seconds.
 *
 * <p>What it never changes: whether a submission is accepted (the count under the team's lock decides, as before),
 * and a client that comes back early is simply counted again. Until this replica has seen {@link #MIN_DRAINS}
 * accepts of the team since its first refusal and within {@link #WINDOW_NANOS}, the caller's fixed Retry-After is
 * used; a team that stops being refused is back on it within the window. The answer is at most {@code maxSeconds};
 * refusals past that all get the maximum. Per replica: with R replicas behind one address the returns arrive at up to
 * 2R times the drain, still far fewer than without pacing.
 */
final class RetryAfterPacing {

    /** Accepts older than this say nothing about the drain now (nanoseconds). */
    static final long WINDOW_NANOS = 60_000_000_000L;
    /** The drain is estimated from at least this many accepts. */
    static final int MIN_DRAINS = 2;
    private static final int RING = 16;

    private final ConcurrentHashMap<String, Team> teams = new ConcurrentHashMap<>();
    private final LongSupplier nanoTime;
    private final long maxSeconds;

    RetryAfterPacing(long maxSeconds, LongSupplier nanoTime) {
        if (maxSeconds < 1) {
            throw new IllegalArgumentException("the longest Retry-After must be at least 1 s: " + maxSeconds);
        }
        this.maxSeconds = maxSeconds;
        this.nanoTime = nanoTime;
    }

    /** A submission of the team was accepted (recorded) on this replica. */
    void accepted(String team) {
        Team t = teams.get(team);
        if (t != null) { // a team never refused here has nothing to pace
            t.accepted(nanoTime.getAsLong());
        }
    }

    /**
     * The seconds to tell a client of {@code team} refused at its quota now: its paced return, or {@code fallback}
     * while the drain is not known.
     */
    long refused(String team, long fallback) {
        long now = nanoTime.getAsLong();
        Team t = teams.computeIfAbsent(team, k -> new Team(now));
        long seconds = t.refused(now, maxSeconds);
        if (teams.size() > 1024) { // teams are few; this only bounds the map against an unexpected many
            teams.entrySet().removeIf(e -> e.getValue().idleSince(now));
        }
        return seconds > 0 ? seconds : Math.min(fallback, maxSeconds);
    }

    /** One team's accepts while at its quota and its next free return time. */
    private static final class Team {
        private final long[] drains = new long[RING];
        private int count;
        private int next;
        private long lastRefusal;
        private long nextReturn = Long.MIN_VALUE;

        Team(long firstRefusal) {
            this.lastRefusal = firstRefusal;
        }

        synchronized void accepted(long now) {
            if (now - lastRefusal > WINDOW_NANOS) {
                return; // long since at its quota: how fast the team submits, not how fast its queue drains
            }
            drains[next] = now;
            next = (next + 1) % RING;
            count = Math.min(count + 1, RING);
        }

        /** The paced seconds (at least 1, at most {@code max}), or 0 while the drain is not known. */
        synchronized long refused(long now, long max) {
            lastRefusal = now;
            int n = 0;
            long oldest = now;
            for (int i = 0; i < count; i++) {
                long at = drains[i];
                if (now - at <= WINDOW_NANOS) {
                    n++;
                    oldest = Math.min(oldest, at);
                }
            }
            if (n < MIN_DRAINS || now == oldest) {
                return 0;
            }
            // n accepts from oldest to now: n - 1 intervals, the last one still open; returns go at twice that rate.
            long interval = Math.max(1, (now - oldest) / (2L * (n - 1)));
            long at = Math.max(nextReturn, now + interval);
            long cap = now + max * 1_000_000_000L;
            if (at > cap) {
                at = cap; // past the maximum every refusal gets it, and the schedule does not run on from there
            } else {
                nextReturn = at + interval;
            }
            return Math.max(1, Math.min(max, (at - now + 999_999_999L) / 1_000_000_000L));
        }

        synchronized boolean idleSince(long now) {
            return now - lastRefusal > WINDOW_NANOS;
        }
    }
}
