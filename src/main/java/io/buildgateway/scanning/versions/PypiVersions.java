package io.buildgateway.scanning.versions;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEP 440 version order, as pip and the {@code packaging} library apply it:
 * {@code [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]}, after the PEP's normalisation of alternative spellings
 * ("alpha", "beta", "c", "pre", "preview", "rev", "r", a bare "-N" post release, omitted numbers, "-", "_" and "."
 * separators, a leading "v", any letter case).
 *
 * <p>Order: epoch, then the release with trailing zeros ignored ("1.0" == "1.0.0"), then the phase: a dev-only release
 * ("1.0.dev1") comes before the pre-releases, which come before the release; within a phase, the post release number
 * (none lowest), then the dev number (none highest), then the local label (none lowest; segment by segment, numbers
 * above words). Strings that are not PEP 440 versions sort below all versions, by their text, as packaging's old
 * LegacyVersion did.
 */
public final class PypiVersions implements VersionOrdering {

    private static final String SEP = "[-_.]?";
    private static final Pattern PEP440 = Pattern.compile("v?"
            + "(?:(?<epoch>\\d+)!)?"
            + "(?<release>\\d+(?:\\.\\d+)*)"
            + "(?:" + SEP + "(?<preL>alpha|a|beta|b|preview|pre|c|rc)" + SEP + "(?<preN>\\d+)?)?"
            + "(?:-(?<postN1>\\d+)|" + SEP + "(?<postL>post|rev|r)" + SEP + "(?<postN2>\\d+)?)?"
            + "(?:" + SEP + "(?<devL>dev)" + SEP + "(?<devN>\\d+)?)?"
            + "(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern NUMERIC = Pattern.compile("\\d+");

    @Override
    public int compare(String a, String b) {
        Matcher x = parse(a);
        Matcher y = parse(b);
        if (x == null || y == null) {
            return Digits.unparsed(x != null, y != null, a, b);
        }
        int c = Digits.compare(orZero(x.group("epoch")), orZero(y.group("epoch")));
        if (c == 0) {
            c = compareRelease(x.group("release").split("\\."), y.group("release").split("\\."));
        }
        if (c == 0) {
            c = Integer.compare(phase(x), phase(y));
        }
        if (c == 0 && x.group("preL") != null) {
            c = Digits.compare(orZero(x.group("preN")), orZero(y.group("preN")));
        }
        if (c == 0) {
            c = compareMissingFirst(post(x), post(y));
        }
        if (c == 0) {
            c = compareMissingLast(dev(x), dev(y));
        }
        if (c == 0) {
            c = compareLocal(x.group("local"), y.group("local"));
        }
        return c;
    }

    @Override
    public boolean isValid(String version) {
        return parse(version) != null;
    }

    private static Matcher parse(String version) {
        if (version == null) {
            return null;
        }
        Matcher m = PEP440.matcher(version.strip());
        return m.matches() ? m : null;
    }

    /** Release numbers pairwise, a missing number counting as 0, so trailing zeros make no difference. */
    private static int compareRelease(String[] a, String[] b) {
        for (int i = 0; i < Math.max(a.length, b.length); i++) {
            int c = Digits.compare(i < a.length ? a[i] : "0", i < b.length ? b[i] : "0");
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    /**
     * 0 for a bare dev release of the final ("1.0.dev1", which precedes "1.0a1"), 1..3 for alpha, beta and release
     * candidates, 4 for the final release and its post releases.
     */
    private static int phase(Matcher m) {
        String pre = m.group("preL");
        if (pre == null) {
            return m.group("devL") != null && post(m) == null ? 0 : 4;
        }
        return switch (pre.toLowerCase(Locale.ROOT)) {
            case "a", "alpha" -> 1;
            case "b", "beta" -> 2;
            default -> 3; // rc, c, pre, preview
        };
    }

    private static String post(Matcher m) {
        if (m.group("postN1") != null) {
            return m.group("postN1");
        }
        return m.group("postL") != null ? orZero(m.group("postN2")) : null;
    }

    private static String dev(Matcher m) {
        return m.group("devL") != null ? orZero(m.group("devN")) : null;
    }

    /** Local labels: none lowest; then segment by segment, numbers by value above words, which compare lowercased. */
    private static int compareLocal(String a, String b) {
        if (a == null || b == null) {
            return a == null ? (b == null ? 0 : -1) : 1;
        }
        String[] x = a.toLowerCase(Locale.ROOT).split("[-_.]");
        String[] y = b.toLowerCase(Locale.ROOT).split("[-_.]");
        for (int i = 0; i < Math.min(x.length, y.length); i++) {
            boolean numX = NUMERIC.matcher(x[i]).matches();
            boolean numY = NUMERIC.matcher(y[i]).matches();
            int c = numX && numY ? Digits.compare(x[i], y[i])
                    : numX != numY ? (numX ? 1 : -1)
                    : Integer.signum(x[i].compareTo(y[i]));
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(x.length, y.length);
    }

    private static int compareMissingFirst(String a, String b) {
        if (a == null || b == null) {
            return a == null ? (b == null ? 0 : -1) : 1;
        }
        return Digits.compare(a, b);
    }

    private static int compareMissingLast(String a, String b) {
        if (a == null || b == null) {
            return a == null ? (b == null ? 0 : 1) : -1;
        }
        return Digits.compare(a, b);
    }

    private static String orZero(String digits) {
        return digits == null ? "0" : digits;
    }
}
