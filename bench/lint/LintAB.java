import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;

/**
 * Before/after comparison of two builds of the policy engine in one JVM, for a host whose speed changes from one
 * minute to the next: each build is loaded by its own class loader (so each is JIT-compiled on its own) and the two
 * take turns over the corpus in short slices, so both see the same load. Prints the per-slice throughput of each and
 * the median of the per-slice ratios B/A, by wall-clock and by thread CPU time.
 * Usage: LintAB <classes A> <classes B> <dependency classpath> <corpus dir> <policy dir> <slices> <seconds per slice>
 * [warm-up turns of 0.5 s per build, default 10: under load C2 needs more before the slices measure compiled code]
 */
public class LintAB {

    public static void main(String[] args) throws Exception {
        String deps = args[2];
        List<String> files = new ArrayList<>();
        try (var list = Files.list(Path.of(args[3]))) {
            for (Path p : list.filter(p -> p.toString().endsWith(".Dockerfile")).sorted().toList()) {
                files.add(Files.readString(p));
            }
        }
        Path policy = Path.of(args[4]);
        int slices = Integer.parseInt(args[5]);
        double seconds = Double.parseDouble(args[6]);
        List<ToIntFunction<String>> engines = List.of(engine(args[0], deps, policy), engine(args[1], deps, policy));
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long sink = 0;
        int warmTurns = args.length > 7 ? Integer.parseInt(args[7]) : 10;
        for (int warm = 0; warm < warmTurns; warm++) {
            for (ToIntFunction<String> e : engines) {
                long end = System.nanoTime() + 500_000_000L;
                while (System.nanoTime() < end) {
                    for (String f : files) {
                        sink += e.applyAsInt(f);
                    }
                }
            }
        }
        // Beside the slices: the fastest lint of each file by each build, over all slices. A preemption only ever
        // adds time, so on a loaded host the sum of the per-file minima is the steadiest figure of an engine's cost.
        long[][] fastest = new long[2][files.size()];
        Arrays.fill(fastest[0], Long.MAX_VALUE);
        Arrays.fill(fastest[1], Long.MAX_VALUE);
        double[][] wall = new double[2][slices];
        double[][] cpu = new double[2][slices];
        for (int s = 0; s < slices; s++) {
            for (int turn = 0; turn < 2; turn++) {
                int k = s % 2 == 0 ? turn : 1 - turn; // alternate which build goes first
                ToIntFunction<String> e = engines.get(k);
                long cpu0 = threads.getCurrentThreadCpuTime();
                long start = System.nanoTime();
                long end = start + (long) (seconds * 1e9);
                long n = 0;
                long now = start;
                while (now < end) {
                    for (int f = 0; f < files.size(); f++) {
                        long t0 = System.nanoTime();
                        sink += e.applyAsInt(files.get(f));
                        long t1 = System.nanoTime();
                        fastest[k][f] = Math.min(fastest[k][f], t1 - t0);
                        n++;
                    }
                    now = System.nanoTime();
                }
                wall[k][s] = n / ((now - start) / 1e9);
                cpu[k][s] = n / ((threads.getCurrentThreadCpuTime() - cpu0) / 1e9);
            }
        }
        for (int k = 0; k < 2; k++) {
            System.out.printf("%s: median %.0f files/s (slices %.0f-%.0f), by CPU time median %.0f files/s%n",
                    k == 0 ? "A" : "B", median(wall[k]), min(wall[k]), max(wall[k]), median(cpu[k]));
        }
        double[] perFile = new double[2];
        for (int k = 0; k < 2; k++) {
            perFile[k] = Arrays.stream(fastest[k]).sum() / 1e3 / files.size();
        }
        System.out.printf("per-file minima: A %.2f µs, B %.2f µs per file (mean over the corpus), B faster by %.2f×%n",
                perFile[0], perFile[1], perFile[0] / perFile[1]);
        System.out.printf("B/A, median of %d slice pairs: %.2f (by CPU time %.2f) (checksum %d)%n", slices,
                median(ratios(wall)), median(ratios(cpu)), sink % 997);
    }

    private static ToIntFunction<String> engine(String classes, String deps, Path policy) throws Exception {
        List<URL> urls = new ArrayList<>();
        urls.add(Path.of(classes).toUri().toURL());
        for (String d : deps.split(":")) {
            urls.add(Path.of(d).toUri().toURL());
        }
        ClassLoader loader = new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
        Method load = loader.loadClass("io.buildgateway.policy.PolicyStore").getDeclaredMethod("load", Path.class,
                List.class);
        load.setAccessible(true);
        Object doc = load.invoke(null, policy, List.of());
        Class<?> evaluatorClass = loader.loadClass("io.buildgateway.policy.PolicyEvaluator");
        Constructor<?> ctor = evaluatorClass.getDeclaredConstructor(Supplier.class, Clock.class);
        ctor.setAccessible(true);
        Object evaluator = ctor.newInstance((Supplier<Object>) () -> doc, Clock.systemUTC());
        Method findings = loader.loadClass("io.buildgateway.policy.Evaluation").getMethod("findings");
        // What POST /api/v1/lint runs: lint(Request) where the build has it, else evaluate (as the lint endpoints
        // called before lint left out the canonical writer's self-check).
        Class<?> requestClass = loader.loadClass("io.buildgateway.policy.PolicyEvaluator$Request");
        Constructor<?> request = requestClass.getConstructor(String.class, Map.class, String.class, String.class,
                String.class, java.util.Set.class);
        Method lint;
        try {
            lint = evaluatorClass.getMethod("lint", requestClass);
        } catch (NoSuchMethodException e) {
            lint = evaluatorClass.getMethod("evaluate", requestClass);
        }
        Method run = lint;
        System.out.println(classes + ": " + run);
        return f -> {
            try {
                return ((List<?>) findings.invoke(run.invoke(evaluator, request.newInstance(f, Map.of(), null, null,
                        null, null)))).size();
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        };
    }

    private static double[] ratios(double[][] x) {
        double[] r = new double[x[0].length];
        for (int s = 0; s < r.length; s++) {
            r[s] = x[1][s] / x[0][s];
        }
        return r;
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static double min(double[] x) {
        return Arrays.stream(x).min().orElse(0);
    }

    private static double max(double[] x) {
        return Arrays.stream(x).max().orElse(0);
    }
}
