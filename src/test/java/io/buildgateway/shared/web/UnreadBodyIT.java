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
    void refusedRequestsTricklingTheirBodiesHoldAtMostEightThreadsOfOneSource() throws Exception {
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < 8; i++) {
                Socket s = trickle();
                held.add(s);
                assertThat(statusLine(s)).isEqualTo("HTTP/1.1 401");
                assertThat(open(s)).as("refused request " + (i + 1) + " is read on (its connection kept)").isTrue();
            }
            Socket ninth = trickle();
            held.add(ninth);
            assertThat(statusLine(ninth)).as("the ninth still gets its answer").isEqualTo("HTTP/1.1 401");
            ninth.setSoTimeout(10_000);
            assertThat(ninth.getInputStream().readAllBytes()).as("then its connection is closed, the rest unread")
                    .isEmpty();

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
            try (Socket s = trickle()) {
                assertThat(statusLine(s)).isEqualTo("HTTP/1.1 401");
                kept = open(s);
            }
        } while (!kept && System.nanoTime() < deadline);
        assertThat(kept).isTrue();
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

    /** A lint with a token nobody issued, its body declared and begun: a 401 before anything reads the body. */
    private Socket trickle() throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setSoTimeout(10_000);
        s.getOutputStream().write(head(DECLARED));
        s.getOutputStream().write(new byte[512]);
        s.getOutputStream().flush();
        return s;
    }

    private static byte[] head(int length) {
        return ("POST /api/v1/lint HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer bgw_not-issued-anywhere\r\n"
                + "Content-Type: application/x-tar\r\nContent-Length: " + length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
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
