package io.buildgateway.scanning.versions;

import io.buildgateway.scanning.versions.AffectedRange.Event;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The OSV evaluation algorithm (https://ossf.github.io/osv-schema/#evaluation) for one {@code affected[]} entry: is the
 * installed version listed, or inside one of the ranges, and which version fixes it.
 */
public final class AffectedMatcher {

    private static final SemVers SEMVER = new SemVers();

    private AffectedMatcher() {
    }

    /**
     * OSV semantics (https://ossf.github.io/osv-schema/#evaluation): version affected if listed in `versions`, or
     * within any ECOSYSTEM/SEMVER range ("introduced":"0" means from the start; fixed exclusive; last_affected
     * inclusive; limit). GIT ranges are ignored. SEMVER ranges always use SemVers.
     *
     * <p>Within a range the events are sorted by version (stable, so equal versions keep their document order) and
     * walked: at or above an introduced version the version is affected, at or above a fixed one or above a
     * last_affected one it is not. With limit events, only versions below some limit ("*" = infinity) can match.
     * ECOSYSTEM ranges are skipped when {@code ordering} is null (an ecosystem without a known order); listed versions
     * are then matched as exact strings, otherwise also as versions the ordering considers equal ("1.0" and "1.0.0" in
     * Maven). A null or blank installed version is never affected.
     *
     * <p>The fixed version is the smallest fixed event above the installed version in the matching range. When that
     * version is itself affected (several matching or overlapping ranges, or a range that re-introduces the bug), the
     * next larger fixed event is tried, so the answer is the smallest fixed version that no range and no listed
     * version covers; null when there is none (an unfixed range covers every candidate, or the installed version is
     * affected only through the list).
     */
    public static AffectedMatch match(VersionOrdering ordering, List<AffectedRange> ranges, List<String> versions,
            String installed) {
        if (installed == null || installed.isBlank()) {
            return AffectedMatch.NOT_AFFECTED;
        }
        List<AffectedRange> usable = new ArrayList<>();
        for (AffectedRange range : ranges == null ? List.<AffectedRange>of() : ranges) {
            if (range != null && orderingOf(range, ordering) != null) {
                usable.add(range);
            }
        }
        List<String> listed = versions == null ? List.of() : versions;
        String version = installed.strip();
        if (!isListed(ordering, listed, version) && containing(usable, ordering, version).isEmpty()) {
            return AffectedMatch.NOT_AFFECTED;
        }
        return new AffectedMatch(true, firstFix(ordering, usable, listed, version));
    }

    /**
     * The fixed events above the installed version, smallest first, up to the first one that is not itself affected.
     * Every version between the installed one and the next fix of its range is still in that range, so the first
     * unaffected candidate is also the first version that leaves all matching ranges.
     */
    private static String firstFix(VersionOrdering ordering, List<AffectedRange> ranges, List<String> listed,
            String installed) {
        VersionOrdering primary = ordering != null ? ordering : SEMVER;
        List<String> candidates = new ArrayList<>();
        for (AffectedRange range : ranges) {
            VersionOrdering order = orderingOf(range, ordering);
            for (Event event : range.events()) {
                if (is(event, Event.FIXED) && order.compare(event.version(), installed) > 0) {
                    int at = candidates.size();
                    while (at > 0 && primary.compare(event.version(), candidates.get(at - 1)) < 0) {
                        at--;
                    }
                    candidates.add(at, event.version());
                }
            }
        }
        for (String candidate : candidates) {
            if (containing(ranges, ordering, candidate).isEmpty() && !isListed(ordering, listed, candidate)) {
                return candidate;
            }
        }
        return null;
    }

    private static List<AffectedRange> containing(List<AffectedRange> ranges, VersionOrdering ordering,
            String version) {
        List<AffectedRange> inside = new ArrayList<>();
        for (AffectedRange range : ranges) {
            if (contains(range, orderingOf(range, ordering), version)) {
                inside.add(range);
            }
        }
        return inside;
    }

    /** IncludedInRanges of the OSV pseudocode, for one range. */
    private static boolean contains(AffectedRange range, VersionOrdering order, String version) {
        if (!beforeLimits(range, order, version)) {
            return false;
        }
        boolean affected = false;
        for (Event event : sortedEvents(range, order)) {
            if (is(event, Event.INTRODUCED)) {
                if (isStart(event) || order.compare(version, event.version()) >= 0) {
                    affected = true;
                }
            } else if (is(event, Event.FIXED)) {
                if (order.compare(version, event.version()) >= 0) {
                    affected = false;
                }
            } else if (is(event, Event.LAST_AFFECTED)) {
                if (order.compare(version, event.version()) > 0) {
                    affected = false;
                }
            }
        }
        return affected;
    }

    /** Without limit events every version is below the implicit "*"; otherwise it must be below one of them. */
    private static boolean beforeLimits(AffectedRange range, VersionOrdering order, String version) {
        boolean anyLimit = false;
        for (Event event : range.events()) {
            if (is(event, Event.LIMIT)) {
                anyLimit = true;
                if (event.version().contains("*") || order.compare(version, event.version()) < 0) {
                    return true;
                }
            }
        }
        return !anyLimit;
    }

    private static String nextFix(AffectedRange range, VersionOrdering order, String version) {
        String best = null;
        for (Event event : range.events()) {
            if (is(event, Event.FIXED) && order.compare(event.version(), version) > 0
                    && (best == null || order.compare(event.version(), best) < 0)) {
                best = event.version();
            }
        }
        return best;
    }

    /**
     * The introduced, fixed and last_affected events by version, "introduced 0" first. An insertion sort: stable, and
     * unlike List.sort it cannot throw should an ordering ever be inconsistent.
     */
    private static List<Event> sortedEvents(AffectedRange range, VersionOrdering order) {
        List<Event> sorted = new ArrayList<>();
        for (Event event : range.events()) {
            if (is(event, Event.INTRODUCED) || is(event, Event.FIXED) || is(event, Event.LAST_AFFECTED)) {
                int at = sorted.size();
                while (at > 0 && before(event, sorted.get(at - 1), order)) {
                    at--;
                }
                sorted.add(at, event);
            }
        }
        return sorted;
    }

    private static boolean before(Event a, Event b, VersionOrdering order) {
        if (isStart(b)) {
            return false;
        }
        return isStart(a) || order.compare(a.version(), b.version()) < 0;
    }

    /** "introduced": "0" sorts before every version, also those an ordering puts below "0" (Debian's "0~rc1"). */
    private static boolean isStart(Event event) {
        return is(event, Event.INTRODUCED) && event.version().strip().equals("0");
    }

    private static boolean is(Event event, String kind) {
        return event != null && event.version() != null && kind.equalsIgnoreCase(event.kind());
    }

    private static boolean isListed(VersionOrdering ordering, List<String> listed, String version) {
        for (String entry : listed) {
            if (entry == null) {
                continue;
            }
            if (entry.strip().equals(version)) {
                return true;
            }
            if (ordering != null && ordering.isValid(entry) && ordering.isValid(version)
                    && ordering.compare(entry, version) == 0) {
                return true;
            }
        }
        return false;
    }

    /** SEMVER ranges are ordered by SemVers whatever the ecosystem; GIT and unknown types cannot be ordered here. */
    private static VersionOrdering orderingOf(AffectedRange range, VersionOrdering ecosystem) {
        String type = range.type() == null ? "" : range.type().strip().toUpperCase(Locale.ROOT);
        return switch (type) {
            case AffectedRange.SEMVER -> SEMVER;
            case AffectedRange.ECOSYSTEM -> ecosystem;
            default -> null;
        };
    }
}
