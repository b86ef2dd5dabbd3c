package io.buildgateway.shared.web;

import io.buildgateway.shared.Problem;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * API.md's pagination for the short lists read whole from their table (tokens, teams, watched base images):
 * {@code limit} (default 50, at most 500) and {@code cursor}, answered {@code {"items": [...], "nextCursor": ...}}.
 * The cursor is the opaque (base64url) key of the last item of the page before; the list's own order is kept.
 */
public final class Pages {

    public static final int DEFAULT_LIMIT = 50;
    public static final int MAX_LIMIT = 500;

    private Pages() {
    }

    /** One page of a list. */
    public record Page<T>(List<T> items, String nextCursor) {
    }

    /** The page of {@code all} (in its order) after the item whose key the cursor holds. */
    public static <T> Page<T> of(List<T> all, Function<T, String> key, String limit, String cursor) {
        int n = limit(limit);
        int from = 0;
        if (cursor != null) {
            String after = decode(cursor);
            from = -1;
            for (int i = 0; i < all.size(); i++) {
                if (key.apply(all.get(i)).equals(after)) {
                    from = i + 1;
                    break;
                }
            }
            if (from < 0) {
                throw invalidCursor();
            }
        }
        int to = Math.min(all.size(), from + n);
        String next = to < all.size() ? Base64.getUrlEncoder().withoutPadding().encodeToString(
                key.apply(all.get(to - 1)).getBytes(StandardCharsets.UTF_8)) : null;
        return new Page<>(List.copyOf(all.subList(from, to)), next);
    }

    static int limit(String value) {
        return limit(value, DEFAULT_LIMIT, MAX_LIMIT);
    }

    /** A {@code limit} parameter: {@code byDefault} when absent, else a whole number from 1 to {@code max} (or 400). */
    public static int limit(String value, int byDefault, int max) {
        if (value == null) {
            return byDefault;
        }
        try {
            int n = Integer.parseInt(value);
            if (n >= 1 && n <= max) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // the problem below
        }
        throw Problem.badRequest("invalid-parameter", "limit must be a whole number from 1 to " + max)
                .with("errors", List.of(Map.of("field", "limit", "message", "not a whole number from 1 to " + max)));
    }

    private static String decode(String cursor) {
        try {
            return new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw invalidCursor();
        }
    }

    private static Problem invalidCursor() {
        return Problem.badRequest("invalid-parameter", "cursor must be the nextCursor of a previous page")
                .with("errors", List.of(Map.of("field", "cursor", "message", "not a cursor of this list")));
    }
}
