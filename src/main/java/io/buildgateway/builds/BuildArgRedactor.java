package io.buildgateway.builds;

import io.buildgateway.policy.FindingText;
import io.buildgateway.shared.SecretNames;
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
                    addScrubbed(secrets, value, "[build arg " + name + "]");
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
     * A finding quotes a value with its credential-looking parts already masked ({@link FindingText}: a token=…
     * parameter, a URL's user info): that form is replaced too, or the rest of the value (host, path, other
     * parameters) would be shown.
     */
    private static void addScrubbed(List<Secret> secrets, String value, String replacement) {
        String scrubbed = FindingText.scrub(value);
        if (!scrubbed.equals(value) && scrubbed.replace(SecretNames.REDACTED, "").length() >= MIN_LENGTH) {
            secrets.add(new Secret(scrubbed, replacement));
        }
    }

    /**
     * A redactor from a build's real values and the values as shown (a public arg's value as given, every other as
     * its digest): an arg whose shown value differs from the real one is not public.
     */
    static BuildArgRedactor ofShown(Map<String, String> values, Map<String, String> shown) {
        return of(values, name -> shownAsGiven(values, shown, name));
    }

    /**
     * Whether the arg {@code name} is public by the values as shown: its shown value is its real one (a name the shown
     * map lacks, or a value shown otherwise, is not public). {@link HistoryRewrite} asks the same.
     */
    static boolean shownAsGiven(Map<String, String> values, Map<String, String> shown, String name) {
        return shown != null && values.get(name) != null && values.get(name).equals(shown.get(name));
    }

    /** This redactor with one more secret (the egress proxy's, issue #14), shown as {@code replacement}. */
    BuildArgRedactor with(String value, String replacement) {
        if (value == null || value.length() < MIN_LENGTH) {
            return this;
        }
        List<Secret> more = new ArrayList<>(secrets);
        more.add(new Secret(value, replacement));
        addScrubbed(more, value, replacement);
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
        out = out.indexOf(CUT) < 0 ? out : redactCutValues(out);
        return out.indexOf(SecretNames.REDACTED) < 0 ? out : redactMaskedHeads(out);
    }

    /**
     * A finding masks a credential-looking part of what it quotes before this redactor runs ({@link FindingText}): a
     * value whose start was masked ({@code token=***;rest-of-the-value}) is no longer found whole, so the end of a
     * value right after a mask is replaced too (a read-through's finding, 2026-12-07). As for cuts, a false match
     * hides a few characters of the Dockerfile's text; a missed one would show part of the value.
     */
    private String redactMaskedHeads(String text) {
        String out = text;
        String mask = SecretNames.REDACTED;
        for (int at = out.indexOf(mask); at >= 0; at = out.indexOf(mask, at + mask.length())) {
            out = replaceTailFrom(out, at + mask.length());
        }
        return out;
    }

    /** The text with the longest proper end of any value starting at {@code start} replaced (after a cut or mask). */
    private String replaceTailFrom(String text, int start) {
        Secret after = null;
        int afterLength = 0;
        for (Secret s : secrets) {
            int k = tailStartingAt(text, start, s.value());
            if (k > afterLength) {
                after = s;
                afterLength = k;
            }
        }
        return after == null ? text
                : text.substring(0, start) + after.replacement() + text.substring(start + afterLength);
    }

    /** The mark every shortened text of the gateway ends (or starts) its cut with. */
    static final char CUT = '\u2026';

    /**
     * A value cut where a text was shortened for a message ({@code text.substring(0, 120) + "…"}, or {@code "…" +}
     * the tail) is not found whole: the part of it up to the cut mark, or from it, is replaced too. Cuts happen
     * before redaction (in the policy engine, the confinement check, the daemon's errors), so without this the first
     * 120 characters of a presigned URL given as a build arg were shown (a review's finding, 2026-12-07). Any part,
     * however short, that ends exactly at a mark with the value's start (or starts after it with the value's end) is
     * replaced: a false match hides a character or two of the Dockerfile's text, a missed one would show the
     * value's.
     */
    private String redactCutValues(String text) {
        String out = text;
        for (int mark = out.indexOf(CUT); mark >= 0; mark = out.indexOf(CUT, mark + 1)) {
            Secret before = null;
            int beforeLength = 0;
            for (Secret s : secrets) {
                int k = headEndingAt(out, mark, s.value());
                if (k > beforeLength) {
                    before = s;
                    beforeLength = k;
                }
            }
            out = replaceTailFrom(out, mark + 1);
            if (before != null) {
                out = out.substring(0, mark - beforeLength) + before.replacement() + out.substring(mark);
                mark += before.replacement().length() - beforeLength;
            }
        }
        return out;
    }

    /** The length of the longest proper start of the value that the text has just before {@code end}, or 0. */
    private static int headEndingAt(String text, int end, String value) {
        char first = value.charAt(0);
        for (int from = Math.max(0, end - (value.length() - 1)); from < end; from++) {
            if (text.charAt(from) == first && text.regionMatches(from, value, 0, end - from)) {
                return end - from;
            }
        }
        return 0;
    }

    /** The length of the longest proper end of the value that the text has from {@code start}, or 0. */
    private static int tailStartingAt(String text, int start, String value) {
        char last = value.charAt(value.length() - 1);
        for (int to = Math.min(text.length(), start + value.length() - 1); to > start; to--) {
            if (text.charAt(to - 1) == last && text.regionMatches(start, value, value.length() - (to - start),
                    to - start)) {
                return to - start;
            }
        }
        return 0;
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
