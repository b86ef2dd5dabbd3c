package io.buildgateway.support;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A real webhook receiver for the integration tests: every POST is kept with its headers, answered 200, and can be
 * checked against the signature the gateway must send ({@code sha256=HMAC(secret, "<timestamp>.<body>")}).
 */
public final class Webhooks {

    public static final String SECRET = "it-webhook-secret-" + "0123456789abcdef";

    public record Received(String event, String delivery, String timestamp, String signature, String body) {
        public boolean signedWith(String secret) {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
                String expected = "sha256=" + HexFormat.of().formatHex(
                        mac.doFinal((timestamp + "." + body).getBytes(StandardCharsets.UTF_8)));
                return expected.equals(signature);
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private final HttpServer server;
    private final List<Received> received = new CopyOnWriteArrayList<>();

    private Webhooks() {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/", exchange -> {
            try (exchange) {
                String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                var h = exchange.getRequestHeaders();
                received.add(new Received(h.getFirst("X-BuildGateway-Event"), h.getFirst("X-BuildGateway-Delivery"),
                        h.getFirst("X-BuildGateway-Timestamp"), h.getFirst("X-BuildGateway-Signature"), body));
                exchange.sendResponseHeaders(200, -1);
            }
        });
        server.start();
    }

    static Webhooks start() {
        return new Webhooks();
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/hooks";
    }

    public List<Received> received(String event) {
        return received.stream().filter(r -> event.equals(r.event())).toList();
    }
}
