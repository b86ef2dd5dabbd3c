import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Whether two builds of the policy engine find the same: both are loaded in one JVM (each by its own class loader)
 * and given the corpus and mutated variants of it (lines deleted, duplicated, swapped, joined, split, cut, spliced
 * from other files, characters and variable forms inserted), under each policy folder given, with no build args and
 * with a few, for the classic builder and for BuildKit. Compared: the build's evaluation whole (findings, verdict,
 * base, pulls, canonical text) between A's evaluate and B's evaluate, and what the lint endpoint answers (findings,
 * verdict) between A's evaluate and B's lint when B has one. Prints the first differences and the counts.
 * Usage: FindingsDiff <classes A> <classes B> <dependency classpath> <corpus dir> <variants per file> <seed>
 * <policy dir>... — usually config/policy and bench/lint/policy-strict (digests, a deny list, severities and rules
 * off, team overrides, waivers: what the shipped policy leaves at defaults).
 */
public class FindingsDiff {

    public static void main(String[] args) throws Exception {
        List<String> corpus = new ArrayList<>();
        try (var list = Files.list(Path.of(args[3]))) {
            for (Path p : list.filter(p -> p.toString().endsWith(".Dockerfile")).sorted().toList()) {
                corpus.add(Files.readString(p));
            }
        }
        int variants = Integer.parseInt(args[4]);
        long seed = Long.parseLong(args[5]);
        List<String> inputs = new ArrayList<>(corpus);
        Random r = new Random(seed);
        for (String file : corpus) {
            for (int v = 0; v < variants; v++) {
                inputs.add(mutate(r, file, corpus));
            }
        }
        List<Map<String, String>> argSets = List.of(Map.of(), Map.of("IMG", "127.0.0.1:5000/base/debian:12",
                "VERSION", "1.2", "BASE", "docker.io/library/alpine:3", "TAG", "latest", "USER", "root"));
        long compared = 0;
        long differences = 0;
        long lintCompared = 0;
        for (int p = 6; p < args.length; p++) {
            Engine a = new Engine(args[0], args[2], Path.of(args[p]));
            Engine b = new Engine(args[1], args[2], Path.of(args[p]));
            for (String input : inputs) {
                for (Map<String, String> buildArgs : argSets) {
                    for (boolean heredocs : new boolean[] {false, true}) {
                        String ea = a.evaluate(input, buildArgs, heredocs);
                        String eb = b.evaluate(input, buildArgs, heredocs);
                        compared++;
                        if (!ea.equals(eb)) {
                            if (differences++ < 5) {
                                System.out.printf("DIFFERENT (evaluate, %s, %s, heredocs %s):%n%s%n--- A: %s%n--- B: %s%n",
                                        args[p], buildArgs, heredocs, input, ea, eb);
                            }
                        }
                        if (b.lint != null) {
                            String la = a.lintView(input, buildArgs, heredocs, false);
                            String lb = b.lintView(input, buildArgs, heredocs, true);
                            lintCompared++;
                            if (!la.equals(lb) && differences++ < 5) {
                                System.out.printf("DIFFERENT (lint, %s, %s, heredocs %s):%n%s%n--- A: %s%n--- B: %s%n",
                                        args[p], buildArgs, heredocs, input, la, lb);
                            }
                        }
                    }
                }
            }
        }
        System.out.printf("%d inputs (%d corpus files, %d variants each, seed %d); %d evaluations and %d lints compared"
                + " under %d policies: %d differences%n", inputs.size(), corpus.size(), variants, seed, compared,
                lintCompared, args.length - 6, differences);
        if (differences > 0) {
            System.exit(1);
        }
    }

    private static final String[] INSERTS = {"$", "${", "}", "\\", "\\\n", "\"", "'", " ", "\t", "#", "=", "--",
            "<<EOF\nx\nEOF\n", "${A/a/b}", "${A#*/}", "${A%%:*}", "${A:-x}", "$A", "&&", "|", ";", "[", "]", ",", ":",
            "@sha256:" + "a".repeat(64), "\r", "\u00a0", "\uD83D\uDE00", "root", "0", "latest", "FROM scratch\n",
            "ARG A=1\n", "ENV A=b\n", "USER 0\n", "ONBUILD RUN x\n", "# escape=`\n", "# syntax=x\n", "--mount=type=",
            "curl -k ", "sudo ", "apt-get install -y x ", "pip install x ", "cd /", "COPY --from=", "AS b "};

