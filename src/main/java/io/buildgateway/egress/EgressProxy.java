package io.buildgateway.egress;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.http.HttpClient;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * The egress proxy: a forward HTTP proxy on a listener of its own ({@code gateway.egress.listen}). Each build gets a
 * session with credentials ({@code build-<uuid>} and a fresh 256-bit secret) valid until the session closes; a
 * connection is one request (the response ends with {@code Connection: close}), judged by {@link ProxyExchange}.
 * Blocking sockets and a bounded thread pool: a build fetches little at once, and the code stays readable.
 *
 * <p>Several replicas: each open session is also a row of {@code egress_session} ({@link EgressSessions}) naming
 * this replica's {@code gateway.egress.peer-address}; a connection with credentials of a session another replica
 * holds is relayed there ({@link EgressRelay}, docs/egress.md "Several replicas").
 */
@Component
public class EgressProxy implements Egress, SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(EgressProxy.class);

    private final EgressProperties properties;
    private final EgressRecords records;
    private final EgressSessions sessionTable;
    private final Counter relays;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final Map<UUID, Session> sessions = new ConcurrentHashMap<>();
    private final HttpClient upstream;
    private final AtomicInteger threads = new AtomicInteger();
    private volatile ServerSocket server;
    private volatile ExecutorService workers;
    private volatile Thread acceptor;
    private volatile String peerAddress;
    private final Counter unwritten;
    private final Counter lost;

    EgressProxy(EgressProperties properties, EgressRecords records, EgressSessions sessionTable, MeterRegistry meters,
            Clock clock) {
        this.properties = properties;
        this.records = records;
        this.sessionTable = sessionTable;
        this.relays = Counter.builder("gateway.egress.relays")
                .description("egress proxy connections relayed to the replica that holds the build's session")
                .register(meters);
        this.unwritten = Counter.builder("gateway.egress.records.unwritten")
                .description("egress fetches, tunnels and refusals whose record and audit event could not be written"
                        + " at once (the database away); retried while the build's session lasts")
                .register(meters);
        this.lost = Counter.builder("gateway.egress.records.lost")
                .description("egress records and audit events still unwritten when their build's session closed"
                        + " (each logged at ERROR with its content)")
                .register(meters);
        this.clock = clock;
        // No proxy of its own, no redirects followed (the client follows, and the new URL is judged again), no cookies.
        this.upstream = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER).proxy(HttpClient.Builder.NO_PROXY)
                .connectTimeout(properties.connectTimeout()).build();
    }

    @Override
    public EgressSession open(EgressGrant grant, Consumer<String> buildLog) {
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        String secret = HexFormat.of().formatHex(bytes);
        int port = properties.advertisedPort() != 0 ? properties.advertisedPort() : listenPort();
        String hash = EgressRelay.sha256(secret);
        Session session = new Session(grant, secret, Allowlist.of(grant.allow()), buildLog, records, clock,
                "http://build-" + grant.buildId() + ":" + secret + "@127.0.0.1:" + port,
                build -> closed(build, hash), this::localAddress, properties.responseTimeout(), unwritten::increment,
                lost::increment);
        // A build re-queued after its replica was lost keeps its first run's records (their events are in the trail):
        // this run's are numbered after them, not from 0, where each insert would meet the primary key and be lost.
        session.startAfter(records.lastSeq(grant.buildId()));
        if (sessions.putIfAbsent(grant.buildId(), session) != null) {
            throw new IllegalStateException("build " + grant.buildId() + " already has an egress session");
        }
        try {
            sessionTable.opened(grant.buildId(), peerAddress(), hash);
        } catch (RuntimeException e) {
            // Steps whose connections reach this replica still work; those that reach another get 407.
            log.error("egress: could not record build {}'s session in egress_session; other replicas cannot relay"
                    + " its proxy connections here", grant.buildId(), e);
        }
        return session;
    }

    private void closed(UUID build, String hash) {
        sessions.remove(build);
        try {
            sessionTable.closed(build, hash);
        } catch (RuntimeException e) {
            // The row stays open, but no relay follows it once the build has ended or its lease lapsed.
            log.warn("egress: could not mark build {}'s session closed in egress_session", build, e);
        }
    }

    /** Where the other replicas reach this replica's listener ({@code gateway.egress.peer-address}, normalised). */
    public String peerAddress() {
        String p = peerAddress;
        if (p == null) {
            throw new IllegalStateException("the egress proxy is not listening");
        }
        return p;
    }

    /** For credentials no local session accepts: relay to the replica that holds the session, or refuse. */
    EgressRelay.Decision relayDecision(UUID build, String secret, boolean relayed) {
        Optional<EgressRelay.Holder> holder = Optional.empty();
        if (!relayed) {
            try {
                holder = sessionTable.holder(build);
            } catch (RuntimeException e) {
                log.warn("egress: could not read egress_session for build {}: {}", build, e.toString());
            }
        }
        return EgressRelay.decide(build, secret, relayed, holder, peerAddress());
    }

    void relayed() {
        relays.increment();
    }

    /** The port the listener is bound to (the build side's forwarder leads here). */
    public int listenPort() {
        ServerSocket s = server;
        if (s == null) {
            throw new IllegalStateException("the egress proxy is not listening");
        }
        return s.getLocalPort();
    }

    /** Where the gateway itself reaches the listener (its own fetches for ADD <url>): loopback for a wildcard. */
    private InetSocketAddress localAddress() {
        ServerSocket s = server;
        if (s == null) {
            throw new IllegalStateException("the egress proxy is not listening");
        }
        InetAddress a = s.getInetAddress();
        return new InetSocketAddress(a.isAnyLocalAddress() ? InetAddress.getLoopbackAddress() : a, s.getLocalPort());
    }

    /** The open session whose credentials these are, or null. */
    Session authenticate(UUID build, String secret) {
        Session s = sessions.get(build);
        return s != null && s.accepts(secret) ? s : null;
    }

    @Override
    public synchronized void start() {
        if (server != null) {
            return;
        }
        String listen = properties.listen();
        int colon = listen.lastIndexOf(':');
        try {
            ServerSocket s = new ServerSocket();
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getByName(listen.substring(0, colon)),
                    Integer.parseInt(listen.substring(colon + 1))), 128);
            peerAddress = EgressRelay.peerAddress(properties.peerAddress(), s.getInetAddress(), s.getLocalPort());
            server = s;
        } catch (IOException e) {
            throw new UncheckedIOException("gateway.egress.listen " + listen + ": " + e.getMessage(), e);
        }
        workers = new ThreadPoolExecutor(0, properties.maxConnections(), 60, TimeUnit.SECONDS,
                new SynchronousQueue<>(), r -> {
                    Thread t = new Thread(r, "egress-" + threads.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }, new ThreadPoolExecutor.AbortPolicy());
        acceptor = new Thread(this::accept, "egress-accept");
        acceptor.setDaemon(true);
        acceptor.start();
        log.info("egress proxy listening on {}:{}; other replicas reach it at {}",
                server.getInetAddress().getHostAddress(), server.getLocalPort(), peerAddress);
    }

    private void accept() {
        ServerSocket s = server;
        while (s != null && !s.isClosed()) {
            try {
                Socket client = s.accept();
                try {
                    workers.execute(() -> new ProxyExchange(this, client, upstream, properties, clock, records)
                            .run());
                } catch (java.util.concurrent.RejectedExecutionException busy) {
                    // Every worker busy: this connection is turned away at once. Run here instead (as before), it
                    // held the accept thread, and with it every build's egress, for as long as its client liked.
                    refuseBusy(client);
                }
            } catch (SocketException e) {
                return; // closed
            } catch (IOException | RuntimeException e) {
                log.warn("egress proxy: accept failed: {}", e.toString());
            }
        }
    }

    private void refuseBusy(Socket client) {
        try (client) {
            client.setSoTimeout(1_000);
            client.getOutputStream().write(("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0"
                    + "\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        } catch (IOException e) {
            // gone already
        }
        String source = client.getInetAddress().getHostAddress();
        log.warn("egress proxy: all {} workers busy; a connection from {} was turned away (503)",
                properties.maxConnections(), source);
        try {
            records.busy(source, properties.maxConnections());
        } catch (RuntimeException e) {
            log.warn("egress proxy: could not count a busy refusal: {}", e.toString());
        }
    }

    @Override
    public synchronized void stop() {
        ServerSocket s = server;
        server = null;
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                log.debug("closing the egress listener", e);
            }
        }
        sessions.values().forEach(Session::close);
        if (workers != null) {
            workers.shutdownNow();
        }
    }

    @Override
    public boolean isRunning() {
        return server != null;
    }
}
