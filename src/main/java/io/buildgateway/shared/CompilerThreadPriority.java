package io.buildgateway.shared;

import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * The JVM's JIT compiler threads below the request threads (issue #17, latency; {@code gateway.jit.nice}). On few
 * cores the compilers take a third of a replica's CPU for as long as it runs ({@code docs/operations.md}, "JIT
 * compilation on few cores"), competing with the requests for a core; at a higher nice value they compile when the
 * requests leave a core free. When the application is ready (after every runner, the warm-up among them, so the
 * warm-up still compiles at full priority), a daemon thread {@code jit-nice} looks at this process's threads every
 * {@link #INTERVAL}: each whose name ({@code /proc/self/task/<tid>/comm}) starts with {@code C1 CompilerThre} or
 * {@code C2 CompilerThre} and whose nice value is lower than the setting is set to it, through
 * {@link BackgroundPriority#setThreadNice} — again and again, because with {@code UseDynamicNumberOfCompilerThreads}
 * the JVM starts and ends compiler threads as its queues grow and shrink. It never raises a priority (which would
 * need a privilege). 0 is off; Linux only: elsewhere, or when {@code setpriority} fails, it logs once and stops.
 */
@Component
class CompilerThreadPriority {

    static final Duration INTERVAL = Duration.ofSeconds(2);
    static final List<String> COMPILER_NAMES = List.of("C1 CompilerThre", "C2 CompilerThre");
    private static final Logger LOG = LoggerFactory.getLogger(CompilerThreadPriority.class);
    private static final Path OWN_TASKS = Path.of("/proc/self/task");
    private static final int ESRCH = 3;

    private final int nice;
    private final Path tasks;
    private volatile ScheduledExecutorService timer;
    private volatile boolean stopped;

    @Autowired
    CompilerThreadPriority(@Value("${gateway.jit.nice:10}") int nice) {
        this(nice, OWN_TASKS);
    }

    CompilerThreadPriority(int nice, Path tasks) {
        if (nice < 0 || nice > 19) {
            throw new IllegalArgumentException("gateway.jit.nice must be between 0 (off) and 19: " + nice);
        }
        this.nice = nice;
        this.tasks = tasks;
    }

    /** After the warm-up: the first pass at once, then every {@link #INTERVAL}. */
    @EventListener(ApplicationReadyEvent.class)
    void start() {
        if (nice == 0) {
            LOG.info("JIT compiler threads at the JVM's own priority (gateway.jit.nice=0)");
            return;
        }
        if (!Files.isDirectory(tasks)) {
            stop("no " + tasks + " (not Linux)", null);
            return;
        }
        ScheduledExecutorService t = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("jit-nice"));
        timer = t;
        t.scheduleWithFixedDelay(this::pass, 0, INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        LOG.info("JIT compiler threads at nice {} from now on, looked for every {} s (gateway.jit.nice)", nice,
                INTERVAL.toSeconds());
    }

    /** Whether it still looks for compiler threads (false when off, stopped, or never started). */
    boolean running() {
        ScheduledExecutorService t = timer;
        return t != null && !t.isShutdown();
    }

    /**
     * One look at this process's threads: sets every compiler thread less nice than the setting to it. Returns how
     * many it changed, or -1 when it could not (then it has logged why and looks no more).
     */
    int pass() {
        if (nice == 0 || stopped) {
            return stopped ? -1 : 0;
        }
        int changed = 0;
        try (DirectoryStream<Path> threads = Files.newDirectoryStream(tasks)) {
            for (Path task : threads) {
                String name = read(task.resolve("comm"));
                if (name == null || COMPILER_NAMES.stream().noneMatch(name::startsWith)) {
                    continue;
                }
                Integer current = BackgroundPriority.niceOf(task.resolve("stat"));
                if (current == null || current >= nice) {
                    continue; // ended meanwhile, or already at least as nice
                }
                long tid = Long.parseLong(task.getFileName().toString());
                int errno = BackgroundPriority.setThreadNice(tid, nice);
                if (errno == ESRCH) {
                    continue; // ended meanwhile
                }
                if (errno != 0) {
                    return stop("setpriority of thread " + tid + " (" + name + ") failed, errno " + errno, null);
                }
                changed++;
            }
        } catch (IOException | LinkageError | RuntimeException e) {
            return stop("the threads of " + tasks + " could not be reniced", e);
        }
        return changed;
    }

    @PreDestroy
    void close() {
        ScheduledExecutorService t = timer;
        if (t != null) {
            t.shutdownNow();
        }
    }

    private int stop(String why, Throwable e) {
        if (!stopped) {
            stopped = true;
            LOG.warn("JIT compiler threads stay at the JVM's own priority (gateway.jit.nice={} not applied): {}{}",
                    nice, why, e == null ? "" : " (" + e + ")");
        }
        close();
        return -1;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.ISO_8859_1).strip();
        } catch (IOException e) {
            return null; // the thread has ended
        }
    }
}
