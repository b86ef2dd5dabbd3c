package io.buildgateway.inventory.notify;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;

/**
 * Webhook URLs as the gateway shows, stores and calls them. A receiver URL may carry credentials in its user info or
 * a token in its query; those parts are used for the call only: what admins see ({@link #redact}) and what the
 * delivery table keeps ({@link #endpointKey}) never contain them.
 */
final class Targets {

    private Targets() {
    }

    /**
     * Null when {@code url} is an absolute http(s) URL with a host; otherwise what is wrong, without the URL's
     * secrets.
     */
    static String checkUrl(String url) {
        if (url == null || url.isBlank()) {
            return "must be set";
        }
        URI uri;
        try {
            uri = new URI(url.trim());
        } catch (URISyntaxException e) {
            return "is not a valid URL (" + e.getReason() + ")";
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            return "must be an http:// or https:// URL, got scheme '" + scheme + "'";
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            return "must name a host (got " + redact(url) + ")";
        }
        if (uri.getRawFragment() != null) {
            return "must not have a #fragment (got " + redact(url) + ")";
        }
        return null;
    }

    /** {@code scheme://host[:port]/path}: no user info, query or fragment. */
    static String redact(String url) {
        try {
            URI uri = new URI(url.trim());
            if (uri.getScheme() == null || uri.getHost() == null) {
                return "(invalid URL)";
            }
            return uri.getScheme().toLowerCase(Locale.ROOT) + "://" + uri.getHost()
                    + (uri.getPort() == -1 ? "" : ":" + uri.getPort())
                    + (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath());
        } catch (URISyntaxException e) {
            return "(invalid URL)";
        }
    }

    /** Identifies a configured URL in the delivery table without storing it: {@code sha256:<hex>} of the URL. */
    static String endpointKey(String url) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(url.trim().getBytes(StandardCharsets.UTF_8));
            return "sha256:" + HexFormat.of().formatHex(hash);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }

    /** The URI to call: the configured one, raw path and query untouched, without user info and fragment. */
    static URI requestUri(URI uri) {
        return URI.create(uri.getScheme().toLowerCase(Locale.ROOT) + "://" + uri.getHost()
                + (uri.getPort() == -1 ? "" : ":" + uri.getPort())
                + (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
                + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery()));
    }

    /** {@code Basic <base64>} from the URL's user info, when it has one. */
    static Optional<String> basicAuthorization(URI uri) {
        String userInfo = uri.getRawUserInfo();
        if (userInfo == null || userInfo.isEmpty()) {
            return Optional.empty();
        }
        String decoded = URLDecoder.decode(userInfo.replace("+", "%2B"), StandardCharsets.UTF_8);
        return Optional.of("Basic " + Base64.getEncoder().encodeToString(decoded.getBytes(StandardCharsets.UTF_8)));
    }
}
