package io.buildgateway.hostpool;

import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.DaemonThreads;
import io.buildgateway.shared.RequestInfo;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Build hosts that live for one build (SLSA Build L3's "ephemeral"): a host is started, checked (its daemon must
 * report user-namespace remapping and be new enough for BuildKit), given to one build and destroyed afterwards,
 * whatever the build's outcome. A small warm pool of started, idle hosts spares users the daemon's start; it is
 * refilled in the background after every hand-out. A host is never given to a second build.
 *
 * <p>Subclasses say how a host is started and destroyed ({@link LocalEphemeralHosts}: scripts/buildhost.sh;
 * {@link KubernetesEphemeralHosts}: a Pod). Starts and hand-outs are audited ({@code host.ephemeral-started},
 * {@code host.ephemeral-acquired}), so are teardowns ({@code host.ephemeral-destroyed}, FAILED when something was
 * left). A host whose start or hand-out cannot be audited (the database away) is destroyed and given to no build; a
 * teardown whose event cannot be written is logged at ERROR with the event's details.
 */
abstract class EphemeralHosts implements BuildHostProvider, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EphemeralHosts.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    /** A started host, before its check. */
    protected record Started(HostPoolProperties.Host host, Map<String, String> facts) {
    }

    /** Checks a started host's daemon and returns its {@code ID}; throws with the reason it is refused. */
    @FunctionalInterface
    interface Verifier {
        String verify(HostPoolProperties.Host host) throws Exception;
    }

    private final HostPoolProperties.Ephemeral config;
    private final Verifier verifier;
    private final Consumer<AuditRecord> audit;
    private final LinkedBlockingDeque<Lease> warm = new LinkedBlockingDeque<>();
    private final AtomicInteger starting = new AtomicInteger();
    /** Every host started and not yet destroyed (warm, leased, being destroyed). */
    private final Set<String> live = ConcurrentHashMap.newKeySet();
    private final ExecutorService starter;
    private final ExecutorService teardown;
    private volatile boolean closed;
    private volatile String lastError;
    private volatile boolean failing;
    private volatile long lastStartMillis = -1;

    EphemeralHosts(HostPoolProperties.Ephemeral config, Verifier verifier, Consumer<AuditRecord> audit) {
        this.config = config;
        this.verifier = verifier;
        this.audit = audit;
        this.starter = Executors.newFixedThreadPool(2, DaemonThreads.named("ephemeral-host-start"));
        this.teardown = Executors.newFixedThreadPool(2, DaemonThreads.named("ephemeral-host-stop"));
    }

    /** Starts the host {@code id}; returns how to reach it once its daemon answers. */
    protected abstract Started start(String id, Duration timeout) throws Exception;

    /**
     * Destroys the host {@code id} and everything it had; returns what could not be removed (empty: nothing left).
     * Must be safe on a host that was never (fully) started.
     */
    protected abstract List<String> destroy(String id) throws Exception;

    /** Hosts of this provider that exist but are not known to this process (left by a gateway that died). */
    protected abstract List<String> orphans() throws Exception;

    /** Which provider, for logs and the audit trail. */
    protected abstract String kind();

    String name() {
        return config.name();
    }

    int capacity() {
        return config.maxHosts();
    }

    /** Whether a build queued now can expect a host: the last start (if any) succeeded. */
    boolean healthy() {
        return !closed && !failing;
    }

    String lastError() {
        return lastError;
    }

    /** Milliseconds the last start took (start and check), -1 before the first. */
    long lastStartMillis() {
        return lastStartMillis;
    }

    int warmCount() {
        return warm.size();
    }

    /** The ids of every host that exists now (warm, in use, being destroyed). */
    Set<String> live() {
        return Set.copyOf(live);
    }

    /** Destroys what an earlier gateway left, then fills the warm pool. */
    void begin() {
        try {
            for (String id : orphans()) {
                if (!live.contains(id)) {
                    log.warn("destroying ephemeral build host {} left by an earlier run", id);
                    live.add(id);
                    teardown.execute(() -> destroyAndAudit(id, null, "left by an earlier run"));
                }
            }
        } catch (Exception e) {
            log.warn("could not list ephemeral build hosts left by an earlier run: {}", BuildHosts.summary(e));
        }
        refill();
    }

    @Override
    public Lease acquire(String pool, String buildId) throws Unavailable {
        if (closed) {
            throw new Unavailable("the gateway is shutting down", null);
        }
        Lease lease;
        boolean fromWarm = true;
        while (true) {
            lease = warm.pollFirst();
            if (lease == null) {
                fromWarm = false;
                try {
                    lease = startChecked();
                } catch (Exception e) {
                    refill();
                    throw new Unavailable("no ephemeral build host could be started: " + BuildHosts.summary(e), e);
                }
                break;
            }
            // A warm host may have died while idle: checked again (its daemon id is read now, for the record).
            try {
                String id = verifier.verify(lease.host());
                lease = new Lease(lease.pool(), lease.host(), lease.instance(), id, lease.facts());
                break;
            } catch (Exception e) {
                log.warn("warm ephemeral host {} failed its check and is destroyed: {}", lease.instance(),
                        BuildHosts.summary(e));
                String gone = lease.instance();
                teardown.execute(() -> destroyAndAudit(gone, null, "failed its check while warm"));
            }
        }
        refill();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("host", lease.instance());
        details.put("provider", kind());
        details.put("daemonId", lease.daemonId());
        details.put("warm", fromWarm);
        details.put("build", buildId);
        details.putAll(lease.facts());
        AuditRecord acquired = new AuditRecord("host.ephemeral-acquired", target(lease.instance()), Outcome.SUCCESS,
                details, RequestInfo.system());
        try {
            audit.accept(acquired);
        } catch (RuntimeException e) {
            // The trail could not say which build had the host: it is given to none and destroyed (its teardown is
            // audited, or logged at ERROR); the warm pool refills itself.
            log.error("ephemeral build host {} is not given to build {}: its event could not be written ({} {}: {}),"
                    + " the host is destroyed: {}", lease.instance(), buildId, acquired.action(), acquired.target(),
                    details, BuildHosts.summary(e));
            destroyLater(lease.instance(), lease.daemonId(), "its hand-out could not be audited");
            throw new Unavailable("the hand-out of an ephemeral build host could not be audited: "
                    + BuildHosts.summary(e), e);
        }
        return lease;
    }

    @Override
    public void release(Lease lease) {
        if (lease == null || !lease.ephemeral()) {
            return;
        }
        destroyLater(lease.instance(), lease.daemonId(), "build ended");
    }

    /** Destroys the host on a teardown thread (on this one once the gateway stops). */
    private void destroyLater(String id, String daemonId, String why) {
        try {
            teardown.execute(() -> destroyAndAudit(id, daemonId, why));
        } catch (RejectedExecutionException shutDown) {
            destroyAndAudit(id, daemonId, why);
        }
    }

    private String target(String id) {
        return "host/" + config.name() + "/" + id;
    }

    private Lease startChecked() throws Exception {
        String id = "h" + HexFormat.of().formatHex(bytes(5));
        live.add(id);
        long t0 = System.nanoTime();
        Started started;
        String daemonId;
        try {
            started = start(id, config.startTimeout());
            daemonId = verifier.verify(started.host());
        } catch (Exception e) {
            failing = true;
            lastError = "starting an ephemeral host failed: " + BuildHosts.summary(e);
            log.warn("ephemeral host {} did not start: {}", id, BuildHosts.summary(e));
            destroyLater(id, null, "failed to start");
            throw e;
        }
        long millis = (System.nanoTime() - t0) / 1_000_000;
        lastStartMillis = millis;
        failing = false;
        lastError = null;
        log.info("ephemeral build host {} ({}) started in {} ms, daemon {}", id, kind(), millis, daemonId);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("provider", kind());
        details.put("daemonId", daemonId);
        details.put("startMillis", millis);
        details.putAll(started.facts());
        AuditRecord record = new AuditRecord("host.ephemeral-started", target(id), Outcome.SUCCESS, details,
                RequestInfo.system());
        try {
            audit.accept(record);
        } catch (RuntimeException e) {
            // A running host the trail does not know of is given to no build: it is torn down now (its teardown is
            // audited, or logged at ERROR) rather than kept with its event to retry, which would need a host alive
            // outside the pool's bookkeeping until the database is back. Counted as a failed start, so the warm pool
            // does not start host after host while the database is away.
            failing = true;
            lastError = "the start of ephemeral host " + id + " could not be audited: " + BuildHosts.summary(e);
            log.error("ephemeral build host {} is destroyed: its start could not be audited ({} {}: {}): {}", id,
                    record.action(), record.target(), details, BuildHosts.summary(e));
            destroyLater(id, daemonId, "its start could not be audited");
            throw e;
        }
        return new Lease(config.name(), started.host(), id, daemonId, started.facts());
    }

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    /** Starts hosts in the background until {@code warm} are idle (or being started). */
    synchronized void refill() {
        while (!closed && warm.size() + starting.get() < config.warm()) {
            starting.incrementAndGet();
            starter.execute(() -> {
                try {
                    Lease lease = startChecked();
                    if (closed) {
                        teardown.execute(() -> destroyAndAudit(lease.instance(), lease.daemonId(), "shutdown"));
                    } else {
                        warm.addLast(lease);
                    }
                } catch (Exception e) {
                    // recorded in lastError; the next hand-out or health round tries again
                } finally {
                    starting.decrementAndGet();
                }
            });
            if (failing) {
                // one try per round while starts fail, not a tight loop
                break;
            }
        }
    }

    private void destroyAndAudit(String id, String daemonId, String why) {
        long t0 = System.nanoTime();
        List<String> left;
        String error = null;
        try {
            left = destroy(id);
        } catch (Exception e) {
            error = BuildHosts.summary(e);
            left = List.of("destroy failed: " + error);
        } finally {
            live.remove(id);
        }
        long millis = (System.nanoTime() - t0) / 1_000_000;
        if (left.isEmpty()) {
            log.info("ephemeral build host {} destroyed in {} ms ({})", id, millis, why);
        } else {
            log.error("ephemeral build host {} was not fully removed ({}): {}", id, why, left);
            lastError = "ephemeral host " + id + " left: " + String.join("; ", left);
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("provider", kind());
        details.put("daemonId", daemonId);
        details.put("reason", why);
        details.put("stopMillis", millis);
        details.put("leftovers", left);
        AuditRecord record = new AuditRecord("host.ephemeral-destroyed", target(id),
                left.isEmpty() ? Outcome.SUCCESS : Outcome.FAILED, details, RequestInfo.system());
        try {
            audit.accept(record);
        } catch (RuntimeException e) {
            // A removal cannot wait for the database (docs/audit.md, removals): its event is in the log instead.
            log.error("ephemeral build host {}: its removal could not be audited: {} {} {} {}: {}", id,
                    record.action(), record.target(), record.outcome(), details, BuildHosts.summary(e));
        }
    }

    /**
     * Destroys the warm hosts and waits for every teardown (and start under way) to end, up to {@code wait}.
     * Hosts still given to builds are destroyed when those builds release them.
     */
    boolean drain(Duration wait) {
        closed = true;
        starter.shutdown();
        try {
            starter.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS);
            Lease lease;
            while ((lease = warm.pollFirst()) != null) {
                Lease l = lease;
                teardown.execute(() -> destroyAndAudit(l.instance(), l.daemonId(), "shutdown"));
            }
            Instant end = Instant.now().plus(wait);
            while (!live.isEmpty() && Instant.now().isBefore(end)) {
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return live.isEmpty();
    }

    @Override
    public void close() {
        drain(config.startTimeout());
        teardown.shutdown();
    }
}
