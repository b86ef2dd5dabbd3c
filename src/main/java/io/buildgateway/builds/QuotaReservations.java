package io.buildgateway.builds;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Submissions of each team that this replica is working on (past the cheap quota check, not yet recorded or
 * refused), so that the cheap checks count them as if they were already queued (issue #17, latency under load). A
 * team's flood that arrives together would otherwise pass the cheap checks together (nothing of it is queued yet),
 * pay for the upload, the policy check and the re-pack each, and all but the quota's worth be refused only by the
 * exact recount under the team's lock: in a load run's first second, 49 of 59 submissions did that, ~5 s each, and
 * held the cores that the accepted ones needed. The exact decision is still the recount under the lock; this only
 * refuses earlier what that recount would refuse if the submissions under way are recorded.
 *
 * <p>A submission counts only those that reserved <em>before</em> it ({@link Reservation#before}), in the order of
 * reservation: two submissions under way never count each other, so they cannot refuse each other while the quota
 * has room for one of them (they did when each counted all the others: in {@code BuilderAbuseIT} eight at once
 * against a quota of two were accepted once, not twice). A reservation ends when its submission is recorded, before
 * the commit ({@code BuildSubmissions}), so a recorded build is never counted both as a row and as under way; in the
 * moment between the two it is counted as neither, which only sends a submission on to the exact recount. Per
 * replica (the other replicas' submissions under way are counted from the database, {@link SharedQuotaReservations}),
 * and a submission under way that ends up rejected by the policy may have made a later one retry a few seconds early:
 * the quota is an upper bound, never a promise of a slot.
 */
final class QuotaReservations {

    private final AtomicLong tickets = new AtomicLong();
    /** Per team, the tickets of its submissions under way, in the order they reserved. */
    private final ConcurrentHashMap<String, ConcurrentSkipListSet<Long>> underWay = new ConcurrentHashMap<>();

    /** The team's submissions under way on this replica. */
    int held(String team) {
        ConcurrentSkipListSet<Long> open = underWay.get(team);
        return open == null ? 0 : open.size();
    }

    /** Counts one submission of {@code team} as under way until the reservation is closed. */
    Reservation reserve(String team) {
        long[] ticket = new long[1];
        underWay.compute(team, (t, open) -> {
            ConcurrentSkipListSet<Long> set = open == null ? new ConcurrentSkipListSet<>() : open;
            ticket[0] = tickets.incrementAndGet(); // under the team's entry: tickets enter its set in their order
            set.add(ticket[0]);
            return set;
        });
        return new Reservation(team, ticket[0]);
    }

    /** One submission under way; {@link #close} (once) ends it. */
    final class Reservation implements AutoCloseable {
        private final String team;
        private final long ticket;
        private boolean closed;

        private Reservation(String team, long ticket) {
            this.team = team;
            this.ticket = ticket;
        }

        /** The team's submissions under way on this replica that reserved before this one. */
        int before() {
            ConcurrentSkipListSet<Long> open = underWay.get(team);
            return open == null ? 0 : open.headSet(ticket).size();
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            underWay.computeIfPresent(team, (t, open) -> {
                open.remove(ticket);
                return open.isEmpty() ? null : open;
            });
        }
    }
}
