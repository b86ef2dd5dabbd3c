package io.buildgateway.shared.web;

import io.buildgateway.shared.Problem;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * JSON request bodies are small by nature (tokens, teams, deployments): a declared length over
 * {@value #MAX_BYTES} bytes is answered 413 before it is read, and an undeclared (chunked) one is cut off there, so
 * no JSON body can make the gateway hold megabytes in memory. Build contexts are not JSON and have their own limits.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 1)
class JsonBodyLimit extends OncePerRequestFilter {

    static final int MAX_BYTES = 256 * 1024;
    /** Advisory imports carry a mirror's worth of OSV documents; they are parsed as a stream of small trees. */
    static final long ADVISORY_MAX_BYTES = 64L * 1024 * 1024;

    private final ProblemResponses problems;

    JsonBodyLimit(ProblemResponses problems) {
        this.problems = problems;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String type = request.getContentType();
        return type == null || !(type.toLowerCase().startsWith("application/json") || type.toLowerCase().contains("+json"));
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        long limit = request.getRequestURI().equals("/api/v1/advisories") ? ADVISORY_MAX_BYTES : MAX_BYTES;
        if (request.getContentLengthLong() > limit) {
            problems.write(new Problem(413, "too-large", "Payload too large",
                    "JSON bodies here are at most " + limit + " bytes"), request, response);
            return;
        }
        chain.doFilter(new HttpServletRequestWrapper(request) {
            private ServletInputStream capped;

            @Override
            public ServletInputStream getInputStream() throws IOException {
                if (capped == null) {
                    capped = new Capped(request.getInputStream(), limit);
                }
                return capped;
            }
        }, response);
    }

    /**
     * A body cut off at the limit. Jackson wraps it as the cause of a parse failure; {@link UnreadableBody} finds it
     * there and answers 413, as for a declared length over the limit.
     */
    static final class TooLarge extends IOException {
        private final long limit;

        TooLarge(long limit) {
            super("JSON body larger than " + limit + " bytes");
            this.limit = limit;
        }

        long limit() {
            return limit;
        }
    }

    private static final class Capped extends ServletInputStream {
        private final ServletInputStream in;
        private final long limit;
        private long read;

        Capped(ServletInputStream in, long limit) {
            this.in = in;
            this.limit = limit;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                count(1);
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int off, int len) throws IOException {
            int n = in.read(buffer, off, len);
            if (n > 0) {
                count(n);
            }
            return n;
        }

        private void count(int n) throws IOException {
            read += n;
            if (read > limit) {
                throw new TooLarge(limit);
            }
        }

        @Override
        public boolean isFinished() {
            return in.isFinished();
        }

        @Override
        public boolean isReady() {
            return in.isReady();
        }

        @Override
        public void setReadListener(ReadListener listener) {
            in.setReadListener(listener);
        }
    }
}
