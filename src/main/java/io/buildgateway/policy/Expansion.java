package io.buildgateway.policy;

import io.buildgateway.dockerfile.BuildStages;
import io.buildgateway.dockerfile.Dockerfile;
import io.buildgateway.dockerfile.DockerfileParser;
import io.buildgateway.dockerfile.Instruction;
import io.buildgateway.dockerfile.Substitution;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The instructions of every stage as the daemon will run them: variables substituted the way the builder does (ARG
 * defaults, the request's build args, ENV in scope, per stage, in order) in the instructions the builder substitutes
 * in (ADD, COPY and their flags, RUN's flags, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL), and the ONBUILD triggers a
 * stage inherits — those of an earlier stage it builds FROM, and those in its base image's config — inserted at the
 * start of the stage as the instructions they become.
 *
 * <p>A variable whose value cannot be known here (one the Dockerfile never declares, in a stage whose chain starts
 * from an image: the image's ENV may set it) leaves the word as written, so it still contains {@code $}: rules
 * judge such words by their worst case.
 */
final class Expansion {

    /** Instructions whose arguments the builder substitutes variables in. */
    private static final Set<String> EXPANDED = Set.of("ADD", "COPY", "WORKDIR", "USER", "EXPOSE", "VOLUME",
            "STOPSIGNAL");
    private static final int MAX_TRIGGERS = 256;
    /** The PATH BuildKit (and the classic builder) set in a stage whose base has none: Linux's default. */
    static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private static final Set<String> TRIGGER_KEYWORDS = Set.of("ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV",
            "EXPOSE", "HEALTHCHECK", "LABEL", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR", "ONBUILD",
            "FROM", "MAINTAINER");

    /**
     * One instruction as it runs: {@code instruction} after substitution (line pointing at the ONBUILD line for a
     * trigger, at the FROM line for a base image's trigger), {@code written} as in the file (or the trigger text),
     * its stage, and {@code via}: null for an ordinary instruction, else where the trigger came from.
     */
    record Effective(Instruction instruction, Instruction written, int stage, String via, List<String> words) {
    }

    /**
     * A problem with the triggers of a base image: they could not be read, or one does not parse; or an image a
     * COPY --from or a mount's from= names could not be read. {@code where}: the instruction it is reported at.
     */
    record TriggerProblem(int line, String base, String message, String where) {
        TriggerProblem(int line, String base, String message) {
            this(line, base, message, "FROM");
        }
    }

    /**
     * {@code sourceDigests}: per line of the file's own COPY/ADD with {@code --from=<image>} or RUN with a mount
     * {@code from=<image>}, each such image that was read (after substitution) to the digest of its manifest: the
     * build is pinned to it, as to {@code baseDigests} for the FROM bases.
     */
    record Result(List<Effective> instructions, List<TriggerProblem> problems, BaseVariables baseVariables,
            Map<String, String> baseDigests, Map<Integer, Map<String, String>> sourceDigests) {
        Result {
            baseDigests = Map.copyOf(baseDigests);
            sourceDigests = Map.copyOf(sourceDigests);
        }

        Result(List<Effective> instructions, List<TriggerProblem> problems, BaseVariables baseVariables,
                Map<String, String> baseDigests) {
            this(instructions, problems, baseVariables, baseDigests, Map.of());
        }

        Result(List<Effective> instructions, List<TriggerProblem> problems, BaseVariables baseVariables) {
            this(instructions, problems, baseVariables, Map.of());
        }

        Result(List<Effective> instructions, List<TriggerProblem> problems) {
            this(instructions, problems, BaseVariables.NONE);
        }
    }

    /**
     * The variables the build's base images may set to an empty value, over all the stages built (dockerd 26's
     * BuildKit crashes on a RUN's {@code ${v#$X}} with {@code X} set and empty; the canonical writer refuses such a
     * pattern when {@code X} is one of these or one the file declares): the names a base's config {@code Env} sets
     * empty, and every name an ENV or ARG among a base's ONBUILD triggers declares, whatever its value (as for the
     * file's own). {@code byName} says, per name, which base and how; {@code any}, when a trigger declares a name
     * the daemon expands ({@code ENV ${N}=}), says so for every name; null otherwise.
     */
    record BaseVariables(Map<String, String> byName, String any) {
        static final BaseVariables NONE = new BaseVariables(Map.of(), null);

        BaseVariables {
            byName = Map.copyOf(byName);
        }

        /** Which base may set this variable to an empty value and how, or null when none does. */
        String setBy(String name) {
            String why = byName.get(name);
            return why != null ? why : any;
        }

        boolean isEmpty() {
            return byName.isEmpty() && any == null;
        }
    }

    private Expansion() {
    }

    static Result of(Dockerfile dockerfile, BuildStages.Plan plan, Function<String, List<String>> baseTriggers,
            java.util.function.Predicate<String> mayReadTriggers) {
        char escape = dockerfile.escape();
        return of(dockerfile, plan, baseTriggers, null, mayReadTriggers, new FileWords() {
            @Override
            public Map<String, String> env(Instruction i) {
                return BuiltinRules.env(i, escape);
            }

            @Override
            public List<String> words(Instruction i) {
                return i.words(escape);
            }
        });
    }

    /**
     * What the expansion reads of the file's own ENV and ARG instructions, with the file's escape character:
     * {@link BuiltinRules#env} and {@link Instruction#words(char)}. A caller that keeps them for its rules (the
     * {@link Subject}) hands its own, so that each is made once per lint; what it returns is only read here.
     */
    interface FileWords {
        Map<String, String> env(Instruction i);

        List<String> words(Instruction i);
    }

    /**
     * {@link #of(Dockerfile, BuildStages.Plan, Function, java.util.function.Predicate)} with the pairs and words of
     * the file's own ENV and ARG instructions read through {@code fileWords} (base images' and stages' ONBUILD
     * triggers are parsed anew, as the daemon does, and read as before).
     */
    static Result of(Dockerfile dockerfile, BuildStages.Plan plan, Function<String, List<String>> baseTriggers,
            java.util.function.Predicate<String> mayReadTriggers, FileWords fileWords) {
        return of(dockerfile, plan, baseTriggers, null, mayReadTriggers, fileWords);
    }

    /**
     * As above, with {@code baseEmptyEnv} (null: not known) asked, after its triggers were read, for the names each
     * base's config Env sets to an empty value: they go into {@link Result#baseVariables}.
     */
    static Result of(Dockerfile dockerfile, BuildStages.Plan plan, Function<String, List<String>> baseTriggers,
            Function<String, Set<String>> baseEmptyEnv, java.util.function.Predicate<String> mayReadTriggers,
            FileWords fileWords) {
        List<Effective> out = new ArrayList<>();
        List<TriggerProblem> problems = new ArrayList<>();
        char escape = dockerfile.escape();
        List<Map<String, String>> envOf = new ArrayList<>();
        // the values each stage's ARGs got: a stage built FROM it sees them where its ENV does not set the name
        // (checked on dockerd 26: ARG V=7 in stage a, then FROM a, LABEL v=$V labels v=7)
        List<Map<String, String>> argsOf = new ArrayList<>();
        List<Boolean> rootKnown = new ArrayList<>();
        Map<String, List<String>> triggerCache = new HashMap<>();
        Set<String> envRead = new java.util.HashSet<>();
        Map<String, String> baseVariables = new LinkedHashMap<>();
        // base (after substitution) -> the digest of the manifest its triggers and Env were read from
        Map<String, String> baseDigests = new LinkedHashMap<>();
        String anyBaseVariable = null;
        // the images COPY --from and mounts' from= name (not stages), read for their digest: see readSources
        Map<Integer, Map<String, String>> sourceDigests = new LinkedHashMap<>();
        PolicyEvaluator.BaseEnvironment sourceEnvironment = baseTriggers != null
                && baseEmptyEnv instanceof PolicyEvaluator.BaseEnvironment e ? e : null;
        Map<String, String> sourceRead = new HashMap<>();
        Set<String> stageNames = new java.util.HashSet<>();
        for (BuildStages.Stage stage : plan.stages()) {
            if (stage.name() != null) {
                stageNames.add(stage.name()); // as BuiltinRules.pulls: inside it, its own name is no image either
            }
            Map<String, String> scope = new LinkedHashMap<>();
            Map<String, String> env = new LinkedHashMap<>();
            Map<String, String> args = new LinkedHashMap<>();
            boolean known;
            List<Instruction> inherited = new ArrayList<>();
            String via;
            if (stage.parentStage() >= 0 && stage.parentStage() < envOf.size()) {
                env.putAll(envOf.get(stage.parentStage()));
                args.putAll(argsOf.get(stage.parentStage()));
                scope.putAll(args);
                scope.putAll(env);
                known = rootKnown.get(stage.parentStage());
                BuildStages.Stage parent = plan.stages().get(stage.parentStage());
                via = "ONBUILD of stage " + (parent.name() != null ? parent.name() : String.valueOf(parent.index()));
                for (Instruction i : parent.instructions()) {
                    if (i.keyword().equals("ONBUILD")) {
                        for (Instruction t : parse(i.arguments(), i.line(), null, problems, stage.base())) {
                            inherited.add(t);
                        }
                    }
                }
            } else {
                known = !stage.fromImage();
                if (known) {
                    // FROM scratch: the builder gives the stage the default PATH (its config has none), and
                    // ${PATH:+/} is a '/' there (SubstitutionDifferentialIT; checked by hand on dockerd 26).
                    scope.put("PATH", DEFAULT_PATH);
                    env.put("PATH", DEFAULT_PATH);
                }
                via = BuiltinRules.BASE_TRIGGER + stage.base();
                if (stage.fromImage() && baseTriggers != null && mayReadTriggers.test(stage.base())) {
                    List<String> triggers = triggerCache.get(stage.base());
                    if (triggers == null && !triggerCache.containsKey(stage.base())) {
                        try {
                            triggers = baseTriggers.apply(stage.base());
                            triggers = triggers == null ? List.of() : triggers;
                        } catch (io.buildgateway.shared.RegistryUnavailable outage) {
                            // Not a finding: the registry could not be asked now, so the file cannot be judged now.
                            // The request is refused whole (503) and nothing is recorded (issue #17).
                            throw outage;
                        } catch (RuntimeException e) {
                            problems.add(new TriggerProblem(stage.line(), stage.base(),
                                    "the ONBUILD triggers of base image '" + stage.base() + "' could not be read ("
                                            + reason(e) + "); the build cannot be judged without them"));
                        }
                        triggerCache.put(stage.base(), triggers);
                    }
                    if (triggers != null && baseEmptyEnv != null && envRead.add(stage.base())) {
                        readEmptyEnv(baseEmptyEnv, stage, baseVariables, problems);
                    }
                    PolicyEvaluator.BaseEnvironment environment = triggers != null
                            && baseEmptyEnv instanceof PolicyEvaluator.BaseEnvironment e ? e : null;
                    Map<String, String> values = environment == null ? null : environment.values(stage.base());
                    String digest = environment == null ? null : environment.digest(stage.base());
                    if (digest != null) {
                        baseDigests.putIfAbsent(stage.base(), digest); // what was judged: the build is pinned to it
                    }
                    if (values != null) {
                        // The base's environment is known: the stage starts with it, as the builder's does (with
                        // the default PATH where the base sets none), and a name it does not set is unset.
                        scope.putAll(values);
                        env.putAll(values);
                        scope.putIfAbsent("PATH", DEFAULT_PATH);
                        env.putIfAbsent("PATH", DEFAULT_PATH);
                        known = true;
                    }
                    if (triggers != null) {
                        if (triggers.size() > MAX_TRIGGERS) {
                            problems.add(new TriggerProblem(stage.line(), stage.base(), "base image '"
                                    + stage.base() + "' carries " + triggers.size() + " ONBUILD triggers (at most "
                                    + MAX_TRIGGERS + " are judged)"));
                            triggers = triggers.subList(0, MAX_TRIGGERS);
                        }
                        for (String t : triggers) {
                            inherited.addAll(parse(t, stage.line(), stage.line(), problems, stage.base()));
                        }
                    }
                }
            }
            final boolean rootIsKnown = known;
            boolean fromBase = stage.parentStage() < 0;
            for (Instruction t : inherited) {
                String kw = t.keyword();
                if (kw.equals("ENV")) {
                    // The daemon parses a trigger anew with the default escape (its words split with '\\'), and
                    // processes the words with the stage's.
                    for (Map.Entry<String, String> kv : BuiltinRules.env(t, '\\').entrySet()) {
                        String value = expandWord(kv.getValue(), scope, rootIsKnown, escape);
                        String name = expandWord(kv.getKey(), scope, rootIsKnown, escape); // the daemon processes both
                        scope.put(name, value);
                        env.put(name, value);
                        if (fromBase) {
                            anyBaseVariable = declaredByTrigger(name, "ENV", stage.base(), baseVariables,
                                    anyBaseVariable);
                        }
                    }
                } else if (kw.equals("ARG")) {
                    declareArgs(t.words('\\'), scope, env, args, plan, rootIsKnown, escape);
                    if (fromBase) {
                        for (String decl : t.words('\\')) {
                            int eq = decl.indexOf('=');
                            anyBaseVariable = declaredByTrigger(eq < 0 ? decl : decl.substring(0, eq), "ARG",
                                    stage.base(), baseVariables, anyBaseVariable);
                        }
                    }
                }
                out.add(effective(t, t, stage.index(), via, scope, rootIsKnown, escape));
            }
            for (Instruction i : stage.instructions()) {
                switch (i.keyword()) {
                    case "ARG" -> declareArgs(fileWords.words(i), scope, env, args, plan, rootIsKnown, escape);
                    case "ENV" -> fileWords.env(i).forEach((k, v) -> {
                        String value = expandWord(v, scope, rootIsKnown, escape);
                        String name = expandWord(k, scope, rootIsKnown, escape); // the daemon processes both
                        scope.put(name, value);
                        env.put(name, value);
                    });
                    default -> {
                    }
                }
                Effective e = effective(i, i, stage.index(), null, scope, rootIsKnown, escape);
                out.add(e);
                if (sourceEnvironment != null) {
                    readSources(e.instruction(), stageNames, sourceEnvironment, mayReadTriggers, triggerCache,
                            sourceRead, sourceDigests, problems);
                }
            }
            envOf.add(env);
            argsOf.add(args);
            rootKnown.add(known);
        }
        return new Result(out, problems, baseVariables.isEmpty() && anyBaseVariable == null ? BaseVariables.NONE
                : new BaseVariables(baseVariables, anyBaseVariable), baseDigests, sourceDigests);
    }

    /**
     * The images {@code i} (one of the file's own instructions, after substitution) reads files from, besides its
     * stage's base: a COPY or ADD {@code --from=<image>}, a RUN mount's {@code from=<image>} (BuiltinRules.pulls
     * finds the same). Each one the policy may read ({@code mayRead}: the predicate for FROM bases) is read for the
     * digest of its manifest ({@link PolicyEvaluator.BaseEnvironment#digest}, the same read and cache as a base's:
     * no second round trip for an image also used as a FROM), into {@code sourceDigests} at the instruction's line:
     * the build is pinned to it. One that cannot be read is a problem, as a base's triggers are (the build cannot be
     * pinned to what the policy approved); a registry that cannot be reached refuses the request (503).
     */
    private static void readSources(Instruction i, Set<String> stageNames, PolicyEvaluator.BaseEnvironment environment,
            java.util.function.Predicate<String> mayRead, Map<String, List<String>> triggerCache,
            Map<String, String> read, Map<Integer, Map<String, String>> sourceDigests, List<TriggerProblem> problems) {
        String kw = i.keyword();
        List<String> images = new ArrayList<>(1);
        if (kw.equals("COPY") || kw.equals("ADD")) {
            i.flag("from").filter(f -> BuiltinRules.isImageRef(f, stageNames)).ifPresent(images::add);
        } else if (kw.equals("RUN")) {
            for (Instruction.Flag flag : i.flags()) {
                if (flag.name().equals("mount") && flag.value() != null) {
                    for (String from : BuiltinRules.mountFroms(flag.value())) {
                        // a mount's from= is a stage by name only (from=0 is an image): as BuiltinRules.pulls
                        if (!from.equalsIgnoreCase("scratch") && !stageNames.contains(from.toLowerCase(
                                java.util.Locale.ROOT))) {
                            images.add(from);
                        }
                    }
                }
            }
        }
        for (String image : images) {
            if (image.indexOf('$') >= 0 || !mayRead.test(image)) {
                continue; // refused by unapproved-image, never read
            }
            if (triggerCache.containsKey(image) && triggerCache.get(image) == null) {
                continue; // a base whose read failed: its problem is reported at its FROM
            }
            String digest;
            if (read.containsKey(image)) {
                digest = read.get(image);
            } else {
                try {
                    digest = environment.digest(image);
                } catch (io.buildgateway.shared.RegistryUnavailable outage) {
                    throw outage; // as for a base: the request is refused whole (503), nothing recorded
                } catch (RuntimeException e) {
                    digest = null;
                    problems.add(new TriggerProblem(i.line(), image, "image '" + image + "', which " + kw
                            + (kw.equals("RUN") ? " mounts (from=)" : " --from copies from") + ", could not be read ("
                            + reason(e) + "); the build cannot be pinned to the image the policy approved", kw));
                }
                read.put(image, digest);
            }
            if (digest != null) {
                sourceDigests.computeIfAbsent(i.line(), l -> new LinkedHashMap<>()).put(image, digest);
            }
        }
    }

    /** The names {@code stage}'s base sets to an empty value in its config's Env, into {@code baseVariables}. */
    private static void readEmptyEnv(Function<String, Set<String>> baseEmptyEnv, BuildStages.Stage stage,
            Map<String, String> baseVariables, List<TriggerProblem> problems) {
        Set<String> empty;
        try {
            empty = baseEmptyEnv.apply(stage.base());
        } catch (io.buildgateway.shared.RegistryUnavailable outage) {
            throw outage; // as for the triggers: the request is refused whole (503)
        } catch (RuntimeException e) {
            problems.add(new TriggerProblem(stage.line(), stage.base(), "the environment of base image '"
                    + stage.base() + "' could not be read (" + reason(e) + "); the build cannot be judged without"
                    + " it"));
            return;
        }
        for (String name : empty == null ? Set.<String>of() : new java.util.TreeSet<>(empty)) {
            baseVariables.putIfAbsent(name, "base image '" + stage.base() + "' sets " + name
                    + " to an empty value (its config's Env)");
        }
    }

    /**
     * A name an ENV or ARG trigger of a base declares, into {@code baseVariables}; returns what {@code any} becomes:
     * a name still holding a {@code $} (one the daemon expands, from a value not known here) may be any name.
     */
    private static String declaredByTrigger(String name, String keyword, String base,
            Map<String, String> baseVariables, String any) {
        String cleaned = name.replace("\"", "").replace("'", "").replace("\\", "");
        if (cleaned.isEmpty()) {
            return any;
        }
        if (cleaned.indexOf('$') >= 0) {
            return any != null ? any : "an ONBUILD " + keyword + " trigger of base image '" + base + "' declares a"
                    + " variable whose name is expanded (" + BuiltinRunRules.abbreviate(name) + "), which may set"
                    + " any variable";
        }
        baseVariables.putIfAbsent(cleaned, "an ONBUILD " + keyword + " trigger of base image '" + base
                + "' declares " + cleaned + ", which may be set to an empty value");
        return any;
    }

    private static String reason(RuntimeException e) {
        // The innermost message there is: a wrapper's (UncheckedIOException's) is its cause's class name and
        // message, and findings never show class names; the innermost cause may have none (a refused connection's
        // ConnectException), and then the message around it says what happened.
        String m = null;
        int depth = 0;
        for (Throwable t = e; t != null && depth < 20; t = t.getCause() == t ? null : t.getCause(), depth++) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                m = t.getMessage();
            }
        }
        if (m == null) {
            return "no reason given";
        }
        return m.length() > 200 ? m.substring(0, 200) + "…" : m;
    }

    /** Parses one trigger's text into the instruction it becomes, with the line of its ONBUILD (or FROM). */
    private static List<Instruction> parse(String trigger, int line, Integer fromLine, List<TriggerProblem> problems,
            String base) {
        if (trigger == null || trigger.isBlank()) {
            return List.of();
        }
        Dockerfile parsed = DockerfileParser.parse(trigger);
        if (!parsed.errors().isEmpty() || parsed.instructions().size() != 1) {
            if (fromLine != null) {
                problems.add(new TriggerProblem(line, base, "an ONBUILD trigger of base image '" + base
                        + "' does not parse as one instruction: " + BuiltinRunRules.abbreviate(trigger)));
            }
            return List.of();
        }
        Instruction t = parsed.instructions().get(0);
        String kw = t.keyword();
        // A base's RUN trigger too: which variables the child declares is not known here, so any may be empty.
        String crash = Substitution.emptyPatternCrash(trigger);
        if (crash != null && fromLine != null) {
            // A base's trigger runs in this build: BuildKit would expand it and panic the daemon (the writer's check).
            problems.add(new TriggerProblem(line, base, "an ONBUILD trigger of base image '" + base + "' has " + crash
                    + ", a pattern that may be empty: the build host's BuildKit (dockerd 26) crashes on it"));
            return List.of();
        }
        if (!TRIGGER_KEYWORDS.contains(kw)) {
            if (fromLine != null) {
                problems.add(new TriggerProblem(line, base, "an ONBUILD trigger of base image '" + base
                        + "' is not an instruction: " + BuiltinRunRules.abbreviate(trigger)));
            }
            return List.of();
        }
        if (kw.equals("ONBUILD") || kw.equals("FROM") || kw.equals("MAINTAINER")) {
            return List.of(); // refused by the builder; reported by onbuild-misuse for the file's own triggers
        }
        if (fromLine != null && kw.equals("RUN") && hasCacheMount(t)) {
            // The daemon inserts a base's triggers itself: the canonical Dockerfile cannot move this cache mount
            // into the building team's namespace, so it would share a cache with every team on that base.
            problems.add(new TriggerProblem(line, base, "an ONBUILD RUN trigger of base image '" + base + "' has a"
                    + " cache mount, whose id the gateway cannot keep within the building team's namespace: "
                    + BuiltinRunRules.abbreviate(trigger)));
        }
        return List.of(new Instruction(kw, t.flags(), t.arguments(), t.json(), t.heredocs(), line, line, t.original()));
    }

    private static boolean hasCacheMount(Instruction run) {
        for (Instruction.Flag f : run.flags()) {
            if (f.name().equals("mount")) {
                try {
                    if (io.buildgateway.dockerfile.RunMount.parse(f.value()).type().equals("cache")) {
                        return true;
                    }
                } catch (io.buildgateway.dockerfile.RunMount.Refused e) {
                    if (f.value().toLowerCase(java.util.Locale.ROOT).contains("cache")) {
                        return true; // unreadable: judged by its worst case
                    }
                }
            }
        }
        return false;
    }

    /**
     * An ARG's declarations ({@link Instruction#words(char)} of it) into the scope: the request's build arg, else the
     * default, else the global ARG; a value also goes into {@code args}, which a stage built on this one sees.
     */
    private static void declareArgs(List<String> declarations, Map<String, String> scope, Map<String, String> env,
            Map<String, String> args, BuildStages.Plan plan, boolean known, char escape) {
        for (String decl : declarations) {
            if (decl.isEmpty()) {
                continue;
            }
            int eq = decl.indexOf('=');
            String name = eq < 0 ? decl : decl.substring(0, eq);
            String declared = eq < 0 ? null : expandWord(decl.substring(eq + 1), scope, known, escape);
            String value = plan.stageArg(name, declared);
            // An ARG that gets a value (a build arg, its default, a global ARG) overrides an earlier ENV of its name
            // for what follows, the base's included (BuildKit's dispatchArg adds it to the stage's environment;
            // checked on dockerd 26: ENV U=1000, ARG U=0, LABEL u=$U labels u=0); one without keeps the ENV.
            if (value != null) {
                scope.put(name, value);
                args.put(name, value);
            } else if (!env.containsKey(name)) {
                scope.put(name, null);
            }
        }
    }

    private static Effective effective(Instruction i, Instruction written, int stage, String via,
            Map<String, String> scope, boolean known, char escape) {
        String kw = i.keyword();
        boolean expandArgs = EXPANDED.contains(kw);
        if (!expandArgs && i.flags().isEmpty()) {
            return new Effective(i, written, stage, via, null);
        }
        // Most flags and arguments have nothing to substitute (expandWord then returns the very string): a new
        // flag list, and a new instruction, only when something changed.
        List<Instruction.Flag> flags = i.flags();
        for (int k = 0; k < flags.size(); k++) {
            Instruction.Flag f = flags.get(k);
            String value = f.value() == null ? null : expandFlag(kw, f, scope, known, escape);
            if (value != f.value()) {
                if (flags == i.flags()) {
                    flags = new ArrayList<>(i.flags().subList(0, k));
                }
                flags.add(new Instruction.Flag(f.name(), value));
            } else if (flags != i.flags()) {
                flags.add(f);
            }
        }
        String arguments = i.arguments();
        List<String> words = null;
        if (kw.equals("ADD") || kw.equals("COPY")) {
            // The daemon splits at whitespace first, whatever the quotes and escapes, then processes each word.
            // A heredoc marker is no path: the words after it are still sources and the destination
            // (BuildKitOracleIT found `ADD <url> <<EOF /d/` read as a destination alone).
            List<String> raw = i.isJsonForm() ? i.json()
                    : i.withoutHeredocMarkers(Instruction.daemonFields(i.arguments()));
            String[] expanded = new String[raw.size()];
            for (int k = 0; k < expanded.length; k++) {
                expanded[k] = expandWord(raw.get(k), scope, known, escape);
            }
            words = List.of(expanded);
        } else if (expandArgs && !i.isJsonForm()) {
            arguments = expandWord(i.arguments().strip(), scope, known, escape);
        }
        if (words == null && flags == i.flags() && arguments.equals(i.arguments())) {
            // Nothing substituted: the instruction runs as written. (ADD and COPY always get an instruction of
            // their own: their expanded words are kept per instruction, apart from the words of the written one.)
            return new Effective(i, written, stage, via, null);
        }
        Instruction expanded = new Instruction(kw, flags, arguments, i.json(), i.heredocs(), i.line(), i.endLine(), i.original());
        return new Effective(expanded, written, stage, via, words);
    }

    /**
     * A flag's value after substitution: a RUN's {@code --mount} field by field, as BuildKit reads it
     * ({@link io.buildgateway.dockerfile.RunMount#expandFields}: a variable's value never adds a field), any other
     * flag (and a mount that does not read as CSV) as one word. The very string when nothing changed.
     */
    private static String expandFlag(String keyword, Instruction.Flag f, Map<String, String> scope, boolean known,
            char escape) {
        if (keyword.equals("RUN") && f.name().equals("mount") && !Substitution.isLiteral(f.value(), escape)) {
            String fields = io.buildgateway.dockerfile.RunMount.expandFields(f.value(),
                    v -> expandWord(v, scope, known, escape));
            if (fields != null) {
                return fields;
            }
        }
        return expandWord(f.value(), scope, known, escape);
    }

    /** Expands a word; when it refers to a variable whose value cannot be known, returns it as written. */
    static String expandWord(String word, Map<String, String> scope, boolean known, char escape) {
        if (Substitution.isLiteral(word, escape)) {
            return word; // what expand returns for it, without a lookup made for nothing
        }
        boolean[] unknown = {false};
        String out = Substitution.expand(word, name -> {
            if (scope.containsKey(name)) {
                return scope.get(name);
            }
            if (!known) {
                unknown[0] = true;
            }
            return null;
        }, escape);
        return unknown[0] ? word : out;
    }
}
