package io.buildgateway.egress;

/** One build's use of the egress proxy: credentials valid until {@link #close()}, and what passed so far. */
public interface EgressSession extends AutoCloseable {

    /** {@code http://build-<id>:<secret>@127.0.0.1:<port as the build host sees it>}. */
    String proxyUrl();

    /** The session's secret, so that the build side can redact it from logs. */
    String secret();

    /** What passed, tunnelled and was refused so far. */
    EgressRecord record();

    /** Credentials are invalid from now on; the records are flushed to the database. */
    @Override
    void close();
}
