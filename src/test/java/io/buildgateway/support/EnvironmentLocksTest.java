package io.buildgateway.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The locks that keep the integration tests of two JVMs apart, between real processes: a second JVM holds a lock (as
 * the other failsafe fork would) while this one asks for another.
 */
class EnvironmentLocksTest {

    @TempDir
    Path folder;

    private final List<Process> holders = new ArrayList<>();

    /** A JVM that takes the locks, says so in {@code <name>.held} and keeps them until {@code <name>.release} exists. */
    public static void main(String[] args) throws Exception {
        Path folder = Path.of(args[0]);
        String name = args[1];
        try (EnvironmentLocks.Held held = EnvironmentLocks.acquire(folder, Boolean.parseBoolean(args[2]),
                Arrays.copyOfRange(args, 3, args.length))) {
            Files.writeString(folder.resolve(name + ".held"), "");
            while (!Files.exists(folder.resolve(name + ".release"))) {
                Thread.sleep(10);
            }
        }
    }

    private Process holder(String name, boolean exclusive, String... parts) throws IOException {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), EnvironmentLocksTest.class.getName(), folder.toString(), name,
                Boolean.toString(exclusive)));
        command.addAll(List.of(parts));
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(folder.resolve(name + ".out").toFile()).start();
        holders.add(p);
        return p;
    }

    private boolean holds(String name) {
        return Files.exists(folder.resolve(name + ".held"));
    }

    private void awaitHeld(String name) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!holds(name)) {
            assertThat(System.nanoTime()).as("%s taking its lock: %s", name,
                    Files.exists(folder.resolve(name + ".out")) ? Files.readString(folder.resolve(name + ".out")) : "")
                    .isLessThan(until);
            Thread.sleep(10);
        }
    }

    /** Until another process holds the turnstile (a lock this JVM can try for without waiting). */
    private void awaitTurnstileTaken() throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try (FileChannel turnstile = FileChannel.open(folder.resolve("it-turnstile.lock"),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ)) {
                FileLock lock = turnstile.tryLock();
                if (lock == null) {
                    return;
                }
                lock.release();
            }
            assertThat(System.nanoTime()).as("the other JVM taking the turnstile").isLessThan(until);
            Thread.sleep(10);
        }
    }

    private void release(String name) throws IOException {
        Files.writeString(folder.resolve(name + ".release"), "");
    }

    private CompletableFuture<EnvironmentLocks.Held> ask(boolean exclusive, String... parts) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return EnvironmentLocks.acquire(folder, exclusive, parts);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    private static final Duration WAITS = Duration.ofMillis(500);

    /** That the acquisition has not completed after a while. */
    private static void assertWaits(CompletableFuture<EnvironmentLocks.Held> acquisition, String what)
            throws InterruptedException {
        Thread.sleep(WAITS.toMillis());
        assertThat(acquisition).as(what).isNotDone();
    }

    @AfterEach
    void stopHolders() throws Exception {
        for (Process p : holders) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void classesThatShareTheEnvironmentDoNotWaitForEachOther() throws Exception {
        holder("other", false);
        awaitHeld("other");

        try (EnvironmentLocks.Held held = ask(false).get(10, TimeUnit.SECONDS)) {
            assertThat(held).isNotNull();
        }
    }

    /** An exclusive class runs alone: a shared one waits for its end, and it waits for the shared ones to end. */
    @ParameterizedTest(name = "the other JVM exclusive: {0}")
    @ValueSource(booleans = {true, false})
    void anExclusiveClassAndASharedOneNeverRunAtOnce(boolean otherExclusive) throws Exception {
        holder("other", otherExclusive);
        awaitHeld("other");

        CompletableFuture<EnvironmentLocks.Held> mine = ask(!otherExclusive);
        assertWaits(mine, "this class while the other JVM's runs");
        release("other");
        mine.get(10, TimeUnit.SECONDS).close();
    }

    @Test
    void onceAnExclusiveClassWaitsTheNextSharedOneWaitsBehindIt() throws Exception {
        holder("first", false);
        awaitHeld("first");
        holder("exclusive", true);
        awaitTurnstileTaken(); // the exclusive JVM has passed the turnstile and waits for the environment
        assertThat(holds("exclusive")).isFalse();

        CompletableFuture<EnvironmentLocks.Held> next = ask(false);
        assertWaits(next, "a shared class that came after the waiting exclusive one");

        release("first");
        awaitHeld("exclusive");
        assertWaits(next, "a shared class while the exclusive one runs");
        release("exclusive");
        next.get(10, TimeUnit.SECONDS).close();
    }

    /**
     * An exclusive class prepares (starts its Spring context) while a shared class of the other JVM still runs, with
     * the turnstile held so that no class starts meanwhile; it runs alone only once that class has ended.
     */
    @Test
    void anExclusiveClassPreparesBesideTheRunningClassesAndThenRunsAlone() throws Exception {
        holder("first", false);
        awaitHeld("first");
        CompletableFuture<Void> prepared = new CompletableFuture<>();
        CompletableFuture<EnvironmentLocks.Held> mine = CompletableFuture.supplyAsync(() -> {
            try {
                return EnvironmentLocks.acquire(folder, true, () -> prepared.complete(null));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        prepared.get(10, TimeUnit.SECONDS);
        assertWaits(mine, "the exclusive class while the other JVM's shared class runs");

        holder("next", false);
        Thread.sleep(WAITS.toMillis());
        assertThat(holds("next")).as("a shared class that came after the preparing exclusive one").isFalse();

        release("first");
        try (EnvironmentLocks.Held held = mine.get(10, TimeUnit.SECONDS)) {
            Thread.sleep(WAITS.toMillis());
            assertThat(holds("next")).as("a shared class while the exclusive one runs").isFalse();
        }
        awaitHeld("next");
    }

    /** A preparation that fails leaves no lock behind: the class fails, the other JVM goes on. */
    @Test
    void aPreparationThatFailsReleasesEverything() throws Exception {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> EnvironmentLocks.acquire(folder, true, () -> {
            throw new IllegalStateException("no context");
        })).hasMessage("no context");

        holder("after", true);
        awaitHeld("after");
    }

    @Test
    void aPartIsHeldByOneClassAtATimeAndOnlyThoseNamingItWait() throws Exception {
        holder("relay", false, EnvironmentUse.EGRESS_RELAY);
        awaitHeld("relay");

        holder("second", false, EnvironmentUse.EGRESS_RELAY);
        try (EnvironmentLocks.Held other = ask(false).get(10, TimeUnit.SECONDS)) {
            assertThat(other).as("a class that does not name the relay").isNotNull();
        }
        Thread.sleep(WAITS.toMillis());
        assertThat(holds("second")).as("a second class naming the relay").isFalse();
        release("relay");
        awaitHeld("second");
    }

    @Test
    void theLocksOfAJvmThatDiesAreReleased() throws Exception {
        Process exclusive = holder("dies", true);
        awaitHeld("dies");

        exclusive.destroyForcibly().waitFor(10, TimeUnit.SECONDS);

        ask(false).get(10, TimeUnit.SECONDS).close();
    }
}
