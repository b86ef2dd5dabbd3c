package io.buildgateway.shared;

import java.net.IDN;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * One entry of an egress allowlist (issue #14): a scheme ({@code http} or {@code https}), a host, a port (explicit or
 * the scheme's default) and a path prefix that ends at a segment boundary. Parsed strictly, because the policy is
 * reviewed as text and must mean exactly what it says: no userinfo, query, fragment, {@code .}/{@code ..} segment,
 * percent-escape of a separator or dot, backslash or whitespace. Shared because the policy parses entries at load and
 * the egress proxy matches requests against them.
 *
 * @param scheme {@code http} or {@code https}
 * @param host lower case, without brackets for IPv6
 * @param port the explicit port, or 80/443
 * @param path starts and ends with {@code /}; {@code /} admits the whole origin
 */
public record UrlPrefix(String scheme, String host, int port, String path) {

    private static final Pattern HOST = Pattern.compile(
            "(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*");
    private static final Pattern IPV6 = Pattern.compile("[0-9a-f:.]{2,45}");
    /** Path characters of RFC 3986 (pchar and '/'), percent-escapes checked separately. */
    private static final Pattern PATH = Pattern.compile("/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*");

    /** Parses a policy entry such as {@code http://mirror.corp/debian/}; the message says what is wrong. */
    public static UrlPrefix parse(String entry) {
        if (entry == null || entry.isEmpty()) {
            throw new IllegalArgumentException("an egress entry is a URL prefix, not empty");
        }
        int sep = entry.indexOf("://");
        if (sep < 0) {
            throw new IllegalArgumentException("'" + entry + "' is not a URL (scheme://host[:port]/path/)");
        }
        String scheme = entry.substring(0, sep);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("'" + entry + "': the scheme must be http or https, in lower case");
        }
        String rest = entry.substring(sep + 3);
        int slash = rest.indexOf('/');
        String authority = slash < 0 ? rest : rest.substring(0, slash);
        String path = slash < 0 ? "/" : rest.substring(slash);
        if (authority.contains("@")) {
            throw new IllegalArgumentException("an egress entry with userinfo (user@ or user:password@) is not allowed: "
                    + "credentials for a mirror never go in the policy");
        }
        if (path.contains("?") || path.contains("#")) {
            throw new IllegalArgumentException("'" + entry + "': a prefix has no query or fragment");
        }
        Authority hp = authority(authority, scheme, entry);
        if (!PATH.matcher(path).matches()) {
            throw new IllegalArgumentException("'" + entry + "': the path has characters a URL path cannot have");
        }
        String unsafe = unsafePath(path);
        if (unsafe != null) {
            throw new IllegalArgumentException("'" + entry + "': " + unsafe);
        }
        if (!path.endsWith("/")) {
            // '/debian' would admit '/debian-secret'; a prefix ends at a segment boundary.
            path = path + "/";
        }
        return new UrlPrefix(scheme, hp.host(), hp.port(), path);
    }

    /** Whether a normalised request (lower-case scheme and host, explicit port, checked path) falls under this entry. */
    public boolean admits(String scheme, String host, int port, String path) {
        return this.scheme.equals(scheme) && this.host.equals(host) && this.port == port
                && (path.startsWith(this.path) || (path + "/").equals(this.path));
    }

    /** Whether a CONNECT to host:port is covered: an https entry for that host and port. */
    public boolean admitsTunnel(String host, int port) {
        return scheme.equals("https") && this.host.equals(host) && this.port == port;
    }

    /** The entry written back in its normal form: {@code scheme://host[:port]/path/} (default ports left out). */
    @Override
    public String toString() {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return scheme + "://" + h + (port == defaultPort(scheme) ? "" : ":" + port) + path;
    }

    public static int defaultPort(String scheme) {
        return scheme.equals("https") ? 443 : 80;
    }

    /**
     * What is wrong with a URL path for matching, or null: a {@code .} or {@code ..} segment, a percent-escaped dot,
     * slash or backslash ({@code %2e}, {@code %2f}, {@code %5c}, any case), a backslash, or a malformed escape. Such
     * paths are refused rather than normalised: a mirror that a server would resolve differently from the proxy is
     * the classic way past a prefix check.
     */
    public static String unsafePath(String path) {
        if (path.indexOf('\\') >= 0) {
            return "the path has a backslash";
        }
        for (int i = 0; i < path.length(); i++) {
            if (path.charAt(i) == '%') {
                if (i + 2 >= path.length() || HexDigit.not(path.charAt(i + 1)) || HexDigit.not(path.charAt(i + 2))) {
                    return "the path has a malformed percent-escape";
                }
                String code = path.substring(i + 1, i + 3).toLowerCase(Locale.ROOT);
                if (code.equals("2e") || code.equals("2f") || code.equals("5c") || code.equals("00")) {
                    return "the path has an encoded dot, slash, backslash or NUL (%" + code + ")";
                }
            }
        }
        for (String segment : path.split("/", -1)) {
            if (segment.equals(".") || segment.equals("..")) {
                return "the path has a '" + segment + "' segment";
            }
        }
        return null;
    }

    /** A host in its normal form (lower case, punycode, IPv6 without brackets) and a port. */
    public record Authority(String host, int port) {
    }

    /** The host and port of an authority ({@code host[:port]}); throws naming {@code what} when it is not one. */
    public static Authority authority(String authority, String scheme, String what) {
        String host;
        String portText = null;
        if (authority.startsWith("[")) {
            int close = authority.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("'" + what + "': unclosed IPv6 address");
            }
            host = authority.substring(1, close).toLowerCase(Locale.ROOT);
            String after = authority.substring(close + 1);
            if (!after.isEmpty()) {
                if (!after.startsWith(":")) {
                    throw new IllegalArgumentException("'" + what + "': text after the IPv6 address");
                }
                portText = after.substring(1);
            }
            if (!IPV6.matcher(host).matches() || !host.contains(":")) {
                throw new IllegalArgumentException("'" + what + "': not an IPv6 address");
            }
        } else {
            int colon = authority.lastIndexOf(':');
            host = colon < 0 ? authority : authority.substring(0, colon);
            portText = colon < 0 ? null : authority.substring(colon + 1);
            try {
                host = IDN.toASCII(host, IDN.USE_STD3_ASCII_RULES).toLowerCase(Locale.ROOT);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("'" + what + "': '" + host + "' is not a host name");
            }
            if (host.endsWith(".")) {
                host = host.substring(0, host.length() - 1);
            }
            if (!HOST.matcher(host).matches()) {
                throw new IllegalArgumentException("'" + what + "': '" + host + "' is not a host name");
            }
        }
        int port = defaultPort(scheme);
        if (portText != null) {
            if (!portText.matches("[0-9]{1,5}") || Integer.parseInt(portText) < 1 || Integer.parseInt(portText) > 65535) {
                throw new IllegalArgumentException("'" + what + "': the port must be 1 to 65535");
            }
            port = Integer.parseInt(portText);
        }
        return new Authority(host, port);
    }

    private static final class HexDigit {
        static boolean not(char c) {
            return Character.digit(c, 16) < 0;
        }
    }
}
