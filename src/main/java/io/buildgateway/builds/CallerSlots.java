package io.buildgateway.builds;

import io.buildgateway.shared.Problem;
import java.util.HashMap;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Slots held at once per caller (a token, or an identity-provider / certificate principal) and by all callers
 * together on this replica, as log follows ({@link LogFollows}) and lint requests ({@link LintAdmission}) are counted.
 * A refused take throws the problem its owner makes of the count that was full.
 */
final class CallerSlots {

    private final int maxPerCaller;
    private final int maxTotal;
    private final Map<String, Integer> perCaller = new HashMap<>();
    private int total;

    CallerSlots(int maxPerCaller, int maxTotal) {
        this.maxPerCaller = maxPerCaller;
        this.maxTotal = maxTotal;
    }

    /**
     * Takes one slot of the caller, or throws {@code callerFull} of the caller's count or {@code allFull} of the
     * total (made under the slots' lock); a slot taken must be {@link #give given back}.
     */
    synchronized void take(String caller, IntFunction<Problem> callerFull, IntFunction<Problem> allFull) {
        int mine = perCaller.getOrDefault(caller, 0);
        if (mine >= maxPerCaller) {
            throw callerFull.apply(mine);
        }
        if (total >= maxTotal) {
            throw allFull.apply(total);
        }
        perCaller.put(caller, mine + 1);
        total++;
    }

    /** Slots held now, by all callers together. */
    synchronized int total() {
        return total;
    }

    synchronized void give(String caller) {
        perCaller.computeIfPresent(caller, (k, n) -> n <= 1 ? null : n - 1);
        total = Math.max(0, total - 1);
    }
}
