package io.buildgateway.audit;

import io.buildgateway.shared.AuditRecord;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Group commit for events that have no transaction of their own (a refused request, a host's health): callers that
 * arrive while a batch is being written queue up, and the first of them writes all that queued in one transaction,
 * so they share one commit and one disk flush (the chain's lock is held until a commit, so without this every such
 * event waits for its own flush in turn). Every caller returns only after its own event committed. Leadership passes
 * to the next waiting caller after each batch, so no caller keeps writing others' events for long.
 *
 * <p>A batch of one is written by the single writer (a statement that commits itself: no transaction round trips when
 * nobody else is waiting). If a larger batch fails (its transaction rolled back), each of its events is tried again
 * alone, so one bad event cannot take others with it.
 */
final class GroupCommit {

    static final int MAX_BATCH = 256;

    private final Function<List<AuditRecord>, List<AuditEvent>> batchWriter;
    private final Function<AuditRecord, AuditEvent> singleWriter;
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    private boolean writing;

    GroupCommit(Function<List<AuditRecord>, List<AuditEvent>> batchWriter,
            Function<AuditRecord, AuditEvent> singleWriter) {
        this.batchWriter = batchWriter;
        this.singleWriter = singleWriter;
    }

    private static final class Pending {
        final AuditRecord record;
        AuditEvent event;
        RuntimeException error;
        boolean done;
        boolean lead;

        Pending(AuditRecord record) {
            this.record = record;
        }
    }

    AuditEvent append(AuditRecord record) {
        Pending me = new Pending(record);
        synchronized (this) {
            queue.add(me);
            if (!writing) {
                writing = true;
                me.lead = true;
            }
        }
        boolean interrupted = false;
        while (true) {
            synchronized (this) {
                while (!me.done && !me.lead) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        interrupted = true; // the event is queued: it is written whatever happens to this thread
                    }
                }
                if (me.done) {
                    if (interrupted) {
                        Thread.currentThread().interrupt();
                    }
                    if (me.error != null) {
                        throw me.error;
                    }
                    return me.event;
                }
                me.lead = false;
            }
            writeOneBatch();
        }
    }

    /** Events waiting for a writer (for tests). */
    synchronized int queued() {
        return queue.size();
    }

    private void writeOneBatch() {
        List<Pending> batch = new ArrayList<>();
        synchronized (this) {
            while (!queue.isEmpty() && batch.size() < MAX_BATCH) {
                batch.add(queue.poll());
            }
        }
        try {
            List<AuditRecord> records = new ArrayList<>(batch.size());
            batch.forEach(p -> records.add(p.record));
            List<AuditEvent> events;
            if (batch.size() == 1) {
                // alone: one self-committing statement, no transaction around it (and no retry: it may have committed)
                try {
                    batch.get(0).event = singleWriter.apply(batch.get(0).record);
                } catch (RuntimeException e) {
                    batch.get(0).error = e;
                }
                return;
            }
            try {
                events = batchWriter.apply(records);
                for (int i = 0; i < batch.size(); i++) {
                    batch.get(i).event = events.get(i);
                }
            } catch (RuntimeException failed) {
                for (Pending p : batch) {
                    try {
                        p.event = singleWriter.apply(p.record);
                    } catch (RuntimeException e) {
                        p.error = e;
                    }
                }
            }
        } catch (Error e) {
            batch.forEach(p -> p.error = new IllegalStateException("audit append failed: " + e, e));
            throw e;
        } finally {
            synchronized (this) {
                batch.forEach(p -> p.done = true);
                Pending next = queue.peek();
                if (next == null) {
                    writing = false;
                } else {
                    next.lead = true;
                }
                notifyAll();
            }
        }
    }
}
