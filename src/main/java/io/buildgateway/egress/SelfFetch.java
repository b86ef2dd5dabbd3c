package io.buildgateway.egress;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Locale;

/**
 * A GET sent to the egress proxy's own listener with a session's credentials, exactly as a build step sends it: the
 * gateway fetches an {@code ADD <url>} for a build this way (docs/egress.md, "ADD <url>"), so the proxy judges,
 * records and refuses it like any step's request, and nothing here decides what is allowed. The proxy answers one
 * request per connection and closes it; the body is read to that end (or to its Content-Length).
 */
final class SelfFetch {

    private static final int MAX_HEAD = 64 * 1024;

    private SelfFetch() {
    }

    static EgressSession.Fetched get(InetSocketAddress proxy, String user, String secret, String url,
            OutputStream body, Duration timeout) throws IOException {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            // Its message quotes the whole URL (user info and query included): said without it.
            throw new IOException("not a URL the gateway fetches: " + shown(url));
        }
        String host = uri.getRawAuthority();
        if (host == null || host.contains("@") || url.indexOf('\r') >= 0 || url.indexOf('\n') >= 0
                || url.indexOf(' ') >= 0) {
            throw new IOException("not a URL the gateway fetches: " + shown(url));
        }
        String credentials = Base64.getEncoder().encodeToString((user + ":" + secret)
                .getBytes(StandardCharsets.US_ASCII));
        try (Socket s = new Socket()) {
            s.connect(proxy, (int) timeout.toMillis());
            s.setSoTimeout((int) timeout.toMillis());
            OutputStream out = s.getOutputStream();
            out.write(("GET " + url + " HTTP/1.1\r\nHost: " + host + "\r\nProxy-Authorization: Basic " + credentials
                    + "\r\nUser-Agent: build-gateway (ADD)\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = new BufferedInputStream(s.getInputStream());
            String head = readHead(in);
            String[] lines = head.split("\r\n");
            String[] status = lines[0].split(" ", 3);
            if (status.length < 2 || !status[0].startsWith("HTTP/1.")) {
                throw new IOException("the egress proxy answered '" + Allowlist.printable(lines[0]) + "'");
            }
            int code = Integer.parseInt(status[1]);
            String reason = status.length > 2 ? status[2] : "";
            long length = -1;
            String lastModified = null;
            String location = null;
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon <= 0) {
                    continue;
                }
                String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
                String value = lines[i].substring(colon + 1).trim();
                switch (name) {
                    case "content-length" -> length = Long.parseLong(value);
                    case "last-modified" -> lastModified = value;
                    case "location" -> location = value;
                    case "transfer-encoding" -> throw new IOException("the egress proxy sent Transfer-Encoding "
                            + Allowlist.printable(value));
                    default -> { }
                }
            }
            MessageDigest sha = sha256();
            byte[] buffer = new byte[64 * 1024];
            long size = 0;
            OutputStream sink = code == 200 ? body : OutputStream.nullOutputStream();
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            while (length < 0 || size < length) {
                int n = in.read(buffer, 0, length < 0 ? buffer.length : (int) Math.min(buffer.length, length - size));
                if (n < 0) {
                    break;
                }
                sha.update(buffer, 0, n);
                sink.write(buffer, 0, n);
                if (code != 200 && text.size() < 4096) {
                    text.write(buffer, 0, Math.min(n, 4096 - text.size()));
                }
                size += n;
            }
            if (length >= 0 && size < length) {
                throw new IOException("the response to " + shown(url) + " ended after " + size + " of "
                        + length + " bytes");
            }
            return new EgressSession.Fetched(code, reason, size, HexFormat.of().formatHex(sha.digest()),
                    lastModified, location, code == 200 ? "" : text.toString(StandardCharsets.UTF_8).trim());
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("the egress proxy closed the connection before its answer");
            }
            head.write(c);
            if (head.size() > MAX_HEAD) {
                throw new IOException("the egress proxy's answer has a head over 64 KiB");
            }
            state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3))
                    ? state + 1 : (c == '\r' ? 1 : 0);
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A URL as an error message names it: without user info, query or fragment, which may carry a credential (the
     * Dockerfile's own, or a build arg's value after substitution); the message is logged and becomes the build's
     * failure reason (a review's finding, 2026-12-07).
     */
    static String shown(String url) {
        String out = url;
        int end = out.length();
        for (char c : new char[] {'?', '#'}) {
            int at = out.indexOf(c);
            if (at >= 0 && at < end) {
                end = at;
            }
        }
        out = out.substring(0, end);
        int scheme = out.indexOf("://");
        if (scheme >= 0) {
            int hostStart = scheme + 3;
            int slash = out.indexOf('/', hostStart);
            int at = out.lastIndexOf('@', slash < 0 ? out.length() - 1 : slash);
            if (at >= hostStart) {
                out = out.substring(0, hostStart) + out.substring(at + 1);
            }
        }
        return Allowlist.printable(out);
    }
}
