package io.buildgateway.egress;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One proxy connection, one request. The client side is a deliberately small HTTP/1.1 subset, parsed strictly (one
 * request line in absolute form or CONNECT authority form, headers, no request body): anything else is a 400, so the
 * parser that faces build steps stays short. The mirror side is {@link HttpClient}.
 */
final class ProxyExchange implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(ProxyExchange.class);
    private static final int MAX_HEAD = 32 * 1024;
    private static final int MAX_HEADERS = 100;
    /** Request headers passed on to the mirror; everything else (hop-by-hop, Proxy-*, cookies) stays here. */
    private static final Set<String> FORWARDED = Set.of("accept", "accept-language", "user-agent", "cache-control",
            "pragma", "if-modified-since", "if-none-match", "if-match", "if-unmodified-since", "range", "if-range");
    /** Conditional and partial requests would make a pinned build's response something other than the record. */
    private static final Set<String> NOT_WHEN_PINNED = Set.of("if-modified-since", "if-none-match", "if-match",
            "if-unmodified-since", "range", "if-range", "cache-control", "pragma");
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection",
            "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
            "content-length", ":status");

    private final EgressProxy proxy;
    private final Socket client;
    private final HttpClient upstream;
    private final EgressProperties properties;
    private final Clock clock;
    private final EgressRecords records;

    ProxyExchange(EgressProxy proxy, Socket client, HttpClient upstream, EgressProperties properties, Clock clock,
            EgressRecords records) {
        this.proxy = proxy;
        this.client = client;
        this.upstream = upstream;
        this.properties = properties;
        this.clock = clock;
        this.records = records;
    }

    /** A request head: method, target, version, headers (names in lower case, in order). */
    record Head(String method, String target, String version, List<String[]> headers) {
        List<String> all(String name) {
            List<String> out = new ArrayList<>();
            for (String[] h : headers) {
                if (h[0].equals(name)) {
                    out.add(h[1]);
                }
            }
            return out;
        }
    }

    static final class BadRequest extends Exception {
        BadRequest(String message) {
            super(message);
        }
    }

    /** The socket's input, refusing to wait past a deadline (the head's); then without one. */
    private static final class DeadlineInput extends java.io.FilterInputStream {
        private final long deadline;
        /** Cleared once the head is read. */
        volatile boolean timed = true;

        DeadlineInput(InputStream in, long deadline) {
            super(in);
            this.deadline = deadline;
        }

        private void check() throws java.net.SocketTimeoutException {
            if (timed && System.nanoTime() - deadline > 0) {
                throw new java.net.SocketTimeoutException("the request head took too long");
            }
        }

        @Override
        public int read() throws IOException {
            check();
            return super.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            check();
            return super.read(b, off, len);
        }
    }

    @Override
    public void run() {
        try (Socket c = client) {
            // The head within gateway.egress.head-timeout in all, each read within it: a client dripping a byte every few minutes
            // held one of the proxy's workers for as long as it liked (a review's finding, 2026-12-06).
            java.time.Duration headTimeout = properties.headTimeout();
            c.setSoTimeout((int) Math.min(Integer.MAX_VALUE, headTimeout.toMillis()));
            DeadlineInput timed = new DeadlineInput(c.getInputStream(), System.nanoTime() + headTimeout.toNanos());
            InputStream in = new BufferedInputStream(timed);
            OutputStream out = new BufferedOutputStream(c.getOutputStream());
            Head head;
            try {
                head = readHead(in);
                timed.timed = false;
                c.setSoTimeout((int) Math.min(Integer.MAX_VALUE, properties.idleTimeout().toMillis()));
            } catch (java.net.SocketTimeoutException e) {
                records.malformed(c.getInetAddress().getHostAddress(), "the request head did not arrive within "
                        + headTimeout.toSeconds() + " s");
                respond(out, 408, "Request Timeout", "egress: the request head did not arrive within "
                        + headTimeout.toSeconds() + " s", Map.of());
                return;
            } catch (BadRequest e) {
                // Audited as every refusal of the proxy (the message is the parser's own, never the request's text).
                records.malformed(c.getInetAddress().getHostAddress(), e.getMessage());
                respond(out, 400, "Bad Request", "egress: " + e.getMessage(), Map.of());
                return;
            }
            Session session = authenticate(head, in, out);
            if (session == null) {
                return;
            }
            if (!session.enter()) {
                if (!session.closed()) {
                    // At its cap of connections at once: one build may not take every worker of the proxy.
                    session.refusedAtCap();
                    respond(out, 429, "Too Many Requests", "egress: the build has " + Session.MAX_CONNECTIONS
                            + " connections through the proxy already", Map.of());
                    return;
                }
                records.unauthenticated(c.getInetAddress().getHostAddress(), "the egress session of build "
                        + session.grant.buildId() + " is closed");
                proxyAuthRequired(out, "the build's egress session is closed");
                return;
            }
            try {
                session.track(c);
                serve(session, head, in, out);
            } finally {
                session.untrack(c);
                session.exit();
            }
        } catch (IOException e) {
            log.debug("egress connection ended: {}", e.toString());
        } catch (RuntimeException e) {
            log.error("egress connection failed", e);
        }
    }

    private void serve(Session session, Head head, InputStream in, OutputStream out) throws IOException {
        if (head.method.equals("CONNECT")) {
            tunnel(session, head, in, out);
            return;
        }
        if (!head.method.equals("GET") && !head.method.equals("HEAD")) {
            String line = session.refused(Allowlist.printable(Allowlist.withoutUserinfo(head.target)),
                    "method " + head.method + " is not allowed (GET, HEAD and CONNECT only)");
            respond(out, 405, "Method Not Allowed", line, Map.of("Allow", "GET, HEAD, CONNECT"));
            return;
        }
        List<String> lengths = head.all("content-length");
        if (!head.all("transfer-encoding").isEmpty() || lengths.size() > 1
                || (lengths.size() == 1 && !lengths.get(0).trim().equals("0"))) {
            // The build's own request, refused: in its record and the audit trail like every other refusal.
            String line = session.refused(Allowlist.printable(Allowlist.withoutUserinfo(head.target)),
                    "a " + head.method + " request has no body");
            respond(out, 400, "Bad Request", line, Map.of());
            return;
        }
        fetch(session, head, out);
    }

    private void fetch(Session session, Head head, OutputStream out) throws IOException {
        Allowlist.Verdict verdict = Allowlist.judge(session.allowlist, head.target);
        if (!verdict.allowed()) {
            forbid(session, out, verdict.url(), verdict.reason());
            return;
        }
        String url = verdict.url();
        EgressGrant grant = session.grant;
        String pinned = null;
        if (grant.pinned()) {
            pinned = grant.pinnedSha256(url);
            if (pinned == null) {
                forbid(session, out, url, "not fetched with status 200 by the build this one is pinned to");
                return;
            }
        }
        HttpRequest.Builder request;
        try {
            request = HttpRequest.newBuilder(URI.create(url)).timeout(properties.responseTimeout())
                    .method(head.method, HttpRequest.BodyPublishers.noBody());
        } catch (IllegalArgumentException e) {
            forbid(session, out, url, "not a URI the gateway can request");
            return;
        }
        for (String[] h : head.headers) {
            if (FORWARDED.contains(h[0]) && !(pinned != null && NOT_WHEN_PINNED.contains(h[0]))) {
                try {
                    request.header(h[0], h[1]);
                } catch (IllegalArgumentException e) {
                    // a value HttpClient will not send: leave it out
                }
            }
        }
        HttpResponse<InputStream> response;
        try {
            response = upstream.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            session.log("egress failed: " + url + ": the mirror did not answer (" + e.getClass().getSimpleName() + ")");
            respond(out, 502, "Bad Gateway", "egress: the mirror did not answer: " + url, Map.of());
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        try (InputStream body = response.body()) {
            if (pinned != null) {
                servePinned(session, url, pinned, response, body, out);
            } else {
                pass(session, head.method.equals("HEAD"), url, response, body, out);
            }
        }
    }

    /** Streams the mirror's response to the client while hashing it, then records it. */
    private void pass(Session session, boolean headOnly, String url, HttpResponse<InputStream> response,
            InputStream body, OutputStream out) throws IOException {
        writeStatusAndHeaders(out, response, response.headers().firstValue("content-length").orElse(null));
        if (headOnly) {
            out.flush();
            return; // nothing passed to hash: a HEAD is not a fetch
        }
        MessageDigest sha = sha256();
        long size = 0;
        byte[] buf = new byte[64 * 1024];
        try {
            int n;
            while ((n = body.read(buf)) > 0) {
                sha.update(buf, 0, n);
                out.write(buf, 0, n);
                size += n;
            }
            out.flush();
        } finally {
            // What passed is recorded even when one side stopped half way: the record says how much.
            session.fetched(url, response.statusCode(), size, HexFormat.of().formatHex(sha.digest()));
        }
    }

    /** A pinned build: the body is buffered and served only if its digest is the recorded one. */
    private void servePinned(Session session, String url, String expected, HttpResponse<InputStream> response,
            InputStream body, OutputStream out) throws IOException {
        if (response.statusCode() != 200) {
            forbid(session, out, url, "the mirror answered " + response.statusCode()
                    + "; a pinned build takes only the recorded 200 response");
            return;
        }
        Path file = Files.createTempFile("egress-pinned-", ".body");
        try {
            MessageDigest sha = sha256();
            long size = 0;
            long max = properties.maxPinnedBody().toBytes();
            try (OutputStream f = Files.newOutputStream(file)) {
                byte[] buf = new byte[64 * 1024];
                int n;
                while ((n = body.read(buf)) > 0) {
                    size += n;
                    if (size > max) {
                        forbid(session, out, url, "the body is larger than gateway.egress.max-pinned-body ("
                                + max + " bytes)");
                        return;
                    }
                    sha.update(buf, 0, n);
                    f.write(buf, 0, n);
                }
            }
            String actual = HexFormat.of().formatHex(sha.digest());
            if (!actual.equals(expected)) {
                forbid(session, out, url, "digest changed: the pinned build recorded sha256:" + expected
                        + ", the mirror now serves sha256:" + actual);
                return;
            }
            writeStatusAndHeaders(out, response, Long.toString(size));
            Files.copy(file, out);
            out.flush();
            session.fetched(url, 200, size, actual);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private void tunnel(Session session, Head head, InputStream clientIn, OutputStream clientOut) throws IOException {
        EgressGrant grant = session.grant;
        Allowlist.Verdict verdict = Allowlist.judgeTunnel(session.allowlist, head.target);
        if (!verdict.allowed()) {
            forbid(session, clientOut, verdict.url(), verdict.reason());
            return;
        }
        if (grant.pinned()) {
            forbid(session, clientOut, verdict.url(), "a pinned build takes digest-recorded downloads only, no CONNECT");
            return;
        }
        if (grant.refuseTunnels()) {
            forbid(session, clientOut, verdict.url(), "team " + grant.team()
                    + " refuses CONNECT tunnels (egressTunnels: refuse): only digest-recorded downloads");
            return;
        }
        int colon = verdict.url().lastIndexOf(':');
        String host = verdict.url().substring(0, colon);
        if (host.startsWith("[")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = Integer.parseInt(verdict.url().substring(colon + 1));
        Instant opened = session.openedAt();
        Socket mirror = new Socket();
        session.track(mirror);
        try {
            try {
                mirror.connect(new InetSocketAddress(host, port), (int) properties.connectTimeout().toMillis());
                mirror.setSoTimeout((int) Math.min(Integer.MAX_VALUE, properties.idleTimeout().toMillis()));
            } catch (IOException e) {
                session.log("egress failed: CONNECT " + verdict.url() + ": the mirror did not answer ("
                        + e.getClass().getSimpleName() + ")");
                respond(clientOut, 502, "Bad Gateway", "egress: the mirror did not answer: " + verdict.url(), Map.of());
                return;
            }
            clientOut.write("HTTP/1.1 200 Connection established\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            clientOut.flush();
            AtomicLong bytesOut = new AtomicLong();
            AtomicLong bytesIn = new AtomicLong();
            Thread up = new Thread(() -> pump(clientIn, mirror, bytesOut), "egress-tunnel-up");
            up.setDaemon(true);
            up.start();
            pump(mirror.getInputStream(), client, bytesIn, clientOut);
            try {
                up.join(5_000); // the mirror has ended; the client's last bytes get a moment, then the tunnel closes
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            session.tunnelled(host, port, bytesOut.get(), bytesIn.get(), opened);
        } finally {
            session.untrack(mirror);
            mirror.close();
        }
    }

    private static void pump(InputStream from, Socket to, AtomicLong count) {
        try {
            pump(from, to, count, to.getOutputStream());
        } catch (IOException e) {
            // the other side closed
        }
    }

    /**
     * Copies until end of stream or error, counting the bytes, then half-closes {@code to}'s output so the other
     * direction can end. Tunnels and relays (EgressRelay) both.
     */
    static void pump(InputStream from, Socket to, AtomicLong count, OutputStream out) {
        byte[] buf = new byte[32 * 1024];
        try {
            int n;
            while ((n = from.read(buf)) > 0) {
                out.write(buf, 0, n);
                out.flush();
                count.addAndGet(n);
            }
        } catch (IOException e) {
            // one side closed or timed out: the tunnel ends
        } finally {
            try {
                to.shutdownOutput();
            } catch (IOException e) {
                // already closed
            }
        }
    }

    private void forbid(Session session, OutputStream out, String url, String reason) throws IOException {
        String line = session.refused(url, reason);
        respond(out, 403, "Forbidden", line, Map.of());
    }

    /**
     * The session these Basic credentials open, or null after answering 407 or after relaying the connection to the
     * replica that holds the session (docs/egress.md, "Several replicas").
     */
    private Session authenticate(Head head, InputStream in, OutputStream out) throws IOException {
        List<String> values = head.all("proxy-authorization");
        String source = client.getInetAddress().getHostAddress();
        if (values.isEmpty()) {
            records.unauthenticated(source, "no Proxy-Authorization");
            proxyAuthRequired(out, "proxy credentials required (the build's HTTP_PROXY carries them)");
            return null;
        }
        Session session = null;
        UUID build = null;
        String secret = null;
        String reason = "Proxy-Authorization is not Basic build-<id>:<secret>";
        if (values.size() == 1) {
            String v = values.get(0).trim();
            if (v.regionMatches(true, 0, "Basic ", 0, 6)) {
                try {
                    String decoded = new String(Base64.getDecoder().decode(v.substring(6).trim()),
                            StandardCharsets.UTF_8);
                    int colon = decoded.indexOf(':');
                    if (colon > 0 && decoded.startsWith("build-")) {
                        build = UUID.fromString(decoded.substring(6, colon));
                        secret = decoded.substring(colon + 1);
                        session = proxy.authenticate(build, secret);
                        reason = "unknown or closed credentials for build " + build;
                    }
                } catch (IllegalArgumentException e) {
                    // not base64, or not a UUID: the generic reason stands
                }
            }
        }
        if (session == null && build != null) {
            EgressRelay.Decision decision = proxy.relayDecision(build, secret,
                    !head.all(EgressRelay.MARKER).isEmpty());
            if (decision instanceof EgressRelay.Relay relay) {
                relay(head, in, out, relay.peerAddress());
                return null;
            }
            reason = ((EgressRelay.Refuse) decision).reason();
        }
        if (session == null) {
            records.unauthenticated(source, reason);
            proxyAuthRequired(out, "egress: " + reason);
        }
        return session;
    }

    /** The whole connection to the holding replica's egress listener, which authenticates and judges it again. */
    private void relay(Head head, InputStream in, OutputStream out, String peerAddress) throws IOException {
        try (Socket peer = new Socket()) {
            try {
                peer.connect(EgressRelay.socketAddress(peerAddress), (int) properties.connectTimeout().toMillis());
                peer.setSoTimeout((int) Math.min(Integer.MAX_VALUE, properties.idleTimeout().toMillis()));
            } catch (IOException | IllegalArgumentException e) {
                log.warn("egress: the replica at {} that holds a build's session did not answer: {}", peerAddress,
                        e.toString());
                respond(out, 502, "Bad Gateway", "egress: the gateway replica that holds the build's egress session"
                        + " did not answer", Map.of());
                return;
            }
            proxy.relayed();
            EgressRelay.relay(head, in, client, out, peer);
        }
    }

    private void proxyAuthRequired(OutputStream out, String text) throws IOException {
        respond(out, 407, "Proxy Authentication Required", text,
                Map.of("Proxy-Authenticate", "Basic realm=\"build-gateway egress\""));
    }

    private static void writeStatusAndHeaders(OutputStream out, HttpResponse<?> response, String contentLength)
            throws IOException {
        StringBuilder h = new StringBuilder("HTTP/1.1 ").append(response.statusCode()).append(' ')
                .append(reason(response.statusCode())).append("\r\n");
        response.headers().map().forEach((name, values) -> {
            if (!HOP_BY_HOP.contains(name.toLowerCase(Locale.ROOT))) {
                for (String v : values) {
                    if (v.indexOf('\r') < 0 && v.indexOf('\n') < 0) {
                        h.append(name).append(": ").append(v).append("\r\n");
                    }
                }
            }
        });
        if (contentLength != null) {
            h.append("Content-Length: ").append(contentLength).append("\r\n");
        }
        h.append("Connection: close\r\n\r\n");
        out.write(h.toString().getBytes(StandardCharsets.ISO_8859_1));
    }

    private static void respond(OutputStream out, int status, String reason, String text, Map<String, String> extra)
            throws IOException {
        byte[] body = (text + "\n").getBytes(StandardCharsets.UTF_8);
        StringBuilder h = new StringBuilder("HTTP/1.1 ").append(status).append(' ').append(reason).append("\r\n");
        extra.forEach((k, v) -> h.append(k).append(": ").append(v).append("\r\n"));
        h.append("Content-Type: text/plain; charset=utf-8\r\nContent-Length: ").append(body.length)
                .append("\r\nConnection: close\r\n\r\n");
        out.write(h.toString().getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
        out.flush();
    }

    /** Reads the request line and headers: CRLF (or LF) lines, at most 32 KiB and 100 headers, no folding. */
    static Head readHead(InputStream in) throws IOException, BadRequest {
        int[] budget = {MAX_HEAD};
        String requestLine = line(in, budget);
        if (requestLine == null) {
            throw new BadRequest("no request");
        }
        String[] parts = requestLine.split(" ", -1);
        if (parts.length != 3 || !parts[0].matches("[A-Z]{1,16}") || parts[1].isEmpty()
                || !(parts[2].equals("HTTP/1.1") || parts[2].equals("HTTP/1.0"))) {
            throw new BadRequest("the request line is not METHOD target HTTP/1.x");
        }
        List<String[]> headers = new ArrayList<>();
        String l;
        while ((l = line(in, budget)) != null && !l.isEmpty()) {
            if (headers.size() >= MAX_HEADERS) {
                throw new BadRequest("more than " + MAX_HEADERS + " headers");
            }
            int colon = l.indexOf(':');
            if (colon <= 0 || l.charAt(0) == ' ' || l.charAt(0) == '\t'
                    || !l.substring(0, colon).matches("[!#$%&'*+.^_`|~0-9A-Za-z-]+")) {
                throw new BadRequest("a malformed header line");
            }
            headers.add(new String[] {l.substring(0, colon).toLowerCase(Locale.ROOT), l.substring(colon + 1).trim()});
        }
        if (l == null) {
            throw new BadRequest("the request head ended early");
        }
        return new Head(parts[0], parts[1], parts[2], headers);
    }

    private static String line(InputStream in, int[] budget) throws IOException, BadRequest {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            if (--budget[0] < 0) {
                throw new BadRequest("the request head is larger than " + MAX_HEAD + " bytes");
            }
            if (c == '\n') {
                byte[] bytes = b.toByteArray();
                int len = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                for (int i = 0; i < len; i++) {
                    if (bytes[i] == '\r' || bytes[i] == 0) {
                        throw new BadRequest("a bare CR or NUL in the request head");
                    }
                }
                return new String(bytes, 0, len, StandardCharsets.ISO_8859_1);
            }
            b.write(c);
        }
        return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 206 -> "Partial Content";
            case 301 -> "Moved Permanently";
            case 302 -> "Found";
            case 303 -> "See Other";
            case 304 -> "Not Modified";
            case 307 -> "Temporary Redirect";
            case 308 -> "Permanent Redirect";
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 500 -> "Internal Server Error";
            case 502 -> "Bad Gateway";
            case 503 -> "Service Unavailable";
            default -> "Status";
        };
    }
}
