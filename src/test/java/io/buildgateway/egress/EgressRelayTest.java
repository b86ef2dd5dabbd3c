package io.buildgateway.egress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The pure parts of relaying a proxy connection to the replica that holds the build's session. */
class EgressRelayTest {

    private static final UUID BUILD = UUID.fromString("0f0e0d0c-0b0a-0908-0706-050403020100");
    private static final String SECRET = "ab".repeat(32);
    private static final String HERE = "10.0.0.1:3129";
    private static final String THERE = "10.0.0.2:3129";

    @Test
    void theStoredHashIsTheSha256OfTheSecretNeverTheSecret() {
        assertThat(EgressRelay.sha256("abc"))
                .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assertThat(EgressRelay.sha256(SECRET)).hasSize(64).doesNotContain(SECRET);
    }

    @Test
    void onlyTheRightSecretOfAnOpenSessionHeldElsewhereIsRelayed() {
        Optional<EgressRelay.Holder> held = Optional.of(new EgressRelay.Holder(THERE, EgressRelay.sha256(SECRET)));
        assertThat(EgressRelay.decide(BUILD, SECRET, false, held, HERE)).isEqualTo(new EgressRelay.Relay(THERE));
        // wrong secret, another build's session's hash: the same answer as an unknown build
        EgressRelay.Decision wrong = EgressRelay.decide(BUILD, "0".repeat(64), false, held, HERE);
        assertThat(wrong).isEqualTo(new EgressRelay.Refuse("unknown or closed credentials for build " + BUILD));
        // no open session of a RUNNING build with an unexpired lease (EgressSessions.holder found none)
        assertThat(EgressRelay.decide(BUILD, SECRET, false, Optional.empty(), HERE)).isEqualTo(wrong);
        // a session recorded on this very replica, which does not hold it (restarted since): not relayed to itself
        assertThat(EgressRelay.decide(BUILD, SECRET, false, held, THERE)).isInstanceOfSatisfying(
                EgressRelay.Refuse.class, r -> assertThat(r.reason()).contains("no longer holds it"));
    }

    @Test
    void aRelayedRequestIsNeverRelayedAgainWhateverItCarries() {
        Optional<EgressRelay.Holder> held = Optional.of(new EgressRelay.Holder(THERE, EgressRelay.sha256(SECRET)));
        assertThat(EgressRelay.decide(BUILD, SECRET, true, held, HERE)).isInstanceOfSatisfying(
                EgressRelay.Refuse.class, r -> assertThat(r.reason()).isEqualTo("unknown or closed credentials for"
                        + " build " + BUILD + " (a relayed request is not relayed again)"));
    }

