package io.buildgateway.shared.web;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.ServletException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ValveBase;
import org.apache.coyote.AbstractProtocol;
import org.apache.coyote.ActionCode;
import org.apache.coyote.http11.AbstractHttp11Protocol;
import org.apache.tomcat.util.net.ApplicationBufferHandler;

/**
 * A request answered before its body was read (a 401 before the token was looked at, a 403, 404, 415 or 429, but
 * also a 200 of an endpoint that reads no body) kept its request thread while Tomcat read the rest of the body and
 * dropped it ("swallowing", up to {@code server.tomcat.max-swallow-size}), as slowly as the client sent it: each read
 * waits up to the connection timeout. Tomcat skips that only when it closes the connection anyway (after 400, 413,
 * 503… on a kept-alive connection). A client that declares a body and trickles it held a thread per connection, with
 * a token or without one: a few hundred such connections from one machine held every thread of the API, the denial of
 * service the lint admission was built against (found 2026-12-07 in a thread dump of a flaky test: the refused lint's
 * thread was in Tomcat's swallow, not in the gateway's code).
 *
 * <p>Now this valve, first on the host, decides every answered request whose body is unread (asynchronous ones, log
 * follows and Docker build streams, excepted: they end later, elsewhere). It finishes the answer first, then reads the
 * rest itself, counted: at most {@link UnreadBodyProperties#maxPerSource} per source (an IPv6 source by its /64) and
 * {@link UnreadBodyProperties#maxTotal} per connector (and never more than a quarter of its threads) at once. Within
 * them nothing changes for the client (it reads its answer, its connection is kept). Beyond them, for a body longer
 * than the swallow limit, after a status Tomcat closes on, on a connection in an error state, or when the read fails,
 * the connection is closed after the answer without reading further. A client still sending then may see its
 * connection reset after the answer (curl and docker read the answer first). Requests that wait for
 * {@code 100 Continue} are left to Tomcat, which closes those without reading (their client sends nothing more).
 */
final class UnreadBodyValve extends ValveBase {

    private final int maxPerSource;
    private final int maxTotal;
    private final Counter closed;
    private final Map<String, Integer> perSource = new HashMap<>();
    private final Map<Connector, Integer> perConnector = new HashMap<>();

    UnreadBodyValve(UnreadBodyProperties properties, MeterRegistry meters) {
        super(true);
        this.maxPerSource = properties.maxPerSource();
        this.maxTotal = properties.maxTotal();
        this.closed = Counter.builder("gateway.http.unread.body.closed")
                .description("answered requests whose connection was closed instead of reading the rest of the body")
                .register(meters);
    }

    @Override
    public void invoke(Request request, Response response) throws IOException, ServletException {
        getNext().invoke(request, response);
        if (request.isAsync() || request.isFinished() || request.getCoyoteRequest().hasExpectation()) {
            return;
        }
        AtomicBoolean error = new AtomicBoolean();
        response.getCoyoteResponse().action(ActionCode.IS_ERROR, error);
        if (error.get()) {
            return; // Tomcat closes it without reading
        }
        long limit = request.getConnector().getProtocolHandler() instanceof AbstractHttp11Protocol<?> http
                ? http.getMaxSwallowSize() : -1;
        long declared = request.getContentLengthLong();
        if (dropsConnection(response.getStatus())
                || limit >= 0 && declared >= 0 && declared - request.getCoyoteRequest().getBytesRead() > limit) {
            close(request);
            return;
        }
        Connector connector = request.getConnector();
        String source = source(request.getRemoteAddr());
        if (!take(source, connector)) {
            close(request);
            return;
        }
        try {
            // The whole answer goes out before the rest of the body is waited for, as before Tomcat's own swallow:
            // finished (its length known, its last chunk written), which closes the servlet's input, so the rest is
            // read from the connector's request below.
            response.finishResponse();
            if (!swallow(request, limit)) {
                close(request);
            }
        } catch (IOException | RuntimeException e) {
            // the client gone, or a read timed out: nothing more to read here
            close(request);
        } finally {
            give(source, connector);
        }
    }

    /** Reads the rest of the body, as Tomcat's swallow does; false when more than {@code limit} bytes came. */
    private static boolean swallow(Request request, long limit) throws IOException {
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

    private void close(Request request) {
        closed.increment();
        // Tomcat's own word for "an aborted upload": no swallow, the connection closed once the answer is written
        request.getCoyoteRequest().action(ActionCode.DISABLE_SWALLOW_INPUT, null);
    }

    private synchronized boolean take(String source, Connector connector) {
        int mine = perSource.getOrDefault(source, 0);
        int all = perConnector.getOrDefault(connector, 0);
        if (mine >= maxPerSource || all >= totalFor(connector)) {
            return false;
        }
        perSource.put(source, mine + 1);
        perConnector.put(connector, all + 1);
        return true;
    }

    private synchronized void give(String source, Connector connector) {
        perSource.computeIfPresent(source, (k, n) -> n <= 1 ? null : n - 1);
        perConnector.computeIfPresent(connector, (k, n) -> n <= 1 ? null : n - 1);
    }

    /** {@code max-total}, and never more than a quarter of the connector's threads (the Docker port has 32). */
    private int totalFor(Connector connector) {
        if (connector.getProtocolHandler() instanceof AbstractProtocol<?> protocol && protocol.getMaxThreads() > 0) {
            return Math.min(maxTotal, Math.max(1, protocol.getMaxThreads() / 4));
        }
        return maxTotal;
    }

    /** The source address; an IPv6 one by its /64 (one client's network hands it a whole /64 to send from). */
    static String source(String remoteAddress) {
        if (remoteAddress == null || remoteAddress.indexOf(':') < 0) {
            return String.valueOf(remoteAddress);
        }
        try {
            byte[] a = InetAddress.getByName(remoteAddress).getAddress(); // a literal: no lookup
            if (a.length != 16) {
                return remoteAddress;
            }
            StringBuilder prefix = new StringBuilder();
            for (int i = 0; i < 8; i += 2) {
                prefix.append(Integer.toHexString(((a[i] & 0xff) << 8) | (a[i + 1] & 0xff))).append(':');
            }
            return prefix.append(":/64").toString();
        } catch (IOException e) {
            return remoteAddress;
        }
    }

    /** Tomcat's own list (Http11Processor.statusDropsConnection): after these it means to close the connection. */
    private static boolean dropsConnection(int status) {
        return status == 400 || status == 408 || status == 411 || status == 413 || status == 414 || status == 500
                || status == 501 || status == 503;
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
}
