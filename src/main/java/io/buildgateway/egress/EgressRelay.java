package io.buildgateway.egress;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Several replicas (docs/egress.md): a build step's proxy connection may reach a replica that does not hold the
 * build's session. That replica looks the session up in {@code egress_session} ({@link EgressSessions}) and, when the
 * secret's hash matches and the build still runs under an unexpired lease, relays the whole connection (the request
 * head it read, with a marker header, then the rest, both ways) to the holding replica's egress listener, which
 * authenticates and judges the request as if it had come directly. The marker only stops loops: a relayed request is
 * never relayed again (a replica that does not hold its session answers 407), and it grants nothing.
 */
final class EgressRelay {

    /** The marker header (lower case, as the parser keeps names). Never passed to a mirror (not forwarded). */
    static final String MARKER = "x-build-gateway-relayed";

    private EgressRelay() {
    }

    /** The row of a build's open session: where it lives and the SHA-256 (hex) of its secret. */
    record Holder(String peerAddress, String secretSha256) {
    }

    /** What to do with credentials for a session this replica does not hold. */
    sealed interface Decision permits Relay, Refuse {
    }

    /** Relay the connection to the replica at {@code peerAddress}. */
    record Relay(String peerAddress) implements Decision {
    }

    /** Answer 407, audited with this reason (never the secret). */
    record Refuse(String reason) implements Decision {
    }

    static String sha256(String secret) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The decision for credentials {@code build}/{@code secret} that no local session accepts.
     *
     * @param relayed the request carries the marker (relayed by a replica, or a client pretending): never again
     * @param holder the build's open session as {@link EgressSessions#holder} found it (running, lease unexpired)
     * @param ownPeer this replica's own peer address: a row naming it is a session this replica no longer holds
     */
    static Decision decide(UUID build, String secret, boolean relayed, Optional<Holder> holder, String ownPeer) {
        String unknown = "unknown or closed credentials for build " + build;
        if (relayed) {
            return new Refuse(unknown + " (a relayed request is not relayed again)");
        }
        if (holder.isEmpty()) {
            return new Refuse(unknown);
        }
        byte[] given = sha256(secret).getBytes(StandardCharsets.US_ASCII);
        byte[] stored = holder.get().secretSha256().getBytes(StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(given, stored)) {
            return new Refuse(unknown);
        }
        if (holder.get().peerAddress().equals(ownPeer)) {
            return new Refuse(unknown + " (its session is recorded on this replica, which no longer holds it)");
        }
        return new Relay(holder.get().peerAddress());
    }

    /**
     * The head as the holding replica receives it: the request line and headers as parsed (names in lower case),
     * any marker the client sent dropped, and one marker added.
     */
    static byte[] relayedHead(ProxyExchange.Head head) {
        StringBuilder b = new StringBuilder(head.method()).append(' ').append(head.target()).append(' ')
                .append(head.version()).append("\r\n");
        for (String[] h : head.headers()) {
            if (!h[0].equals(MARKER)) {
                b.append(h[0]).append(": ").append(h[1]).append("\r\n");
            }
        }
        b.append(MARKER).append(": 1\r\n\r\n");
        return b.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /**
     * {@code gateway.egress.peer-address} in normal form, {@code host:port} ({@code [v6]:port}): blank = the
     * listener's own address (loopback for a wildcard listener: one host only); a host without a port takes the
     * listener's port (the Helm chart sets the pod's IP alone).
     */
    static String peerAddress(String configured, InetAddress listenHost, int listenPort) {
        if (configured == null || configured.isBlank()) {
            InetAddress a = listenHost.isAnyLocalAddress() ? InetAddress.getLoopbackAddress() : listenHost;
            return format(a.getHostAddress(), listenPort);
        }
        String c = configured.trim();
        String host;
        int port = listenPort;
        if (c.startsWith("[")) {
            int end = c.indexOf(']');
            if (end < 2) {
                throw bad(configured);
            }
            host = c.substring(1, end);
            if (host.indexOf(':') < 0) {
                throw bad(configured); // brackets hold an IPv6 literal only
            }
            String rest = c.substring(end + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) {
                    throw bad(configured);
                }
                port = port(rest.substring(1), configured);
            }
        } else if (c.indexOf(':') != c.lastIndexOf(':')) {
            host = c; // an IPv6 literal without brackets and without a port
        } else if (c.indexOf(':') >= 0) {
            host = c.substring(0, c.indexOf(':'));
            port = port(c.substring(c.indexOf(':') + 1), configured);
        } else {
            host = c;
        }
        boolean v6 = host.indexOf(':') >= 0;
        if (v6 ? !host.matches("[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?") : !host.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw bad(configured);
        }
        return format(host, port);
    }

    private static int port(String s, String configured) {
        try {
            int p = Integer.parseInt(s);
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw bad(configured);
    }

    private static IllegalArgumentException bad(String configured) {
        return new IllegalArgumentException("gateway.egress.peer-address '" + configured
                + "' is not host, host:port or [IPv6]:port");
    }

    private static String format(String host, int port) {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    /** A peer address in normal form as a socket address (resolved now). */
    static InetSocketAddress socketAddress(String peerAddress) {
        int colon = peerAddress.lastIndexOf(':');
        String host = peerAddress.substring(0, colon);
        if (host.startsWith("[")) {
            host = host.substring(1, host.length() - 1);
        }
        return new InetSocketAddress(host, Integer.parseInt(peerAddress.substring(colon + 1)));
    }

    /**
     * Relays a client connection to {@code peer}: the rewritten head, then everything else both ways until either
     * side ends (the holder answers one request per connection and closes; a tunnel ends when one side closes).
     */
    static void relay(ProxyExchange.Head head, InputStream clientIn, Socket client, OutputStream clientOut,
            Socket peer) throws IOException {
        OutputStream peerOut = peer.getOutputStream();
        peerOut.write(relayedHead(head));
        peerOut.flush();
        Thread up = new Thread(() -> ProxyExchange.pump(clientIn, peer, new AtomicLong(), peerOut), "egress-relay-up");
        up.setDaemon(true);
        up.start();
        // The holder answers one request per connection (or ends the tunnel) and closes: then nothing more can go up,
        // and the caller closes both sockets, which ends the other direction.
        ProxyExchange.pump(peer.getInputStream(), client, new AtomicLong(), clientOut);
    }
}
