package io.buildgateway.scanning;

import io.buildgateway.scanning.versions.AffectedRange;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import tools.jackson.databind.JsonNode;

/**
 * An OSV advisory (https://ossf.github.io/osv-schema/) reduced to what matching needs, parsed strictly enough that a
 * broken document is refused with a reason rather than half imported.
 */
record Osv(String id, Instant modified, Instant published, Instant withdrawn, List<String> aliases, String summary,
        String severity, List<Affected> affected) {

    /** One affected package: ecosystem as OSV spells it, name, ranges, explicit versions, and its own severity. */
    record Affected(String ecosystem, String name, List<AffectedRange> ranges, List<String> versions,
            String severity) {
    }

    static final class InvalidAdvisory extends RuntimeException {
        InvalidAdvisory(String message) {
            super(message);
        }
    }

    static Osv parse(JsonNode node, int index) {
        String where = "advisory [" + index + "]";
        if (!node.isObject()) {
            throw new InvalidAdvisory(where + ": must be a JSON object");
        }
        if (holdsNul(node, 0)) {
            throw new InvalidAdvisory(where + ": a name or string holds the character U+0000, which cannot be stored");
        }
        String id = text(node, "id");
        if (id == null || id.isBlank() || id.length() > 128) {
            throw new InvalidAdvisory(where + ": 'id' is required (at most 128 characters)");
        }
        where = "advisory " + id;
        Instant modified = time(node, "modified", where);
        if (modified == null) {
            throw new InvalidAdvisory(where + ": 'modified' is required (RFC 3339)");
        }
        List<String> aliases = strings(node.path("aliases"), where + ": 'aliases'");
        String severity = severity(node);
        List<Affected> affected = new ArrayList<>();
        int i = 0;
        for (JsonNode a : node.path("affected")) {
            String at = where + ": affected[" + i++ + "]";
            JsonNode pkg = a.path("package");
            String ecosystem = text(pkg, "ecosystem");
            String name = text(pkg, "name");
            if (ecosystem == null || name == null) {
                throw new InvalidAdvisory(at + ": package.ecosystem and package.name are required");
            }
            // As the columns hold them (advisory_package, image_vulnerability): refused here, not by the database.
            if (ecosystem.length() > 64 || name.length() > 512) {
                throw new InvalidAdvisory(at + ": package.ecosystem is at most 64 characters and package.name at"
                        + " most 512");
            }
            List<AffectedRange> ranges = new ArrayList<>();
            for (JsonNode r : a.path("ranges")) {
                String type = text(r, "type");
                if (type == null) {
                    throw new InvalidAdvisory(at + ": every range needs a 'type'");
                }
                List<AffectedRange.Event> events = new ArrayList<>();
                for (JsonNode e : r.path("events")) {
                    var names = e.propertyNames().iterator();
                    if (!names.hasNext()) {
                        throw new InvalidAdvisory(at + ": an empty range event");
                    }
                    String kind = names.next();
                    if (!List.of("introduced", "fixed", "last_affected", "limit").contains(kind)) {
                        throw new InvalidAdvisory(at + ": unknown range event '" + kind + "'");
                    }
                    if (e.path(kind).isContainer()) {
                        throw new InvalidAdvisory(at + ": the range event '" + kind + "' must be a version string");
                    }
                    String version = e.path(kind).asString();
                    if (version.length() > 256) { // image_vulnerability.fixed
                        throw new InvalidAdvisory(at + ": the range event '" + kind + "' is longer than 256"
                                + " characters");
                    }
                    events.add(new AffectedRange.Event(kind, version));
                }
                ranges.add(new AffectedRange(type, events));
            }
            List<String> versions = strings(a.path("versions"), at + ": 'versions'");
            String own = affectedSeverity(a);
            affected.add(new Affected(ecosystem, name, ranges, versions, own));
        }
        return new Osv(id, modified, time(node, "published", where), time(node, "withdrawn", where),
                List.copyOf(aliases), text(node, "summary"), severity, List.copyOf(affected));
    }

    /**
     * The advisory's severity: a CVSS v3 vector's rating, else the database's own word (GHSA's
     * {@code database_specific.severity}), else unknown.
     */
    static String severity(JsonNode node) {
        double best = -1;
        for (JsonNode s : node.path("severity")) {
            String type = text(s, "type");
            if (type != null && type.startsWith("CVSS_V3")) {
                best = Math.max(best, Cvss.baseScore(text(s, "score")));
            }
        }
        if (best >= 0) {
            return Cvss.rating(best);
        }
        String word = text(node.path("database_specific"), "severity");
        return word == null ? "unknown" : normalise(word);
    }

    /** Debian's per-package urgency and the like, when present. */
    private static String affectedSeverity(JsonNode a) {
        String word = text(a.path("ecosystem_specific"), "severity");
        if (word == null) {
            word = text(a.path("database_specific"), "severity");
        }
        if (word == null) {
            word = text(a.path("ecosystem_specific"), "urgency");
        }
        return word == null ? null : normalise(word);
    }

    static String normalise(String word) {
        String w = word.toLowerCase(Locale.ROOT).trim();
        return switch (w) {
            case "critical" -> "critical";
            case "high", "important" -> "high";
            case "moderate", "medium" -> "medium";
            case "low", "unimportant", "negligible" -> "low";
            default -> "unknown";
        };
    }

    /**
     * The values of a list as text, as before; a value that is itself an object or a list is refused (its coercion
     * would throw, a 500 on the import). Scalars stay coerced as they always were, so every advisory already stored
     * still reads back the same.
     */
    private static List<String> strings(JsonNode list, String where) {
        List<String> out = new ArrayList<>();
        for (JsonNode v : list) {
            if (v.isContainer()) {
                throw new InvalidAdvisory(where + " must be a list of strings");
            }
            out.add(v.asString());
        }
        return out;
    }

    /** Whether a property name or string value anywhere in the node holds U+0000 (PostgreSQL's text refuses it). */
    private static boolean holdsNul(JsonNode node, int depth) {
        if (node.isString()) {
            return node.asString().indexOf('\u0000') >= 0;
        }
        if (depth > 64 || !node.isContainer()) {
            return false; // the body's nesting is bounded before this (JsonBodyLimit)
        }
        for (var names = node.propertyNames().iterator(); names.hasNext(); ) {
            if (names.next().indexOf('\u0000') >= 0) {
                return true;
            }
        }
        for (JsonNode child : node) {
            if (holdsNul(child, depth + 1)) {
                return true;
            }
        }
        return false;
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v.isString() ? v.asString() : null;
    }

    private static Instant time(JsonNode node, String field, String where) {
        String v = text(node, field);
        if (v == null) {
            return null;
        }
        Instant parsed;
        try {
            parsed = java.time.OffsetDateTime.parse(v).toInstant();
        } catch (DateTimeParseException e) {
            try {
                parsed = Instant.parse(v);
            } catch (DateTimeParseException e2) {
                throw new InvalidAdvisory(where + ": '" + field + "' is not an RFC 3339 time: " + v);
            }
        }
        if (!io.buildgateway.shared.Instants.storable(parsed)) {
            throw new InvalidAdvisory(where + ": '" + field + "' is not a time between the years 1 and 9999: " + v);
        }
        return parsed;
    }
}
