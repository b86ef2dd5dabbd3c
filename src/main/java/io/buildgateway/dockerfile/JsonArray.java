package io.buildgateway.dockerfile;

import java.util.ArrayList;
import java.util.List;

/**
 * Recognises the exec form: a JSON array of strings. Anything else (including malformed JSON) is shell form, as
 * Docker does. A tiny strict reader so that the parser needs no JSON library.
 */
final class JsonArray {

    private JsonArray() {
    }

    static List<String> parse(String text) {
        String s = text.strip();
        if (!s.startsWith("[") || !s.endsWith("]")) {
            return null;
        }
        int[] end = new int[1];
        List<String> out = prefix(s, end);
        return out != null && end[0] == s.length() ? out : null;
    }

    /**
     * The daemon's {@code parseJSON}: the first JSON value of {@code s} (which starts with '['), decoded as an array
     * of strings; what follows it is not read. Null when it does not decode as one; else {@code end[0]} is the index
     * after its closing bracket.
     */
    static List<String> prefix(String s, int[] end) {
        if (!s.startsWith("[")) {
            return null;
        }
        List<String> out = new ArrayList<>();
        int i = 1;
        i = skip(s, i);
        if (i < s.length() && s.charAt(i) == ']') {
            end[0] = i + 1;
            return out;
        }
        while (i < s.length()) {
            i = skip(s, i);
            if (i >= s.length() || s.charAt(i) != '"') {
                return null;
            }
            i++;
            int close = plainEnd(s, i);
            if (close < s.length() && s.charAt(close) == '"') {
                out.add(s.substring(i, close)); // no escapes: the string as written
                i = close + 1;
            } else {
                StringBuilder value = new StringBuilder();
                i = unescape(s, i, value);
                if (i < 0) {
                    return null;
                }
                out.add(value.toString());
            }
            i = skip(s, i);
            if (i >= s.length()) {
                return null;
            }
            char sep = s.charAt(i++);
            if (sep == ']') {
                end[0] = i;
                return out;
            }
            if (sep != ',') {
                return null;
            }
        }
        return null;
    }

    /** JSON's whitespace only: space, tab, line feed, carriage return (as Go's decoder reads it). */
    private static int skip(String s, int i) {
        while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t' || s.charAt(i) == '\n'
                || s.charAt(i) == '\r')) {
            i++;
        }
        return i;
    }

    /** The index of the first quote, backslash or control character from {@code i}. */
    private static int plainEnd(String s, int i) {
        while (i < s.length() && s.charAt(i) != '"' && s.charAt(i) != '\\' && s.charAt(i) >= 0x20) {
            i++;
        }
        return i;
    }

    /** Reads a string's characters up to its closing quote; returns the index after it, or -1 when malformed. */
    private static int unescape(String s, int i, StringBuilder value) {
        boolean closed = false;
        while (i < s.length()) {
            char c = s.charAt(i++);
            if (c == '"') {
                closed = true;
                break;
            }
            if (c == '\\') {
                if (i >= s.length()) {
                    return -1;
                }
                char e = s.charAt(i++);
                switch (e) {
                    case '"', '\\', '/' -> value.append(e);
                    case 'b' -> value.append('\b');
                    case 'f' -> value.append('\f');
                    case 'n' -> value.append('\n');
                    case 'r' -> value.append('\r');
                    case 't' -> value.append('\t');
                    case 'u' -> {
                        if (i + 4 > s.length()) {
                            return -1;
                        }
                        for (int h = i; h < i + 4; h++) {
                            if (Character.digit(s.charAt(h), 16) < 0 || s.charAt(h) > 'f') {
                                return -1; // only 4 hex digits, as Go's decoder takes them (no sign)
                            }
                        }
                        try {
                            value.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        } catch (NumberFormatException ex) {
                            return -1;
                        }
                        i += 4;
                    }
                    default -> {
                        return -1;
                    }
                }
            } else if (c < 0x20) {
                return -1;
            } else {
                value.append(c);
            }
        }
        return closed ? i : -1;
    }
}
