package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.dockerfile.BuildStages;
import io.buildgateway.dockerfile.CanonicalDockerfile;
import io.buildgateway.dockerfile.Dockerfile;
import io.buildgateway.dockerfile.DockerfileMutations;
import io.buildgateway.dockerfile.DockerfileParser;
import io.buildgateway.dockerfile.Instruction;
import io.buildgateway.dockerfile.ParseError;
import io.buildgateway.dockerfile.Substitution;
import io.buildgateway.hostpool.BuildKitOracle;
import io.buildgateway.support.EnvironmentUse;
import io.buildgateway.support.Tars;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * BuildKit judges the generated mutations too (issue #13). {@code ParserDifferentialIT} compares the classic builder's
 * "Step i/N" list with our parse for the Dockerfiles {@link DockerfileMutations} generates; the build hosts build with
 * BuildKit, so a seeded sample of the same mutations (seeds 7000–7149, the same generator) is built here on the test
 * environment's dockerd 26 exactly as the host code builds ({@link BuildKitOracle}: {@code POST /build?version=2},
 * network none, {@code pull=0}, a plain ustar context, no session), and BuildKit is the truth for the reading that
 * the policy and the canonical writer use, {@code DockerfileParser.parse(text)} with heredocs:
 *
 * <ul>
 * <li>refused before any step by BuildKit ⇔ refused by the gateway (a parse error, or no canonical text);</li>
 * <li>the numbered steps of BuildKit's trace (FROM, RUN, COPY, ADD, WORKDIR with their expanded words, and N) are
 * those of our parse ({@link BuildKitOracleIT#compareSteps}); a build that failed at a step is compared up to it;</li>
 * <li>what the instructions that make no step did: the image's configuration (user, environment, labels, ports,
 * volumes, working directory, stop signal, health check, shell, ONBUILD triggers, command and entrypoint) is what
 * our parse predicts from the base's configuration. A {@code LABEL ff=1} hidden in an earlier line, or a
 * {@code USER root} that only one reader sees, shows here and in no step list (the target stage's chain only).</li>
 * </ul>
 *
 * A mutation with a {@code # syntax=} directive is refused by both (BuildKit fetches the frontend and has no
 * network; the writer refuses an unapproved frontend); it is judged that way, then built again with the directive's
 * key renamed ({@code # sintax=}, an unknown directive to both readers) so that its other corners are judged too.
 * Every third buildable mutation's canonical text (what the gateway would send) is built as well and must give the
 * same steps and configuration. The sample's size is {@code -Dit.mutations.sample} (default 60), drawn with a fixed
 * seed ({@code -Dit.mutations.seed}) so that a failure repeats.
 */
@EnvironmentUse(exclusive = true)
class BuildKitMutationsIT {

    private static final Pattern SYNTAX = Pattern.compile("(?im)^(\uFEFF?[ \t]*#[ \t\u000B]*)syntax([ \t]*=)");
    private static BuildKitOracle oracle;
    private static String base;
    private static JsonNode baseConfig;

    @BeforeAll
    static void connect() throws Exception {
        oracle = BuildKitOracle.connect("base/busybox");
        base = oracle.registry() + "/base/busybox";
        assertThat(oracle.pull(base + ":latest")).isNull();
        BuildKitOracle.Built empty = oracle.build(Tars.ustar().file("Dockerfile", "FROM " + base + "\n").bytes(),
                "Dockerfile", Map.of());
        assertThat(empty.error()).as(empty.log()).isNull();
        baseConfig = oracle.config(empty.imageId());
        oracle.remove(empty.imageId());
    }

    @AfterAll
    static void close() throws Exception {
        oracle.close();
    }

    private static byte[] context(String dockerfile) {
        Tars tar = Tars.ustar().file("Dockerfile", dockerfile);
        for (String f : DockerfileMutations.CONTEXT_FILES) {
            tar.file(f, "content of " + f + "\n");
        }
        return tar.bytes();
    }

    /** Errors of our parse that BuildKit does not make (it ignores text after a JSON array; we refuse it). */
    private static boolean refusedOnPurposeOnly(Dockerfile d) {
        return d.errors().stream().map(ParseError::message).allMatch(m -> m.contains("text after the JSON array"));
    }

    private static CanonicalDockerfile.Result canonical(Dockerfile parsed) {
        return CanonicalDockerfile.write(parsed, new CanonicalDockerfile.Options(true, "oracle", x -> null));
    }

    @Test
    void generatedMutationsReadAsBuildKitReadsThem() throws Exception {
        int sample = Integer.getInteger("it.mutations.sample", 60);
        long seed = Long.getLong("it.mutations.seed", 13L);
        List<DockerfileMutations.Case> all = new ArrayList<>(DockerfileMutations.generate(7_000, 150, base + ":latest", 1));
        java.util.Collections.shuffle(all, new Random(seed));
        List<DockerfileMutations.Case> chosen = all.subList(0, Math.min(sample, all.size()));

        List<String> report = new ArrayList<>();
        Map<String, Integer> counts = new TreeMap<>();
        int buildable = 0;
        long start = System.nanoTime();
        for (DockerfileMutations.Case c : chosen) {
            List<String> texts = new ArrayList<>(List.of(c.text()));
            Dockerfile first = DockerfileParser.parse(c.text());
            if (first.directives().containsKey("syntax")) {
                String renamed = SYNTAX.matcher(c.text()).replaceAll("$1sintax$2");
                assertThat(renamed).as(c.toString()).isNotEqualTo(c.text());
                texts.add(renamed);
            }
            for (String text : texts) {
                String what = "seed " + c.seed() + (text.equals(c.text()) ? "" : " (syntax renamed)") + ": "
                        + text.replace("\n", "\\n").replace("\r", "\\r").replace("\f", "\\f");
                Dockerfile parsed = DockerfileParser.parse(text);
                BuildKitOracle.Built built = oracle.build(context(text), "Dockerfile", Map.of());
                String outcome = judge(what, parsed, built, report, "as written");
                counts.merge(outcome, 1, Integer::sum);
                if (!outcome.equals("refused by both") && canonical(parsed).text() != null && buildable++ % 3 == 0) {
                    String canonicalText = canonical(parsed).text();
                    BuildKitOracle.Built again = oracle.build(context(canonicalText), "Dockerfile", Map.of());
                    if (built.error() == null && again.error() != null) {
                        report.add("DISAGREE " + what + "\n   canonical failed where the text as written built: "
                                + again.error() + "\n" + canonicalText);
                    }
                    counts.merge("canonical " + judge(what + "\n   canonical: " + canonicalText.replace("\n", "\\n"),
                            parsed, again, report, "canonical"), 1, Integer::sum);
                }
            }
        }
        String summary = chosen.size() + " mutations in " + (System.nanoTime() - start) / 1_000_000 + " ms: " + counts;
        String text = summary + "\n" + String.join("\n", report);
        System.out.println(text);
        assertThat(report).as(text).noneMatch(l -> l.contains("DISAGREE"));
        assertThat(counts.getOrDefault("ran every step", 0)).as(text).isGreaterThan(sample / 4);
        assertThat(counts.getOrDefault("refused by both", 0)).as(text).isPositive();
        assertThat(counts.getOrDefault("canonical ran every step", 0)).as(text).isGreaterThan(sample / 20);
    }

    /** Judges one build against our parse; returns what happened, for the counts. */
    private static String judge(String what, Dockerfile parsed, BuildKitOracle.Built built, List<String> report,
            String how) throws Exception {
        if (built.steps().isEmpty() && built.error() != null) {
            if (parsed.errors().isEmpty() && canonical(parsed).text() != null) {
                report.add("DISAGREE " + how + " " + what + "\n   BuildKit refused it before any step ("
                        + built.error() + "); the gateway would build it");
            }
            return "refused by both";
        }
        if (!refusedOnPurposeOnly(parsed)) {
            report.add("DISAGREE " + how + " " + what + "\n   our parse refuses it (" + parsed.errors()
                    + "), BuildKit ran " + built.steps() + " error=" + built.error());
            return "disagreement";
        }
        // A text the gateway never sends (the writer refuses it: text after a JSON array, a trailing escape before
        // a form feed, ...): where BuildKit reads it otherwise, that is recorded, not a disagreement.
        boolean gatewaySendsIt = parsed.errors().isEmpty() && canonical(parsed).text() != null;
        String disagree = gatewaySendsIt ? "DISAGREE " : "differs (the gateway refuses this text) ";
        BuildStages.Plan plan = BuildStages.plan(parsed, Map.of(), null);
        Expansion.Result expansion = Expansion.of(parsed, plan, null, x -> false);
        List<String> stepReport = new ArrayList<>();
        List<BuildKitOracle.Step> steps = built.steps();
        if (built.error() != null) {
            // Failed at a step: N and the steps reached. Pad with what our parse expects after it.
            stepReport.add("   (failed at a step: " + built.error() + ")");
        }
        BuildKitOracleIT.compareSteps(plan, expansion, steps, stepReport, how, built.error() != null);
        if (stepReport.stream().anyMatch(l -> l.contains("DISAGREE"))) {
            report.add(disagree + how + " " + what);
            stepReport.forEach(l -> report.add(gatewaySendsIt ? l : l.replace("DISAGREE", "differs")));
        }
        if (built.imageId() == null) {
            return "failed at a step";
        }
        JsonNode config = oracle.config(built.imageId());
        oracle.remove(built.imageId());
        Map<String, Object> ours = predictConfig(parsed, plan, expansion);
        Map<String, Object> theirs = actualConfig(config);
        for (String key : ours.keySet()) {
            if (!java.util.Objects.equals(ours.get(key), theirs.get(key))) {
                report.add(disagree + how + " " + what + "\n   config " + key + ": ours " + ours.get(key)
                        + " buildkit " + theirs.get(key));
            }
        }
        return gatewaySendsIt ? "ran every step" : "ran every step, refused by the gateway";
    }

    /** The configuration fields compared, as the daemon stores them, from the built image. */
    private static Map<String, Object> actualConfig(JsonNode c) {
        Map<String, Object> out = new LinkedHashMap<>();
        Map<String, String> env = new TreeMap<>();
        for (JsonNode e : c.path("Env")) {
            String kv = e.asString();
            int eq = kv.indexOf('=');
            env.put(eq < 0 ? kv : kv.substring(0, eq), eq < 0 ? "" : kv.substring(eq + 1));
        }
        out.put("Env", env);
        Map<String, String> labels = new TreeMap<>();
        c.path("Labels").properties().forEach(p -> labels.put(p.getKey(), p.getValue().asString()));
        out.put("Labels", labels);
        out.put("User", c.path("User").asString(""));
        out.put("WorkingDir", c.path("WorkingDir").asString(""));
        out.put("ExposedPorts", new TreeSet<>(c.path("ExposedPorts").propertyNames()));
        out.put("Volumes", new TreeSet<>(c.path("Volumes").propertyNames()));
        out.put("StopSignal", c.path("StopSignal").asString(""));
        out.put("Healthcheck", strings(c.path("Healthcheck").path("Test")));
        out.put("Shell", strings(c.path("Shell")));
        out.put("OnBuild", strings(c.path("OnBuild")).size());
        out.put("Cmd", strings(c.path("Cmd")));
        out.put("Entrypoint", strings(c.path("Entrypoint")));
        return out;
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asString()));
        return out;
    }

    /**
     * The configuration our parse says the one stage on the base makes: the base's, then each instruction's effect
     * in order, values processed as the policy's expansion processes them (ENV and LABEL pairs as the daemon's
     * {@code parseNameVal} reads them, then expanded with the ARGs and ENVs declared before).
     */
    private static Map<String, Object> predictConfig(Dockerfile parsed, BuildStages.Plan plan,
            Expansion.Result expansion) {
        // The target's chain of stages, the first on an image (the base, here) first.
        List<Integer> chain = new ArrayList<>();
        plan.targetChain().forEach(st -> chain.add(0, st.index()));
        Map<String, Object> base = actualConfig(baseConfig);
        @SuppressWarnings("unchecked")
        Map<String, String> env = new TreeMap<>((Map<String, String>) base.get("Env"));
        @SuppressWarnings("unchecked")
        Map<String, String> labels = new TreeMap<>((Map<String, String>) base.get("Labels"));
        @SuppressWarnings("unchecked")
        TreeSet<String> ports = new TreeSet<>((TreeSet<String>) base.get("ExposedPorts"));
        @SuppressWarnings("unchecked")
        TreeSet<String> volumes = new TreeSet<>((TreeSet<String>) base.get("Volumes"));
        Map<String, String> args = new LinkedHashMap<>();
        String user = (String) base.get("User");
        String workdir = (String) base.get("WorkingDir");
        String stopSignal = (String) base.get("StopSignal");
        Object healthcheck = base.get("Healthcheck");
        @SuppressWarnings("unchecked")
        List<String> shell = (List<String>) base.get("Shell");
        List<String> runShell = shell.isEmpty() ? List.of("/bin/sh", "-c") : shell;
        Object cmd = base.get("Cmd");
        Object entrypoint = base.get("Entrypoint");
        boolean cmdSet = false;
        int onBuild = 0;
        char escape = parsed.escape();
        List<Expansion.Effective> ordered = new ArrayList<>();
        for (int stage : chain) {
            expansion.instructions().stream().filter(e -> e.stage() == stage && e.via() == null).forEach(ordered::add);
        }
        for (Expansion.Effective e : ordered) {
            Instruction i = e.instruction();
            java.util.function.Function<String, String> lookup = n -> env.containsKey(n) ? env.get(n) : args.get(n);
            switch (i.keyword()) {
                case "ENV" -> BuiltinRules.env(i, escape).forEach((k, v) ->
                        env.put(k, Substitution.expand(v, lookup, escape)));
                case "ARG" -> BuiltinRules.env(i, escape).forEach((k, v) ->
                        args.put(k, Substitution.expand(v, lookup, escape)));
                case "LABEL" -> BuiltinRules.env(i, escape).forEach((k, v) ->
                        labels.put(Substitution.expand(k, lookup, escape), Substitution.expand(v, lookup, escape)));
                case "USER" -> user = i.arguments().strip();
                case "WORKDIR" -> {
                    String p = i.arguments().strip();
                    workdir = (p.startsWith("/") ? p : (workdir.isEmpty() ? "/" : workdir) + "/" + p)
                            .replaceAll("/+", "/");
                }
                case "EXPOSE" -> Instruction.daemonFields(i.arguments())
                        .forEach(p -> ports.add(p.contains("/") ? p : p + "/tcp"));
                case "VOLUME" -> volumes.addAll(i.isJsonForm() ? i.json() : Instruction.daemonFields(i.arguments()));
                case "STOPSIGNAL" -> stopSignal = i.arguments().strip();
                case "HEALTHCHECK" -> healthcheck = i.arguments().strip().equalsIgnoreCase("NONE")
                        ? List.of("NONE") : List.of("CMD-SHELL", i.arguments().strip());
                case "SHELL" -> runShell = shell = i.json();
                case "ONBUILD" -> onBuild++;
                case "CMD" -> {
                    cmd = exec(i, runShell);
                    cmdSet = true;
                }
                case "ENTRYPOINT" -> {
                    entrypoint = exec(i, runShell);
                    if (!cmdSet) {
                        cmd = List.of();
                    }
                }
                default -> {
                }
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("Env", env);
        out.put("Labels", labels);
        out.put("User", user);
        out.put("WorkingDir", workdir);
        out.put("ExposedPorts", ports);
        out.put("Volumes", volumes);
        out.put("StopSignal", stopSignal);
        out.put("Healthcheck", healthcheck);
        out.put("Shell", shell);
        out.put("OnBuild", onBuild);
        out.put("Cmd", cmd);
        out.put("Entrypoint", entrypoint);
        return out;
    }

    private static List<String> exec(Instruction i, List<String> shell) {
        if (i.isJsonForm()) {
            return i.json();
        }
        List<String> out = new ArrayList<>(shell);
        out.add(i.arguments());
        return out;
    }
}
