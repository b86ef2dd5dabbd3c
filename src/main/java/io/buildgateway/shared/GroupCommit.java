package io.buildgateway.shared;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Group commit: callers that arrive while a batch is being written queue up, and the first of them writes all that
 * queued in one transaction, so they share its locks, its round trips and one commit. Every caller returns only after
 * its own item was written (with the writer's result for it). Leadership passes to the next waiting caller after each
 * batch, so no caller keeps writing others' items for long. Used for audit events that have no transaction of their
 * own (a refused request, a host's health: the chain's lock is held until a commit, so without this every such event
 * waits for its own flush in turn) and for a team's accepted submissions ({@code BuildSubmissions}: one team lock,
 * one count and one audit append for the batch instead of one each, behind one another).
 *
 * <p>A batch of one is written by the single writer (for an audit event, a statement that commits itself: no
 * transaction round trips when nobody else is waiting). If a larger batch fails (its transaction rolled back), each of
 * its items is tried again alone, so one bad item cannot take others with it; but not when the database could not be
 * reached ({@link DatabaseUnavailable}): each item alone would wait for a connection in turn (up to the pool's
 * timeout each, one after another on the leader's thread), and a commit whose answer was lost may have written the
 * batch. Every caller of such a batch gets the failure (a 503 to a client, which retries its whole request).
 *
 * @param <I> what a caller asks to be written
 * @param <O> what the writer answers for it
 */
public final class GroupCommit<I, O> {

    static final int MAX_BATCH = 256;

    private final Function<List<I>, List<O>> batchWriter;
    private final Function<I, O> singleWriter;
    private final ArrayDeque<Pending<I, O>> queue = new ArrayDeque<>();
    private boolean writing;

    /**
     * @param batchWriter writes two or more items in one transaction, answering one result per item in their order
     * @param singleWriter writes one item: a batch of one, and each item of a batch that failed
     */
    public GroupCommit(Function<List<I>, List<O>> batchWriter, Function<I, O> singleWriter) {
        this.batchWriter = batchWriter;
        this.singleWriter = singleWriter;
    }

    private static final class Pending<I, O> {
        final I record;
        O event;
        RuntimeException error;
        boolean done;
        boolean lead;

        Pending(I record) {
            this.record = record;
        }
    }

    /** Writes {@code record} with whatever else is queued and answers the writer's result for it. */
    public O append(I record) {
        Pending<I, O> me = new Pending<>(record);
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

    /** Items waiting for a writer (for tests). */
    public synchronized int queued() {
        return queue.size();
    }

    private void writeOneBatch() {
        List<Pending<I, O>> batch = new ArrayList<>();
        synchronized (this) {
            while (!queue.isEmpty() && batch.size() < MAX_BATCH) {
                batch.add(queue.poll());
            }
        }
        try {
            List<I> records = new ArrayList<>(batch.size());
            batch.forEach(p -> records.add(p.record));
            List<O> events;
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
                if (DatabaseUnavailable.is(failed)) {
                    batch.forEach(p -> p.error = failed);
                    return;
                }
                for (Pending<I, O> p : batch) {
                    try {
                        p.event = singleWriter.apply(p.record);
                    } catch (RuntimeException e) {
                        p.error = e;
                    }
                }
            }
        } catch (Error e) {
            batch.forEach(p -> p.error = new IllegalStateException("group commit failed: " + e, e));
            throw e;
        } finally {
            synchronized (this) {
                batch.forEach(p -> p.done = true);
                Pending<I, O> next = queue.peek();
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
