package io.buildgateway.scanning.versions;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Semantic Versioning 2.0.0 precedence (section 11), as npm orders package versions: major.minor.patch numerically, a
 * pre-release below its release, pre-release identifiers one by one (numeric ones by value and below alphanumeric
 * ones, which compare in ASCII order; a longer list wins a tie), build metadata ignored. A leading "v" is tolerated,
 * as npm does, because tags and some advisory data carry it.
 *
 * <p>{@link #isValid} is the strict grammar of the spec. For anything else {@link #compare} first tries a lenient
 * reading (missing minor or patch as 0, leading zeros and "V" allowed: "1.2" orders as "1.2.0"), because such strings
 * do turn up in advisories and lock files and their intent is clear; what even that cannot read sorts below every
 * version, ordered by its text among itself. Numbers have no size limit (npm's MAX_SAFE_INTEGER cap is not applied).
 */
public final class SemVers implements VersionOrdering {

    private static final String IDENT = "[0-9A-Za-z-]+";
    private static final Pattern LENIENT = Pattern.compile(
            "[vV]?(\\d+)(?:\\.(\\d+)(?:\\.(\\d+))?)?(?:-(" + IDENT + "(?:\\." + IDENT + ")*))?(?:\\+(" + IDENT
                    + "(?:\\." + IDENT + ")*))?");
    private static final Pattern NUMERIC = Pattern.compile("\\d+");

    @Override
    public int compare(String a, String b) {
        Matcher x = parse(a);
        Matcher y = parse(b);
        if (x == null || y == null) {
            return Digits.unparsed(x != null, y != null, a, b);
        }
        for (int group = 1; group <= 3; group++) {
            int c = Digits.compare(orZero(x.group(group)), orZero(y.group(group)));
            if (c != 0) {
                return c;
            }
        }
        return comparePreRelease(x.group(4), y.group(4));
    }

    @Override
    public boolean isValid(String version) {
        Matcher m = parse(version);
        if (m == null || m.group(2) == null || m.group(3) == null || version.strip().startsWith("V")) {
            return false;
        }
        for (int group = 1; group <= 3; group++) {
            if (hasLeadingZero(m.group(group))) {
                return false;
            }
        }
        if (m.group(4) != null) {
            for (String id : m.group(4).split("\\.")) {
                if (NUMERIC.matcher(id).matches() && hasLeadingZero(id)) {
                    return false;
                }
            }
        }
        return true;
    }

    private static Matcher parse(String version) {
        if (version == null) {
            return null;
        }
        Matcher m = LENIENT.matcher(version.strip());
        return m.matches() ? m : null;
    }

    /** Section 11: no pre-release beats any pre-release; otherwise identifier by identifier, then by count. */
    private static int comparePreRelease(String a, String b) {
        if (a == null || b == null) {
            return a == null ? (b == null ? 0 : 1) : -1;
        }
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        for (int i = 0; i < Math.min(x.length, y.length); i++) {
            int c = compareIdentifier(x[i], y[i]);
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(x.length, y.length);
    }

    private static int compareIdentifier(String a, String b) {
        boolean numA = NUMERIC.matcher(a).matches();
        boolean numB = NUMERIC.matcher(b).matches();
        if (numA && numB) {
            return Digits.compare(a, b);
        }
        if (numA != numB) {
            return numA ? -1 : 1;
        }
        return Integer.signum(a.compareTo(b));
    }

    private static String orZero(String digits) {
        return digits == null ? "0" : digits;
    }

    private static boolean hasLeadingZero(String digits) {
        return digits.length() > 1 && digits.charAt(0) == '0';
    }
}
