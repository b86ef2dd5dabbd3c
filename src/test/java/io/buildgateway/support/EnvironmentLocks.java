package io.buildgateway.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.Deque;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.springframework.core.annotation.MergedAnnotations;
import org.springframework.test.context.junit.jupiter.SpringExtension;

/**
 * The integration tests run in two JVMs at once (failsafe's {@code forkCount}, {@code it.forks} in the pom), against
 * one environment. Each test class holds, from before its Spring context starts until after its last test, a lock on
 * the environment: shared by default, exclusive for an {@link EnvironmentUse#exclusive()} class; and an exclusive one
 * on each part its {@link EnvironmentUse#holds()} names. The locks are POSIX record locks on files in the environment's
 * state folder (beside BGW_TEST_ENV), so they hold between the JVMs of one run and not between environments, and the
 * kernel drops them when a JVM dies.
 *
 * <p>A class that wants the environment alone must not wait for ever behind classes that keep sharing it: every
 * class first passes a turnstile (an exclusive lock that a shared class holds only for the moment it takes its own
 * lock, and an exclusive class holds while it waits and runs). So once an exclusive class waits, the other JVM's
 * next class waits behind it.
 *
 * <p>An exclusive class that is a Spring test starts its Spring context before it takes the environment alone, while
 * it holds the turnstile and a shared lock: the start (a gateway of its own, its PostgreSQL, a second build host) then
 * runs beside the other JVM's current class instead of while that JVM waits. A context start only reads the
 * environment, as every shared class's does.
 *
 * <p>Registered for the integration tests only, by JUnit's extension autodetection that failsafe turns on
 * (META-INF/services in the test resources; surefire's unit tests run without it).
 */
public final class EnvironmentLocks implements BeforeAllCallback, AfterAllCallback {

    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(EnvironmentLocks.class);

    /** The locks one class holds, released in the reverse order. */
    public static final class Held implements AutoCloseable {
        private final Deque<FileLock> locks = new ArrayDeque<>();

        private void add(FileLock lock) {
            locks.push(lock);
        }

        private void release(FileLock lock) throws IOException {
            locks.remove(lock);
            lock.channel().close();
        }

        @Override
        public void close() throws IOException {
            while (!locks.isEmpty()) {
                locks.pop().channel().close();
            }
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        Class<?> test = context.getRequiredTestClass();
        if (test.getEnclosingClass() != null && context.getParent().flatMap(ExtensionContext::getTestClass).isPresent()) {
            return; // a @Nested class runs inside its outer class's locks
        }
        EnvironmentUse use = test.getAnnotation(EnvironmentUse.class);
        boolean exclusive = use != null && use.exclusive();
        Runnable prepare = exclusive && springTest(test) ? () -> SpringExtension.getApplicationContext(context) : null;
        context.getStore(NS).put(Held.class, acquire(folder(), exclusive, prepare,
                use == null ? new String[0] : use.holds()));
    }

    /** Whether JUnit runs the class with Spring's extension (as {@code @SpringBootTest} declares, inherited). */
    private static boolean springTest(Class<?> test) {
        return MergedAnnotations.from(test, MergedAnnotations.SearchStrategy.TYPE_HIERARCHY).stream(ExtendWith.class)
                .anyMatch(a -> java.util.Arrays.asList(a.getClassArray("value")).contains(SpringExtension.class));
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        Held held = context.getStore(NS).remove(Held.class, Held.class);
        if (held != null) {
            held.close();
        }
    }

    /**
     * Waits for the environment's lock in {@code folder} (exclusive or shared) and then for each of {@code parts},
     * and returns them held.
     */
    public static Held acquire(Path folder, boolean exclusive, String... parts) throws IOException {
        return acquire(folder, exclusive, null, parts);
    }

    /**
     * As {@link #acquire(Path, boolean, String...)}; for an exclusive class, {@code prepare} (or null) runs first,
     * while the turnstile and a shared lock on the environment are held: beside the classes that run at that moment,
     * and before any class that comes later.
     */
    public static Held acquire(Path folder, boolean exclusive, Runnable prepare, String... parts) throws IOException {
        Held held = new Held();
        try {
            FileLock turnstile = lock(folder, "turnstile", false);
            held.add(turnstile);
            if (exclusive && prepare != null) {
                // Nobody passes the turnstile meanwhile, so no class starts between this shared lock's release and
                // the exclusive one: the exclusive lock waits only for the classes already running.
                FileLock shared = lock(folder, "environment", true);
                held.add(shared);
                prepare.run();
                held.release(shared);
            }
            held.add(lock(folder, "environment", !exclusive));
            if (!exclusive) {
                held.release(turnstile);
            }
            for (String part : parts) {
                held.add(lock(folder, part, false));
            }
            return held;
        } catch (IOException | RuntimeException | Error e) {
            held.close();
            throw e;
        }
    }

    private static FileLock lock(Path folder, String name, boolean shared) throws IOException {
        FileChannel channel = FileChannel.open(folder.resolve("it-" + name + ".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.READ);
        try {
            return channel.lock(0, Long.MAX_VALUE, shared);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** The environment's state folder (one per environment), or the temporary folder without an environment. */
    private static Path folder() {
        String env = System.getenv("BGW_TEST_ENV");
        Path folder = env == null || env.isBlank() ? Path.of(System.getProperty("java.io.tmpdir"))
                : Path.of(env).toAbsolutePath().getParent();
        try {
            return Files.createDirectories(folder);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
