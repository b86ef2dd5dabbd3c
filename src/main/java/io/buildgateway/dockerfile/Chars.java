package io.buildgateway.dockerfile;

/** Character tests the parser runs on every character, with a shortcut for the usual ASCII text. */
final class Chars {

    private Chars() {
    }

    /** Exactly {@link Character#isWhitespace(char)}: no character between '!' and DEL is whitespace. */
    static boolean isWhitespace(char c) {
        return (c <= ' ' || c >= 0x7F) && Character.isWhitespace(c);
    }
}
