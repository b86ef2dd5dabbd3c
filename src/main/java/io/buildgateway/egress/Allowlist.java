package io.buildgateway.egress;

import io.buildgateway.shared.UrlPrefix;
import java.util.List;
import java.util.Locale;

/**
 * A team's effective egress allowlist, and the one place a request is judged against it. Pure: no I/O, no clock.
 * A request URL is normalised (scheme and host lower case, default port made explicit, userinfo refused) and refused
 * outright when its path could be read differently by the mirror than by this check ({@link UrlPrefix#unsafePath});
 * then its path must start with an entry's path at a segment boundary.
 */
final class Allowlist {

    /** The reason of a URL that is well formed but under no entry. */
    static final String NOT_ALLOWED = "not in the egress allowlist";

    private final List<UrlPrefix> entries;

    private Allowlist(List<UrlPrefix> entries) {
        this.entries = List.copyOf(entries);
    }

    /** The allowlist from the policy's entries (already checked at policy load; a bad one throws here too). */
    static Allowlist of(List<String> entries) {
        return new Allowlist(entries.stream().map(UrlPrefix::parse).toList());
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    /** A judged request: the URL as recorded (normalised, never with userinfo) and, when refused, why. */
    record Verdict(String url, boolean allowed, String reason) {
    }

    /** A request URL in absolute form, as a proxy client sends it. */
    static Verdict judge(Allowlist list, String target) {
        Normal n;
        try {
            n = normalise(target);
        } catch (IllegalArgumentException e) {
            return new Verdict(printable(withoutUserinfo(target)), false, e.getMessage());
        }
        for (UrlPrefix p : list.entries) {
            if (p.admits(n.scheme, n.host, n.port, n.path)) {
                return new Verdict(n.url(), true, null);
            }
        }
        return new Verdict(n.url(), false, NOT_ALLOWED);
    }

    /** A CONNECT target {@code host:port}: admitted when an https entry names that host and port. */
    static Verdict judgeTunnel(Allowlist list, String authority) {
        UrlPrefix.Authority a;
        try {
            if (authority.contains("@") || authority.contains("/")) {
                throw new IllegalArgumentException("'" + printable(authority) + "' is not host:port");
            }
            if (authority.lastIndexOf(':') < 0 || authority.endsWith("]")) {
                throw new IllegalArgumentException("'" + printable(authority) + "': CONNECT needs an explicit port");
            }
            a = UrlPrefix.authority(authority, "https", authority);
        } catch (IllegalArgumentException e) {
            return new Verdict(printable(authority), false, e.getMessage());
        }
        String shown = (a.host().contains(":") ? "[" + a.host() + "]" : a.host()) + ":" + a.port();
        for (UrlPrefix p : list.entries) {
            if (p.admitsTunnel(a.host(), a.port())) {
                return new Verdict(shown, true, null);
            }
        }
        return new Verdict(shown, false, "no https entry of the egress allowlist names this host and port");
    }

    /** A request URL normalised for matching and recording. */
    record Normal(String scheme, String host, int port, String path, String query) {
        String url() {
            String h = host.contains(":") ? "[" + host + "]" : host;
            return scheme + "://" + h + (port == UrlPrefix.defaultPort(scheme) ? "" : ":" + port) + path
                    + (query == null ? "" : "?" + query);
        }
    }

    static Normal normalise(String target) {
        int sep = target.indexOf("://");
        if (sep < 0) {
            throw new IllegalArgumentException("not an absolute http URL");
        }
        String scheme = target.substring(0, sep).toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("the scheme must be http or https");
        }
        String rest = target.substring(sep + 3);
        int fragment = rest.indexOf('#');
        if (fragment >= 0) {
            throw new IllegalArgumentException("a request URL has no fragment");
        }
        int end = rest.length();
        for (int i = 0; i < rest.length(); i++) {
            char c = rest.charAt(i);
            if (c == '/' || c == '?') {
                end = i;
                break;
            }
        }
        String authority = rest.substring(0, end);
        String pathAndQuery = rest.substring(end);
        if (authority.contains("@")) {
            throw new IllegalArgumentException("a request URL with userinfo is refused");
        }
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c <= 0x20 || c >= 0x7f) {
                throw new IllegalArgumentException("the URL has a space, control or non-ASCII character");
            }
        }
        UrlPrefix.Authority a = UrlPrefix.authority(authority, scheme, "the host");
        String path = pathAndQuery;
        String query = null;
        int q = pathAndQuery.indexOf('?');
        if (q >= 0) {
            path = pathAndQuery.substring(0, q);
            query = pathAndQuery.substring(q + 1);
        }
        if (path.isEmpty()) {
            path = "/";
        }
        String unsafe = UrlPrefix.unsafePath(path);
        if (unsafe != null) {
            throw new IllegalArgumentException(unsafe);
        }
        return new Normal(scheme, a.host(), a.port(), path, query);
    }

    /**
     * The URL with any {@code user[:password]@} of its authority, and any other segment before the query that ends in
     * {@code @}, replaced by {@code ***@}: for refused targets, whose userinfo is never recorded or shown.
     */
    static String withoutUserinfo(String target) {
        int sep = target.indexOf("://");
        int start = sep < 0 ? 0 : sep + 3;
        int end = target.length();
        for (int i = start; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c == '/' || c == '?' || c == '#') {
                end = i;
                break;
            }
        }
        int at = target.lastIndexOf('@', end - 1);
        String out = at < start ? target : target.substring(0, start) + "***@" + target.substring(at + 1);
        // And every other segment that ends in '@' before the query: this is only used for targets that are
        // refused (unreadable ones, and methods not allowed), where the authority cannot be trusted to be where it
        // looks ("http:/user:pw@host/…", "h:pw@//host/…://…", found by AllowlistFuzzTest). Showing a path's '@' as
        // ***@ costs nothing there; showing a password is what must never happen.
        int query = out.indexOf('?');
        String head = query < 0 ? out : out.substring(0, query);
        return USERINFO_LIKE.matcher(head).replaceAll("***@") + (query < 0 ? "" : out.substring(query));
    }

    private static final java.util.regex.Pattern USERINFO_LIKE = java.util.regex.Pattern.compile("[^/?#@]*@");

    /** Text from a request as it may be shown in a log line: printable ASCII only, at most 2,000 characters. */
    static String printable(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length() && out.length() < 2000; i++) {
            char c = s.charAt(i);
            out.append(c > 0x20 && c < 0x7f ? c : '?');
        }
        return out.toString();
    }
}
