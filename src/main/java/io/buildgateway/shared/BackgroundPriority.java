package io.buildgateway.shared;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Request work before background work (issue #17, latency): the gateway's background CPU work — OpenSCAP and the
 * threads that lay out its root filesystems — runs at a lower CPU priority (a higher Linux nice value,
 * {@code gateway.background.nice}; 0, the default since 2026-12-03, leaves everything at the JVM's own) than the threads that answer
 * requests, so that an API call waits less behind a scan when the cores are busy. Lowering one's own priority needs no
 * privilege; nothing here ever raises one.
 * <ul>
 *   <li>Threads: {@link #threads(String)} makes daemon threads that set their own nice value when they start
 *       ({@code setpriority(PRIO_PROCESS, tid, n)} through JNA: Linux keeps a nice value per thread, and Java has no
 *       call for it — {@link Thread#setPriority} changes nothing on Linux unless the JVM runs with
 *       {@code -XX:ThreadPriorityPolicy=1}, and then only within ±5).</li>
 *   <li>Processes: {@link #command(List)} puts {@code nice -n <n>} in front of a command line, so the process and
 *       everything it starts run at that value from their first instruction; {@link #lowerSession(long)} also lowers
 *       the scheduler's autogroup of a process that leads a session of its own ({@code setsid}): where the kernel
 *       groups tasks by session (autogroup, on when the process is in the root CPU cgroup, e.g. a plain VM), a
 *       nice value only weighs inside the group, and a group competes with every other group as one task.</li>
 * </ul>
 * Everything fails open: where the call is not available (not Linux, no JNA, no {@code nice} binary) the work runs at
 * normal priority and the first failure is logged once.
 */
public final class BackgroundPriority {

    private static final Logger log = LoggerFactory.getLogger(BackgroundPriority.class);
    private static final String NICE = ProcFiles.firstExecutable("/usr/bin/nice", "/bin/nice");
    private static final int PRIO_PROCESS = 0;

    private final int nice;
    private final AtomicBoolean warned = new AtomicBoolean();

    /** @param nice the nice value of background work, 0 (off) to 19 */
    public BackgroundPriority(int nice) {
        if (nice < 0 || nice > 19) {
            throw new IllegalArgumentException("gateway.background.nice must be between 0 and 19: " + nice);
        }
        this.nice = nice;
    }

    /** Background work at the JVM's own priority. */
    public static BackgroundPriority off() {
        return new BackgroundPriority(0);
    }

    public int nice() {
        return nice;
    }

    /** Daemon threads named {@code name} that run at the background priority. */
    public ThreadFactory threads(String name) {
        ThreadFactory daemons = DaemonThreads.named(name);
        return r -> daemons.newThread(() -> {
            lowerCurrentThread();
            r.run();
        });
    }

    /**
     * Sets the calling thread's nice value to the background value (never lower than it is). Returns whether the
     * thread now runs at it; false when off or not possible here.
     */
    public boolean lowerCurrentThread() {
        if (nice == 0) {
            return false;
        }
        try {
            long tid = currentTid();
            if (tid <= 0) {
                return failed("the thread id is not readable from /proc/thread-self", null);
            }
            Integer current = niceOf(Path.of("/proc/thread-self/stat"));
            if (current != null && current >= nice) {
                return true;
            }
            int errno = setThreadNice(tid, nice);
            if (errno != 0) {
                return failed("setpriority failed, errno " + errno, null);
            }
            return true;
        } catch (LinkageError | RuntimeException e) {
            return failed("setpriority is not callable here", e);
        }
    }

    /**
     * {@code command} run at the background nice value: through {@code nice -n <n - the calling thread's>}, since
     * {@code nice -n} adds to the value the process inherits (from a thread of {@link #threads} that is already the
     * background value: then nothing is added, where {@code nice -n 10} would have made it 19). Unchanged when off,
     * when the calling thread is already as nice, or without a {@code nice} binary.
     */
    public List<String> command(List<String> command) {
        if (nice == 0 || NICE == null) {
            return command;
        }
        Integer current = niceOf(Path.of("/proc/thread-self/stat"));
        int add = current == null ? nice : nice - current;
        if (add <= 0) {
            return command;
        }
        List<String> out = new ArrayList<>(command.size() + 3);
        out.add(NICE);
        out.add("-n");
        out.add(Integer.toString(add));
        out.addAll(command);
        return out;
    }

    /**
     * Lowers the autogroup of {@code pid}, a process started through {@code setsid}, to the background value — only
     * when it leads a session of its own (its session id is its pid: otherwise the autogroup would be the JVM's own
     * session's, which is never touched) and the kernel groups by session. Waits up to 100 ms for {@code setsid} to
     * have made the session. Returns whether the group's nice value was set.
     */
    public boolean lowerSession(long pid) {
        if (nice == 0 || !autogroups()) {
            return false;
        }
        Path stat = Path.of("/proc/" + pid + "/stat");
        try {
            for (int i = 0; i < 20; i++) {
                Long session = sessionOf(stat);
                if (session == null) {
                    return false; // it has ended
                }
                if (session == pid) {
                    Files.writeString(Path.of("/proc/" + pid + "/autogroup"), Integer.toString(nice));
                    return true;
                }
                Thread.sleep(5);
            }
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (IOException e) {
            return failed("the autogroup of process " + pid + " could not be set", e);
        }
    }

    private static boolean autogroups() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/sched_autogroup_enabled")).strip().equals("1");
        } catch (IOException e) {
            return false;
        }
    }

    private boolean failed(String what, Throwable e) {
        if (warned.compareAndSet(false, true)) {
            log.warn("background work runs at normal CPU priority: {}{}", what, e == null ? "" : " (" + e + ")");
        }
        return false;
    }

    /** The calling thread's kernel id, from the link /proc/thread-self → {@code <pid>/task/<tid>}; -1 if unknown. */
    static long currentTid() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/thread-self")).toString();
            return Long.parseLong(target.substring(target.lastIndexOf('/') + 1));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * {@code setpriority(PRIO_PROCESS, tid, nice)}: the nice value of one thread of this process (Linux keeps one per
     * thread). Returns 0, or the errno it failed with; throws {@link LinkageError} where JNA or libc cannot be loaded.
     */
    static int setThreadNice(long tid, int nice) {
        if (LibC.INSTANCE.setpriority(PRIO_PROCESS, (int) tid, nice) == 0) {
            return 0;
        }
        int errno = Native.getLastError();
        return errno == 0 ? -1 : errno;
    }

    /** Field 19 (nice) of a {@code /proc/.../stat} line; null when unreadable. */
    static Integer niceOf(Path stat) {
        String[] f = ProcFiles.statFields(stat);
        return f == null || f.length < 17 ? null : Integer.valueOf(f[16]);
    }

    private static Long sessionOf(Path stat) {
        String[] f = ProcFiles.statFields(stat);
        return f == null || f.length < 4 ? null : Long.valueOf(f[3]);
    }

    private interface LibC extends Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        int setpriority(int which, int who, int prio);
    }
}