    private static String mutate(Random r, String file, List<String> corpus) {
        List<String> lines = new ArrayList<>(List.of(file.split("\n", -1)));
        int edits = 1 + r.nextInt(3);
        for (int e = 0; e < edits; e++) {
            int at = r.nextInt(lines.size());
            String line = lines.get(at);
            switch (r.nextInt(8)) {
                case 0 -> lines.remove(at);
                case 1 -> lines.add(at, line);
                case 2 -> {
                    int other = r.nextInt(lines.size());
                    lines.set(at, lines.get(other));
                    lines.set(other, line);
                }
                case 3 -> {
                    List<String> from = List.of(corpus.get(r.nextInt(corpus.size())).split("\n", -1));
                    lines.add(at, from.get(r.nextInt(from.size())));
                }
                case 4 -> lines.set(at, line.substring(0, r.nextInt(line.length() + 1)));
                case 5 -> {
                    int k = r.nextInt(line.length() + 1);
                    lines.set(at, line.substring(0, k) + INSERTS[r.nextInt(INSERTS.length)] + line.substring(k));
                }
                case 6 -> lines.set(at, r.nextBoolean() ? line.toLowerCase() : line.toUpperCase());
                default -> {
                    if (at + 1 < lines.size()) {
                        lines.set(at, line + " " + lines.remove(at + 1));
                    }
                }
            }
            if (lines.isEmpty()) {
                lines.add("");
            }
        }
        return String.join("\n", lines);
    }

    /** One build of the engine on one policy, by reflection. */
    private static final class Engine {
        final Object evaluator;
        final Constructor<?> request;
        final Method evaluate;
        final Method lint;
        final Method findings;
        final Method passed;

        Engine(String classes, String deps, Path policy) throws Exception {
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
            // A fixed day, so that waivers' expiry reads alike in both.
            Clock day = Clock.fixed(java.time.Instant.parse("2026-12-02T12:00:00Z"), java.time.ZoneOffset.UTC);
            evaluator = ctor.newInstance((Supplier<Object>) () -> doc, day);
            Class<?> requestClass = loader.loadClass("io.buildgateway.policy.PolicyEvaluator$Request");
            request = requestClass.getConstructor(String.class, Map.class, String.class, String.class, String.class,
                    java.util.Set.class, boolean.class);
            evaluate = evaluatorClass.getMethod("evaluate", requestClass);
            Method l;
            try {
                l = evaluatorClass.getMethod("lint", requestClass);
            } catch (NoSuchMethodException e) {
                l = null;
            }
            lint = l;
            Class<?> evaluation = loader.loadClass("io.buildgateway.policy.Evaluation");
            findings = evaluation.getMethod("findings");
            passed = evaluation.getMethod("passed");
        }

        private Object req(String input, Map<String, String> buildArgs, boolean heredocs) throws Exception {
            return request.newInstance(input, new LinkedHashMap<>(buildArgs), null, "team", "team/app", null,
                    heredocs);
        }

        String evaluate(String input, Map<String, String> buildArgs, boolean heredocs) {
            try {
                return String.valueOf(evaluate.invoke(evaluator, req(input, buildArgs, heredocs)));
            } catch (java.lang.reflect.InvocationTargetException e) {
                return "threw " + e.getCause();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        /** What the lint endpoint shows: the findings and the verdict. */
        String lintView(String input, Map<String, String> buildArgs, boolean heredocs, boolean useLint) {
            try {
                Object e = (useLint ? lint : evaluate).invoke(evaluator, req(input, buildArgs, heredocs));
                return passed.invoke(e) + " " + findings.invoke(e);
            } catch (java.lang.reflect.InvocationTargetException e) {
                return "threw " + e.getCause();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
