package io.buildgateway.shared;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class GroupCommitTest {

    /** An item to write: its target, as an audit event has. */
    private record Item(String target) {
    }

    /** What the writer answers: the item's target and the sequence number it was written at. */
    private record Written(long seq, String target) {
    }

    private static Item record(String target) {
        return new Item(target);
    }

    private static Written event(long seq, Item r) {
        return new Written(seq, r.target());
    }

    @Test
    void callersThatArriveDuringAWriteShareTheNextBatchAndEachGetsItsOwnEvent() throws Exception {
        AtomicLong seq = new AtomicLong();
        List<Integer> batchSizes = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch firstBatchMayFinish = new CountDownLatch(1);
        java.util.function.Function<List<Item>, List<Written>> write = batch -> {
            batchSizes.add(batch.size());
            if (batchSizes.size() == 1) {
                await(firstBatchMayFinish);
            }
            List<Written> out = new ArrayList<>();
            batch.forEach(r -> out.add(event(seq.incrementAndGet(), r)));
            return out;
        };
        // a batch of one goes to the single writer, larger ones to the batch writer: both record their size here
        GroupCommit<Item, Written> group = new GroupCommit<>(write, r -> write.apply(List.of(r)).get(0));
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            Future<Written> first = pool.submit(() -> group.append(record("t0")));
            while (batchSizes.isEmpty()) {
                Thread.onSpinWait();
            }
            List<Future<Written>> others = new ArrayList<>();
            for (int i = 1; i <= 7; i++) {
                String target = "t" + i;
                others.add(pool.submit(() -> group.append(record(target))));
            }
            while (group.queued() < 7) {
                Thread.onSpinWait();
            }
            firstBatchMayFinish.countDown();
            assertThat(first.get(10, TimeUnit.SECONDS).target()).isEqualTo("t0");
            for (int i = 0; i < 7; i++) {
                assertThat(others.get(i).get(10, TimeUnit.SECONDS).target()).isEqualTo("t" + (i + 1));
            }
            assertThat(batchSizes).containsExactly(1, 7);
            assertThat(group.queued()).isZero();
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void manyWritersGetDistinctEventsAndNothingIsLeftBehind() throws Exception {
        AtomicLong seq = new AtomicLong();
        GroupCommit<Item, Written> group = new GroupCommit<>(batch -> {
            List<Written> out = new ArrayList<>();
            batch.forEach(r -> out.add(event(seq.incrementAndGet(), r)));
            return out;
        }, r -> event(seq.incrementAndGet(), r));
        ExecutorService pool = Executors.newFixedThreadPool(16);
        List<Future<List<Long>>> results = new ArrayList<>();
        for (int t = 0; t < 16; t++) {
            int thread = t;
            results.add(pool.submit(() -> {
                List<Long> seqs = new ArrayList<>();
                for (int i = 0; i < 300; i++) {
                    Written e = group.append(record(thread + "/" + i));
                    assertThat(e.target()).isEqualTo(thread + "/" + i);
                    seqs.add(e.seq());
                }
                return seqs;
            }));
        }
        List<Long> all = new ArrayList<>();
        for (Future<List<Long>> f : results) {
            all.addAll(f.get(30, TimeUnit.SECONDS));
        }
        pool.shutdown();
        assertThat(all).hasSize(16 * 300).doesNotHaveDuplicates();
        assertThat(group.queued()).isZero();
    }

    @Test
    void aFailedBatchIsRetriedEventByEventSoOnlyTheBadEventFails() throws Exception {
        AtomicLong seq = new AtomicLong();
        CountDownLatch firstMayFinish = new CountDownLatch(1);
        List<Integer> batches = Collections.synchronizedList(new ArrayList<>());
        List<String> singles = Collections.synchronizedList(new ArrayList<>());
        GroupCommit<Item, Written> group = new GroupCommit<>(batch -> {
            batches.add(batch.size());
            if (batch.stream().anyMatch(r -> r.target().equals("bad"))) {
                throw new IllegalStateException("rolled back");
            }
            List<Written> out = new ArrayList<>();
            batch.forEach(r -> out.add(event(seq.incrementAndGet(), r)));
            return out;
        }, r -> {
            singles.add(r.target());
            if (singles.size() == 1) {
                await(firstMayFinish);
            }
            if (r.target().equals("bad")) {
                throw new IllegalStateException("bad event");
            }
            return event(seq.incrementAndGet(), r);
        });
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            Future<Written> first = pool.submit(() -> group.append(record("first")));
            while (singles.isEmpty()) {
                Thread.onSpinWait();
            }
            Future<Written> good = pool.submit(() -> group.append(record("good")));
            Future<Written> bad = pool.submit(() -> group.append(record("bad")));
            while (group.queued() < 2) {
                Thread.onSpinWait();
            }
            firstMayFinish.countDown();
            assertThat(first.get(10, TimeUnit.SECONDS).target()).isEqualTo("first");
            assertThat(good.get(10, TimeUnit.SECONDS).target()).isEqualTo("good");
            assertThat(org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> bad.get(10, TimeUnit.SECONDS)).getCause()).hasMessage("bad event");
            // the lone first event was written alone; the failed pair was tried as a batch, then event by event
            assertThat(batches).containsExactly(2);
            assertThat(singles).containsExactlyInAnyOrder("first", "good", "bad");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aBatchThatCouldNotReachTheDatabaseFailsForEveryCallerWithoutTryingEachAlone() throws Exception {
        CountDownLatch firstMayFinish = new CountDownLatch(1);
        List<String> singles = Collections.synchronizedList(new ArrayList<>());
        GroupCommit<Item, Written> group = new GroupCommit<>(batch -> {
            throw new org.springframework.dao.DataAccessResourceFailureException("no connection",
                    new java.sql.SQLTransientConnectionException("Connection is not available, request timed out"));
        }, r -> {
            singles.add(r.target());
            if (singles.size() == 1) {
                await(firstMayFinish);
            }
            return event(1, r);
        });
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            Future<Written> first = pool.submit(() -> group.append(record("first")));
            while (singles.isEmpty()) {
                Thread.onSpinWait();
            }
            Future<Written> a = pool.submit(() -> group.append(record("a")));
            Future<Written> b = pool.submit(() -> group.append(record("b")));
            while (group.queued() < 2) {
                Thread.onSpinWait();
            }
            firstMayFinish.countDown();
            assertThat(first.get(10, TimeUnit.SECONDS).target()).isEqualTo("first");
            for (Future<Written> f : List.of(a, b)) {
                assertThat(org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                        () -> f.get(10, TimeUnit.SECONDS)).getCause()).satisfies(
                                e -> assertThat(DatabaseUnavailable.is(e)).isTrue());
            }
            assertThat(singles).containsExactly("first"); // the pair was not tried one by one
            assertThat(group.queued()).isZero();
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aLoneEventThatFailsIsNotWrittenTwice() {
        List<String> singles = new ArrayList<>();
        GroupCommit<Item, Written> group = new GroupCommit<>(batch -> {
            throw new AssertionError("a lone event needs no batch");
        }, r -> {
            singles.add(r.target());
            throw new IllegalStateException("committed, then found wrong");
        });
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> group.append(record("x")));
        assertThat(singles).containsExactly("x");
        assertThat(group.queued()).isZero();
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(10, TimeUnit.SECONDS)) {
                throw new AssertionError("the test never released the batch");
            }
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
