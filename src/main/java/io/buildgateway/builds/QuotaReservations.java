package io.buildgateway.builds;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Submissions of each team that this replica is working on (past the cheap quota check, not yet recorded or
 * refused), so that the cheap checks count them as if they were already queued (issue #17, latency under load). A
 * team's flood that arrives together would otherwise pass the cheap checks together (nothing of it is queued yet),
 * pay for the upload, the policy check and the re-pack each, and all but the quota's worth be refused only by the
 * exact recount under the team's lock: in a load run's first second, 49 of 59 submissions did that, ~5 s each, and
 * held the cores that the accepted ones needed. The exact decision is still the recount under the lock; this only
 * refuses earlier what that recount would refuse if the submissions under way are recorded. Per replica (another
 * replica's submissions under way are not seen here), and a submission under way that ends up rejected by the policy
 * may have made a concurrent one retry a few seconds early: the quota is an upper bound, never a promise of a slot.
 */
final class QuotaReservations {

    private final ConcurrentHashMap<String, AtomicInteger> underWay = new ConcurrentHashMap<>();

    /** The team's submissions under way on this replica. */
    int held(String team) {
        AtomicInteger n = underWay.get(team);
        return n == null ? 0 : n.get();
    }

    /** Counts one submission of {@code team} as under way until the reservation is closed. */
    Reservation reserve(String team) {
        underWay.computeIfAbsent(team, t -> new AtomicInteger()).incrementAndGet();
        return new Reservation(team);
    }

    /** One submission under way; {@link #close} (once) ends it. */
    final class Reservation implements AutoCloseable {
        private final String team;
        private boolean closed;

        private Reservation(String team) {
            this.team = team;
        }

        /** The team's other submissions under way on this replica. */
        int others() {
            return Math.max(0, held(team) - (closed ? 0 : 1));
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            underWay.computeIfPresent(team, (t, n) -> n.decrementAndGet() <= 0 ? null : n);
        }
    }
}
