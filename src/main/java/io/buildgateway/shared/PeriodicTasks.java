package io.buildgateway.shared;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.springframework.context.SmartLifecycle;

/**
 * The periodic tasks of a bean (a poll of the queue, a health check of the hosts), run only while the application is
 * ready and its context runs the bean. The bean implements {@link Owner} (a {@code SmartLifecycle} by its tasks) and
 * calls {@link #ready} when the application is ready.
 *
 * <p>Why: a stopped or paused context asks no daemon or database for anything. Spring's test context cache pauses a
 * context that no test uses; before this, each of make test's cached gateways went on polling its queue and
 * notifications every 200 ms and asking every build host for {@code /info} every 2 s, and by the end of the suite the
 * daemons ran {@code runc --version} ~1,000 times a minute for them (docs/benchmarks.md, "the cached gateways stop
 * polling"). In production the context stops before it closes, so a replica that shuts down claims no new work while
 * it drains.
 *
 * <p>A task's first run after {@link #ready} waits its own first delay; after a restart every task runs at once.
 */
public final class PeriodicTasks {

    /** A bean whose periodic tasks stop and start with its context: {@code SmartLifecycle} by its tasks. */
    public interface Owner extends SmartLifecycle {

        /** The bean's tasks. */
        PeriodicTasks periodicTasks();

        @Override
        default void start() {
            periodicTasks().start();
        }

        @Override
        default void stop() {
            periodicTasks().stop();
        }

        @Override
        default boolean isRunning() {
            return periodicTasks().isRunning();
        }
    }

    private record Task(Runnable body, long firstDelayMillis, long intervalMillis) {
    }

    private final ScheduledExecutorService executor;
    private final List<Task> tasks = new ArrayList<>();
    private final List<ScheduledFuture<?>> scheduled = new ArrayList<>();
    private boolean ready;
    private boolean running;
    /** Whether the tasks were scheduled once already: after a restart they run at once, not after a first delay. */
    private boolean ranBefore;

    public PeriodicTasks(ScheduledExecutorService executor) {
        this.executor = executor;
    }

    /** Adds a task: first after {@code firstDelay} once ready, then {@code interval} after each run ends. */
    public synchronized PeriodicTasks every(Duration interval, Duration firstDelay, Runnable task) {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("a periodic task needs a positive interval, not " + interval);
        }
        tasks.add(new Task(task, Math.max(0, firstDelay.toMillis()), interval.toMillis()));
        return this;
    }

    /** The application is ready: the tasks run from now on while the context runs the bean. */
    public synchronized void ready() {
        ready = true;
        schedule();
    }

    /** {@code SmartLifecycle.start}: the context runs the bean (at its start, or again after a pause). */
    public synchronized void start() {
        running = true;
        schedule();
    }

    /** {@code SmartLifecycle.stop}: no task starts again until {@link #start}; a run under way ends by itself. */
    public synchronized void stop() {
        running = false;
        scheduled.forEach(f -> f.cancel(false));
        scheduled.clear();
    }

    /** {@code SmartLifecycle.isRunning}. */
    public synchronized boolean isRunning() {
        return running;
    }

    /** Whether the tasks are scheduled now: the application is ready and the context runs the bean. */
    public synchronized boolean active() {
        return ready && running;
    }

    private void schedule() {
        if (!ready || !running || !scheduled.isEmpty()) {
            return;
        }
        for (Task t : tasks) {
            scheduled.add(executor.scheduleWithFixedDelay(t.body(), ranBefore ? 0 : t.firstDelayMillis(),
                    t.intervalMillis(), TimeUnit.MILLISECONDS));
        }
        ranBefore = true;
    }
}
