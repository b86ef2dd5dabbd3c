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
    /**
     * Records (with their audit events) whose write failed, the database away, in the order they happened: written
     * again before each later record and when the session closes. Before (a review's finding, 2026-12-07) such a
     * record was logged and dropped: a fetch the build made was then missing from the trail.
     */
    private final java.util.Deque<Unwritten> unwritten = new java.util.ArrayDeque<>();
    private final Runnable onUnwritten;
    private final Runnable onLost;

    private record Unwritten(String what, Runnable write) {
    }

    /** How long {@link #close} keeps trying to write what is still unwritten before it gives up (logged, counted). */
    static final Duration UNWRITTEN_RETRY = Duration.ofSeconds(10);

    /** Numbers this session's records after {@code last}, the highest an earlier run of the build recorded. */
    void startAfter(long last) {
        seq.set(last);
    }

    Session(EgressGrant grant, String secret, Allowlist allowlist, Consumer<String> buildLog, EgressRecords records,
            Clock clock, String proxyUrl, Consumer<UUID> onClose,
            Supplier<InetSocketAddress> listener, Duration fetchTimeout, Runnable onUnwritten, Runnable onLost) {
        this.onUnwritten = onUnwritten;
        this.onLost = onLost;
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
        long n = seq.incrementAndGet();
        write("fetch " + n + " of " + url + " (" + f + ")", () -> records.fetched(grant.buildId(), n, f));
    }

    /**
     * Writes a record (and its audit event) after any still unwritten, so that they keep their order; a failure keeps
     * it for the next write or the session's close, logged at ERROR and counted.
     */
    private void write(String what, Runnable write) {
        synchronized (unwritten) {
            flushUnwritten();
            if (unwritten.isEmpty()) {
                try {
                    write.run();
                    return;
                } catch (RuntimeException e) {
                    log.error("egress: could not record build {}'s {}; tried again with its next record and when its"
                            + " session closes: {}", grant.buildId(), what, e.toString());
                }
            } else {
                log.error("egress: build {}'s {} waits behind {} unwritten record(s)", grant.buildId(), what,
                        unwritten.size());
            }
            unwritten.add(new Unwritten(what, write));
            onUnwritten.run();
        }
    }

    /** Writes what is unwritten, in order, until one fails; true when nothing is left. Under the lock. */
    private boolean flushUnwritten() {
        while (!unwritten.isEmpty()) {
            try {
                unwritten.peek().write().run();
            } catch (RuntimeException e) {
                return false;
            }
            Unwritten done = unwritten.poll();
            log.info("egress: build {}'s {} recorded late", grant.buildId(), done.what());
        }
        return true;
    }

    /** At close: tries for {@link #UNWRITTEN_RETRY}; what is still unwritten then is logged with its content. */
    private void flushAtClose() {
        long deadline = System.nanoTime() + UNWRITTEN_RETRY.toNanos();
        long backoff = 250;
        synchronized (unwritten) {
            while (!flushUnwritten() && System.nanoTime() < deadline) {
                try {
                    unwritten.wait(backoff);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                backoff = Math.min(backoff * 2, 2_000);
            }
            for (Unwritten u : unwritten) {
                log.error("egress: build {}'s {} could not be recorded or audited; it is lost from the trail",
                        grant.buildId(), u.what());
                onLost.run();
            }
            unwritten.clear();
        }
    }

    void tunnelled(String requestedHost, int port, long bytesOut, long bytesIn, Instant at) {
        String host = grant.redact().apply(requestedHost); // a build arg's value may name the host
        EgressRecord.Tunnel t = new EgressRecord.Tunnel(host, port, bytesOut, bytesIn, at);
        synchronized (this) {
            tunnels.add(t);
        }
        long n = seq.incrementAndGet();
        write("tunnel " + n + " to " + host + ":" + port + " (" + t + ")",
                () -> records.tunnelled(grant.buildId(), n, t));
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
        long n = seq.incrementAndGet();
        write("refusal " + n + " of " + url + " (" + r + ")",
                () -> records.refused(grant.buildId(), n, r, grant.team(), grant.policyDigest()));
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
                break;
            }
        }
        flushAtClose();
    }

    private static void quietly(Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing
        }
    }
}
