package io.buildgateway.shared;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Background work at a lower CPU priority (issue #17), observed where the kernel keeps it: the nice value of the
 * thread or process in {@code /proc}, and the autogroup of a process that leads its own session.
 */
class BackgroundPriorityTest {

    private static boolean linux() {
        return Files.isDirectory(Path.of("/proc/thread-self"));
    }

    @Test
    void aThreadOfItsFactoryRunsAtTheConfiguredNiceValueAndOthersAreUntouched() throws Exception {
        assumeTrue(linux(), "Linux only");
        BackgroundPriority priority = new BackgroundPriority(10);
        ExecutorService pool = Executors.newSingleThreadExecutor(priority.threads("bg-test"));
        try {
            int inPool = pool.submit(() -> BackgroundPriority.niceOf(Path.of("/proc/thread-self/stat"))).get();
            assertThat(inPool).isEqualTo(10);
            String name = pool.submit(() -> Thread.currentThread().getName()).get();
            assertThat(name).isEqualTo("bg-test");
            assertThat(pool.submit(() -> Thread.currentThread().isDaemon()).get()).isTrue();
        } finally {
            pool.shutdownNow();
            pool.awaitTermination(5, TimeUnit.SECONDS);
        }
        // The caller's own thread (a request's, say) keeps its priority: nice is per thread on Linux.
        assertThat(BackgroundPriority.niceOf(Path.of("/proc/thread-self/stat"))).isLessThan(10);
    }

    @Test
    void aThreadAlreadyNicerStaysSoAndOffChangesNothing() throws Exception {
        assumeTrue(linux(), "Linux only");
        ExecutorService pool = Executors.newSingleThreadExecutor(new BackgroundPriority(15).threads("bg-15"));
        try {
            int after = pool.submit(() -> {
                new BackgroundPriority(5).lowerCurrentThread(); // never raises a priority
                return BackgroundPriority.niceOf(Path.of("/proc/thread-self/stat"));
            }).get();
            assertThat(after).isEqualTo(15);
        } finally {
            pool.shutdownNow();
        }
        int before = BackgroundPriority.niceOf(Path.of("/proc/thread-self/stat"));
        int[] seen = new int[1];
        Thread t = BackgroundPriority.off().threads("bg-off").newThread(
                () -> seen[0] = BackgroundPriority.niceOf(Path.of("/proc/thread-self/stat")));
        t.start();
        t.join();
        assertThat(seen[0]).isEqualTo(before);
        assertThat(BackgroundPriority.off().lowerCurrentThread()).isFalse();
    }

    @Test
    void aCommandRunsThroughNiceFromItsFirstInstruction() throws Exception {
        assumeTrue(linux() && Files.isExecutable(Path.of("/usr/bin/nice")), "Linux with nice(1)");
        List<String> command = new BackgroundPriority(10).command(List.of("sh", "-c", "cut -d' ' -f19 /proc/self/stat"));
        assertThat(command).startsWith("/usr/bin/nice", "-n", "10");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor()).isZero();
        assertThat(out).isEqualTo("10"); // cut's own nice value: inherited through sh
        assertThat(BackgroundPriority.off().command(List.of("oscap"))).containsExactly("oscap");
    }

    @Test
    void aCommandStartedFromABackgroundThreadRunsAtTheBackgroundValueNotTwiceIt() throws Exception {
        assumeTrue(linux() && Files.isExecutable(Path.of("/usr/bin/nice")), "Linux with nice(1)");
        BackgroundPriority priority = new BackgroundPriority(10);
        ExecutorService pool = Executors.newSingleThreadExecutor(priority.threads("bg-command"));
        try {
            String out = pool.submit(() -> {
                Process p = new ProcessBuilder(priority.command(List.of("sh", "-c", "cut -d' ' -f19 /proc/self/stat")))
                        .redirectErrorStream(true).start();
                String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                p.waitFor();
                return text;
            }).get();
            assertThat(out).isEqualTo("10"); // the thread's 10 inherited, nothing added (nice -n 10 would make 19)
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void theAutogroupOfAProcessInItsOwnSessionIsLoweredAndTheGatewaysOwnNever() throws Exception {
        assumeTrue(linux() && Files.isExecutable(Path.of("/usr/bin/setsid")), "Linux with setsid(1)");
        Path self = Path.of("/proc/self/autogroup");
        assumeTrue(Files.exists(self), "a kernel with autogroups");
        String ours = Files.readString(self);
        BackgroundPriority priority = new BackgroundPriority(10);
        Process own = new ProcessBuilder("/usr/bin/setsid", "sleep", "30").start();
        Process shared = new ProcessBuilder("sleep", "30").start();
        try {
            boolean lowered = priority.lowerSession(own.pid());
            if (Files.readString(Path.of("/proc/sys/kernel/sched_autogroup_enabled")).strip().equals("1")) {
                assertThat(lowered).isTrue();
                assertThat(Files.readString(Path.of("/proc/" + own.pid() + "/autogroup"))).contains("nice 10");
            }
            // A process still in the JVM's session: its autogroup is the gateway's, which must never be lowered.
            assertThat(priority.lowerSession(shared.pid())).isFalse();
            assertThat(Files.readString(self)).isEqualTo(ours);
        } finally {
            own.destroyForcibly();
            shared.destroyForcibly();
        }
    }

    @Test
    void outOfRangeValuesAreRefused() {
        assertThatThrownBy(() -> new BackgroundPriority(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gateway.background.nice");
        assertThatThrownBy(() -> new BackgroundPriority(20)).isInstanceOf(IllegalArgumentException.class);
    }
}
