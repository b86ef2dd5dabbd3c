package io.buildgateway.audit;

import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Timestamp;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.event.EventListener;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Sends the trail to the SIEM as it grows: each configured sink (syslog, file) has a worker that reads the events
 * after its cursor ({@code audit_export_cursor}), sends them and moves the cursor, in one transaction that holds the
 * cursor's row ({@code FOR UPDATE SKIP LOCKED}: of several replicas, one sends a batch while the others skip). A commit
 * that appended events wakes this replica's workers at once; the others find them within {@code poll-interval}. When
 * the receiver is unreachable the cursor stays, and the worker retries with a doubling wait up to {@code retry-max}:
 * after an outage or a restart, the export resumes where it stopped (at least once).
 */
@Component
class AuditExport implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(AuditExport.class);

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final AuditProperties.Export properties;
    private final Clock clock;
    private final List<Worker> workers = new ArrayList<>();
    private final ExportSink syslog;
    /** Whether the context runs this bean (SmartLifecycle); the workers wait while it does not. */
    private volatile boolean active;

    AuditExport(JdbcTemplate jdbc, TransactionTemplate tx, AuditProperties properties, Clock clock, AuditTrail trail) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.properties = properties.export();
        this.clock = clock;
        this.syslog = this.properties.syslog().enabled() ? new SyslogSink(this.properties.syslog()) : null;
        if (syslog != null) {
            workers.add(new Worker(syslog));
        }
        if (this.properties.file().enabled()) {
            workers.add(new Worker(new FileExportSink(this.properties.file().path(), this.properties.file().cursor())));
        }
        trail.afterCommit(this::wake);
    }

    @EventListener(ApplicationReadyEvent.class)
    void ready() {
        for (Worker w : workers) {
            ensureCursor(w.sink.cursor());
            w.thread.start();
            log.info("audit export to {} (cursor '{}') started", w.sink.describe(), w.sink.cursor());
        }
    }

    /**
     * The workers read the trail only while the context runs this bean: a stopped or paused context (Spring's test
     * context cache) leaves the cursor to the others and, started again, exports from it at once (PeriodicTasks says
     * why the loops of a context stop with it).
     */
    @Override
    public void start() {
        active = true;
        wake();
    }

    @Override
    public void stop() {
        active = false;
    }

    @Override
    public boolean isRunning() {
        return active;
    }

    @PreDestroy
    void close() throws InterruptedException {
        for (Worker w : workers) {
            w.stop();
        }
        for (Worker w : workers) {
            w.thread.join(10_000);
            w.sink.close();
        }
    }

    void wake() {
        for (Worker w : workers) {
            w.wake();
        }
    }

    /** Sends a signed checkpoint over syslog at once, when syslog export and its checkpoints are on. */
    void checkpoint(Checkpoint checkpoint) {
        if (syslog == null || !properties.syslog().checkpoints()) {
            return;
        }
        try {
            syslog.checkpoint(checkpoint);
        } catch (IOException e) {
            log.warn("audit checkpoint seq {} not sent to {}: {}", checkpoint.seq(), syslog.describe(), e.toString());
        }
    }

    void ensureCursor(String cursor) {
        jdbc.update("insert into audit_export_cursor (sink, seq, updated_at) values (?, 0, ?) on conflict (sink)"
                + " do nothing", cursor, Timestamp.from(clock.instant()));
    }

    /**
     * One round for a sink: the events after its cursor (one batch), sent, and the cursor moved past them. Returns how
     * many were sent, or -1 when another replica holds the cursor.
     *
     * @throws UncheckedIOException when the sink failed; the cursor has not moved
     */
    int exportOnce(ExportSink sink) {
        Integer sent = tx.execute(s -> {
            List<Long> cursor = jdbc.queryForList("select seq from audit_export_cursor where sink = ?"
                    + " for update skip locked", Long.class, sink.cursor());
            if (cursor.isEmpty()) {
                return -1;
            }
            List<AuditEvent> events = jdbc.query("select " + ChainReader.COLUMNS + " from audit_event where seq > ?"
                    + " order by seq limit ?", (rs, i) -> ChainReader.event(rs), cursor.get(0),
                    properties.batchSize());
            if (events.isEmpty()) {
                return 0;
            }
            try {
                sink.send(events);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            jdbc.update("update audit_export_cursor set seq = ?, updated_at = ? where sink = ?",
                    events.get(events.size() - 1).seq(), Timestamp.from(clock.instant()), sink.cursor());
            return events.size();
        });
        return sent == null ? 0 : sent;
    }

    /** A sink's loop on a thread of its own. */
    private final class Worker implements Runnable {
        private final ExportSink sink;
        private final Thread thread;
        private final Object signal = new Object();
        private boolean woken;
        private volatile boolean running = true;

        Worker(ExportSink sink) {
            this.sink = sink;
            this.thread = new Thread(this, "audit-export-" + sink.cursor());
            this.thread.setDaemon(true);
        }

        @Override
        public void run() {
            long poll = properties.pollInterval().toMillis();
            long delay = poll;
            boolean failing = false;
            while (running) {
                if (!active) {
                    await(poll, true); // paused or stopping: no read until the context runs the bean again
                    continue;
                }
                boolean more = false;
                try {
                    int sent = exportOnce(sink);
                    more = sent == properties.batchSize();
                    if (failing) {
                        log.info("audit export to {} resumed", sink.describe());
                        failing = false;
                    }
                    delay = poll;
                } catch (RuntimeException e) {
                    if (!failing) {
                        log.warn("audit export to {} failed, retrying (the cursor stays where it is): {}",
                                sink.describe(), e.getCause() != null ? e.getCause().toString() : e.toString());
                    }
                    failing = true;
                    delay = Math.min(Math.max(delay, poll) * 2, properties.retryMax().toMillis());
                }
                if (!more) {
                    await(failing ? delay : poll, !failing);
                }
            }
        }

        private void await(long millis, boolean wakeable) {
            long deadline = System.nanoTime() + millis * 1_000_000L;
            synchronized (signal) {
                long left;
                while (running && !(wakeable && woken) && (left = deadline - System.nanoTime()) > 0) {
                    try {
                        signal.wait(Math.max(1, left / 1_000_000L));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        running = false;
                    }
                }
                woken = false;
            }
        }

        void wake() {
            synchronized (signal) {
                woken = true;
                signal.notifyAll();
            }
        }

        void stop() {
            running = false;
            thread.interrupt();
        }
    }
}
