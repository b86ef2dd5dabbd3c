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
        List<String> out = new ArrayList<>();
        int i = 1;
        i = skip(s, i);
        if (s.charAt(i) == ']') {
            return i == s.length() - 1 ? out : null;
        }
        while (i < s.length()) {
            i = skip(s, i);
            if (i >= s.length() || s.charAt(i) != '"') {
                return null;
            }
            StringBuilder value = new StringBuilder();
            i++;
            boolean closed = false;
            while (i < s.length()) {
                char c = s.charAt(i++);
                if (c == '"') {
                    closed = true;
                    break;
                }
                if (c == '\\') {
                    if (i >= s.length()) {
                        return null;
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
                                return null;
                            }
                            try {
                                value.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                            } catch (NumberFormatException ex) {
                                return null;
                            }
                            i += 4;
                        }
                        default -> {
                            return null;
                        }
                    }
                } else if (c < 0x20) {
                    return null;
                } else {
                    value.append(c);
                }
            }
            if (!closed) {
                return null;
            }
            out.add(value.toString());
            i = skip(s, i);
            if (i >= s.length()) {
                return null;
            }
            char sep = s.charAt(i++);
            if (sep == ']') {
                return i == s.length() ? out : null;
            }
            if (sep != ',') {
                return null;
            }
        }
        return null;
    }

    private static int skip(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        return i;
    }
}
