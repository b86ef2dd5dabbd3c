package io.buildgateway.scanning.versions;

/** Numeric comparison of digit runs of any length: versions carry dates and timestamps that overflow a long. */
final class Digits {

    private Digits() {
    }

    /** Compares two strings of ASCII digits by value; leading zeros are insignificant, the empty string is zero. */
    static int compare(CharSequence a, CharSequence b) {
        int i = skipZeros(a);
        int j = skipZeros(b);
        int byLength = Integer.compare(a.length() - i, b.length() - j);
        if (byLength != 0) {
            return byLength;
        }
        for (; i < a.length(); i++, j++) {
            if (a.charAt(i) != b.charAt(j)) {
                return a.charAt(i) < b.charAt(j) ? -1 : 1;
            }
        }
        return 0;
    }

    static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }

    static boolean allDigits(CharSequence s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (!isDigit(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static int skipZeros(CharSequence s) {
        int i = 0;
        while (i < s.length() && s.charAt(i) == '0') {
            i++;
        }
        return i;
    }

    /**
     * The order of two versions of which at least one did not parse: a parsed one sorts above an unparsed one, and
     * two unparsed ones by their text, so the ordering stays total.
     */
    static int unparsed(boolean firstParsed, boolean secondParsed, String a, String b) {
        if (firstParsed) {
            return 1;
        }
        if (secondParsed) {
            return -1;
        }
        return Integer.signum(String.valueOf(a).compareTo(String.valueOf(b)));
    }
}
