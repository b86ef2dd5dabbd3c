import io.buildgateway.policy.PolicyEvaluator;
import java.lang.reflect.Constructor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What ShellCheck costs per file: the lint of every corpus file with the ShellCheck pass (POST /api/v1/lint?shellcheck
 * =true: Debian's shellcheck binary, once per Dockerfile that has a shell script) against the same lint without it,
 * warm, one thread, in alternation so that both see the same load. Prints, per file, the wall-clock cost (with minus
 * without; median, mean, p90, max over the files, each file's median of its rounds), the CPU time of the shellcheck
 * processes (cutime + cstime of this process, which gains a child's CPU when it is reaped) and how many files start
 * no process (no shell script). Usage: ShellCheckCost <corpus dir> <policy dir> <rounds>.
 */
public class ShellCheckCost {
    public static void main(String[] args) throws Exception {
        List<String> files = new ArrayList<>();
        try (var list = Files.list(Path.of(args[0]))) {
            for (Path p : list.filter(p -> p.toString().endsWith(".Dockerfile")).sorted().toList()) {
                files.add(Files.readString(p));
            }
        }
        int rounds = Integer.parseInt(args[2]);
        Class<?> store = Class.forName("io.buildgateway.policy.PolicyStore");
        var load = store.getDeclaredMethod("load", Path.class, List.class);
        load.setAccessible(true);
        Object doc = load.invoke(null, Path.of(args[1]), List.of());
        Constructor<PolicyEvaluator> ctor = PolicyEvaluator.class.getDeclaredConstructor(Supplier.class, Clock.class);
        ctor.setAccessible(true);
        PolicyEvaluator evaluator = ctor.newInstance((Supplier<Object>) () -> doc, Clock.systemUTC());
        long sink = 0;
        // Warm both paths (the JVM's, and the binary's pages in the page cache).
        long warm = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < warm) {
            for (String f : files) {
                sink += lint(evaluator, f, false) + lint(evaluator, f, true);
                if (System.nanoTime() > warm) {
                    break;
                }
            }
        }
        long[][] without = new long[files.size()][rounds];
        long[][] with = new long[files.size()][rounds];
        int[] extraFindings = new int[files.size()];
        long ticks0 = childTicks();
        long withTotal = 0;
        for (int r = 0; r < rounds; r++) {
            for (int f = 0; f < files.size(); f++) {
                long t0 = System.nanoTime();
                int a = lint(evaluator, files.get(f), false);
                long t1 = System.nanoTime();
                int b = lint(evaluator, files.get(f), true);
                long t2 = System.nanoTime();
                without[f][r] = t1 - t0;
                with[f][r] = t2 - t1;
                withTotal += t2 - t1;
                extraFindings[f] = b - a;
                sink += a + b;
            }
        }
        long ticks = childTicks() - ticks0;
        double[] cost = new double[files.size()];
        double[] base = new double[files.size()];
        int noProcess = 0;
        int withComments = 0;
        for (int f = 0; f < files.size(); f++) {
            base[f] = median(without[f]) / 1e6;
            cost[f] = (median(with[f]) - median(without[f])) / 1e6;
            if (cost[f] < 0.3) {
                noProcess++;
            }
            if (extraFindings[f] > 0) {
                withComments++;
            }
        }
        double[] sorted = cost.clone();
        Arrays.sort(sorted);
        double mean = Arrays.stream(cost).average().orElse(0);
        System.out.printf("shellcheck cost per file over %d files, %d rounds: median %.2f ms, mean %.2f ms, p90 %.2f ms,"
                        + " max %.2f ms; lint without it: median %.3f ms; shellcheck CPU (children) %.2f ms per"
                        + " file; %d files start no shellcheck (cost < 0.3 ms), %d get ShellCheck findings;"
                        + " with ShellCheck %.0f files/s (checksum %d)%n",
                files.size(), rounds, sorted[sorted.length / 2], mean, sorted[(int) (sorted.length * 0.9)],
                sorted[sorted.length - 1], median(base), ticks * 10.0 / (files.size() * (double) rounds),
                noProcess, withComments, files.size() * rounds / (withTotal / 1e9), sink % 997);
    }

    private static int lint(PolicyEvaluator evaluator, String dockerfile, boolean shellcheck) {
        return evaluator.lint(new PolicyEvaluator.Request(dockerfile, Map.of(), null, null, null, null, null,
                shellcheck)).findings().size();
    }

    /** cutime + cstime of this process in clock ticks (100 per second on Linux). */
    private static long childTicks() throws Exception {
        String stat = Files.readString(Path.of("/proc/self/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[13]) + Long.parseLong(f[14]); // fields 16 and 17 of proc(5)
    }

    private static double median(long[] values) {
        long[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2.0;
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v[v.length / 2];
    }
}
