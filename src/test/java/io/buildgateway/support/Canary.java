package io.buildgateway.support;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A local HTTP canary on loopback: the oracle of the confinement tests. It answers every request and remembers it
 * ({@code METHOD path}), so a test can show that a build host never fetched what the policy forbids. A test class
 * keeps one for all its tests with {@code @RegisterExtension static final Canary canary = Canary.start();}: it is
 * stopped after the class.
 */
public final class Canary implements AutoCloseable, org.junit.jupiter.api.extension.AfterAllCallback {

    private final HttpServer server;
    private final List<String> requests = new CopyOnWriteArrayList<>();

    private Canary(HttpServer server) {
        this.server = server;
    }

    public static Canary start() {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            Canary canary = new Canary(server);
            server.createContext("/", exchange -> {
                canary.requests.add(exchange.getRequestMethod() + " " + exchange.getRequestURI());
                byte[] body = "canary\n".getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
                exchange.close();
            });
            server.start();
            return canary;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** Every request seen so far, as {@code METHOD path}. */
    public List<String> requests() {
        return List.copyOf(requests);
    }

    public void clear() {
        requests.clear();
    }

    @Override
    public void close() {
        server.stop(0);
    }

    @Override
    public void afterAll(org.junit.jupiter.api.extension.ExtensionContext context) {
        close();
    }
}
