package io.buildgateway.policy;

import io.buildgateway.dockerfile.Dockerfile;
import io.buildgateway.dockerfile.Instruction;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the rules of a lint cost by themselves, and what the Subject's derivations they ask for first cost: cumulative
 * variants over fresh subjects, in one JVM, medians of 8 rounds by thread CPU time (EngineFloor's method). Each
 * variant parses and plans the file and makes the shared derivations EngineFloor's "no rules" makes ({@code base});
 * then the words of every instruction, their argument words, the pairs of every ENV and LABEL, of every ARG, the pulls
 * and stage lists ({@code +…}, each on top of the one before), or the enabled rules once ({@code +rules}) or twice
 * ({@code +rules twice}: the second pass finds every derivation made, so it costs the rules' own logic). Issue #12:
 * whether a faster rule engine alone could reach 4×. Usage as EngineFloor's, compiled with it (javac … -d OUT
 * bench/lint/EngineFloor.java bench/lint/RulesWarm.java):
 * java JIT_OPTS -cp target/classes:DEPS:OUT io.buildgateway.policy.RulesWarm bench/lint/real-world config/policy
 */
public class RulesWarm {
    private static long sink;
    private static final String[] NAMES = {"base", "+words", "+argumentWords", "+env", "+argPairs",
        "+pulls/located/chain/onbuild", "+rules", "+rules twice"};

    public static void main(String[] args) throws Exception {
        List<String> files = EngineFloor.corpus(Path.of(args[0]));
        PolicyDocument doc = PolicyStore.load(Path.of(args[1]), List.of());
        List<BuiltinRules.Rule> rules = new ArrayList<>();
        for (BuiltinRules.Rule r : BuiltinRules.all()) {
            PolicyDocument.RuleSetting s = doc.rules().get(r.info().id());
            if (s == null || s.enabled()) {
                rules.add(r);
            }
        }
        BuiltinRules.Emitter emit = (line, instruction, message) -> sink += message.length();
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long self = Thread.currentThread().getId();
        int rounds = 8;
        double[][] micros = new double[NAMES.length][rounds];
        double[][] bytes = new double[NAMES.length][rounds];
        for (int r = -3; r < rounds; r++) {
            for (int v = 0; v < NAMES.length; v++) {
                long cpu0 = threads.getCurrentThreadCpuTime();
                long b0 = threads.getThreadAllocatedBytes(self);
                long end = System.nanoTime() + 1_500_000_000L;
                long n = 0;
                while (System.nanoTime() < end) {
                    for (String f : files) {
                        run(v, f, doc, rules, emit);
                        n++;
                    }
                }
                if (r >= 0) {
                    micros[v][r] = (threads.getCurrentThreadCpuTime() - cpu0) / 1e3 / n;
                    bytes[v][r] = (double) (threads.getThreadAllocatedBytes(self) - b0) / n;
                }
            }
        }
        System.out.printf("%d files, %d enabled rules, medians of %d rounds (checksum %d)%n", files.size(),
                rules.size(), rounds, sink % 997);
        for (int v = 0; v < NAMES.length; v++) {
            System.out.printf("%-30s %6.1f µs per file, %,8.0f bytes per file%n", NAMES[v], EngineFloor.median(micros[v]),
                    EngineFloor.median(bytes[v]));
        }
    }

    private static void run(int v, String file, PolicyDocument doc, List<BuiltinRules.Rule> rules,
            BuiltinRules.Emitter emit) {
        Subject s = EngineFloor.sharedSubject(file, doc);
        Dockerfile parsed = s.dockerfile();
        boolean derivations = v >= 1 && v <= 5;
        for (Instruction i : derivations ? parsed.instructions() : List.<Instruction>of()) {
            sink += s.words(i).size();
            if (v >= 2) {
                sink += s.argumentWords(i).size();
            }
            if (v >= 3 && (i.keyword().equals("ENV") || i.keyword().equals("LABEL"))) {
                sink += s.env(i).size();
            }
            if (v >= 4 && i.keyword().equals("ARG")) {
                sink += s.argPairs(i).size();
            }
        }
        if (v == 5) {
            sink += s.pulls().size() + s.located().size() + s.targetChain().size() + s.onbuildRuns().size();
        }
        for (int pass = 0; pass < (v == 6 ? 1 : v == 7 ? 2 : 0); pass++) {
            for (BuiltinRules.Rule r : rules) {
                r.check().run(s, emit);
            }
        }
    }
}
