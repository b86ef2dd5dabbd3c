package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.dockerfile.BuildStages;
import io.buildgateway.dockerfile.CanonicalDockerfile;
import io.buildgateway.dockerfile.Dockerfile;
import io.buildgateway.dockerfile.DockerfileParser;
import io.buildgateway.dockerfile.Instruction;
import io.buildgateway.dockerfile.Substitution;
import io.buildgateway.hostpool.BuildKitOracle;
import io.buildgateway.support.EnvironmentUse;
import io.buildgateway.support.Tars;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * BuildKit is the oracle (issue #13): for Dockerfiles full of the corners where a parser can read differently, each
 * is built on the test environment's dockerd 26 exactly as the gateway's host code builds (network none, a plain
 * ustar context, no session), once as written and once as the canonical text the gateway would send, and what
 * BuildKit did is compared with what the gateway's parse and the policy's expansion say:
 *
 * <ul>
 * <li>the Dockerfile steps of BuildKit's trace: per stage, the instructions that make a vertex, and N;</li>
 * <li>what each RUN ran: every RUN of the corpus writes its own process's command line ({@code /proc/$$/cmdline})
 * to {@code /r/<id>}, read back from the image, against the shell and script (or exec array) of our parse;</li>
 * <li>which files were copied where: every file the build added to the image, with its content, mode and owner,
 * against a prediction from the policy's expanded COPY/ADD words (context files' contents are their names).</li>
 * </ul>
 *
 * What the policy refuses never reaches the daemon: that half is {@code BuildKitOracleRefusalIT}.
 */
@EnvironmentUse(exclusive = true)
class BuildKitOracleIT {

    /** Nothing listens there, in the build daemon's network namespace: a fetch fails with an error naming it. */
    private static final String URL = "http://127.0.0.1:9/oracle-fetch";
    private static final Pattern RECORD = Pattern.compile("cmdline\\W{1,8}/r/(\\w+)");
    private static BuildKitOracle oracle;
    private static String base;
    private static Map<String, BuildKitOracle.Entry> baseFiles;

    /** Shared context files: each one's content names it, so a file in the image says where it came from. */
    private static final List<String> CONTEXT = List.of("a.txt", "b.txt", "sp ace.txt", "dir/c.txt",
            "dir/sub/d.txt", "dir/e.md", "secret.env");

    @BeforeAll
    static void connect() throws Exception {
        oracle = BuildKitOracle.connect("base/busybox");
        base = oracle.registry() + "/base/busybox:latest";
        assertThat(oracle.pull(base)).isNull();
        BuildKitOracle.Built empty = oracle.build(Tars.ustar().file("Dockerfile", "FROM " + base + "\n").bytes(),
                "Dockerfile", Map.of());
        assertThat(empty.error()).as(empty.log()).isNull();
        baseFiles = oracle.files(empty.imageId());
    }

    @AfterAll
    static void close() throws Exception {
        oracle.close();
    }

    record Case(String name, String dockerfile, Map<String, String> buildArgs, Map<String, String> extra) {
        Case(String name, String dockerfile) {
            this(name, dockerfile, Map.of(), Map.of());
        }
    }

    /** The context's regular files by name, with their contents (as UTF-8 text). */
    static Map<String, String> contextFiles(Case c, String dockerfile) {
        Map<String, String> out = new TreeMap<>();
        for (String f : CONTEXT) {
            out.put(f, "ctx:" + f + "\n");
        }
        out.put("arch.tar", new String(archive(), java.nio.charset.StandardCharsets.UTF_8));
        c.extra().forEach((k, v) -> {
            if (!v.startsWith("symlink:")) {
                out.put(k, v);
            }
        });
        if (dockerfile != null) {
            out.put("Dockerfile", dockerfile);
        }
        return out;
    }

    private static byte[] archive() {
        return Tars.ustar().file("inner.txt", "ctx:arch.tar/inner.txt\n").bytes();
    }

    static byte[] context(Case c, String dockerfile) {
        Tars tar = Tars.ustar();
        for (String f : CONTEXT) {
            tar.file(f, "ctx:" + f + "\n");
        }
        tar.file("arch.tar", archive());
        c.extra().forEach((k, v) -> {
            if (v.startsWith("symlink:")) {
                tar.symlink(k, v.substring("symlink:".length()));
            } else {
                tar.file(k, v);
            }
        });
        if (dockerfile != null) {
            tar.file("Dockerfile", dockerfile);
        }
        return tar.bytes();
    }

