package io.buildgateway.scanning.versions;

import java.util.List;

/** OSV "affected[].ranges[]": type is ECOSYSTEM, SEMVER or GIT; events in document order */
public record AffectedRange(String type, List<Event> events) {

    public static final String ECOSYSTEM = "ECOSYSTEM";
    public static final String SEMVER = "SEMVER";
    public static final String GIT = "GIT";

    public AffectedRange {
        events = events == null ? List.of() : List.copyOf(events);
    }

    /** One entry of "events": exactly one of introduced, fixed, last_affected or limit, with its version. */
    public record Event(String kind, String version) { // kind: introduced | fixed | last_affected | limit

        public static final String INTRODUCED = "introduced";
        public static final String FIXED = "fixed";
        public static final String LAST_AFFECTED = "last_affected";
        public static final String LIMIT = "limit";

        public static Event introduced(String version) {
            return new Event(INTRODUCED, version);
        }

        public static Event fixed(String version) {
            return new Event(FIXED, version);
        }

        public static Event lastAffected(String version) {
            return new Event(LAST_AFFECTED, version);
        }

        public static Event limit(String version) {
            return new Event(LIMIT, version);
        }
    }
}
