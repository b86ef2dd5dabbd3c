import io.buildgateway.policy.Evaluation;
import io.buildgateway.policy.PolicyEvaluator;
import java.lang.reflect.Constructor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Lint throughput of the gateway's policy engine: every rule of the shipped policy over the corpus, one thread,
 * warm. Prints files/s and latency percentiles per file. Usage: LintBench <corpus dir> <policy dir> <seconds>
 * [warm-up seconds, 5]. Runs what POST /api/v1/lint runs ({@link PolicyEvaluator#lint}). Before the warm-up, every
 * file is linted once and the files that threw, that the parser could not read ({@code dockerfile-syntax}) or that the
 * canonical writer refused ({@code dockerfile-canonical}) are counted and printed: every file must be processed.
 */
public class LintBench {
    public static void main(String[] args) throws Exception {
        Path corpus = Path.of(args[0]);
        Path policyDir = Path.of(args[1]);
        double seconds = Double.parseDouble(args[2]);
        double warmupSeconds = args.length > 3 ? Double.parseDouble(args[3]) : 5;
        // Optionally longer, until the JIT is quiet: at most this many seconds in all, warm-up included.
        double warmupMax = args.length > 4 ? Double.parseDouble(args[4]) : warmupSeconds;
        List<String> files;
        try (var list = Files.list(corpus)) {
            files = list.filter(p -> p.toString().endsWith(".Dockerfile")).sorted().map(p -> {
                try {
                    return Files.readString(p);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }).toList();
        }
        // The evaluator exactly as the gateway builds it, on the shipped policy (package-private wiring by reflection).
        Class<?> store = Class.forName("io.buildgateway.policy.PolicyStore");
        var load = store.getDeclaredMethod("load", Path.class, List.class);
        load.setAccessible(true);
        Object doc = load.invoke(null, policyDir, List.of());
        Constructor<PolicyEvaluator> ctor = PolicyEvaluator.class.getDeclaredConstructor(Supplier.class, Clock.class);
        ctor.setAccessible(true);
        PolicyEvaluator evaluator = ctor.newInstance((Supplier<Object>) () -> doc, Clock.systemUTC());
        int rules = evaluator.describe().rules().size();

        // Every file processed? One lint each before anything is timed: exceptions, syntax errors and refusals counted.
        int threw = 0;
        int syntax = 0;
        int canonical = 0;
        for (String f : files) {
            try {
                Evaluation e = evaluator.lint(new PolicyEvaluator.Request(f, Map.of(), null, null, null, null));
                if (e.findings().stream().anyMatch(x -> x.rule().equals("dockerfile-syntax"))) {
                    syntax++;
                }
                if (e.findings().stream().anyMatch(x -> x.rule().equals("dockerfile-canonical"))) {
                    canonical++;
                }
            } catch (RuntimeException e) {
                threw++;
            }
        }
        System.out.printf("gateway processed %d of %d files: %d threw, %d with dockerfile-syntax errors, %d refused "
                + "by the canonical writer%n", files.size() - threw, files.size(), threw, syntax, canonical);
        long findings = 0;
        long warmupStart = System.nanoTime();
        long warmupEnd = warmupStart + (long) (warmupSeconds * 1e9);
        long warmupLimit = warmupStart + (long) (warmupMax * 1e9);
        long compiled = compilerTicks();
        long checked = warmupStart;
        int quietChecks = 0;
        while (true) {
            for (String f : files) {
                findings += evaluator.lint(new PolicyEvaluator.Request(f, Map.of(), null, null, null, null))
                        .findings().size();
            }
            long now = System.nanoTime();
            if (now >= warmupLimit) {
                break;
            }
            if (now - checked >= 2_000_000_000L) {
                // Quiet: the compiler threads used less than 5 % of a core over the last 2 s or more (their CPU
                // time, from /proc: the JVM's own compilation time only counts compilations once they finish).
                // Three quiet checks in a row (6 s): on a loaded host a compiler thread that is merely waiting for a
                // core looks quiet for 2 s, and one such check started a window with C2 at 48 % of it (2026-12-02).
                long c = compilerTicks();
                boolean quiet = (c - compiled) * 1e7 < 0.05 * (now - checked);
                quietChecks = quiet ? quietChecks + 1 : 0;
                compiled = c;
                checked = now;
                if (quietChecks >= 3 && now >= warmupEnd) {
                    break;
                }
            }
        }
        System.out.printf("warm-up %.0f s%n", (System.nanoTime() - warmupStart) / 1e9);
        long[] samples = new long[4_000_000];
        int n = 0;
        // The process's CPU time over the measured window (every thread: the JIT compilers and the GC count, as
        // node's process.cpuUsage() counts V8's): files per CPU-second is what stays of the engine's own speed
        // when the shared host preempts the process, which files/s by the wall clock does not.
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean();
        long cpu0 = os.getProcessCpuTime();
        Map<String, Long> threads0 = threadTicks();
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        outer:
        while (true) {
            for (String f : files) {
                long t0 = System.nanoTime();
                Evaluation e = evaluator.lint(new PolicyEvaluator.Request(f, Map.of(), null, null, null, null));
                long t1 = System.nanoTime();
                findings += e.findings().size();
                if (n < samples.length) {
                    samples[n++] = t1 - t0;
                }
                if (t1 > end) {
                    break outer;
                }
            }
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        double cpuSeconds = (os.getProcessCpuTime() - cpu0) / 1e9;
        Map<String, Long> threads1 = threadTicks();
        long[] sorted = Arrays.copyOf(samples, n);
        Arrays.sort(sorted);
        System.out.printf("gateway policy engine: %d files in corpus, %d rules, %.0f files/s, %.0f files/cpu-s, "
                        + "p50 %.3f ms, p99 %.3f ms, max %.3f ms (checksum %d)%n", files.size(), rules, n / elapsed,
                n / cpuSeconds, sorted[n / 2] / 1e6, sorted[(int) (n * 0.99)] / 1e6, sorted[n - 1] / 1e6,
                findings % 997);
        // Where the process's CPU went during the window, by thread (Linux: /proc/self/task/*/stat, 10 ms ticks).
        StringBuilder byThread = new StringBuilder("cpu by thread:");
        threads1.entrySet().stream().map(e -> Map.entry(e.getKey(), e.getValue() - threads0.getOrDefault(e.getKey(), 0L)))
                .filter(e -> e.getValue() > 0).sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(6)
                .forEach(e -> byThread.append(String.format(" %s %.0f%%;", e.getKey(),
                        100.0 * e.getValue() / 100.0 / cpuSeconds)));
        System.out.println(byThread);
    }

    private static long compilerTicks() {
        long sum = 0;
        for (Map.Entry<String, Long> e : threadTicks().entrySet()) {
            if (e.getKey().contains("CompilerThre")) {
                sum += e.getValue();
            }
        }
        return sum;
    }

    /** CPU ticks (user + system) per thread name of this process; threads of one name summed. */
    private static Map<String, Long> threadTicks() {
        Map<String, Long> out = new java.util.HashMap<>();
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    String stat = Files.readString(t.resolve("stat"));
                    String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replaceAll("[0-9]+$", "");
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    out.merge(name, Long.parseLong(f[11]) + Long.parseLong(f[12]), Long::sum);
                } catch (Exception gone) {
                    // the thread ended
                }
            }
        } catch (Exception e) {
            // not Linux: no breakdown
        }
        return out;
    }
}
