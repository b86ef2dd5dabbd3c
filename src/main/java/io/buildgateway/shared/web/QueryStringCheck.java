package io.buildgateway.shared.web;

import io.buildgateway.shared.Problem;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Refuses a query string that no parameter can be read from, before anything reads one: a broken {@code %} escape, an
 * escape that is not UTF-8, or a NUL. Tomcat throws from {@code getParameter} on the first two, and PostgreSQL refuses
 * a NUL in text, so each used to end as a 500 wherever a parameter reached a query. Answered {@code 400 invalid-query}
 * and audited, on both listeners (the Docker port answers in its own shape, {@link RefusalShape}).
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 2)
class QueryStringCheck extends OncePerRequestFilter {

    private final ProblemResponses problems;

    QueryStringCheck(ProblemResponses problems) {
        this.problems = problems;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String query = request.getQueryString();
        String wrong = query == null ? null : fault(query);
        if (wrong != null) {
            problems.write(Problem.badRequest("invalid-query", "the query string cannot be read: " + wrong),
                    request, response);
            return;
        }
        chain.doFilter(request, response);
    }

    /** What is wrong with a raw query string, or null when each of its names and values decodes to UTF-8 text. */
    static String fault(String query) {
        int start = 0;
        while (start <= query.length()) {
            int end = query.indexOf('&', start);
            if (end < 0) {
                end = query.length();
            }
            String wrong = decodeFault(query, start, end);
            if (wrong != null) {
                return wrong;
            }
            start = end + 1;
        }
        return null;
    }

    private static String decodeFault(String query, int from, int to) {
        ByteBuffer bytes = ByteBuffer.allocate(to - from);
        boolean nonAscii = false;
        for (int i = from; i < to; i++) {
            char c = query.charAt(i);
            if (c == '%') {
                if (i + 2 >= to || hex(query.charAt(i + 1)) < 0 || hex(query.charAt(i + 2)) < 0) {
                    return "a '%' at offset " + i + " is not followed by two hexadecimal digits";
                }
                byte b = (byte) (hex(query.charAt(i + 1)) * 16 + hex(query.charAt(i + 2)));
                if (b == 0) {
                    return "a NUL (%00) at offset " + i;
                }
                nonAscii |= b < 0;
                bytes.put(b);
                i += 2;
            } else if (c == 0) {
                return "a NUL at offset " + i;
            } else if (c < 0x80) {
                bytes.put((byte) c);
            } else {
                return "a character that is not percent-encoded at offset " + i;
            }
        }
        if (!nonAscii) {
            return null; // ASCII is UTF-8: most queries of every request end here, without a decoder
        }
        bytes.flip();
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes);
            return null;
        } catch (CharacterCodingException e) {
            return "a percent-encoded sequence between offsets " + from + " and " + to + " is not UTF-8";
        }
    }

    private static int hex(char c) {
        return Character.digit(c, 16);
    }
}
