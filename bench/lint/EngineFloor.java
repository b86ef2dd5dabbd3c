package io.buildgateway.policy;

import io.buildgateway.dockerfile.BuildStages;
import io.buildgateway.dockerfile.CanonicalDockerfile;
import io.buildgateway.dockerfile.Dockerfile;
import io.buildgateway.dockerfile.DockerfileParser;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a lint costs with its rules and without them, in one JVM, as means over the corpus (not RuleTimes' per-phase
 * minima, which leave out what the phases cost one another in the mix: caches, branch history, allocation). Three
 * variants take turns in slices of SLICE seconds, ROUNDS times: {@code lint} ({@link PolicyEvaluator#lint}, what the
 * lint endpoint and LintBench run), {@code no rules} (the same parse, plan, the Subject's shared derivations that the
 * rules ask for, and the canonical writer's problems, without one rule) and {@code parse} (the parser alone). Prints
 * the median per variant of µs per file, by thread CPU time, and the bytes allocated per file: the rules' part is the
 * difference. Issue #12's question: how much of a lint a faster rule engine could take away.
 * Usage (from the project root, after {@code mvn package}): javac -cp target/classes:DEPS -d OUT
 * bench/lint/EngineFloor.java; java JIT_OPTS -cp target/classes:DEPS:OUT io.buildgateway.policy.EngineFloor
 * bench/lint/real-world config/policy [rounds, 8] [slice seconds, 2]
 */
public class EngineFloor {

    public static void main(String[] args) throws Exception {
        List<String> files = corpus(Path.of(args[0]));
        PolicyDocument doc = PolicyStore.load(Path.of(args[1]), List.of());
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        double slice = args.length > 3 ? Double.parseDouble(args[3]) : 2;
        PolicyEvaluator evaluator = new PolicyEvaluator(() -> doc, Clock.systemUTC());
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long self = Thread.currentThread().getId();
        String[] names = {"lint", "no rules", "parse"};
        double[][] micros = new double[names.length][rounds];
        double[][] bytes = new double[names.length][rounds];
        long sink = 0;
        // Warm-up: 3 rounds not kept, every variant compiled before the first kept slice.
        for (int r = -3; r < rounds; r++) {
            for (int v = 0; v < names.length; v++) {
                long cpu0 = threads.getCurrentThreadCpuTime();
                long b0 = threads.getThreadAllocatedBytes(self);
                long end = System.nanoTime() + (long) (slice * 1e9);
                long n = 0;
                while (System.nanoTime() < end) {
                    for (String f : files) {
                        sink += run(v, f, evaluator, doc);
                        n++;
                    }
                }
                if (r >= 0) {
                    micros[v][r] = (threads.getCurrentThreadCpuTime() - cpu0) / 1e3 / n;
                    bytes[v][r] = (double) (threads.getThreadAllocatedBytes(self) - b0) / n;
                }
            }
        }
        System.out.printf("%d files, %d rounds of %.1f s per variant, medians by thread CPU time (checksum %d)%n",
                files.size(), rounds, slice, sink % 997);
        for (int v = 0; v < names.length; v++) {
            System.out.printf("%-9s %6.1f µs per file (rounds %s), %,8.0f bytes per file%n", names[v],
                    median(micros[v]), range(micros[v]), median(bytes[v]));
        }
        System.out.printf("the rules: %.1f µs per file, %.0f %% of a lint%n", median(micros[0]) - median(micros[1]),
                100 * (median(micros[0]) - median(micros[1])) / median(micros[0]));
    }

    private static int run(int variant, String file, PolicyEvaluator evaluator, PolicyDocument doc) {
        switch (variant) {
            case 0 -> {
                return evaluator.lint(new PolicyEvaluator.Request(file, Map.of(), null, null, null, null))
                        .findings().size();
            }
            case 1 -> {
                Subject s = sharedSubject(file, doc);
                return s.runs().size() + CanonicalDockerfile.problems(s.dockerfile(),
                        new CanonicalDockerfile.Options(false, null, doc::frontend)).size();
            }
            default -> {
                return DockerfileParser.parse(file).instructions().size();
            }
        }
    }

    /**
     * A fresh Subject of the file with the shared derivations nearly every lint's first rules ask for (RuleTimes'
     * "subject" phases): the "no rules" variant's, and RulesWarm's base.
     */
    static Subject sharedSubject(String file, PolicyDocument doc) {
        Dockerfile parsed = DockerfileParser.parse(file);
        BuildStages.Plan plan = BuildStages.plan(parsed, Map.of(), null);
        Subject s = new Subject(parsed, plan, Map.of(), null, null, null, doc, null, null);
        s.expansion();
        s.instructions("RUN");
        s.runs();
        s.runsAnyOf(Set.of());
        return s;
    }

    /** The corpus's Dockerfiles, in name order (also RulesWarm's). */
    static List<String> corpus(Path folder) throws java.io.IOException {
        List<String> files = new ArrayList<>();
        try (var list = Files.list(folder)) {
            for (Path p : list.filter(p -> p.toString().endsWith(".Dockerfile")).sorted().toList()) {
                files.add(Files.readString(p));
            }
        }
        return files;
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static String range(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return String.format("%.1f–%.1f", sorted[0], sorted[sorted.length - 1]);
    }
}
