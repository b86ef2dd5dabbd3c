package io.buildgateway.dockerfile;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One {@code RUN --mount=…} value as the Dockerfile 1.7 frontend built into BuildKit 0.13 (dockerd 26) reads it
 * ({@code parseMount}): one line of CSV (Go's {@code encoding/csv}: quoted fields, {@code ""} for a quote, no bare
 * quote in an unquoted field), each field {@code key=value} with the key lower-cased, or one of the bare words
 * {@code ro}, {@code readonly}, {@code rw}, {@code readwrite}, {@code required}; the type defaults to {@code bind}.
 * Aliases are read as their canonical key ({@code src} as {@code source}, {@code dst} and {@code destination} as
 * {@code target}, {@code ro} as {@code readonly}, {@code rw} as {@code readwrite}).
 *
 * @param type the mount type, lower case
 * @param options each canonical key with its value (a bare word's value is {@code ""}), in the order written
 * @param fields the CSV fields as the frontend reads them (quotes removed), in order
 */
public record RunMount(String type, Map<String, String> options, List<String> fields) {

    public RunMount {
        options = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(options));
        fields = List.copyOf(fields);
    }

    /** The types the built-in frontend knows. */
    static final Set<String> TYPES = Set.of("bind", "cache", "tmpfs", "secret", "ssh");
    private static final Set<String> BARE = Set.of("ro", "readonly", "rw", "readwrite", "required");
    /** The keys the built-in frontend accepts (its "unexpected key" otherwise), by mount type the gateway builds. */
    private static final Map<String, Set<String>> KEYS = Map.of(
            "bind", Set.of("type", "target", "readonly", "readwrite", "from", "source"),
            "cache", Set.of("type", "target", "readonly", "readwrite", "from", "source", "id", "sharing", "mode",
                    "uid", "gid"),
            "tmpfs", Set.of("type", "target", "size"));
    private static final Set<String> SHARING = Set.of("shared", "private", "locked");

    /**
     * A mount value the frontend would refuse, or one the gateway refuses: the reason. Only its message is ever read,
     * and a lint meets it up to three times per refused mount (expansion, pulls, canonical writer; every
     * {@code type=secret} or {@code type=ssh} mount is one): no stack trace is filled in, which cost more than the
     * whole parse of the mount.
     */
    public static final class Refused extends Exception {
        Refused(String message) {
            super(message, null, false, false);
        }
    }

    /** Reads one {@code --mount} value; throws with a reason when it is not one the gateway builds. */
    public static RunMount parse(String value) throws Refused {
        List<String> fields = csv(value);
        Map<String, String> options = new LinkedHashMap<>();
        for (String field : fields) {
            int eq = field.indexOf('=');
            String key = canonicalKey((eq < 0 ? field : field.substring(0, eq)).toLowerCase(Locale.ROOT));
            if (eq < 0 && !BARE.contains(key) && !BARE.contains(field.toLowerCase(Locale.ROOT))) {
                throw new Refused("'" + field + "' is not key=value");
            }
            if (options.containsKey(key)) {
                // The frontend takes the last; a second id, type or from would let the text say one thing and the
                // daemon use another, so the gateway refuses any repetition.
                throw new Refused("'" + key + "' is given twice");
            }
            options.put(key, eq < 0 ? "" : field.substring(eq + 1));
        }
        String type = options.getOrDefault("type", "bind").toLowerCase(Locale.ROOT);
        if (!TYPES.contains(type)) {
            throw new Refused("unknown mount type '" + type + "'");
        }
        if (type.equals("secret") || type.equals("ssh")) {
            throw new Refused("type=" + type + " mounts need a client session, and the gateway passes none to the"
                    + " build daemon: there is no " + (type.equals("secret") ? "secret" : "SSH agent") + " to mount."
                    + (type.equals("secret") ? " Fetch what the step needs from the registry as an approved image"
                    + " (COPY --from), or do the step that needs the secret outside the image build"
                    : " Vendor the sources into the build context (or an approved image) instead of cloning them"
                    + " in the build"));
        }
        for (String key : options.keySet()) {
            if (!KEYS.get(type).contains(key)) {
                throw new Refused("'" + key + "' is not an option of a type=" + type + " mount");
            }
        }
        if (options.getOrDefault("target", "").isEmpty()) {
            throw new Refused("a type=" + type + " mount needs a target");
        }
        String sharing = options.get("sharing");
        if (sharing != null && !SHARING.contains(sharing.toLowerCase(Locale.ROOT))) {
            throw new Refused("sharing=" + sharing + " is not shared, private or locked");
        }
        return new RunMount(type, options, fields);
    }

    private static String canonicalKey(String key) {
        return switch (key) {
            case "src" -> "source";
            case "dst", "destination" -> "target";
            case "ro" -> "readonly";
            case "rw" -> "readwrite";
            default -> key;
        };
    }

    /** The cache id BuildKit uses for this (cache) mount: {@code id}, or the target when there is none. */
    public String cacheId() {
        String id = options.get("id");
        return id == null || id.isEmpty() ? options.get("target") : id;
    }

    /** The stage, image or named context the mount reads from ({@code from=}), or null for the build context. */
    public String from() {
        String from = options.get("from");
        return from == null || from.isEmpty() ? null : from;
    }

    /**
     * This cache mount with its id replaced by one of the namespace: {@code bgw-<namespace>-<the first 16 hex digits
     * of SHA-256 of the id it had>} (the target, BuildKit's default id, when it had none). Every other field stays as
     * written, in its place; the new id comes where the old one was, or last.
     */
    public RunMount namespaced(String namespace) {
        String id = "bgw-" + namespace + "-" + sha256Prefix(cacheId());
        List<String> out = new ArrayList<>(fields.size() + 1);
        boolean replaced = false;
        for (String field : fields) {
            int eq = field.indexOf('=');
            if (eq > 0 && field.substring(0, eq).toLowerCase(Locale.ROOT).equals("id")) {
                out.add("id=" + id);
                replaced = true;
            } else {
                out.add(field);
            }
        }
        if (!replaced) {
            out.add("id=" + id);
        }
        Map<String, String> options = new LinkedHashMap<>(this.options);
        options.put("id", id);
        return new RunMount(type, options, out);
    }

    /**
     * This mount with its {@code from=} replaced by {@code image} (the image it names pinned by the digest the policy
     * read, {@code name:tag@sha256:…}); every other field as written, in its place. A mount without one is returned
     * as it is.
     */
    public RunMount withFrom(String image) {
        List<String> out = new ArrayList<>(fields.size());
        for (String field : fields) {
            int eq = field.indexOf('=');
            boolean from = eq > 0 && field.substring(0, eq).toLowerCase(Locale.ROOT).equals("from");
            out.add(from ? "from=" + image : field);
        }
        if (!options.containsKey("from")) {
            return this;
        }
        Map<String, String> options = new LinkedHashMap<>(this.options);
        options.put("from", image);
        return new RunMount(type, options, out);
    }

    /** The mount as a {@code --mount} value: the fields as CSV, quoted where the CSV reader needs it. */
    public String value() {
        return csvLine(fields);
    }

    private static String csvLine(List<String> fields) {
        StringBuilder out = new StringBuilder();
        for (int k = 0; k < fields.size(); k++) {
            if (k > 0) {
                out.append(',');
            }
            String f = fields.get(k);
            if (f.indexOf(',') >= 0 || f.indexOf('"') >= 0 || f.indexOf('\r') >= 0 || f.indexOf('\n') >= 0
                    || (!f.isEmpty() && f.charAt(0) == ' ')) {
                out.append('"').append(f.replace("\"", "\"\"")).append('"');
            } else {
                out.append(f);
            }
        }
        return out.toString();
    }

    /**
     * A {@code --mount} value with its variables substituted the way BuildKit 0.13's frontend does it
     * ({@code parseMount}): the value as written is read as CSV first, then each field's value (after its first
     * {@code =}) is expanded on its own, the key and a bare word never. A variable's value therefore stays inside its
     * field, commas and all: {@code target=$T} with {@code T=/a,from=r/y:2} is a target of {@code /a,from=r/y:2}, not
     * a second {@code from=} (checked on dockerd 26: the mount's from= as written is mounted, at that target). The
     * result is written again as CSV (a field quoted where the reader needs it), so that it reads as the fields
     * BuildKit uses; the very string {@code value} when nothing changed; null when the value does not read as CSV
     * (BuildKit refuses it; the caller then substitutes the whole value, as for any other flag).
     */
    public static String expandFields(String value, java.util.function.UnaryOperator<String> expand) {
        List<String> fields;
        try {
            fields = csv(value);
        } catch (Refused e) {
            return null;
        }
        boolean changed = false;
        for (int k = 0; k < fields.size(); k++) {
            String field = fields.get(k);
            int eq = field.indexOf('=');
            if (eq < 0) {
                continue;
            }
            String v = field.substring(eq + 1);
            String expanded = expand.apply(v);
            if (!expanded.equals(v)) {
                fields.set(k, field.substring(0, eq + 1) + expanded);
                changed = true;
            }
        }
        return changed ? csvLine(fields) : value;
    }

    static String sha256Prefix(String text) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One record of Go's {@code encoding/csv} (comma, no lazy quotes, leading spaces kept). */
    static List<String> csv(String line) throws Refused {
        if (line.isEmpty()) {
            throw new Refused("the mount is empty");
        }
        List<String> fields = new ArrayList<>();
        int k = 0;
        int n = line.length();
        while (true) {
            StringBuilder field = new StringBuilder();
            if (k < n && line.charAt(k) == '"') {
                k++;
                while (true) {
                    if (k >= n) {
                        throw new Refused("a quoted field is not closed");
                    }
                    char c = line.charAt(k++);
                    if (c == '"') {
                        if (k < n && line.charAt(k) == '"') {
                            field.append('"');
                            k++;
                        } else {
                            break;
                        }
                    } else {
                        field.append(c);
                    }
                }
                if (k < n && line.charAt(k) != ',') {
                    throw new Refused("text after a quoted field");
                }
            } else {
                while (k < n && line.charAt(k) != ',') {
                    char c = line.charAt(k++);
                    if (c == '"') {
                        throw new Refused("a bare \" in an unquoted field");
                    }
                    field.append(c);
                }
            }
            fields.add(field.toString());
            if (k >= n) {
                return fields;
            }
            k++; // the comma
        }
    }
}
