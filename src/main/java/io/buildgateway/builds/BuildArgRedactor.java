package io.buildgateway.builds;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Keeps the values of non-public build args (the policy stores and shows those only as digests) out of what the
 * gateway stores and shows: finding messages, log lines (the gateway's and the build's), failure reasons and audit
 * details. Every occurrence of such a value is replaced by {@code [build arg NAME]}. The list of values is computed
 * once per build; redacting is a plain {@code indexOf} per value, longest value first (so that a value containing
 * another is replaced whole).
 *
 * <p>Values shorter than {@value #MIN_LENGTH} characters are not redacted: a value such as {@code 1}, {@code on} or
 * {@code dev} occurs in nearly every log line and replacing it would make the logs unreadable, while the digest of
 * so short a value gives little protection anyway. Only text within one line is matched: a value with a line break
 * can appear split over log lines and is not recognised there.
 */
final class BuildArgRedactor {

    /** The shortest value that is redacted. */
    static final int MIN_LENGTH = 4;

    static final BuildArgRedactor NONE = new BuildArgRedactor(List.of());

    private record Secret(String value, String replacement) {
    }

    private final List<Secret> secrets;

    private BuildArgRedactor(List<Secret> secrets) {
        this.secrets = secrets;
    }

    /** A redactor for the values of the args whose name is not public. */
    static BuildArgRedactor of(Map<String, String> values, Predicate<String> isPublic) {
        List<Secret> secrets = new ArrayList<>();
        if (values != null) {
            values.forEach((name, value) -> {
                if (value != null && value.length() >= MIN_LENGTH && !isPublic.test(name)) {
                    secrets.add(new Secret(value, "[build arg " + name + "]"));
                }
            });
        }
        if (secrets.isEmpty()) {
            return NONE;
        }
        secrets.sort(Comparator.comparingInt((Secret s) -> s.value().length()).reversed());
        return new BuildArgRedactor(List.copyOf(secrets));
    }

    /**
     * A redactor from a build's real values and the values as shown (a public arg's value as given, every other as
     * its digest): an arg whose shown value differs from the real one is not public.
     */
    static BuildArgRedactor ofShown(Map<String, String> values, Map<String, String> shown) {
        return of(values, name -> shown != null && values.get(name) != null
                && values.get(name).equals(shown.get(name)));
    }

    /** This redactor with one more secret (the egress proxy's, issue #14), shown as {@code replacement}. */
    BuildArgRedactor with(String value, String replacement) {
        if (value == null || value.length() < MIN_LENGTH) {
            return this;
        }
        List<Secret> more = new ArrayList<>(secrets);
        more.add(new Secret(value, replacement));
        more.sort(Comparator.comparingInt((Secret s) -> s.value().length()).reversed());
        return new BuildArgRedactor(List.copyOf(more));
    }

    boolean isEmpty() {
        return secrets.isEmpty();
    }

    /** The text with every non-public value replaced; null stays null. */
    String redact(String text) {
        if (text == null || secrets.isEmpty()) {
            return text;
        }
        String out = text;
        for (Secret s : secrets) {
            int at = out.indexOf(s.value());
            if (at < 0) {
                continue;
            }
            StringBuilder b = new StringBuilder(out.length());
            int from = 0;
            while (at >= 0) {
                b.append(out, from, at).append(s.replacement());
                from = at + s.value().length();
                at = out.indexOf(s.value(), from);
            }
            out = b.append(out, from, out.length()).toString();
        }
        return out;
    }

    /** A failure reason as stored and shown: redacted, and on one line (control characters become spaces). */
    String reason(String reason) {
        if (reason == null) {
            return null;
        }
        String redacted = redact(reason);
        StringBuilder out = null;
        for (int i = 0; i < redacted.length(); i++) {
            char c = redacted.charAt(i);
            boolean control = Character.isISOControl(c) || c == 0x2028 || c == 0x2029;
            if (control && out == null) {
                out = new StringBuilder(redacted.length()).append(redacted, 0, i);
            }
            if (out != null) {
                out.append(control ? ' ' : c);
            }
        }
        return out == null ? redacted : out.toString();
    }
}