    List<Case> corpus() {
        String b = base;
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("heredocs", "FROM " + b + "\n"
                + "ENV X=ex\n"
                + "RUN <<EOF\nmkdir -p /r\ncat /proc/$$/cmdline > /r/h1; true\nEOF\n"
                + "RUN <<\"EOT\"\nmkdir -p /r; cat /proc/$$/cmdline > /r/h2; true\nEOT\n"
                + "RUN <<-EOF\n\tmkdir -p /r\n\tcat /proc/$$/cmdline > /r/h3; true\n\tEOF\n"
                + "RUN mkdir -p /r && cat <<A > /r/h4a && cat <<'B' > /r/h4b && cat /proc/$$/cmdline > /r/h4; true\n"
                + "a $X\nA\nb $X\nB\n"
                + "RUN <<EOF sh\nmkdir -p /r; cat /proc/$$/cmdline > /r/h5; true\nEOF\n"
                + "COPY <<EOF /o/h1\nheredoc-file $X\nEOF\n"
                + "COPY <<A <<\"B\" /o/hd/\none $X\nA\ntwo $X\nB\n"));
        cases.add(new Case("continuations-escape", "# escape=`\nFROM " + b + "\n"
                + "RUN mkdir -p /r; `\n# a comment inside the continuation\n\n"
                + "  cat /proc/$$/cmdline > /r/c1 `\n  && echo 'a\\b' > /r/c1b; true\n"
                + "COPY a.txt `\n   dir/c.txt /o/cont/\n"));
        // With ` as the escape, \ ends no line: both refuse the `> /r/c2` line as an instruction.
        cases.add(new Case("refused-by-both", "# escape=`\nFROM " + b + "\n"
                + "RUN mkdir -p /r; echo \\\n  > /r/c2; cat /proc/$$/cmdline > /r/c2; true\n"));
        cases.add(new Case("continuations-backslash", "FROM " + b + "\n"
                + "RUN mkdir -p /r; \\\n  # comment\n\n  cat /proc/$$/cmdline \\\n\t> /r/d1 \\\n  ;true\n"
                + "COPY \\\n a.txt \\\n\n b.txt /o/bs/\n"
                + "RUN mkdir -p /r; echo 'x\\\\' > /r/d2a; cat /proc/$$/cmdline > /r/d2; true\n"));
        cases.add(new Case("bom-crlf", "\uFEFFFROM " + b + "\r\n"
                + "RUN mkdir -p /r; \\\r\n  cat /proc/$$/cmdline > /r/k1; true\r\n"
                + "COPY a.txt /o/crlf\r\n"));
        cases.add(new Case("syntax-directive", "# syntax=docker/dockerfile:1\nFROM " + b + "\nCOPY a.txt /o/s\n"));
        cases.add(new Case("expansion", "ARG BASE=" + b + "\nARG DIRNAME=dir\n"
                + "FROM ${BASE} AS first\nARG SRC=a.txt\nARG DIRNAME\nENV DST=/o/env WHO=65534\n"
                + "COPY $SRC ${DST}/\n"
                + "COPY ${DIRNAME}/c.txt ${DST:-/nope}/d2/\n"
                + "COPY ${UNSET:-a.txt} ${DST}/fallback\n"
                + "ADD ${DIRNAME}/sub/d.txt $DST/add/\n"
                + "ADD arch.tar /o/x/\n"
                + "WORKDIR /w/$DIRNAME\n"
                + "COPY a.txt rel.txt\n"
                + "COPY --chown=$WHO:$WHO a.txt /o/owned\n"
                + "RUN mkdir -p /r; echo $SRC > /r/e1v; cat /proc/$$/cmdline > /r/e1; true\n",
                Map.of("SRC", "b.txt"), Map.of()));
        cases.add(new Case("flags", "FROM " + b + "\n"
                + "COPY --link a.txt /o/link\n"
                + "COPY --chmod=0600 b.txt /o/mode\n"
                + "COPY --chown=65534:65534 a.txt /o/owner\n"
                + "COPY --link --chmod=755 dir/c.txt /o/both\n"
                + "RUN --mount=type=bind,source=dir,target=/m mkdir -p /r; cat /m/c.txt > /r/f1b;"
                + " cat /proc/$$/cmdline > /r/f1; true\n"
                + "RUN --mount=type=tmpfs,target=/t mkdir -p /r; cat /proc/$$/cmdline > /r/f2; true\n"
                + "RUN --mount=type=cache,target=/cache mkdir -p /r; cat /proc/$$/cmdline > /r/f3; true\n"
                + "RUN --network=none mkdir -p /r; cat /proc/$$/cmdline > /r/f4; true\n"));
        cases.add(new Case("labs-flags", "FROM " + b + "\n"
                + "COPY --exclude=*.md dir/ /o/ex/\n"
                + "COPY --parents dir/sub/d.txt /o/par/\n"));
        cases.add(new Case("onbuild", "FROM " + b + " AS parent\n"
                + "ONBUILD COPY a.txt /o/onbuild\n"
                + "ONBUILD RUN mkdir -p /r; cat /proc/$$/cmdline > /r/ob; true\n"
                + "FROM parent\nCOPY b.txt /o/after\n"));
        cases.add(new Case("json-shell", "FROM " + b + "\n"
                + "RUN [\"/bin/sh\", \"-c\", \"mkdir -p /r; cat /proc/$$/cmdline > /r/j1; true\"]\n"
                + "RUN [ \"/bin/sh\" , \"-c\" , \"cat /proc/$$/cmdline > /r/j2; true\" ]   \n"
                + "RUN [ -d /r ] && cat /proc/$$/cmdline > /r/j3; true\n"
                + "COPY [\"sp ace.txt\", \"/o/json dir/\"]\n"
                + "SHELL [\"/bin/sh\", \"-e\", \"-c\"]\n"
                + "RUN cat /proc/$$/cmdline > /r/j4; true\n"
                + "RUN [\"/bin/busybox\", \"cp\", \"/proc/self/cmdline\", \"/r/j5\"]\n"));
        // A heredoc marker is taken out of COPY's and ADD's words; the words around it are sources.
        cases.add(new Case("heredoc-beside-a-source", "FROM " + b + "\nCOPY a.txt <<EOF /o/mix/\nhere\nEOF\n"));
        cases.add(new Case("url-beside-a-heredoc", "FROM " + b + "\nADD " + URL + " <<EOF /o/mix/\nhere\nEOF\n"));
        cases.add(new Case("dockerignore", "FROM " + b + "\nCOPY . /o/all/\n", Map.of(),
                Map.of(".dockerignore", "secret.env\ndir/sub\n")));
        cases.add(new Case("symlinked-dockerfile", null, Map.of(),
                Map.of("real.Dockerfile", "FROM " + b + "\nCOPY a.txt /o/sym\n", "Dockerfile",
                        "symlink:real.Dockerfile")));
        return cases;
    }

    @Test
    void buildKitDoesWhatOurParseSays() throws Exception {
        List<String> report = new ArrayList<>();
        Map<String, BuildKitOracle.Built> written = new LinkedHashMap<>();
        Map<String, Map<String, BuildKitOracle.Entry>> made = new LinkedHashMap<>();
        PolicyEvaluator policy = Policies.evaluator("approvedImages: [" + oracle.registry() + "/base/]\n");
        int canonicalBuilt = 0;
        for (Case c : corpus()) {
            String text = c.dockerfile() != null ? c.dockerfile() : c.extra().get("real.Dockerfile");
            Dockerfile parsed = DockerfileParser.parse(text);
            BuildKitOracle.Built asWritten = oracle.build(context(c, c.dockerfile()), "Dockerfile", c.buildArgs());
            written.put(c.name(), asWritten);
            report.add("== " + c.name() + " as written: error=" + asWritten.error() + " steps=" + asWritten.steps());
            if (asWritten.imageId() != null) {
                made.put(c.name(), compare(c, parsed, c.dockerfile(), asWritten, report, "as written"));
            } else if (asWritten.steps().isEmpty()) {
                // Refused before any step: then the gateway builds nothing either (a syntax error, or no canonical
                // text: a flag or frontend the host's builder does not take).
                assertThat(!parsed.errors().isEmpty() || CanonicalDockerfile.write(parsed,
                        new CanonicalDockerfile.Options(true, "oracle", x -> null)).text() == null)
                        .as(c.name() + ": BuildKit refused it before any step, the gateway would build it").isTrue();
            }
            if (!parsed.errors().isEmpty()) {
                assertThat(asWritten.steps()).as(c.name() + ": our parse refuses it, BuildKit ran steps").isEmpty();
                assertThat(asWritten.error()).as(c.name()).isNotNull();
            }
            if (c.dockerfile() == null) {
                continue; // the gateway refuses a Dockerfile that is a symlink: nothing is built (the API test)
            }
            Evaluation evaluation = policy.evaluate(new PolicyEvaluator.Request(text, c.buildArgs(), null, "oracle",
                    "oracle/app", null, null, true, null, null));
            if (c.name().equals("url-beside-a-heredoc")) {
                assertThat(evaluation.findings()).extracting(Finding::rule).contains("add-url-without-checksum");
                report.add("   refused by the policy: add-url-without-checksum");
                report.add("   refused by the policy: " + evaluation.findings());
                continue; // never built from the canonical text
            }
            CanonicalDockerfile.Result canonical = CanonicalDockerfile.write(parsed,
                    new CanonicalDockerfile.Options(true, "oracle", x -> null));
            if (canonical.text() == null) {
                report.add("   canonical refused: " + canonical.problems());
                continue;
            }
            BuildKitOracle.Built built = oracle.build(context(c, canonical.text()), "Dockerfile", c.buildArgs());
            report.add("== " + c.name() + " canonical: error=" + built.error() + " steps=" + built.steps());
            assertThat(built.error()).as(c.name() + " canonical:\n" + canonical.text() + "\n" + built.log()).isNull();
            compare(c, parsed, canonical.text(), built, report, "canonical");
            canonicalBuilt++;
        }
        String all = String.join("\n", report);
        System.out.println(all);
        assertThat(report).as(all).noneMatch(l -> l.contains("DISAGREE"));
        assertThat(canonicalBuilt).as(all).isGreaterThanOrEqualTo(9);

        // What BuildKit does that the gateway refuses or judges otherwise (docs/security.md, "BuildKit as the oracle"):
        // a heredoc beside a URL: BuildKit fetches the URL (the policy now sees it and refuses the ADD).
        assertThat(written.get("url-beside-a-heredoc").error()).as(all).contains("127.0.0.1:9");
        // a heredoc beside a context file: both are copied.
        assertThat(made.get("heredoc-beside-a-source")).containsKeys("/o/mix/a.txt", "/o/mix/EOF");
        // sessionless BuildKit does not apply the context's .dockerignore: COPY . takes the ignored files too (the
        // policy's context rules judge the context as received, so they saw them).
        assertThat(made.get("dockerignore")).containsKeys("/o/all/secret.env", "/o/all/dir/sub/d.txt",
                "/o/all/.dockerignore");
        // a Dockerfile that is a symlink is followed (the gateway's intake refuses it).
        assertThat(made.get("symlinked-dockerfile")).containsKey("/o/sym");
        // a # syntax= frontend is fetched from its registry (the writer refuses an unapproved one).
        assertThat(written.get("syntax-directive").error()).as(all).contains("docker/dockerfile:1");
        // --exclude and --parents are labs flags the built-in frontend refuses (so does the writer).
        assertThat(written.get("labs-flags").error()).as(all).contains("unknown flag: exclude");
        assertThat(written.get("refused-by-both").error()).as(all).contains("unknown instruction");
    }

    /** Compares what BuildKit built with our prediction; returns the files the build added. */
    private Map<String, BuildKitOracle.Entry> compare(Case c, Dockerfile parsed, String builtText,
            BuildKitOracle.Built built, List<String> report, String how) throws Exception {
        Map<String, BuildKitOracle.Entry> files = oracle.files(built.imageId());
        oracle.remove(built.imageId());
        Map<String, BuildKitOracle.Entry> added = new TreeMap<>();
        files.forEach((k, v) -> {
            if (!v.type().equals("dir") && !v.equals(baseFiles.get(k))) {
                added.put(k, inContainer(v));
            }
        });
        Map<String, BuildKitOracle.Entry> made = new TreeMap<>(added);
        BuildStages.Plan plan = BuildStages.plan(parsed, c.buildArgs(), null);
        Expansion.Result expansion = Expansion.of(parsed, plan, null, x -> false);
        Prediction p = predict(parsed, plan, expansion, contextFiles(c, builtText));
        compareSteps(plan, expansion, built.steps(), report, how);
        for (Map.Entry<String, List<String>> run : p.runs().entrySet()) {
            BuildKitOracle.Entry record = added.remove("/r/" + run.getKey());
            List<String> actual = record == null ? null
                    : List.of(record.content().replaceFirst("\u0000$", "").split("\u0000", -1));
            if (!run.getValue().equals(actual)) {
                report.add("   DISAGREE " + how + " RUN " + run.getKey() + ": ours " + show(run.getValue())
                        + " buildkit " + (actual == null ? null : show(actual)));
            }
        }
        added.keySet().removeIf(k -> k.startsWith("/r/"));
        for (Map.Entry<String, BuildKitOracle.Entry> f : p.files().entrySet()) {
            if (f.getValue().type().equals("any")) {
                boolean some = added.keySet().removeIf(k -> k.equals(f.getKey()) || k.startsWith(f.getKey() + "/"));
                report.add("   unknown source word: " + f.getKey() + (some ? " (BuildKit made files there)" : ""));
                continue;
            }
            BuildKitOracle.Entry actual = added.remove(f.getKey());
            if (!f.getValue().equals(actual)) {
                report.add("   DISAGREE " + how + " file " + f.getKey() + ": ours " + f.getValue() + " buildkit "
                        + actual);
            }
        }
        for (Map.Entry<String, BuildKitOracle.Entry> f : added.entrySet()) {
            report.add("   DISAGREE " + how + " file only buildkit made " + f.getKey() + " " + f.getValue());
        }
        return made;
    }

    /** Instructions that make a vertex of their own, so a numbered step in BuildKit's trace. */
    private static final java.util.Set<String> VERTEX = java.util.Set.of("RUN", "COPY", "ADD", "WORKDIR");

    /**
     * BuildKit's numbered steps against our stages: per stage of the target's chain, in order, a FROM step when the
     * base is an image, then one step per RUN, COPY, ADD and WORKDIR (ONBUILD triggers first); N counts FROM and the
     * stage's own such instructions (not the triggers); COPY, ADD and WORKDIR named with their words expanded.
     */
    static void compareSteps(BuildStages.Plan plan, Expansion.Result expansion, List<BuildKitOracle.Step> steps,
            List<String> report, String how) {
        compareSteps(plan, expansion, steps, report, how, false);
    }

    /** As above; {@code reachedOnly}: the build failed at a step, so only the steps it reached are compared. */
    static void compareSteps(BuildStages.Plan plan, Expansion.Result expansion, List<BuildKitOracle.Step> steps,
            List<String> report, String how, boolean reachedOnly) {
        List<String> expected = new ArrayList<>();
        List<BuildStages.Stage> chain = new ArrayList<>(plan.targetChain());
        java.util.Collections.reverse(chain);
        for (BuildStages.Stage st : chain) {
            List<Expansion.Effective> own = expansion.instructions().stream()
                    .filter(e -> e.stage() == st.index() && VERTEX.contains(e.instruction().keyword())).toList();
            int total = (int) own.stream().filter(e -> e.via() == null).count() + (st.fromImage() ? 1 : 0);
            int index = 0;
            if (st.fromImage()) {
                expected.add(++index + "/" + total + " FROM " + st.base());
            }
            for (Expansion.Effective e : own) {
                expected.add(++index + "/" + total + " " + stepName(e));
            }
        }
        List<String> actual = steps.stream().map(s -> s.index() + "/" + s.total() + " "
                + (s.instruction().startsWith("RUN") ? "RUN" : s.instruction().startsWith("COPY [")
                        ? "COPY" : s.instruction().replaceAll("\\s+", " ").replace(" -- ", " "))).toList();
        if (reachedOnly && actual.size() <= expected.size()) {
            expected = new ArrayList<>(expected.subList(0, actual.size()));
        }
        boolean same = expected.size() == actual.size();
        for (int k = 0; same && k < expected.size(); k++) {
            // BuildKit names a step with the `--` that ends its flags (BuildKitMutationsIT: `COPY --chown=1:1 -- f1.txt
            // /r.txt` copies f1.txt), which our words leave out; it names heredoc markers without their quotes; a word the policy keeps unexpanded (a variable
            // the base image could set) stands for whatever BuildKit made of it.
            String[] ours = expected.get(k).replaceAll("<<(-?)[\"']([^\"']*)[\"']", "<<$1$2").split(" ");
            String[] theirs = actual.get(k).split(" ");
            same = ours.length == theirs.length;
            for (int w = 0; same && w < ours.length; w++) {
                same = ours[w].equals(theirs[w]) || ours[w].contains("$");
            }
        }
        if (!same) {
            report.add("   DISAGREE " + how + " steps: ours " + expected + " buildkit " + actual);
        }
    }

    /** A step's name as BuildKit writes it, for the comparable part: RUN alone, else the expanded words. */
    private static String stepName(Expansion.Effective e) {
        Instruction i = e.instruction();
        if (i.keyword().equals("RUN") || i.isJsonForm()) {
            return i.keyword();
        }
        StringBuilder out = new StringBuilder(i.keyword());
        for (Instruction.Flag f : i.flags()) {
            out.append(" --").append(f.name()).append(f.value() == null || f.value().isEmpty() ? "" : "=" + f.value());
        }
        if (i.keyword().equals("WORKDIR")) {
            return out.append(' ').append(i.arguments().strip()).toString();
        }
        if (!i.heredocs().isEmpty()) {
            return out.append(' ').append(i.arguments().strip().replaceAll("\\s+", " ")).toString();
        }
        for (String w : e.words()) {
            out.append(' ').append(w);
        }
        return out.toString();
    }

    /** The entry with its owner as the container sees it: the archive of a user-namespaced daemon shows host ids. */
    private static BuildKitOracle.Entry inContainer(BuildKitOracle.Entry e) {
        long offset = Long.parseLong(baseFiles.get("/bin").owner().replaceFirst(":.*", ""));
        String[] ids = e.owner().split(":");
        return new BuildKitOracle.Entry(e.type(), e.mode(), e.owner() == null ? null
                : (Long.parseLong(ids[0]) - offset) + ":" + (Long.parseLong(ids[1]) - offset), e.content());
    }

    private static String show(List<String> argv) {
        return argv.stream().map(s -> "«" + s.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + "»")
                .toList().toString();
    }

    record Prediction(Map<String, List<String>> runs, Map<String, BuildKitOracle.Entry> files) {
    }

    /**
     * What the target stage's chain should leave in the image, from the policy's expanded view: each RUN's command
     * line by its record id, and each COPY/ADD's files.
     */
    private Prediction predict(Dockerfile parsed, BuildStages.Plan plan, Expansion.Result expansion,
            Map<String, String> ctx) {
        Map<String, List<String>> runs = new LinkedHashMap<>();
        Map<String, BuildKitOracle.Entry> files = new TreeMap<>();
        java.util.Set<Integer> chain = new java.util.HashSet<>();
        plan.targetChain().forEach(s -> chain.add(s.index()));
        List<String> shell = List.of("/bin/sh", "-c");
        Map<Integer, List<String>> shellOf = new java.util.HashMap<>();
        Map<Integer, String> workdirOf = new java.util.HashMap<>();
        Map<Integer, Map<String, String>> envOf = new java.util.HashMap<>();
        char escape = parsed.escape();
        for (Expansion.Effective e : expansion.instructions()) {
            int stage = e.stage();
            BuildStages.Stage st = plan.stages().get(stage);
            if (!shellOf.containsKey(stage)) {
                shellOf.put(stage, st.parentStage() >= 0 ? shellOf.get(st.parentStage()) : shell);
                workdirOf.put(stage, st.parentStage() >= 0 ? workdirOf.get(st.parentStage()) : "/");
                envOf.put(stage, new LinkedHashMap<>(st.parentStage() >= 0 ? envOf.get(st.parentStage()) : Map.of()));
            }
            Instruction i = e.instruction();
            switch (i.keyword()) {
                case "SHELL" -> shellOf.put(stage, i.json());
                case "WORKDIR" -> workdirOf.put(stage, resolve(workdirOf.get(stage), i.arguments().strip()));
                case "ENV" -> BuiltinRules.env(i, escape).forEach((k, v) -> envOf.get(stage).put(k,
                        Substitution.expand(v, envOf.get(stage)::get, escape)));
                case "RUN" -> {
                    String all = i.original() + i.heredocs().stream().map(Instruction.Heredoc::body).toList();
                    Matcher m = RECORD.matcher(all);
                    if (m.find() && chain.contains(stage)) {
                        List<String> argv = new ArrayList<>();
                        if (i.isJsonForm()) {
                            argv.addAll(i.json());
                        } else {
                            argv.addAll(shellOf.get(stage));
                            argv.add(script(i));
                        }
                        runs.put(m.group(1), argv);
                    }
                }
                case "COPY", "ADD" -> {
                    if (chain.contains(stage) && i.flag("from").isEmpty()) {
                        copy(i, e.words(), workdirOf.get(stage), envOf.get(stage), escape, ctx, files);
                    }
                }
                default -> {
                }
            }
        }
        return new Prediction(runs, files);
    }

    /**
     * The script BuildKit gives the shell for a shell-form RUN, from our parse: the arguments; for a RUN that is one
     * heredoc and nothing else, that document's body; else the arguments, then each body and its delimiter.
     */
    private static String script(Instruction i) {
        if (i.heredocs().isEmpty()) {
            return i.arguments();
        }
        Instruction.Heredoc first = i.heredocs().get(0);
        if (i.heredocs().size() == 1 && i.arguments().strip()
                .matches("<<-?([\"']?)" + Pattern.quote(first.delimiter()) + "\\1")) {
            return first.body();
        }
        StringBuilder out = new StringBuilder(i.arguments());
        for (Instruction.Heredoc h : i.heredocs()) {
            out.append('\n').append(h.body()).append(h.delimiter());
        }
        return out.toString();
    }

    private static String resolve(String workdir, String path) {
        String p = path.startsWith("/") ? path : workdir + (workdir.endsWith("/") ? "" : "/") + path;
        return p.replaceAll("/+", "/");
    }

    /**
     * The files one COPY or ADD from the context makes, as the policy's expanded words say (sources, then the
     * destination; heredoc markers are not words): a file, a folder's files, {@code .} for the whole context, a
     * heredoc's body, and a local tar that ADD unpacks. (COPY --parents and --exclude never build here: the built-in
     * frontend refuses them.)
     */
    private static void copy(Instruction i, List<String> words, String workdir, Map<String, String> env, char escape,
            Map<String, String> ctx, Map<String, BuildKitOracle.Entry> files) {
        List<String> w = new ArrayList<>(words);
        String dest = w.remove(w.size() - 1);
        List<String[]> sources = new ArrayList<>(); // {name in the destination, content, "dir" when from a folder}
        for (Instruction.Heredoc h : i.heredocs()) {
            String body = h.expand() ? Substitution.expandHeredoc(h.body(), env::get) : h.body();
            sources.add(new String[] {h.delimiter(), body, null});
        }
        for (String src : w) {
            if (src.contains("$")) {
                // A variable the base image's ENV could set: the policy judges the word as written, by its worst
                // case; any context file may land at the destination.
                files.put(resolve(workdir, dest), new BuildKitOracle.Entry("any", 0, null, null));
                continue;
            }
            String s = src.replaceFirst("^\\./", "").replaceFirst("/$", "");
            for (String f : ctx.keySet()) {
                if (s.equals(".") || f.startsWith(s + "/")) {
                    sources.add(new String[] {s.equals(".") ? f : f.substring(s.length() + 1), ctx.get(f), "dir"});
                } else if (f.equals(s) && i.keyword().equals("ADD") && f.endsWith(".tar")) {
                    sources.add(new String[] {"inner.txt", "ctx:arch.tar/inner.txt\n", "dir"});
                } else if (f.equals(s)) {
                    sources.add(new String[] {f.substring(f.lastIndexOf('/') + 1), ctx.get(f), null});
                }
            }
        }
        String target = resolve(workdir, dest);
        boolean into = dest.endsWith("/") || sources.size() > 1 || sources.stream().anyMatch(x -> x[2] != null);
        int mode = i.flag("chmod").map(m -> Integer.parseInt(m, 8)).orElse(0644);
        String owner = i.flag("chown").map(o -> o.contains(":") ? o : o + ":" + o).orElse("0:0");
        for (String[] source : sources) {
            files.put(into ? resolve(target, source[0]) : target, new BuildKitOracle.Entry("file", mode, owner,
                    source[1]));
        }
    }
}
