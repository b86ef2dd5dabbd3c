package io.buildgateway.scanning.versions;

import java.util.Locale;
import java.util.function.IntPredicate;

/**
 * apk-tools' version order, {@code digit{.digit}...{letter}{_suffix{digits}}...{~hash}{-rN}}, following apk-tools 3
 * ({@code src/version.c}); it orders every version that apk-tools 2 accepts in the same way (both test vector files
 * agree). A version is read as a sequence of typed tokens; equal-typed tokens compare by value, and where the types
 * first differ the version that goes on is the greater one, unless it goes on with a pre-release suffix
 * ({@code _alpha}, {@code _beta}, {@code _pre}, {@code _rc}).
 *
 * <p>Strings apk rejects still get apk's answer up to the first bad token, which sorts below any valid continuation
 * (so "abc" is below every valid version); two strings that are bad at the same point are ordered by their text, to
 * keep distinct garbage distinct while the order stays total.
 */
public final class AlpineVersions implements VersionOrdering {

    @Override
    public int compare(String a, String b) {
        Tokens x = new Tokens(a == null ? "" : a);
        Tokens y = new Tokens(b == null ? "" : b);
        while (x.type == y.type && x.type.ordinal() < Type.END.ordinal()) {
            int c = compareValues(x, y);
            if (c != 0) {
                return c;
            }
            x.next();
            y.next();
        }
        if (x.type == y.type) {
            return x.type == Type.INVALID ? Integer.signum(x.text.compareTo(y.text)) : 0;
        }
        if (x.isPreReleaseSuffix()) {
            return -1;
        }
        if (y.isPreReleaseSuffix()) {
            return 1;
        }
        // Types are declared in the order they may follow one another: going on with an earlier-declared (more
        // significant) token than the other version beats ending, a revision or a hash.
        return x.type.ordinal() > y.type.ordinal() ? -1 : 1;
    }

    @Override
    public boolean isValid(String version) {
        if (version == null) {
            return false;
        }
        Tokens t = new Tokens(version);
        while (t.type.ordinal() < Type.END.ordinal()) {
            t.next();
        }
        return t.type == Type.END;
    }

    private static int compareValues(Tokens x, Tokens y) {
        switch (x.type) {
            case DIGIT:
                // A dotted component with a leading zero ("1.05") is compared as text, as in Gentoo, so that it
                // reads like a decimal fraction: 8.2.0015 < 8.2.002.
                if (x.value.charAt(0) == '0' || y.value.charAt(0) == '0') {
                    return textOrder(x.value, y.value);
                }
                return Digits.compare(x.value, y.value);
            case INITIAL_DIGIT:
            case SUFFIX_NO:
            case REVISION_NO:
                return Digits.compare(x.value, y.value);
            case LETTER:
                return Character.compare(x.value.charAt(0), y.value.charAt(0));
            case SUFFIX:
                return Integer.compare(x.suffix.ordinal(), y.suffix.ordinal());
            default:
                return textOrder(x.value, y.value);
        }
    }

    /** apk's blob sort: bytes, then length. */
    private static int textOrder(String a, String b) {
        return Integer.signum(a.compareTo(b));
    }

    /** Token types in the order they may appear; the order also ranks versions that diverge in type. */
    private enum Type { INITIAL_DIGIT, DIGIT, LETTER, SUFFIX, SUFFIX_NO, COMMIT_HASH, REVISION_NO, END, INVALID }

    /** The suffixes in ascending order; the ones before NONE mark pre-releases, the ones after it later releases. */
    private enum Suffix {
        ALPHA, BETA, PRE, RC, NONE, CVS, SVN, GIT, HG, P;

        static Suffix named(String name) {
            for (Suffix s : values()) {
                if (s != NONE && s.name().toLowerCase(Locale.ROOT).equals(name)) {
                    return s;
                }
            }
            return null;
        }
    }

    /** A cursor over a version string that knows the current token's type and text. */
    private static final class Tokens {
        private final String text;
        private int pos;
        private Type type;
        private String value = "";
        private Suffix suffix;

        Tokens(String text) {
            this.text = text;
            this.type = Type.INITIAL_DIGIT;
            digits();
        }

        boolean isPreReleaseSuffix() {
            return type == Type.SUFFIX && suffix.ordinal() < Suffix.NONE.ordinal();
        }

        void next() {
            if (pos >= text.length()) {
                type = Type.END;
                return;
            }
            char c = text.charAt(pos);
            if (c >= 'a' && c <= 'z') {
                if (!typeAtMost(Type.DIGIT)) {
                    return;
                }
                value = text.substring(pos, pos + 1);
                pos++;
                type = Type.LETTER;
            } else if (c == '.' || Digits.isDigit(c)) {
                if (c == '.') {
                    if (!typeAtMost(Type.DIGIT)) {
                        return;
                    }
                    pos++;
                }
                if (type == Type.INITIAL_DIGIT || type == Type.DIGIT) {
                    type = Type.DIGIT;
                } else if (type == Type.SUFFIX) {
                    type = Type.SUFFIX_NO;
                } else {
                    type = Type.INVALID;
                    return;
                }
                digits();
            } else if (c == '_') {
                if (!typeAtMost(Type.SUFFIX_NO)) {
                    return;
                }
                pos++;
                value = run(Tokens::isLowerLetter);
                suffix = Suffix.named(value);
                type = suffix == null ? Type.INVALID : Type.SUFFIX;
            } else if (c == '~') {
                if (!typeAtMost(Type.SUFFIX_NO)) {
                    return;
                }
                pos++;
                value = run(Tokens::isLowerHex);
                type = value.isEmpty() ? Type.INVALID : Type.COMMIT_HASH;
            } else if (c == '-') {
                if (!typeAtMost(Type.COMMIT_HASH) || !text.startsWith("-r", pos)) {
                    type = Type.INVALID;
                    return;
                }
                pos += 2;
                type = Type.REVISION_NO;
                digits();
            } else {
                type = Type.INVALID;
            }
        }

        /** Whether the next token may follow the current one; marks the version invalid if not. */
        private boolean typeAtMost(Type max) {
            if (type.ordinal() > max.ordinal()) {
                type = Type.INVALID;
                return false;
            }
            return true;
        }

        private void digits() {
            value = run(Digits::isDigit);
            if (value.isEmpty()) {
                type = Type.INVALID;
            }
        }

        private String run(IntPredicate accepts) {
            int start = pos;
            while (pos < text.length() && accepts.test(text.charAt(pos))) {
                pos++;
            }
            return text.substring(start, pos);
        }

        private static boolean isLowerLetter(int c) {
            return c >= 'a' && c <= 'z';
        }

        private static boolean isLowerHex(int c) {
            return Digits.isDigit(c) || (c >= 'a' && c <= 'f');
        }
    }
}
