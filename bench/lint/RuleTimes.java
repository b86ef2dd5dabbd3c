package io.buildgateway.policy;

import io.buildgateway.dockerfile.BuildStages;
import io.buildgateway.dockerfile.CanonicalDockerfile;
import io.buildgateway.dockerfile.Dockerfile;
import io.buildgateway.dockerfile.DockerfileParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Where lint time goes: the phases of one evaluation (parse, build plan, the Subject's shared derivations, every
 * enabled rule of the shipped policy on its own, the canonical writer) timed apart, per phase and per corpus file,
 * warm, one thread. A throwaway profile for docs/benchmarks.md, not a throughput figure (the timer calls cost ~25 ns
 * each). In the policy package because rules are package-private. Usage (from the project root, after
 * {@code mvn package}): javac -cp target/classes:DEPS -d OUT bench/lint/RuleTimes.java;
 * java -cp target/classes:DEPS:OUT io.buildgateway.policy.RuleTimes src/test/resources/corpus config/policy SECONDS
 */
public class RuleTimes {
    /** The phase index of the first rule: parse, plan and the Subject's four parts come before. */
    private static final int FIRST_RULE = 6;

    public static void main(String[] args) throws Exception {
        List<Path> paths;
        try (var list = Files.list(Path.of(args[0]))) {
            paths = list.filter(p -> p.toString().endsWith(".Dockerfile")).sorted().toList();
        }
        List<String> files = new ArrayList<>();
        for (Path p : paths) {
            files.add(Files.readString(p));
        }
        PolicyDocument doc = PolicyStore.load(Path.of(args[1]), List.of());
        double seconds = Double.parseDouble(args[2]);
        List<BuiltinRules.Rule> rules = new ArrayList<>();
        for (BuiltinRules.Rule r : BuiltinRules.all()) {
            PolicyDocument.RuleSetting s = doc.rules().get(r.info().id());
            if (s == null || s.enabled()) {
                rules.add(r);
            }
        }
        // The Subject's shared derivations in four parts, in the order the first rules ask for them.
        String[] phases = new String[rules.size() + FIRST_RULE + 1];
        phases[0] = "parse";
        phases[1] = "plan";
        phases[2] = "subject: expansion";
        phases[3] = "subject: keyword index";
        phases[4] = "subject: runs (RUN split)";
        phases[5] = "subject: programs mask";
        for (int k = 0; k < rules.size(); k++) {
            phases[FIRST_RULE + k] = "rule " + rules.get(k).info().id();
        }
        phases[phases.length - 1] = "canonical write";
        long[] byPhase = new long[phases.length];
        long[] byFile = new long[files.size()];
        long[][] fileRule = new long[files.size()][phases.length];
        BuiltinRules.Emitter sink = (line, in, message) -> { };
        long rounds = 0;
        long warm = System.nanoTime() + 10_000_000_000L;
        boolean measuring = false;
        long end = 0;
        while (true) {
            long now = System.nanoTime();
            if (!measuring && now > warm) {
                measuring = true;
                for (long[] a : fileRule) {
                    Arrays.fill(a, Long.MAX_VALUE);
                }
                rounds = 0;
                end = now + (long) (seconds * 1e9);
            } else if (measuring && now > end) {
                break;
            }
            for (int f = 0; f < files.size(); f++) {
                long t0 = System.nanoTime();
                Dockerfile parsed = DockerfileParser.parse(files.get(f));
                long t1 = System.nanoTime();
                BuildStages.Plan plan = BuildStages.plan(parsed, Map.of(), null);
                long t2 = System.nanoTime();
                Subject s = new Subject(parsed, plan, Map.of(), null, null, null, doc, null, null);
                s.expansion();
                long t2a = System.nanoTime();
                s.instructions("RUN");
                long t2b = System.nanoTime();
                s.runs();
                long t2c = System.nanoTime();
                s.runsAnyOf(java.util.Set.of());
                long t3 = System.nanoTime();
                add(byPhase, fileRule[f], 0, t1 - t0);
                add(byPhase, fileRule[f], 1, t2 - t1);
                add(byPhase, fileRule[f], 2, t2a - t2);
                add(byPhase, fileRule[f], 3, t2b - t2a);
                add(byPhase, fileRule[f], 4, t2c - t2b);
                add(byPhase, fileRule[f], 5, t3 - t2c);
                long prev = t3;
                for (int k = 0; k < rules.size(); k++) {
                    rules.get(k).check().run(s, sink);
                    long t = System.nanoTime();
                    add(byPhase, fileRule[f], FIRST_RULE + k, t - prev);
                    prev = t;
                }
                CanonicalDockerfile.write(parsed, CanonicalDockerfile.Options.classic(), false); // as a lint writes it: no self-check
                long t = System.nanoTime();
                add(byPhase, fileRule[f], phases.length - 1, t - prev);
            }
            rounds++;
        }
        // The fastest of the rounds per file and phase: this host is shared, and the minimum is what stays of a
        // phase's own cost when preemptions come and go. Figures below are per round (rounds = 1).
        for (int f = 0; f < files.size(); f++) {
            for (int p = 0; p < phases.length; p++) {
                byPhase[p] += fileRule[f][p];
                byFile[f] += fileRule[f][p];
            }
        }
        long total = Arrays.stream(byPhase).sum();
        System.out.printf("%d rounds over %d files: %.1f µs per file (sum of the per-file, per-phase minima)%n",
                rounds, files.size(), total / 1e3 / files.size());
        rounds = 1;
        Integer[] order = new Integer[phases.length];
        for (int k = 0; k < order.length; k++) {
            order[k] = k;
        }
        Arrays.sort(order, (a, b) -> Long.compare(byPhase[b], byPhase[a]));
        System.out.println("-- phases, costliest first: µs per file (share)");
        // -DruleTimes.top=N prints N phases (default 30; 200 prints every rule, the cheapest ones last).
        for (int k = 0; k < Math.min(Integer.getInteger("ruleTimes.top", 30), order.length); k++) {
            int p = order[k];
            // the file where this phase costs most
            int worst = 0;
            for (int f = 1; f < files.size(); f++) {
                if (fileRule[f][p] > fileRule[worst][p]) {
                    worst = f;
                }
            }
            System.out.printf("%8.2f  %5.1f%%  %s   (worst: %s %.1f µs)%n", byPhase[p] / 1e3 / rounds / files.size(),
                    100.0 * byPhase[p] / total, phases[p], paths.get(worst).getFileName(),
                    fileRule[worst][p] / 1e3 / rounds);
        }
        Integer[] fo = new Integer[files.size()];
        for (int k = 0; k < fo.length; k++) {
            fo[k] = k;
        }
        Arrays.sort(fo, (a, b) -> Long.compare(byFile[b], byFile[a]));
        long[] sorted = byFile.clone();
        Arrays.sort(sorted);
        System.out.printf("-- files, costliest first (median file %.1f µs): µs, share, its top phases%n",
                sorted[sorted.length / 2] / 1e3 / rounds);
        for (int k = 0; k < 15; k++) {
            int f = fo[k];
            Integer[] po = new Integer[phases.length];
            for (int j = 0; j < po.length; j++) {
                po[j] = j;
            }
            final long[] fr = fileRule[f];
            Arrays.sort(po, (a, b) -> Long.compare(fr[b], fr[a]));
            StringBuilder top = new StringBuilder();
            for (int j = 0; j < 3; j++) {
                top.append(String.format("%s %.1f; ", phases[po[j]], fr[po[j]] / 1e3 / rounds));
            }
            System.out.printf("%8.1f  %5.1f%%  %s (%d bytes): %s%n", byFile[f] / 1e3 / rounds, 100.0 * byFile[f] / total,
                    paths.get(f).getFileName(), files.get(f).length(), top);
        }
    }

    private static void add(long[] byPhase, long[] fileRow, int phase, long nanos) {
        if (nanos < fileRow[phase]) {
            fileRow[phase] = nanos;
        }
    }
}
