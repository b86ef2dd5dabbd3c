package io.buildgateway.shared;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;

/**
 * Keeps the {@link DatabaseClock} measured: once when the gateway starts, then every
 * {@code gateway.clock.sync-interval} while the application runs (every 2 s until a first measurement succeeds).
 * Metrics: {@code gateway.clock.offset} (seconds, the database's time minus this host's clock) and
 * {@code gateway.clock.since-sync} (seconds since the last measurement). An interval of zero measures nothing: the
 * gateway then reads this host's clock as it is.
 */
final class ClockSync implements PeriodicTasks.Owner {

    static final Duration UNSYNCED_RETRY = Duration.ofSeconds(2);

    private final DatabaseClock clock;
    private final ScheduledExecutorService executor;
    private final PeriodicTasks periodic;

    ClockSync(DatabaseClock clock, Duration interval, MeterRegistry meters) {
        this.clock = clock;
        this.executor = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("clock-sync"));
        this.periodic = new PeriodicTasks(executor);
        if (interval.isNegative()) {
            throw new IllegalArgumentException("gateway.clock.sync-interval must not be negative: " + interval);
        }
        if (!interval.isZero()) {
            periodic.every(interval, interval, clock::sync);
            // A replica that could not measure at its start reads its host's clock until it can: tried every 2 s.
            periodic.every(UNSYNCED_RETRY, UNSYNCED_RETRY, () -> {
                if (!clock.synced()) {
                    clock.sync();
                }
            });
            clock.sync();
        }
        Gauge.builder("gateway.clock.offset", clock, c -> c.offset().toNanos() / 1e9)
                .description("the database's time minus this host's clock, as last measured")
                .baseUnit("seconds").register(meters);
        Gauge.builder("gateway.clock.since-sync", clock, c -> {
            Duration since = c.sinceSync();
            return since == null ? Double.NaN : since.toNanos() / 1e9;
        })
                .description("how long ago the database's time was last measured (NaN: never)")
                .baseUnit("seconds").register(meters);
    }

    @Override
    public PeriodicTasks periodicTasks() {
        return periodic;
    }

    @EventListener(ApplicationReadyEvent.class)
    void ready() {
        periodic.ready();
    }

    @jakarta.annotation.PreDestroy
    void close() {
        executor.shutdownNow();
    }
}
