package io.buildgateway.egress;

import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One build's egress session: its credentials, allowlist, what passed so far, and the sockets still open. */
final class Session implements EgressSession {

    private static final Logger log = LoggerFactory.getLogger(Session.class);

    final EgressGrant grant;
    final Allowlist allowlist;
    private final String secret;
    private final byte[] secretBytes;
    private final Consumer<String> buildLog;
    private final EgressRecords records;
    private final Clock clock;
    private final String proxyUrl;
    private final Consumer<UUID> onClose;
    private final Supplier<InetSocketAddress> listener;
    private final Duration fetchTimeout;
    private final AtomicLong seq = new AtomicLong();
    private final List<EgressRecord.Fetch> fetches = new ArrayList<>();
    private final List<EgressRecord.Tunnel> tunnels = new ArrayList<>();
    private final List<EgressRecord.Refusal> refusals = new ArrayList<>();
    private final Set<Closeable> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger refusedAtCap = new AtomicInteger();
    private volatile boolean closed;

    /** Numbers this session's records after {@code last}, the highest an earlier run of the build recorded. */
    void startAfter(long last) {
        seq.set(last);
    }

    Session(EgressGrant grant, String secret, Allowlist allowlist, Consumer<String> buildLog, EgressRecords records,
            Clock clock, String proxyUrl, Consumer<UUID> onClose,
            Supplier<InetSocketAddress> listener, Duration fetchTimeout) {
        this.grant = grant;
        this.secret = secret;
        this.secretBytes = secret.getBytes(StandardCharsets.US_ASCII);
        this.allowlist = allowlist;
        this.buildLog = buildLog;
        this.records = records;
        this.clock = clock;
        this.proxyUrl = proxyUrl;
        this.onClose = onClose;
        this.listener = listener;
        this.fetchTimeout = fetchTimeout;
    }

    @Override
    public String proxyUrl() {
        return proxyUrl;
    }

    @Override
    public String secret() {
        return secret;
    }

    @Override
    public Fetched fetch(String url, OutputStream body) throws IOException {
        if (closed) {
            throw new IOException("the build's egress session is closed");
        }
        return SelfFetch.get(listener.get(), "build-" + grant.buildId(), secret, url, body, fetchTimeout);
    }

    @Override
    public synchronized EgressRecord record() {
        return new EgressRecord(fetches, tunnels, refusals);
    }

    /** Constant-time comparison; a closed session accepts nothing. */
    boolean accepts(String given) {
        return !closed && MessageDigest.isEqual(secretBytes, given.getBytes(StandardCharsets.US_ASCII));
    }

    /** Connections one build may have through the proxy at once (its steps' parallel downloads fit easily). */
    static final int MAX_CONNECTIONS = 16;

    /** A request starts: false when the session is closed or at {@link #MAX_CONNECTIONS} ({@link #closed()} tells). */
    boolean enter() {
        int now = inFlight.incrementAndGet();
        if (closed || now > MAX_CONNECTIONS) {
            inFlight.decrementAndGet();
            return false;
        }
        return true;
    }

    boolean closed() {
        return closed;
    }

    /**
     * A connection refused at {@link #MAX_CONNECTIONS}: counted, and recorded as one refusal when the session ends
     * (a loop of connections is one row in the trail, not one each).
     */
    void refusedAtCap() {
        refusedAtCap.incrementAndGet();
    }

    void exit() {
        inFlight.decrementAndGet();
    }

    /** A socket to close when the session closes (a tunnel outlives no build). */
    void track(Closeable c) {
        open.add(c);
        if (closed) {
            quietly(c);
        }
    }

    void untrack(Closeable c) {
        open.remove(c);
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }

    void fetched(String requested, int status, long size, String sha256) {
        String url = grant.redact().apply(requested); // recorded, audited, listed and logged as the build shows it
        EgressRecord.Fetch f = new EgressRecord.Fetch(url, status, size, sha256, now());
        synchronized (this) {
            fetches.add(f);
        }
        try {
            records.fetched(grant.buildId(), seq.incrementAndGet(), f);
        } catch (RuntimeException e) {
            log.error("egress: could not record build {}'s fetch of {}", grant.buildId(), url, e);
        }
    }

    void tunnelled(String requestedHost, int port, long bytesOut, long bytesIn, Instant at) {
        String host = grant.redact().apply(requestedHost); // a build arg's value may name the host
        EgressRecord.Tunnel t = new EgressRecord.Tunnel(host, port, bytesOut, bytesIn, at);
        synchronized (this) {
            tunnels.add(t);
        }
        try {
            records.tunnelled(grant.buildId(), seq.incrementAndGet(), t);
        } catch (RuntimeException e) {
            log.error("egress: could not record build {}'s tunnel to {}:{}", grant.buildId(), host, port, e);
        }
    }

    Instant openedAt() {
        return now();
    }

    /** Records and audits a refusal and writes its line into the build log; returns that line. */
    String refused(String requested, String reason) {
        String url = grant.redact().apply(requested);
        EgressRecord.Refusal r = new EgressRecord.Refusal(url, reason, now());
        synchronized (this) {
            refusals.add(r);
        }
        String line = reason.equals(Allowlist.NOT_ALLOWED)
                ? "egress refused: " + url + " is not in the egress allowlist of team " + grant.team() + " (policy "
                        + grant.policyDigest() + ")"
                : "egress refused: " + url + ": " + reason + " (team " + grant.team() + ", policy "
                        + grant.policyDigest() + ")";
        try {
            records.refused(grant.buildId(), seq.incrementAndGet(), r, grant.team(), grant.policyDigest());
        } catch (RuntimeException e) {
            log.error("egress: could not record build {}'s refusal of {}", grant.buildId(), url, e);
        }
        log(line);
        return line;
    }

    void log(String line) {
        try {
            buildLog.accept(line);
        } catch (RuntimeException e) {
            log.warn("egress: build log of {} refused a line", grant.buildId(), e);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        int capped = refusedAtCap.get();
        if (capped > 0) {
            refused("(connections to the proxy)", capped + " connection(s) refused: more than " + MAX_CONNECTIONS
                    + " at once");
        }
        onClose.accept(grant.buildId());
        open.forEach(Session::quietly);
        // Requests under way end now that their sockets are closed; wait (briefly) for their records.
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static void quietly(Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing
        }
    }
}
