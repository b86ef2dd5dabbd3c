package io.buildgateway.inventory.notify;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.DaemonThreads;
import io.buildgateway.shared.PeriodicTasks;
import io.buildgateway.shared.RequestInfo;
import jakarta.annotation.PreDestroy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Delivers what {@link Notifications} queued, on every replica: a poll every {@code poll-interval} (and at once after
 * a commit that queued something) claims due rows with {@code FOR UPDATE SKIP LOCKED}, attempts each on a small pool
 * of its own threads (never on Spring's shared scheduler, which a slow receiver would stall), and records the
 * outcome. No database connection or row lock is held while a receiver is called: the claim moves the row's due
 * time to the end of a lease instead, so a replica that dies mid-attempt leaves the row for another to retry.
 * Delivery is therefore at least once; receivers deduplicate on {@code X-BuildGateway-Delivery}.
 */
@Component
class DeliveryWorker implements PeriodicTasks.Owner {

    private static final Logger log = LoggerFactory.getLogger(DeliveryWorker.class);
    /** Attempts in flight per replica; also the claim batch, so nothing claimed waits for a thread. */
    static final int PARALLELISM = 4;

    private final DeliveryStore store;
    private final WebhookSender webhooks;
    private final EmailSender email;
    private final Backoff backoff;
    private final Duration pollInterval;
    private final int webhookCount;
    private final Duration lease;
    private final TransactionTemplate tx;
    private final ApplicationEventPublisher events;
    private final NotificationMetrics metrics;
    private final Clock clock;
    private final ScheduledExecutorService loop;
    private final ExecutorService senders;
    /** The poll every poll-interval, while the context runs this bean. */
    private final PeriodicTasks periodic;
    private final AtomicBoolean drainQueued = new AtomicBoolean();
    private final AtomicInteger threads = new AtomicInteger();

    DeliveryWorker(DeliveryStore store, WebhookSender webhooks, EmailSender email, NotificationProperties properties,
            TransactionTemplate tx, ApplicationEventPublisher events, NotificationMetrics metrics, Clock clock) {
        this.store = store;
        this.webhooks = webhooks;
        this.email = email;
        this.backoff = Backoff.of(properties.retry());
        this.pollInterval = properties.pollInterval();
        this.webhookCount = properties.webhooks().size();
        // Longer than any one attempt can take (NotificationProperties checks it), so a live replica's attempt is
        // never taken over while it is still running.
        this.lease = properties.lease();
        this.tx = tx;
        this.events = events;
        this.metrics = metrics;
        this.clock = clock;
        this.loop = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("notify-poll"));
        this.periodic = new PeriodicTasks(loop).every(pollInterval, Duration.ZERO, this::poll);
        this.senders = Executors.newFixedThreadPool(PARALLELISM,
                r -> daemon(r, "notify-send-" + threads.incrementAndGet()));
    }

    @EventListener(ApplicationReadyEvent.class)
    void ready() {
        log.info("notifications: {} webhook(s), e-mail {}, polling every {}", webhookCount,
                email.enabled() ? "via the SMTP relay" : "off", pollInterval);
        periodic.ready();
    }

    /** The poll pauses with the context and resumes at once when it runs again (PeriodicTasks). */
    @Override
    public PeriodicTasks periodicTasks() {
        return periodic;
    }

    @PreDestroy
    void close() {
        loop.shutdownNow();
        senders.shutdownNow();
    }

    /** After a commit that queued deliveries: attempt them now rather than at the next poll. */
    void wake() {
        if (periodic.active() && drainQueued.compareAndSet(false, true)) {
            try {
                loop.execute(this::poll);
            } catch (RejectedExecutionException e) {
                drainQueued.set(false); // shutting down; the rows wait for the next start
            }
        }
    }

    private void poll() {
        drainQueued.set(false);
        try {
            drain();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.warn("notification poll failed; retrying at the next poll: {}", e.toString());
        }
    }

    /** Claims and attempts due deliveries until none is due. */
    void drain() throws InterruptedException {
        while (true) {
            Instant now = now();
            List<Delivery> claimed = store.claimDue(now, PARALLELISM, now.plus(lease));
            if (claimed.isEmpty()) {
                return;
            }
            List<Future<?>> running = new ArrayList<>();
            for (Delivery d : claimed) {
                running.add(senders.submit(() -> attemptSafely(d)));
            }
            for (Future<?> f : running) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    log.warn("notification attempt failed unexpectedly: {}", e.getCause().toString());
                }
            }
        }
    }

    private void attemptSafely(Delivery d) {
        try {
            AttemptResult result = d.channel() == Channel.WEBHOOK ? webhooks.send(d, now()) : email.send(d, now());
            record(d, result);
        } catch (InterruptedException e) {
            // Shutting down mid-attempt: the row keeps its lease and is retried when that passes.
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.warn("notification {} attempt {} could not be recorded; it is retried after its lease: {}", d.id(),
                    d.attempts(), e.toString());
        }
    }

    /** Writes the outcome, and audits a delivery that will not be retried, in one transaction. */
    void record(Delivery d, AttemptResult result) {
        Instant now = now();
        String outcome = tx.execute(s -> {
            switch (result.kind()) {
                case DELIVERED:
                    return delivered(d, now, result.statusCode());
                case TRANSIENT:
                    Duration delay = backoff.delayAfter(d.attempts());
                    if (delay != null) {
                        return store.retryAt(d, now.plus(delay), result.statusCode(), result.error()) ? "retried"
                                : null;
                    }
                    return fail(d, result.statusCode(), "gave up after " + d.attempts() + " attempts: "
                            + result.error());
                default:
                    return fail(d, result.statusCode(), result.error());
            }
        });
        if (outcome == null) {
            log.info("notification {} attempt {} outcome not recorded: another replica took the delivery over", d.id(),
                    d.attempts());
            return;
        }
        metrics.count(d.channel(), outcome);
        if (!outcome.equals("delivered")) {
            log.info("notification {} to {} ({}) attempt {}: {} {}", d.id(), d.target(), d.channel().value(),
                    d.attempts(), outcome, result.error());
        }
    }

    /** A delivery is audited when it succeeds as when it fails for good (issue #6: notifications delivered/failed). */
    private String delivered(Delivery d, Instant now, Integer statusCode) {
        if (!store.delivered(d, now, statusCode)) {
            return null;
        }
        audit(d, "notification.delivered", Outcome.SUCCESS, statusCode, null);
        return "delivered";
    }

    private String fail(Delivery d, Integer statusCode, String error) {
        if (!store.failed(d, statusCode, error)) {
            return null;
        }
        audit(d, "notification.failed", Outcome.FAILED, statusCode, error);
        return "failed";
    }

    private void audit(Delivery d, String action, Outcome outcome, Integer statusCode, String error) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("deliveryId", d.id().toString());
        details.put("team", d.team());
        details.put("event", d.event());
        details.put("channel", d.channel().value());
        details.put("target", d.target());
        details.put("attempts", d.attempts());
        details.put("statusCode", statusCode);
        if (outcome == Outcome.FAILED) {
            details.put("error", error);
        }
        events.publishEvent(new AuditRecord(action, "notification/" + d.notificationId(), outcome, details,
                RequestInfo.system()));
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }
}
