package io.buildgateway.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * A real process of the test environment that a fault test stops and starts again exactly as it was: its command
 * line, environment, working directory and user are read from {@code /proc} before it is stopped, so the restarted
 * process is the same server on the same port and data (PostgreSQL, the registry). Linux only, like the suite.
 */
public final class Restartable {

    private final String what;
    private final List<String> command;
    private final Map<String, String> environment;
    private final Path directory;
    private final int uid;
    /** Whether it runs in a user namespace of its own with no uid mapped (zonky's {@code unshare -U} as root). */
    private final boolean ownUserNamespace;
    private final Path log;
    private volatile long pid;

    private Restartable(String what, long pid, Path log) {
        this.what = what;
        this.pid = pid;
        this.log = log;
        Path proc = Path.of("/proc", Long.toString(pid));
        try {
            this.command = split(Files.readAllBytes(proc.resolve("cmdline")));
            Map<String, String> env = new java.util.LinkedHashMap<>();
            for (String kv : split(Files.readAllBytes(proc.resolve("environ")))) {
                int eq = kv.indexOf('=');
                if (eq > 0) {
                    env.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
            }
            this.environment = env;
            this.directory = Files.readSymbolicLink(proc.resolve("cwd"));
            this.uid = Files.readAllLines(proc.resolve("status")).stream().filter(l -> l.startsWith("Uid:"))
                    .map(l -> Integer.parseInt(l.split("\\s+")[1])).findFirst().orElse(0);
            this.ownUserNamespace = !Files.readSymbolicLink(proc.resolve("ns/user"))
                    .equals(Files.readSymbolicLink(Path.of("/proc/self/ns/user")));
            if (ownUserNamespace && !Files.readString(proc.resolve("uid_map")).isBlank()) {
                throw new IllegalStateException(what + " (pid " + pid + ") runs in a user namespace with a uid"
                        + " mapping, which this helper cannot reproduce");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read /proc/" + pid + " of " + what, e);
        }
    }

    /** The postmaster of the PostgreSQL whose data directory this is (its pid from postmaster.pid). */
    public static Restartable postgres(Path dataDirectory, Path log) {
        try {
            long pid = Long.parseLong(Files.readAllLines(dataDirectory.resolve("postmaster.pid")).get(0).trim());
            return new Restartable("PostgreSQL", pid, log);
        } catch (IOException e) {
            throw new UncheckedIOException("no running PostgreSQL in " + dataDirectory, e);
        }
    }

    /** A process whose pid scripts/env.sh wrote to this file. */
    public static Restartable fromPidFile(String what, Path pidFile, Path log) {
        try {
            return new Restartable(what, Long.parseLong(Files.readString(pidFile).trim()), log);
        } catch (IOException e) {
            throw new UncheckedIOException("no pid file " + pidFile + " for " + what, e);
        }
    }

    public long pid() {
        return pid;
    }

    /** Sends the signal (INT: PostgreSQL's fast shutdown; TERM; KILL) and waits for the process to be gone. */
    public void stop(String signal, Duration timeout) {
        run("kill", "-" + signal, Long.toString(pid));
        long deadline = System.nanoTime() + timeout.toNanos();
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(what + " (pid " + pid + ") did not stop within " + timeout);
            }
            sleep(50);
        }
    }

    /**
     * Starts the same command again, unless the process is still running (as the same user, in a user namespace of its own when it had one, in its own
     * session, output appended to the log) and waits until {@code ready} holds. Returns the new pid, also written to
     * {@code pidFile} when given.
     *
     * <p>The embedded PostgreSQL run as root is started by zonky as {@code unshare -U pg_ctl … start}: in a user
     * namespace without a mapping its uid reads as the overflow uid, so the postmaster does not refuse root, while
     * the kernel still checks its files as root's. /proc shows such a process as uid 0, so the namespace is what
     * tells: the postmaster's own command line runs again under {@code unshare -U} (not through pg_ctl, whose
     * {@code -o} would have to re-quote the options, and which leaves the server a grandchild).
     */
    public long start(Path pidFile, Duration timeout, BooleanSupplier ready) {
        if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            // never stopped (its stop failed or was not reached): a fault test starts in finally whatever happened
            awaitReady(timeout, ready);
            return pid;
        }
        List<String> cmd = new ArrayList<>(List.of("setsid"));
        if (ownUserNamespace) {
            cmd.add("unshare");
            cmd.add("-U");
        } else if (uid != 0) {
            cmd.addAll(List.of("setpriv", "--reuid=" + uid, "--regid=" + gidOf(uid), "--clear-groups"));
        }
        cmd.addAll(command);
        ProcessBuilder b = new ProcessBuilder(cmd).directory(directory.toFile())
                .redirectInput(Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(Redirect.appendTo(log.toFile())).redirectErrorStream(true);
        b.environment().clear();
        b.environment().putAll(environment);
        try {
            Process p = b.start();
            // setsid and unshare exec the command (setsid forks only when the caller leads a process group, which a
            // child of the JVM does not), so this is the server's pid; if it forked, the child is found below.
            pid = p.pid();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + what + " again", e);
        }
        awaitReady(timeout, ready);
        ProcessHandle.of(pid).ifPresent(h -> h.children().findFirst().ifPresent(c -> {
            if (c.info().command().map(x -> x.equals(command.get(0))).orElse(false)) {
                pid = c.pid();
            }
        }));
        if (pidFile != null) {
            try {
                Files.writeString(pidFile, pid + "\n");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return pid;
    }

    private void awaitReady(Duration timeout, BooleanSupplier ready) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!ready.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(what + " did not come back within " + timeout + "; see " + log);
            }
            sleep(100);
        }
    }

    private static int gidOf(int uid) {
        try {
            for (String line : Files.readAllLines(Path.of("/etc/passwd"))) {
                String[] f = line.split(":");
                if (f.length > 3 && Integer.parseInt(f[2]) == uid) {
                    return Integer.parseInt(f[3]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // fall through
        }
        return uid;
    }

    private static List<String> split(byte[] nulSeparated) {
        List<String> parts = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < nulSeparated.length; i++) {
            if (nulSeparated[i] == 0) {
                parts.add(new String(nulSeparated, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        if (start < nulSeparated.length) {
            parts.add(new String(nulSeparated, start, nulSeparated.length - start, StandardCharsets.UTF_8));
        }
        return parts;
    }

    private static void run(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            p.waitFor();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