    @Test
    void theRelayedHeadCarriesOneMarkerAndEverythingElseAsParsed() throws Exception {
        ProxyExchange.Head head = ProxyExchange.readHead(new ByteArrayInputStream(("GET http://m/x HTTP/1.1\r\n"
                + "Host: m\r\nProxy-Authorization: Basic eA==\r\nX-Build-Gateway-Relayed: 1\r\n"
                + "x-build-gateway-relayed: yes\r\nUser-Agent: curl\r\n\r\n").getBytes(StandardCharsets.US_ASCII)));
        String relayed = new String(EgressRelay.relayedHead(head), StandardCharsets.ISO_8859_1);
        assertThat(relayed).isEqualTo("GET http://m/x HTTP/1.1\r\nhost: m\r\nproxy-authorization: Basic eA==\r\n"
                + "user-agent: curl\r\nx-build-gateway-relayed: 1\r\n\r\n");
        // and the holder parses it back to the same request, marked
        ProxyExchange.Head back = ProxyExchange.readHead(new ByteArrayInputStream(EgressRelay.relayedHead(head)));
        assertThat(back.method()).isEqualTo("GET");
        assertThat(back.target()).isEqualTo("http://m/x");
        assertThat(back.version()).isEqualTo("HTTP/1.1");
        assertThat(back.all(EgressRelay.MARKER)).containsExactly("1");
        assertThat(back.all("proxy-authorization")).containsExactly("Basic eA==");
        ProxyExchange.Head connect = ProxyExchange.readHead(new ByteArrayInputStream(
                "CONNECT m:443 HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertThat(new String(EgressRelay.relayedHead(connect), StandardCharsets.ISO_8859_1))
                .isEqualTo("CONNECT m:443 HTTP/1.0\r\nx-build-gateway-relayed: 1\r\n\r\n");
    }

    @Test
    void thePeerAddressDefaultsToTheListenerAndTakesAHostAlone() throws Exception {
        InetAddress any = InetAddress.getByName("0.0.0.0");
        InetAddress pod = InetAddress.getByName("10.1.2.3");
        assertThat(EgressRelay.peerAddress("", any, 3129)).isEqualTo("127.0.0.1:3129");
        assertThat(EgressRelay.peerAddress(null, pod, 3129)).isEqualTo("10.1.2.3:3129");
        assertThat(EgressRelay.peerAddress("", InetAddress.getByName("::1"), 3129)).isEqualTo("[0:0:0:0:0:0:0:1]:3129");
        // the Helm chart: ${POD_IP} alone, the listener's port
        assertThat(EgressRelay.peerAddress("10.1.2.3", any, 3129)).isEqualTo("10.1.2.3:3129");
        assertThat(EgressRelay.peerAddress(" 10.1.2.3:4000 ", any, 3129)).isEqualTo("10.1.2.3:4000");
        assertThat(EgressRelay.peerAddress("gw-0.gw.ns.svc", any, 3129)).isEqualTo("gw-0.gw.ns.svc:3129");
        assertThat(EgressRelay.peerAddress("fd00::1", any, 3129)).isEqualTo("[fd00::1]:3129");
        assertThat(EgressRelay.peerAddress("[fd00::1]", any, 3129)).isEqualTo("[fd00::1]:3129");
        assertThat(EgressRelay.peerAddress("[fd00::1]:4000", any, 3129)).isEqualTo("[fd00::1]:4000");
        for (String bad : new String[] {"host:", "host:0", "host:65536", "host:x", "[fd00::1", "[]:1", "[::1]x",
            ":3129", "a b:1", "http://h:1", "h/1:2", "g:h:i", "[host]:1"}) {
            assertThatThrownBy(() -> EgressRelay.peerAddress(bad, any, 3129)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("gateway.egress.peer-address");
        }
        assertThat(EgressRelay.socketAddress("[::1]:4000")).isEqualTo(new InetSocketAddress("::1", 4000));
        assertThat(EgressRelay.socketAddress("127.0.0.1:4000")).isEqualTo(new InetSocketAddress("127.0.0.1", 4000));
    }

    /** Over loopback sockets: the head as rewritten, the bytes the client sent after it, the answer back. */
    @Test
    void theRelayCarriesTheRestOfTheConnectionBothWays() throws Exception {
        try (ServerSocket holder = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                ServerSocket front = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<String> seen = CompletableFuture.supplyAsync(() -> {
                try (Socket s = holder.accept()) {
                    InputStream in = s.getInputStream();
                    byte[] got = new byte[4096];
                    StringBuilder b = new StringBuilder();
                    while (!b.toString().endsWith("after-head")) {
                        int n = in.read(got);
                        if (n < 0) {
                            break;
                        }
                        b.append(new String(got, 0, n, StandardCharsets.ISO_8859_1));
                    }
                    s.getOutputStream().write("HTTP/1.1 200 Connection established\r\n\r\nfrom-mirror"
                            .getBytes(StandardCharsets.ISO_8859_1));
                    return b.toString();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            CompletableFuture<Void> relaying = CompletableFuture.runAsync(() -> {
                try (Socket c = front.accept(); Socket peer = new Socket()) {
                    InputStream in = new BufferedInputStream(c.getInputStream());
                    ProxyExchange.Head head = ProxyExchange.readHead(in);
                    peer.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), holder.getLocalPort()));
                    EgressRelay.relay(head, in, c, c.getOutputStream(), peer);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), front.getLocalPort())) {
                client.setSoTimeout(10_000);
                OutputStream out = client.getOutputStream();
                // the head and the first bytes of the tunnel in one write: some read into the relay's buffer
                out.write("CONNECT m:443 HTTP/1.1\r\nProxy-Authorization: Basic eA==\r\n\r\nafter-head"
                        .getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                String answer = new String(client.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                assertThat(answer).isEqualTo("HTTP/1.1 200 Connection established\r\n\r\nfrom-mirror");
            }
            assertThat(seen.get(10, TimeUnit.SECONDS)).isEqualTo("CONNECT m:443 HTTP/1.1\r\n"
                    + "proxy-authorization: Basic eA==\r\nx-build-gateway-relayed: 1\r\n\r\nafter-head");
            relaying.get(10, TimeUnit.SECONDS);
        }
    }
}
