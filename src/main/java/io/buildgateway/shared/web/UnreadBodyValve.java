package io.buildgateway.shared.web;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.ServletException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ValveBase;
import org.apache.coyote.ActionCode;
import org.apache.coyote.http11.AbstractHttp11Protocol;
import org.apache.tomcat.util.net.ApplicationBufferHandler;

/**
 * A request answered with a refusal before its body was read (401, 403, 404, 415, 429…) kept its request thread
 * while Tomcat read the rest of the body and dropped it ("swallowing", up to {@code server.tomcat.max-swallow-size}),
 * as slowly as the client sent it: each read waits up to the connection timeout. A client that declares a body and
 * then trickles it held a thread per connection, with a token or without one (a 401 is answered before the body is
 * read): a few hundred such connections from one machine held every thread of the API, the denial of service the
 * lint admission was built against (found 2026-12-07 in a thread dump of a flaky test: the refused lint's thread was
 * in Tomcat's swallow, not in the gateway's code).
 *
 * <p>Now this valve, first on the host, reads such a rest itself once the answer is out in full, counted: at most
 * {@link UnreadBodyProperties#maxPerSource} per source address and {@link UnreadBodyProperties#maxTotal} on the
 * replica at once. Within them nothing changes for the client (it reads its answer, its connection is kept); beyond
 * them, or past the swallow limit, or when the read fails, the answer is sent and the connection closed without
 * reading further, as Tomcat itself does after a 400, 413 or 503. A client then still sending may see its connection
 * reset (curl and docker read the answer they were sent first). The statuses Tomcat closes on, answers to bodies
 * read in full, asynchronous requests (log follows) and requests that wait for {@code 100 Continue} (Tomcat closes
 * those without reading: their client sends nothing more) are left to Tomcat.
 */
final class UnreadBodyValve extends ValveBase {

    private final int maxPerSource;
    private final int maxTotal;
    private final Counter closed;
    private final Map<String, Integer> perSource = new HashMap<>();
    private int total;

    UnreadBodyValve(UnreadBodyProperties properties, MeterRegistry meters) {
        super(true);
        this.maxPerSource = properties.maxPerSource();
        this.maxTotal = properties.maxTotal();
        this.closed = Counter.builder("gateway.http.unread.body.closed")
                .description("refused requests whose connection was closed instead of reading the rest of the body")
                .register(meters);
    }

    @Override
    public void invoke(Request request, Response response) throws IOException, ServletException {
        getNext().invoke(request, response);
        int status = response.getStatus();
        if (status < 400 || dropsConnection(status) || request.isAsync() || request.isFinished()
                || request.getCoyoteRequest().hasExpectation()) {
            return;
        }
        String source = String.valueOf(request.getRemoteAddr());
        if (!take(source)) {
            if (!response.isCommitted()) {
                response.setHeader("Connection", "close");
            }
            close(request);
            return;
        }
        try {
            // The answer is sent before the rest of the body is waited for (flushed, not finished: finishing it closes
            // the request's input; Tomcat ends the response after this valve, as it does before its own swallow).
            response.flushBuffer();
            if (!swallow(request)) {
                close(request);
            }
        } catch (IOException e) {
            // the client gone, or a read timed out: nothing more to read here
            close(request);
        } finally {
            give(source);
        }
    }

    /**
     * Reads the rest of the body up to Tomcat's swallow limit, as Tomcat's swallow does (from the connector's request:
     * the servlet's input stream is closed once its response's output is); false when the limit was passed.
     */
    private static boolean swallow(Request request) throws IOException {
        long limit = request.getConnector().getProtocolHandler() instanceof AbstractHttp11Protocol<?> http
                ? http.getMaxSwallowSize() : -1;
        Discard discard = new Discard();
        long read = 0;
        for (int n; (n = request.getCoyoteRequest().doRead(discard)) >= 0; ) {
            read += n;
            if (limit >= 0 && read > limit) {
                return false;
            }
        }
        return true;
    }

    /** Where the connector puts what it read: looked at by the connector only, dropped here. */
    private static final class Discard implements ApplicationBufferHandler {
        private ByteBuffer buffer = ApplicationBufferHandler.EMPTY_BUFFER;

        @Override
        public void setByteBuffer(ByteBuffer buffer) {
            this.buffer = buffer;
        }

        @Override
        public ByteBuffer getByteBuffer() {
            return buffer;
        }

        @Override
        public void expand(int size) {
            // nothing is kept
        }
    }

    private void close(Request request) {
        closed.increment();
        // Tomcat's own word for "an aborted upload": no swallow, the connection closed once the answer is written
        request.getCoyoteRequest().action(ActionCode.DISABLE_SWALLOW_INPUT, null);
    }

    private synchronized boolean take(String source) {
        int mine = perSource.getOrDefault(source, 0);
        if (mine >= maxPerSource || total >= maxTotal) {
            return false;
        }
        perSource.put(source, mine + 1);
        total++;
        return true;
    }

    private synchronized void give(String source) {
        perSource.computeIfPresent(source, (k, n) -> n <= 1 ? null : n - 1);
        total--;
    }

    /** Tomcat's own list (Http11Processor.statusDropsConnection): after these it closes without swallowing. */
    private static boolean dropsConnection(int status) {
        return status == 400 || status == 408 || status == 411 || status == 413 || status == 414 || status == 500
                || status == 501 || status == 503;
    }
}
