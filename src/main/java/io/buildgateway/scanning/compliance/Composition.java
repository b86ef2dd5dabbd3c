package io.buildgateway.scanning.compliance;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What a content file declares about composing its rules over an image's layers (issue #13, "evaluate a base once per
 * base digest"): a file beside the content file, named after it with {@code .compose} appended
 * ({@code gateway-baseline-xccdf.xml.compose}), one rule a line:
 *
 * <pre>
 * per-file   xccdf_…_rule_no-world-writable
 * named-path xccdf_…_rule_required-files /etc/passwd /etc/group /etc/os-release
 * </pre>
 *
 * <ul>
 *   <li>{@code per-file}: the rule holds when every file it walks has a property judged from that file's own path
 *       and attributes only (the directories above it decide only whether the walk reaches it);</li>
 *   <li>{@code named-path}: the rule reads only the listed absolute paths (and what their links resolve to inside the
 *       root).</li>
 * </ul>
 *
 * <p>Blank lines and {@code #} comments are ignored. A line that is anything else makes the whole declaration
 * invalid, so nothing of that content file is composed (a typo must not decide that a rule is composable). A content
 * file without a declaration (the security team's SSG data streams) is always evaluated in full. The declaration's
 * bytes are part of {@link OpenScap#configurationDigest()}, like every file of the content folder.
 */
public record Composition(Map<String, Kind> rules, Set<String> namedPaths) {

    /** The file name of the declaration of {@code contentFile}. */
    public static String fileFor(String contentFile) {
        return contentFile + ".compose";
    }

    public enum Kind { PER_FILE, NAMED_PATH }

    public Composition {
        rules = Collections.unmodifiableMap(new LinkedHashMap<>(rules));
        namedPaths = Collections.unmodifiableSet(new LinkedHashSet<>(namedPaths));
    }

    /** The declaration, or empty (with the reason in {@code problems}) when a line is not understood. */
    public static Optional<Composition> parse(String text, List<String> problems) {
        Map<String, Kind> rules = new LinkedHashMap<>();
        Set<String> paths = new LinkedHashSet<>();
        int n = 0;
        for (String raw : text.split("\n", -1)) {
            n++;
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] words = line.split("\\s+");
            if (words.length < 2) {
                problems.add("line " + n + ": expected a kind and a rule id");
                return Optional.empty();
            }
            Kind kind = switch (words[0]) {
                case "per-file" -> Kind.PER_FILE;
                case "named-path" -> Kind.NAMED_PATH;
                default -> null;
            };
            if (kind == null) {
                problems.add("line " + n + ": unknown kind " + words[0] + " (per-file or named-path)");
                return Optional.empty();
            }
            if (rules.containsKey(words[1])) {
                problems.add("line " + n + ": rule " + words[1] + " declared twice");
                return Optional.empty();
            }
            if (kind == Kind.PER_FILE && words.length != 2) {
                problems.add("line " + n + ": a per-file rule names no paths");
                return Optional.empty();
            }
            if (kind == Kind.NAMED_PATH && words.length < 3) {
                problems.add("line " + n + ": a named-path rule names at least one path");
                return Optional.empty();
            }
            List<String> own = new ArrayList<>();
            for (int i = 2; i < words.length; i++) {
                String p = words[i];
                if (!p.startsWith("/") || p.equals("/") || p.endsWith("/") || p.contains("//")
                        || ("/" + p + "/").contains("/../") || ("/" + p + "/").contains("/./")) {
                    problems.add("line " + n + ": " + p + " is not a normalised absolute path");
                    return Optional.empty();
                }
                own.add(p);
            }
            rules.put(words[1], kind);
            paths.addAll(own);
        }
        if (rules.isEmpty()) {
            problems.add("no rule is declared");
            return Optional.empty();
        }
        return Optional.of(new Composition(rules, paths));
    }
}
