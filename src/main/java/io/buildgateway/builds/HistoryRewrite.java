package io.buildgateway.builds;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Takes the values of a build's non-public build args (the policy shows those only as {@code sha256:<hex>}) out of
 * the {@code history[].created_by} of the image config the gateway names: BuildKit writes every build arg a RUN has
 * in scope into that step's {@code created_by} ({@code RUN |2 A=x y B=z /bin/sh -c …}), where whoever pulls the
 * image would read it. Each {@code  NAME=<value>} followed by a space or the end becomes {@code  NAME=<shown
 * digest>} (whatever the value's length), and any other occurrence of a value of at least
 * {@link BuildArgRedactor#MIN_LENGTH} characters becomes its digest too (an {@code ENV X=$TOKEN} step's line).
 * Nothing else of the config changes ({@code rootfs.diff_ids}, {@code Env}, labels stay): the layers are the same.
 *
 * <p>A config with nothing to rewrite is returned as the same array (the named image keeps the digest the daemon
 * pushed); otherwise the config is serialised again, the same way for the same input, so that a naming tried again
 * stores the same bytes under the same digest. Pure: registry calls are the caller's ({@code ImageRegistry}).
 */
final class HistoryRewrite implements UnaryOperator<byte[]> {

    private record Arg(String name, String value, String shown) {
    }

    private final List<Arg> args;
    private final JsonMapper json;

    private HistoryRewrite(List<Arg> args, JsonMapper json) {
        this.args = args;
        this.json = json;
    }

    /**
     * The rewrite for a build's real values and its values as shown (a public arg's value as given, any other as
     * its digest); null when no arg is shown otherwise than given (nothing to rewrite: the naming does not read the
     * config at all).
     */
    static HistoryRewrite of(Map<String, String> values, Map<String, String> shown, JsonMapper json) {
        List<Arg> args = new ArrayList<>();
        if (values != null && shown != null) {
            values.forEach((name, value) -> {
                // not public as the log's redactor judges it; a name the shown map lacks is shown as its digest
                String s = !shown.containsKey(name) && value != null
                        ? io.buildgateway.policy.PolicyEvaluator.valueDigest(value) : shown.get(name);
                if (value != null && s != null && !BuildArgRedactor.shownAsGiven(values, shown, name)) {
                    args.add(new Arg(name, value, s));
                }
            });
        }
        if (args.isEmpty()) {
            return null;
        }
        return new HistoryRewrite(List.copyOf(args), json);
    }

    @Override
    public byte[] apply(byte[] config) {
        JsonNode root = json.readTree(config);
        JsonNode history = root.path("history");
        if (!history.isArray()) {
            return config;
        }
        boolean changed = false;
        for (JsonNode entry : history) {
            JsonNode createdBy = entry.path("created_by");
            if (entry instanceof ObjectNode object && createdBy.isString()) {
                String before = createdBy.asString();
                String after = createdBy(before);
                if (!after.equals(before)) {
                    object.put("created_by", after);
                    changed = true;
                }
            }
        }
        return changed ? json.writeValueAsBytes(root) : config;
    }

    /**
     * One {@code created_by} with every non-public value replaced by its shown digest: every place a value (or a
     * {@code  NAME=value} assignment of BuildKit's {@code RUN |N} prefix) occurs in the text as given is found first,
     * places that overlap are merged into one span, and each span is replaced whole (a span of one match by its
     * replacement; a span where two values overlap by both replacements), so that no part of a value stays visible
     * and a digest put in is never matched again (a review's find: the first value's match consumed the overlap and
     * the second value's rest stayed).
     */
    String createdBy(String text) {
        List<Match> matches = new ArrayList<>();
        for (Arg a : args) {
            String assignment = " " + a.name() + "=" + a.value();
            for (int at = text.indexOf(assignment); at >= 0; at = text.indexOf(assignment, at + 1)) {
                int end = at + assignment.length();
                if (end == text.length() || text.charAt(end) == ' ') {
                    matches.add(new Match(at, end, " " + a.name() + "=" + a.shown()));
                }
            }
            if (a.value().length() >= BuildArgRedactor.MIN_LENGTH) {
                for (int at = text.indexOf(a.value()); at >= 0; at = text.indexOf(a.value(), at + 1)) {
                    matches.add(new Match(at, at + a.value().length(), a.shown()));
                }
            }
        }
        if (matches.isEmpty()) {
            return text;
        }
        // by start, the longest first, then by replacement: one order whatever the args' order
        matches.sort(Comparator.comparingInt(Match::start).thenComparing(Comparator.comparingInt(Match::end)
                .reversed()).thenComparing(Match::replacement));
        StringBuilder b = new StringBuilder(text.length() + 64);
        int from = 0;
        int spanEnd = -1;
        for (Match m : matches) {
            if (m.start() >= spanEnd) { // a new span
                b.append(text, from, m.start()).append(m.replacement());
                spanEnd = m.end();
            } else if (m.end() > spanEnd) { // overlaps the span and goes past it: the span grows, both replaced
                b.append(m.replacement());
                spanEnd = m.end();
            } // else inside the span: already replaced
            from = spanEnd;
        }
        return b.append(text, from, text.length()).toString();
    }

    /** A place in the text, [start, end), and what replaces it. */
    private record Match(int start, int end, String replacement) {
    }
}
