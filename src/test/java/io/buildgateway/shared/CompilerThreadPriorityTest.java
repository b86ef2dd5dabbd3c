package io.buildgateway.shared;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gateway.jit.nice} (issue #17): the JIT compiler threads of this very JVM at the configured nice value, read
 * where the kernel keeps it (field 19 of {@code /proc/self/task/<tid>/stat}). It lowers the test JVM's compilers
 * for good (raising them again would need a privilege), so it uses the smallest value that changes something.
 */
class CompilerThreadPriorityTest {

    private static final Path TASKS = Path.of("/proc/self/task");

    @Test
    void afterOnePassEveryCompilerThreadOfThisJvmRunsAtTheSetting() throws IOException {
        assumeTrue(Files.isDirectory(TASKS) && Files.isDirectory(Path.of("/proc/thread-self")), "Linux only");
        int own = BackgroundPriority.niceOf(Path.of("/proc/thread-self/stat"));
        Map<Long, Integer> before = compilerThreads();
        assertThat(before).as("the JIT compiler threads of this JVM").isNotEmpty();
        // One above the least nice compiler thread: a Spring context started earlier in this JVM (gateway.jit.nice
        // defaults to 10) may already have reniced them, and this must still show a change.
        int nice = Math.max(own, before.values().stream().min(Integer::compare).orElseThrow()) + 1;
        assumeTrue(nice <= 19, "the compiler threads already run at nice 19");
        assertThat(before.values()).as("compiler threads not yet at the setting").anyMatch(n -> n < nice);

        int changed = new CompilerThreadPriority(nice, TASKS).pass();

        assertThat(changed).isPositive();
        for (long tid : before.keySet()) {
            Integer after = BackgroundPriority.niceOf(TASKS.resolve(tid + "/stat"));
            if (after != null) { // null: the JVM ended that compiler thread meanwhile
                assertThat(after).as("nice of compiler thread %d", tid).isGreaterThanOrEqualTo(nice);
            }
        }
        // Only the compilers: this (a request's, say) thread keeps its priority.
        assertThat(BackgroundPriority.niceOf(Path.of("/proc/thread-self/stat"))).isEqualTo(own);
    }

    @Test
    void offChangesNothingAndNeverStarts() {
        CompilerThreadPriority off = new CompilerThreadPriority(0, TASKS);
        assertThat(off.pass()).isZero();
        off.start();
        assertThat(off.running()).isFalse();
    }

    @Test
    void withoutProcItLooksNoMore(@TempDir Path dir) {
        CompilerThreadPriority p = new CompilerThreadPriority(10, dir.resolve("no-such-task-folder"));
        p.start();
        assertThat(p.running()).isFalse();
        assertThat(p.pass()).isEqualTo(-1);
    }

    @Test
    void outOfRangeValuesAreRefusedWithTheSettingsName() {
        assertThatThrownBy(() -> new CompilerThreadPriority(20, TASKS)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gateway.jit.nice").hasMessageContaining("20");
        assertThatThrownBy(() -> new CompilerThreadPriority(-1, TASKS)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gateway.jit.nice");
    }

    /** This JVM's compiler threads by thread id, with their nice values now. */
    private static Map<Long, Integer> compilerThreads() throws IOException {
        Map<Long, Integer> found = new LinkedHashMap<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(TASKS)) {
            for (Path task : tasks) {
                String name;
                try {
                    name = Files.readString(task.resolve("comm"), StandardCharsets.ISO_8859_1);
                } catch (IOException ended) {
                    continue;
                }
                Integer nice = BackgroundPriority.niceOf(task.resolve("stat"));
                if ((name.startsWith("C1 CompilerThre") || name.startsWith("C2 CompilerThre")) && nice != null) {
                    found.put(Long.valueOf(task.getFileName().toString()), nice);
                }
            }
        }
        return found;
    }
}
