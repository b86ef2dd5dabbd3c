package io.buildgateway.shared;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The periodic tasks of a bean run only while the application is ready and the context runs the bean: a paused
 * context (Spring's test context cache) or a stopping replica polls nothing.
 */
class PeriodicTasksTest {

    /** Records what was scheduled, with which delays, and holds the real runs an hour away. */
    static final class Recording extends ScheduledThreadPoolExecutor {
        final List<String> calls = new ArrayList<>();
        final List<ScheduledFuture<?>> futures = new ArrayList<>();

        Recording() {
            super(1);
        }

        @Override
        public ScheduledFuture<?> scheduleWithFixedDelay(Runnable task, long initialDelay, long delay, TimeUnit unit) {
            calls.add(unit.toMillis(initialDelay) + "/" + unit.toMillis(delay));
            ScheduledFuture<?> f = super.scheduleWithFixedDelay(task, 1, 1, TimeUnit.HOURS);
            futures.add(f);
            return f;
        }
    }

    private final Recording executor = new Recording();

    @AfterEach
    void shutdown() {
        executor.shutdownNow();
    }

    private PeriodicTasks twoTasks() {
        return new PeriodicTasks(executor).every(Duration.ofMillis(200), Duration.ZERO, () -> { })
                .every(Duration.ofSeconds(10), Duration.ofSeconds(5), () -> { });
    }

    @Test
    void nothingIsScheduledUntilTheApplicationIsReadyAndTheContextRunsTheBean() {
        PeriodicTasks tasks = twoTasks();
        tasks.start(); // the context starts its lifecycle beans before the application is ready
        assertThat(executor.calls).isEmpty();
        assertThat(tasks.isRunning()).isTrue();
        assertThat(tasks.active()).isFalse();
        tasks.ready();
        assertThat(executor.calls).containsExactly("0/200", "5000/10000");
        assertThat(tasks.active()).isTrue();

        PeriodicTasks notStarted = twoTasks();
        notStarted.ready();
        assertThat(executor.calls).hasSize(2);
        assertThat(notStarted.active()).isFalse();
        assertThat(notStarted.isRunning()).isFalse();
    }

    @Test
    void stopCancelsEveryTaskAndARestartRunsThemAtOnce() {
        PeriodicTasks tasks = twoTasks();
        tasks.start();
        tasks.ready();
        List<ScheduledFuture<?>> first = List.copyOf(executor.futures);

        tasks.stop();
        assertThat(first).allMatch(ScheduledFuture::isCancelled);
        assertThat(tasks.isRunning()).isFalse();
        assertThat(tasks.active()).isFalse();
        tasks.stop(); // twice is harmless
        tasks.ready(); // a late ready event does not start a stopped bean's tasks
        assertThat(executor.calls).hasSize(2);

        tasks.start();
        // after a pause the first delays no longer apply: a resumed context checks its hosts at once
        assertThat(executor.calls).containsExactly("0/200", "5000/10000", "0/200", "0/10000");
        tasks.start(); // already running: not scheduled twice
        assertThat(executor.calls).hasSize(4);
        assertThat(executor.futures.subList(2, 4)).noneMatch(ScheduledFuture::isCancelled);
    }

    @Test
    void aStoppedTaskRunsNoMoreOnARealExecutor() throws InterruptedException {
        ScheduledThreadPoolExecutor real = new ScheduledThreadPoolExecutor(1);
        try {
            AtomicInteger runs = new AtomicInteger();
            CountDownLatch three = new CountDownLatch(3);
            PeriodicTasks tasks = new PeriodicTasks(real).every(Duration.ofMillis(5), Duration.ZERO, () -> {
                runs.incrementAndGet();
                three.countDown();
            });
            tasks.ready();
            assertThat(three.await(1, TimeUnit.MILLISECONDS)).isFalse(); // not started: nothing ran
            tasks.start();
            assertThat(three.await(30, TimeUnit.SECONDS)).isTrue();
            tasks.stop();
            int atStop = runs.get();
            Thread.sleep(100); // twenty intervals
            assertThat(runs.get()).isLessThanOrEqualTo(atStop + 1); // at most the run under way at the stop
        } finally {
            real.shutdownNow();
        }
    }

    @Test
    void anOwnerIsASmartLifecycleByItsTasks() {
        PeriodicTasks tasks = twoTasks();
        PeriodicTasks.Owner owner = () -> tasks;
        tasks.ready();
        assertThat(owner.isAutoStartup()).isTrue();
        assertThat(owner.isPauseable()).isTrue(); // Spring's test context cache may pause it
        owner.start();
        assertThat(owner.isRunning()).isTrue();
        assertThat(executor.calls).hasSize(2);
        owner.stop();
        assertThat(owner.isRunning()).isFalse();
        assertThat(executor.futures).allMatch(ScheduledFuture::isCancelled);
    }

    @Test
    void anIntervalMustBePositive() {
        PeriodicTasks tasks = new PeriodicTasks(executor);
        assertThatThrownBy(() -> tasks.every(Duration.ZERO, Duration.ZERO, () -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("positive interval");
    }
}
