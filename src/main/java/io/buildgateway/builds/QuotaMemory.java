package io.buildgateway.builds;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Teams this replica recently found at their quota of queued builds, so that the flood's next submissions within a
 * short while are refused without counting again (issue #17, latency under load: in a load run most requests were a
 * flooding team's 429s, each a count in a transaction of its own while the accepted submissions waited for the
 * database). Only a count at or over the quota is kept, for {@code ttl}; any count below it forgets the team, and so
 * does a cancel on this replica (a freed slot is usable at once). The decision that records a build is unchanged:
 * the exact recount under the team's lock. A slot freed by a build that started, or by another replica's cancel, is
 * seen at most {@code ttl} late, well within the Retry-After the refusal names.
 */
final class QuotaMemory {

    private record Seen(long count, long atNanos) {
    }

    private final ConcurrentHashMap<String, Seen> full = new ConcurrentHashMap<>();
    private final long ttlNanos;
    private final LongSupplier nanoTime;

    QuotaMemory(long ttlNanos, LongSupplier nanoTime) {
        this.ttlNanos = ttlNanos;
        this.nanoTime = nanoTime;
    }

    /** The count the team was last found at (at or over its quota) if that was within the ttl; -1 otherwise. */
    long atQuota(String team) {
        Seen s = full.get(team);
        if (s == null) {
            return -1;
        }
        if (nanoTime.getAsLong() - s.atNanos() >= ttlNanos) {
            full.remove(team, s);
            return -1;
        }
        return s.count();
    }

    /** A count of the team's queued builds: kept when it is at or over the quota, else the team is forgotten. */
    void counted(String team, long count, int quota) {
        if (count >= quota) {
            full.put(team, new Seen(count, nanoTime.getAsLong()));
        } else {
            full.remove(team);
        }
    }

    /** A slot of the team was freed here (a cancel): the next submission counts again. */
    void forget(String team) {
        full.remove(team);
    }
}
