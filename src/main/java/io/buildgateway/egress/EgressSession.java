package io.buildgateway.egress;

import java.io.IOException;
import java.io.OutputStream;

/** One build's use of the egress proxy: credentials valid until {@link #close()}, and what passed so far. */
public interface EgressSession extends AutoCloseable {

    /** {@code http://build-<id>:<secret>@127.0.0.1:<port as the build host sees it>}. */
    String proxyUrl();

    /** The session's secret, so that the build side can redact it from logs. */
    String secret();

    /** What passed, tunnelled and was refused so far. */
    EgressRecord record();

    /**
     * Fetches a URL for the build, as the build: a GET through the proxy's own listener with this session's
     * credentials, so it is judged by the allowlist (and the pin), recorded with its digest, or refused with the
     * build-log line exactly as a step's request (used for {@code ADD <url>}, docs/egress.md). A body is written to
     * {@code body} only for status 200; redirects are not followed here.
     */
    Fetched fetch(String url, OutputStream body) throws IOException;

    /**
     * The proxy's answer to {@link #fetch}: status, size and sha256 (hex) of the body as received, its
     * {@code Last-Modified} and {@code Location} headers (or null), and for a status other than 200 the start of
     * the proxy's text (its refusal line).
     */
    record Fetched(int status, String reason, long size, String sha256, String lastModified, String location,
            String text) {
    }

    /** Credentials are invalid from now on; the records are flushed to the database. */
    @Override
    void close();
}
