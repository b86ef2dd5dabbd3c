package io.buildgateway.shared.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A refused request whose body is still on its way holds a request thread while its rest is read (so that the client
 * reads its answer and keeps its connection), but only {@code gateway.web.unread-body.max-per-source} (8) of one
 * source at once: the ninth is answered and its connection closed at once ({@link UnreadBodyValve}). Before, every
 * such request held a thread for as long as its client trickled the body, token or not: a few hundred connections
 * held every thread of the API.
 */
class UnreadBodyIT extends IntegrationTest {

    private static final int DECLARED = 100_000;

    @Test
    void answeredRequestsTricklingTheirBodiesHoldAtMostEightThreadsOfOneSource() throws Exception {
        String token = builder("unread");
        List<Socket> held = new ArrayList<>();
        try {
            // Four kinds, twice: a 401 before any token lookup; a 200 of an endpoint that reads no body (anonymous);
            // a 401 with a chunked body; a 415 that Spring MVC writes (its answer must still arrive whole).
            for (int i = 0; i < 8; i++) {
                Socket s = switch (i % 4) {
                    case 0 -> trickle(head("POST /api/v1/lint", null, "application/x-tar", DECLARED), false);
                    case 1 -> trickle(head("GET /actuator/health/liveness", "", null, DECLARED), false);
                    case 2 -> trickle(head("POST /api/v1/lint", null, "application/x-tar", -1), true);
                    default -> trickle(head("POST /api/v1/lint?image=unread/app", token, "application/x-unknown",
                            DECLARED), false);
                };
                held.add(s);
                String expected = switch (i % 4) {
                    case 1 -> "HTTP/1.1 200";
                    case 3 -> "HTTP/1.1 415";
                    default -> "HTTP/1.1 401";
                };
                assertThat(statusLine(s)).as("answer " + (i + 1) + ", whole while its body is still arriving")
                        .isEqualTo(expected);
                assertThat(open(s)).as("request " + (i + 1) + " is read on (its connection kept)").isTrue();
            }
            Socket ninth = trickle(head("POST /api/v1/lint", null, "application/x-tar", DECLARED), false);
            held.add(ninth);
            assertThat(statusLine(ninth)).as("the ninth still gets its answer").isEqualTo("HTTP/1.1 401");
            assertThat(closedWithin(ninth, 10_000)).as("then its connection is closed, the rest unread").isTrue();

            // The first one's body ends: its connection serves the next request.
            Socket first = held.get(0);
            first.getOutputStream().write(new byte[DECLARED - 512]);
            first.getOutputStream().write(("GET /actuator/health/liveness HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            first.getOutputStream().flush();
            first.setSoTimeout(10_000);
            assertThat(statusLine(first)).isEqualTo("HTTP/1.1 200");
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
        // Their clients gone, the eight are given back: the next trickling refusal is read on again.
        long deadline = System.nanoTime() + 20_000_000_000L;
        boolean kept;
        do {
            try (Socket s = trickle(head("POST /api/v1/lint", null, "application/x-tar", DECLARED), false)) {
                assertThat(statusLine(s)).isEqualTo("HTTP/1.1 401");
                kept = open(s);
            }
        } while (!kept && System.nanoTime() < deadline);
        assertThat(kept).isTrue();
    }

    /**
     * A 400 on a connection the client asked to close: Tomcat would read the whole rest of the body before closing
     * (it skips that only on a connection it keeps alive); the valve closes it after the answer.
     */
    @Test
    void aBadRequestOnAClosingConnectionIsNotReadOn() throws Exception {
        try (Socket s = trickle(("POST /api/v1/lint?%zz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                + "Content-Type: application/x-tar\r\nContent-Length: " + DECLARED + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII), false)) {
            assertThat(statusLine(s)).isEqualTo("HTTP/1.1 400");
            assertThat(closedWithin(s, 10_000)).isTrue();
        }
    }

    @Test
    void aRefusedRequestWhoseBodyArrivedWholeKeepsItsConnection() throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(head(20_000));
            s.getOutputStream().write(new byte[20_000]);
            s.getOutputStream().write(("GET /actuator/health/liveness HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            assertThat(statusLine(s)).isEqualTo("HTTP/1.1 401");
            assertThat(statusLine(s)).isEqualTo("HTTP/1.1 200");
        }
    }

    /** Sends {@code head} and the first 512 bytes of its body (one chunk of them when {@code chunked}), then nothing. */
    private Socket trickle(byte[] head, boolean chunked) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setSoTimeout(10_000);
        s.getOutputStream().write(head);
        if (chunked) {
            s.getOutputStream().write("200\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        s.getOutputStream().write(new byte[512]);
        s.getOutputStream().flush();
        return s;
    }

    /**
     * A request's head with a token nobody issued ({@code token} null), {@code token}, or none (empty), its body
     * declared (-1: chunked).
     */
    private static byte[] head(String requestLine, String token, String contentType, int length) {
        return (requestLine + " HTTP/1.1\r\nHost: localhost\r\n"
                + (token != null && token.isEmpty() ? "" : "Authorization: Bearer "
                        + (token == null ? "bgw_not-issued-anywhere" : token) + "\r\n")
                + (contentType == null ? "" : "Content-Type: " + contentType + "\r\n")
                + (length < 0 ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + length + "\r\n") + "\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] head(int length) {
        return head("POST /api/v1/lint", null, "application/x-tar", length);
    }

    /** True when the server closes the connection (an end, or a reset) within {@code millis}, sending nothing more. */
    private static boolean closedWithin(Socket s, int millis) throws IOException {
        s.setSoTimeout(millis);
        try {
            return s.getInputStream().read() < 0;
        } catch (java.net.SocketTimeoutException stillOpen) {
            return false;
        } catch (java.net.SocketException reset) {
            return true; // closed with the rest of the body unread in its buffer: a reset, also a close
        }
    }

    /** Reads one answer (head and body); returns its first twelve characters. */
    private static String statusLine(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed before the answer's head ended: " + head);
            }
            head.write(b);
        }
        String text = head.toString(StandardCharsets.ISO_8859_1);
        String lower = text.toLowerCase(java.util.Locale.ROOT);
        if (lower.contains("\r\ntransfer-encoding: chunked")) {
            for (long size; (size = Long.parseLong(line(in), 16)) > 0; ) {
                in.readNBytes((int) size);
                line(in);
            }
            line(in);
        } else {
            int at = lower.indexOf("\r\ncontent-length:");
            if (at >= 0) {
                in.readNBytes(Integer.parseInt(lower.substring(at + 17, lower.indexOf("\r\n", at + 2)).trim()));
            }
        }
        return text.substring(0, 12);
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int b; (b = in.read()) != '\n'; ) {
            if (b < 0) {
                throw new IOException("closed within a chunked answer");
            }
            if (b != '\r') {
                line.append((char) b);
            }
        }
        return line.toString();
    }

    /** True when the server neither closed the connection nor sent more within half a second. */
    private static boolean open(Socket s) throws IOException {
        int before = s.getSoTimeout();
        s.setSoTimeout(500);
        try {
            s.getInputStream().read(); // more bytes, or the end: either way not a connection being read on
            return false;
        } catch (SocketTimeoutException expected) {
            return true;
        } finally {
            s.setSoTimeout(before);
        }
    }
}
