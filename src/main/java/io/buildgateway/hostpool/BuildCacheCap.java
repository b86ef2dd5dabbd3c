package io.buildgateway.hostpool;

import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.RequestInfo;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The BuildKit cache of each build host, held under the host's cap ({@code hosts[].build-cache-max}): its size read at
 * health checks and after each build (shown by {@code GET /api/v1/hosts}, gauge {@code gateway.hostpool.cache.size}),
 * pruned least recently used first when it is over the cap.
 */
final class BuildCacheCap {

    private static final Logger log = LoggerFactory.getLogger(BuildHosts.class);

    private final DockerClients clients;
    private final MeterRegistry meters;
    private final Consumer<Object> events;
    /**
     * One thread of its own ({@code host-cache}): prunes of one host never overlap, a build's result does not wait,
     * and a prune that takes long (or a daemon that stops answering during one) never holds the health checks.
     */
    private final Executor checker;
    /** The last build cache size read per BuildKit host (health checks and the end of each build). */
    private final Map<String, Long> cacheBytes = new ConcurrentHashMap<>();

    BuildCacheCap(DockerClients clients, MeterRegistry meters, Consumer<Object> events,
            Executor checker) {
        this.clients = clients;
        this.meters = meters;
        this.events = events;
        this.checker = checker;
    }

    /** The cache size last read on the host; null when never read. */
    Long bytes(String host) {
        return cacheBytes.get(host);
    }

    /**
     * After a BuildKit build, whatever its outcome: reads the host's build cache and, above the host's cap, prunes it
     * down to the cap (least recently used first), on the cache's own thread so that the build's result does
     * not wait, prunes of one host never overlap and health checks never wait for a prune. Each prune is audited ({@code host.cache-pruned}) and timed
     * ({@code gateway.hostpool.cache.prune}).
     */
    void afterBuild(HostPoolProperties.Host host, String buildId) {
        try {
            checker.execute(() -> enforceCap(host, buildId));
        } catch (RejectedExecutionException e) {
            log.debug("the gateway is stopping: the build cache of {} is not checked after build {}", host.name(),
                    buildId);
        }
    }

    /**
     * Reads the host's build cache size; null when the daemon did not answer within 10 s (health reports the
     * daemon). Health checks call it: the bounded transport keeps a daemon paused mid-read from stopping them.
     */
    BuildCache.Usage readCache(HostPoolProperties.Host host) {
        try {
            BuildCache.Usage usage = BuildCache.usage(clients.controlHttp(host));
            if (cacheBytes.put(host.name(), usage.bytes()) == null) {
                Gauge.builder("gateway.hostpool.cache.size", cacheBytes,
                        m -> m.getOrDefault(host.name(), 0L)).tag("host", host.name()).baseUnit("bytes")
                        .description("the BuildKit build cache of a build host, as last read").register(meters);
            }
            return usage;
        } catch (IOException | RuntimeException e) {
            log.warn("cannot read the build cache of {}: {}", host.name(), BuildHosts.summary(e));
            return null;
        }
    }

    void enforceCap(HostPoolProperties.Host host, String buildId) {
        BuildCache.Usage before = readCache(host);
        if (before == null || host.buildCacheMax() == null || before.bytes() <= host.buildCacheMax().toBytes()) {
            return;
        }
        long cap = host.buildCacheMax().toBytes();
        long t0 = System.nanoTime();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("host", host.name());
        details.put("build", buildId);
        details.put("cap", cap);
        details.put("bytesBefore", before.bytes());
        details.put("bytesInUseBefore", before.inUseBytes());
        Outcome outcome;
        try {
            long unusedFor = host.buildCacheUnusedFor() == null ? 0 : host.buildCacheUnusedFor().toSeconds();
            long reclaimed = BuildCache.prune(clients.maintenanceHttp(host), cap, unusedFor > 0 ? unusedFor + "s" : null);
            BuildCache.Usage after = readCache(host);
            details.put("bytesAfter", after == null ? null : after.bytes());
            // What a prune cannot remove yet (a running build's records); the next build's check prunes again.
            details.put("bytesInUseAfter", after == null ? null : after.inUseBytes());
            details.put("reclaimed", reclaimed);
            outcome = Outcome.SUCCESS;
            log.info("build cache of {} pruned from {} to {} bytes (cap {}) after build {}", host.name(),
                    before.bytes(), after == null ? "?" : after.bytes(), cap, buildId);
        } catch (IOException | RuntimeException e) {
            details.put("error", BuildHosts.summary(e));
            outcome = Outcome.FAILED;
            log.warn("pruning the build cache of {} failed: {}", host.name(), BuildHosts.summary(e));
        }
        long nanos = System.nanoTime() - t0;
        details.put("durationMs", TimeUnit.NANOSECONDS.toMillis(nanos));
        Timer.builder("gateway.hostpool.cache.prune").tag("host", host.name())
                .tag("outcome", outcome.name().toLowerCase(Locale.ROOT))
                .description("one prune of a build host's BuildKit cache down to its cap").register(meters)
                .record(nanos, TimeUnit.NANOSECONDS);
        AuditRecord record = new AuditRecord("host.cache-pruned", "host/" + host.name(), outcome, details,
                RequestInfo.system());
        try {
            events.accept(record);
        } catch (RuntimeException e) {
            // A removal cannot wait for the database (docs/audit.md, removals): its event is in the log instead, not
            // thrown to the cache thread's default handler. The next build's check prunes (and audits) again.
            log.error("build cache of {}: the prune could not be audited: {} {} {} {}: {}", host.name(),
                    record.action(), record.target(), outcome, details, BuildHosts.summary(e));
        }
    }
}
