package io.buildgateway.scanning.versions;

/**
 * dpkg's version order ({@code [epoch:]upstream[-revision]}), as in dpkg's {@code lib/dpkg/version.c}; also the order
 * of Ubuntu and other Debian derivatives. Security fixes are often a revision suffix such as {@code +deb12u1} or a
 * tilde backport such as {@code ~deb11u1}, so the exact rules (tilde below everything, letters below other
 * punctuation) decide whether a package counts as fixed.
 *
 * <p>{@link #isValid} is dpkg's {@code parseversion}, counting its warnings (upstream not starting with a digit, bad
 * characters) as invalid too. {@link #compare} never rejects: like {@code dpkg --compare-versions}, which only warns,
 * it splits any string the same lenient way and compares the parts, so the order stays total for malformed input.
 */
public final class DebianVersions implements VersionOrdering {

    @Override
    public int compare(String a, String b) {
        Parts x = Parts.split(a);
        Parts y = Parts.split(b);
        int c = Long.compare(x.epoch, y.epoch);
        if (c == 0) {
            c = verrevcmp(x.upstream, y.upstream);
        }
        if (c == 0) {
            c = verrevcmp(x.revision, y.revision);
        }
        return c;
    }

    @Override
    public boolean isValid(String version) {
        if (version == null) {
            return false;
        }
        String s = trimBlanks(version);
        if (s.isEmpty() || s.chars().anyMatch(c -> c == ' ' || c == '\t')) {
            return false;
        }
        String rest = s;
        int colon = s.indexOf(':');
        if (colon >= 0) {
            if (parseEpoch(s.substring(0, colon)) < 0 || colon == s.length() - 1) {
                return false;
            }
            rest = s.substring(colon + 1);
        }
        int hyphen = rest.lastIndexOf('-');
        String upstream = hyphen < 0 ? rest : rest.substring(0, hyphen);
        String revision = hyphen < 0 ? "" : rest.substring(hyphen + 1);
        if (hyphen >= 0 && revision.isEmpty()) {
            return false;
        }
        if (upstream.isEmpty() || !Digits.isDigit(upstream.charAt(0))) {
            return false;
        }
        return upstream.chars().allMatch(c -> isAsciiAlnum(c) || ".-+~:".indexOf(c) >= 0)
                && revision.chars().allMatch(c -> isAsciiAlnum(c) || ".+~".indexOf(c) >= 0);
    }

    /**
     * dpkg's verrevcmp: alternate non-digit runs (compared character by character with {@link #order}) and digit runs
     * (compared by value), so "1.10" is above "1.9" and "1.09" equals "1.9".
     */
    static int verrevcmp(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() || j < b.length()) {
            while (nonDigitAt(a, i) || nonDigitAt(b, j)) {
                int ac = order(a, i);
                int bc = order(b, j);
                if (ac != bc) {
                    return Integer.compare(ac, bc);
                }
                i++;
                j++;
            }
            int runA = digitRunEnd(a, i);
            int runB = digitRunEnd(b, j);
            int c = Digits.compare(a.subSequence(i, runA), b.subSequence(j, runB));
            if (c != 0) {
                return c;
            }
            i = runA;
            j = runB;
        }
        return 0;
    }

    /**
     * The weight of one character in a non-digit run: '~' sorts before the end of the string (so "1.0~rc1" is below
     * "1.0"), the end of the string and digits before letters, and letters before all other punctuation.
     */
    private static int order(String s, int i) {
        if (i >= s.length()) {
            return 0;
        }
        char c = s.charAt(i);
        if (Digits.isDigit(c)) {
            return 0;
        }
        if (isAsciiAlpha(c)) {
            return c;
        }
        if (c == '~') {
            return -1;
        }
        return c + 256;
    }

    private static boolean nonDigitAt(String s, int i) {
        return i < s.length() && !Digits.isDigit(s.charAt(i));
    }

    private static int digitRunEnd(String s, int i) {
        while (i < s.length() && Digits.isDigit(s.charAt(i))) {
            i++;
        }
        return i;
    }

    /** The epoch as dpkg's strtol reads it (an optional sign, digits, at most INT_MAX), or -1 when it is not one. */
    private static long parseEpoch(String text) {
        String digits = text.startsWith("+") || text.startsWith("-") ? text.substring(1) : text;
        if (!Digits.allDigits(digits) || Digits.compare(digits, String.valueOf(Integer.MAX_VALUE)) > 0) {
            return -1;
        }
        long value = Long.parseLong(digits);
        return text.startsWith("-") && value != 0 ? -1 : value;
    }

    private static String trimBlanks(String s) {
        int start = 0;
        int end = s.length();
        while (start < end && (s.charAt(start) == ' ' || s.charAt(start) == '\t')) {
            start++;
        }
        while (end > start && (s.charAt(end - 1) == ' ' || s.charAt(end - 1) == '\t')) {
            end--;
        }
        return s.substring(start, end);
    }

    private static boolean isAsciiAlpha(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    private static boolean isAsciiAlnum(int c) {
        return isAsciiAlpha(c) || (c >= '0' && c <= '9');
    }

    /**
     * A version split the way dpkg splits it, without rejecting anything: an epoch only when the text before the first
     * colon is one (otherwise epoch 0 and the colon stays in the upstream part), the revision after the last hyphen.
     */
    private record Parts(long epoch, String upstream, String revision) {

        static Parts split(String version) {
            String s = version == null ? "" : trimBlanks(version);
            long epoch = 0;
            int colon = s.indexOf(':');
            if (colon >= 0) {
                long parsed = parseEpoch(s.substring(0, colon));
                if (parsed >= 0) {
                    epoch = parsed;
                    s = s.substring(colon + 1);
                }
            }
            int hyphen = s.lastIndexOf('-');
            return hyphen < 0 ? new Parts(epoch, s, "")
                    : new Parts(epoch, s.substring(0, hyphen), s.substring(hyphen + 1));
        }
    }
}
