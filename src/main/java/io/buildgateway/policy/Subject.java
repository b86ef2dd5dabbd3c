package io.buildgateway.policy;

import io.buildgateway.dockerfile.BuildStages;
import io.buildgateway.dockerfile.Dockerfile;
import io.buildgateway.dockerfile.Instruction;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What rules look at: the parsed Dockerfile, the build as it will run (stages after substitution, the target), the
 * request (build args, team, image) and, when a whole context was sent, its file names. Lives for one evaluation
 * and remembers what several rules derive, so that 55 rules cost one derivation of each: the instructions by keyword
 * (a rule visits only the instructions it is about, not the whole file), the split shell commands of each RUN, the
 * words and ENV/ARG pairs of each instruction, and the images the build pulls.
 */
final class Subject {

    private final Dockerfile dockerfile;
    private final BuildStages.Plan plan;
    private final Map<String, String> buildArgs;
    private final String target;
    private final String team;
    private final String image;
    private final PolicyDocument policy;
    private final Set<String> contextFiles;
    private Map<Instruction, Derived> derived;
    private List<Instruction>[] byKeyword;
    private List<Run> runs;
    private List<String> programs;
    private List<Located> located;
    private List<BuiltinRules.Pull> pulls;
    private List<BuildStages.Stage> targetChain;
    private final java.util.function.Function<String, List<String>> baseTriggers;
    private final java.util.function.Function<String, Set<String>> baseEmptyEnv;
    private Expansion.Result expansion;
    /** Whether an unapproved base cannot refuse the build (the rule off or below the threshold, or waived). */
    private boolean unapprovedLetThrough;

    Subject(Dockerfile dockerfile, BuildStages.Plan plan, Map<String, String> buildArgs, String target, String team,
            String image, PolicyDocument policy, Set<String> contextFiles) {
        this(dockerfile, plan, buildArgs, target, team, image, policy, contextFiles, null);
    }

    Subject(Dockerfile dockerfile, BuildStages.Plan plan, Map<String, String> buildArgs, String target, String team,
            String image, PolicyDocument policy, Set<String> contextFiles,
            java.util.function.Function<String, List<String>> baseTriggers) {
        this(dockerfile, plan, buildArgs, target, team, image, policy, contextFiles, baseTriggers, null);
    }

    /** {@code baseEmptyEnv}: see {@link PolicyEvaluator.Request}; null when no base's environment is known. */
    Subject(Dockerfile dockerfile, BuildStages.Plan plan, Map<String, String> buildArgs, String target, String team,
            String image, PolicyDocument policy, Set<String> contextFiles,
            java.util.function.Function<String, List<String>> baseTriggers,
            java.util.function.Function<String, Set<String>> baseEmptyEnv) {
        this.baseTriggers = baseTriggers;
        this.baseEmptyEnv = baseEmptyEnv;
        this.dockerfile = dockerfile;
        this.plan = plan;
        this.buildArgs = buildArgs;
        this.target = target;
        this.team = team;
        this.image = image;
        this.policy = policy;
        this.contextFiles = contextFiles;
    }

    /**
     * Set before the expansion is asked for: whether {@code unapproved-image} cannot refuse this build, so that a base
     * it lets through is read (when the build's daemon would pull it) as an approved one is.
     */
    void letsUnapprovedThrough(boolean value) {
        this.unapprovedLetThrough = value;
    }

    Dockerfile dockerfile() {
        return dockerfile;
    }

    BuildStages.Plan plan() {
        return plan;
    }

    Map<String, String> buildArgs() {
        return buildArgs;
    }

    String target() {
        return target;
    }

    String team() {
        return team;
    }

    String image() {
        return image;
    }

    PolicyDocument policy() {
        return policy;
    }

    Set<String> contextFiles() {
        return contextFiles;
    }

    private CustomRules.Models customRuleModels;

    /** The CEL model of this subject, once a custom rule has made it (null before). */
    CustomRules.Models customRuleModels() {
        return customRuleModels;
    }

    void customRuleModels(CustomRules.Models models) {
        customRuleModels = models;
    }

    /** Every instruction with the index of its stage ({@code -1} before the first FROM). */
    record Located(Instruction instruction, int stage) {
    }

    List<Located> located() {
        if (located == null) {
            List<Located> out = new ArrayList<>();
            int stage = -1;
            for (Instruction i : dockerfile.instructions()) {
                if (i.keyword().equals("FROM")) {
                    stage++;
                }
                out.add(new Located(i, stage));
            }
            located = out;
        }
        return located;
    }

    /**
     * The build as the daemon runs it (see {@link Expansion}): every instruction of every stage after substitution,
     * with the ONBUILD triggers each stage inherits. Without a plan (no FROM, unknown target): the file as written.
     */
    Expansion.Result expansion() {
        if (expansion == null) {
            if (plan == null) {
                List<Expansion.Effective> out = new ArrayList<>();
                for (Located l : located()) {
                    if (!l.instruction().keyword().equals("FROM") && l.stage() >= 0) {
                        out.add(new Expansion.Effective(l.instruction(), l.instruction(), l.stage(), null, null));
                    }
                }
                expansion = new Expansion.Result(out, List.of());
            } else {
                expansion = Expansion.of(dockerfile, plan, baseTriggers, baseEmptyEnv, base -> {
                    // Only well-formed bases the build's daemon would be granted (its team's own repositories, a
                    // pullable prefix), and that the policy approves or lets through (unapproved-image off, below
                    // the threshold or waived), are read from the registry: never an address a Dockerfile chose, nor
                    // a base that refuses the build anyway. Without a grant to ask (no BaseEnvironment): approved
                    // bases only.
                    if (!BuiltinRules.Ref.valid(base)) {
                        return false;
                    }
                    boolean approved = BuiltinRules.approved(policy, BuiltinRules.Ref.parse(base), false);
                    if (baseEmptyEnv instanceof PolicyEvaluator.BaseEnvironment e) {
                        return (approved || unapprovedLetThrough) && e.granted(base);
                    }
                    return approved;
                }, new Expansion.FileWords() {
                    @Override
                    public Map<String, String> env(Instruction i) {
                        return rawEnv(i);
                    }

                    @Override
                    public List<String> words(Instruction i) {
                        return Subject.this.words(i);
                    }
                });
            }
            for (Expansion.Effective e : expansion.instructions()) {
                if (e.words() != null) {
                    derived(e.instruction()).argumentWords = e.words();
                }
            }
        }
        return expansion;
    }

    /** The instructions with this (upper-case) keyword, in order: as they run (substituted, triggers included). */
    List<Instruction> instructions(String keyword) {
        if (byKeyword == null) {
            @SuppressWarnings("unchecked")
            List<Instruction>[] index = new List[KEYWORD_SLOTS];
            for (Located l : located()) {
                if (l.stage() < 0 || l.instruction().keyword().equals("FROM")) {
                    add(index, l.instruction());
                }
            }
            for (Expansion.Effective e : expansion().instructions()) {
                add(index, e.instruction());
            }
            byKeyword = index;
        }
        List<Instruction> found = byKeyword[slot(keyword)];
        return found == null ? List.of() : found;
    }

    private static void add(List<Instruction>[] index, Instruction i) {
        int slot = slot(i.keyword());
        if (index[slot] == null) {
            index[slot] = new ArrayList<>(4);
        }
        index[slot].add(i);
    }

    private static final int KEYWORD_SLOTS = 18;

    /** A slot of the index per instruction keyword. */
    private static int slot(String keyword) {
        return switch (keyword) {
            case "ADD" -> 0;
            case "ARG" -> 1;
            case "CMD" -> 2;
            case "COPY" -> 3;
            case "ENTRYPOINT" -> 4;
            case "ENV" -> 5;
            case "EXPOSE" -> 6;
            case "FROM" -> 7;
            case "HEALTHCHECK" -> 8;
            case "LABEL" -> 9;
            case "MAINTAINER" -> 10;
            case "ONBUILD" -> 11;
            case "RUN" -> 12;
            case "SHELL" -> 13;
            case "STOPSIGNAL" -> 14;
            case "USER" -> 15;
            case "VOLUME" -> 16;
            case "WORKDIR" -> 17;
            default -> throw new IllegalArgumentException("not an instruction keyword: " + keyword);
        };
    }

    /**
     * A rule's set of program names, each name with a bit of its own: "does this RUN (or file) run any of them?" is
     * then one AND of two masks instead of a hash lookup per name or per program, asked by ~25 rules of every RUN.
     * Names are numbered as sets are made (the rules' constants, at class initialisation), up to 128; a set with a
     * name beyond that, or one made after a RUN's mask (see {@link Run#runsAnyOf}), is answered by lookups as before.
     */
    static final class Programs extends java.util.AbstractSet<String> {
        private static final java.util.concurrent.ConcurrentHashMap<String, Integer> BITS =
                new java.util.concurrent.ConcurrentHashMap<>();
        /** How many names have a bit: every name numbered below it is in {@link #BITS}. */
        private static volatile int numbered;

        private final Set<String> names;
        private final long low;
        private final long high;
        /** One more than the highest bit of a name of this set; -1 when a name has none. */
        private final int limit;

        private Programs(Set<String> names) {
            this.names = names;
            long lo = 0;
            long hi = 0;
            int max = 0;
            for (String name : names) {
                int bit = bitOf(name);
                if (bit < 0) {
                    max = -1;
                    break;
                }
                if (bit < 64) {
                    lo |= 1L << bit;
                } else {
                    hi |= 1L << (bit - 64);
                }
                max = Math.max(max, bit + 1);
            }
            this.low = lo;
            this.high = hi;
            this.limit = max;
        }

        static Programs of(String... names) {
            return new Programs(Set.of(names));
        }

        static Programs of(Set<String> names) {
            return names instanceof Programs p ? p : new Programs(Set.copyOf(names));
        }

        private static synchronized int bitOf(String name) {
            Integer bit = BITS.get(name);
            if (bit == null) {
                if (numbered == 128) {
                    return -1;
                }
                bit = numbered;
                BITS.put(name, bit);
                numbered = bit + 1; // after the put: a reader that sees the count sees the name
            }
            return bit;
        }

        @Override
        public boolean contains(Object o) {
            return names.contains(o);
        }

        @Override
        public java.util.Iterator<String> iterator() {
            return names.iterator();
        }

        @Override
        public int size() {
            return names.size();
        }
    }

    /** The bits of the programs the commands run, and how many names were numbered when they were taken. */
    private static final class Mask {
        long low;
        long high;
        int numbered;

        static Mask of(List<ShellCommands.Command> commands) {
            Mask m = new Mask();
            m.numbered = Programs.numbered; // first: every name numbered below it is in BITS
            for (int k = 0; k < commands.size(); k++) {
                m.add(commands.get(k).program());
            }
            return m;
        }

        void add(String program) {
            Integer bit = Programs.BITS.get(program);
            if (bit != null && bit < numbered) {
                if (bit < 64) {
                    low |= 1L << bit;
                } else {
                    high |= 1L << (bit - 64);
                }
            }
        }

        /** Whether a program of these runs a name of the set; null when the masks cannot tell. */
        Boolean runsAnyOf(Set<String> names) {
            if (names instanceof Programs p && p.limit >= 0 && p.limit <= numbered) {
                return ((low & p.low) | (high & p.high)) != 0;
            }
            return null;
        }
    }

    /**
     * A RUN, or an ONBUILD RUN trigger, with its simple commands and the programs they run: a rule about some
     * programs skips a RUN that runs none of them without walking its commands.
     */
    static final class Run {
        private final Instruction instruction;
        private final List<ShellCommands.Command> commands;
        private final Mask mask;
        private Set<String> programs;

        Run(Instruction instruction, List<ShellCommands.Command> commands) {
            this.instruction = instruction;
            this.commands = commands;
            this.mask = Mask.of(commands);
        }

        Instruction instruction() {
            return instruction;
        }

        List<ShellCommands.Command> commands() {
            return commands;
        }

        /** The programs its commands run, each once. */
        Set<String> programs() {
            if (programs == null) {
                programs = programsOf(commands);
            }
            return programs;
        }

        private static Set<String> programsOf(List<ShellCommands.Command> commands) {
            if (commands.isEmpty()) {
                return Set.of();
            }
            Set<String> out = new java.util.HashSet<>(Math.max(4, commands.size() * 2));
            for (int k = 0; k < commands.size(); k++) {
                out.add(commands.get(k).program());
            }
            return out;
        }

        /** Whether a command of this RUN runs one of these programs. */
        boolean runsAnyOf(Set<String> names) {
            Boolean byMask = mask.runsAnyOf(names);
            if (byMask != null) {
                return byMask;
            }
            Set<String> all = programs();
            for (String name : names) {
                if (all.contains(name)) {
                    return true;
                }
            }
            return false;
        }

        /** Whether a command of this RUN runs a program whose name starts with this prefix. */
        boolean runsPrefixed(String prefix) {
            for (String program : programs()) {
                if (program.startsWith(prefix)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** Every RUN and ONBUILD RUN trigger in order, each split into commands once. */
    List<Run> runs() {
        if (runs == null) {
            List<Run> out = new ArrayList<>();
            for (Located l : located()) {
                Instruction i = l.instruction();
                if (l.stage() < 0 && i.keyword().equals("RUN")) {
                    out.add(new Run(i, commands(i)));
                } else if (i.keyword().equals("ONBUILD") && i.arguments().regionMatches(true, 0, "RUN", 0, 3)
                        && i.arguments().length() > 3 && ShellCommands.isWhitespace(i.arguments().charAt(3))) {
                    out.add(onbuildRun(i));
                }
            }
            // The RUNs of every stage as they run, and base images' RUN triggers; an earlier stage's RUN triggers
            // are judged once, at their ONBUILD line, above. HEALTHCHECK CMD runs a shell command too (later, in
            // the container): its commands are judged with the RUNs, under the keyword HEALTHCHECK.
            for (Expansion.Effective e : expansion().instructions()) {
                String kw = e.instruction().keyword();
                if (kw.equals("RUN") && (e.via() == null || e.via().startsWith("ONBUILD of base image"))) {
                    // A RUN's script does not depend on its flags, the only part the expansion changes: the commands
                    // are those of the RUN as written, split once for both.
                    List<ShellCommands.Command> commands = commands(e.instruction());
                    if (e.written() != e.instruction() && derived(e.written()).commands == null) {
                        derived(e.written()).commands = commands;
                    }
                    out.add(new Run(e.instruction(), commands));
                } else if (kw.equals("HEALTHCHECK")
                        && (e.via() == null || e.via().startsWith("ONBUILD of base image"))) {
                    String script = healthcheckScript(e.instruction());
                    if (script != null) {
                        out.add(new Run(e.instruction(), ShellCommands.split(script)));
                    }
                }
            }
            if (!byLine(out)) {
                out.sort(java.util.Comparator.comparingInt(r -> r.instruction().line())); // stable, as before
            }
            runs = out;
        }
        return runs;
    }

    /** Whether the RUNs are in line order already (then the stable sort by line would leave them as they are). */
    private static boolean byLine(List<Run> runs) {
        for (int k = 1; k < runs.size(); k++) {
            if (runs.get(k - 1).instruction().line() > runs.get(k).instruction().line()) {
                return false;
            }
        }
        return true;
    }

    /**
     * An {@code ONBUILD RUN} trigger as the RUN it becomes: the ONBUILD instruction (its line and keyword, for
     * findings) carrying the trigger's own flags ({@code --mount}, {@code --network}, …), and the trigger's script.
     */
    private static Run onbuildRun(Instruction onbuild) {
        Dockerfile parsed = io.buildgateway.dockerfile.DockerfileParser.parse(onbuild.arguments());
        if (parsed.instructions().size() != 1 || !parsed.instructions().get(0).keyword().equals("RUN")) {
            return new Run(onbuild, ShellCommands.split(onbuild.arguments().substring(4)));
        }
        Instruction inner = parsed.instructions().get(0);
        Instruction asRun = new Instruction("ONBUILD", inner.flags(), onbuild.arguments(), onbuild.json(),
                onbuild.heredocs(), onbuild.line(), onbuild.endLine(), onbuild.original());
        // The trigger's heredoc bodies follow the ONBUILD line in the file; they are the trigger's script too.
        Instruction withBodies = new Instruction("RUN", inner.flags(), inner.arguments(), inner.json(),
                onbuild.heredocs(), onbuild.line(), onbuild.endLine(), inner.original());
        return new Run(asRun, ShellCommands.split(script(withBodies)));
    }

    /**
     * The shell text of {@code HEALTHCHECK [flags] CMD …}: the shell form as written, the exec form joined; null for
     * {@code HEALTHCHECK NONE}.
     */
    static String healthcheckScript(Instruction healthcheck) {
        String args = healthcheck.arguments().strip();
        if (!args.regionMatches(true, 0, "CMD", 0, 3) || (args.length() > 3
                && !ShellCommands.isWhitespace(args.charAt(3)) && args.charAt(3) != '[')) {
            return null;
        }
        String rest = args.substring(3).strip();
        if (rest.startsWith("[")) {
            List<String> json = io.buildgateway.dockerfile.DockerfileParser.parse("CMD " + rest).instructions()
                    .stream().findFirst().map(Instruction::json).orElse(null);
            if (json != null) {
                return json.isEmpty() ? null : json.get(0).equals("CMD-SHELL")
                        ? String.join(" ", json.subList(1, json.size())) : String.join(" ", json);
            }
        }
        return rest.isEmpty() ? null : rest;
    }

    /** The ONBUILD RUN triggers written in the file, as {@link #runs()} has them (with the trigger's flags). */
    List<Instruction> onbuildRuns() {
        if (onbuildRuns == null) {
            List<Instruction> out = new ArrayList<>(0);
            for (Run r : runs()) {
                if (r.instruction().keyword().equals("ONBUILD")) {
                    out.add(r.instruction());
                }
            }
            onbuildRuns = out;
        }
        return onbuildRuns;
    }

    private List<Instruction> onbuildRuns;

    private Map<Integer, Set<String>> runScopes;
    private Set<String> declaredNames;

    /**
     * Whether the variable is declared somewhere in the file (ARG or ENV, global ARGs included) but is not in scope
     * for the RUN at this line: not declared earlier in its stage, and not an ENV of a stage it builds FROM. Such a
     * variable is empty when the RUN runs (a global ARG needs a redeclaration in the stage; an ARG ends with its
     * stage). A variable the file never declares may come from the base image's ENV, so it is not judged here; nor
     * are RUNs at lines without a known scope (ONBUILD triggers, which run in someone else's stage).
     */
    boolean declaredButOutOfScope(int runLine, String name) {
        if (runScopes == null) {
            runScopes = new java.util.HashMap<>();
            declaredNames = new java.util.HashSet<>();
            List<Set<String>> envOfStage = new ArrayList<>();
            Set<String> scope = new java.util.HashSet<>();
            Set<String> env = new java.util.HashSet<>();
            int stage = -1;
            for (Located l : located()) {
                Instruction i = l.instruction();
                switch (i.keyword()) {
                    case "FROM" -> {
                        if (stage >= 0) {
                            envOfStage.add(env);
                        }
                        stage = l.stage();
                        env = new java.util.HashSet<>();
                        int parent = plan == null || stage >= plan.stages().size() ? -1
                                : plan.stages().get(stage).parentStage();
                        if (parent >= 0 && parent < envOfStage.size()) {
                            env.addAll(envOfStage.get(parent));
                        }
                        scope = new java.util.HashSet<>(env);
                    }
                    case "ARG" -> {
                        for (String n : argPairs(i).keySet()) {
                            declaredNames.add(n);
                            scope.add(n);
                        }
                    }
                    case "ENV" -> {
                        for (String n : env(i).keySet()) {
                            declaredNames.add(n);
                            scope.add(n);
                            env.add(n);
                        }
                    }
                    case "RUN" -> {
                        if (stage >= 0) {
                            runScopes.put(i.line(), Set.copyOf(scope));
                        }
                    }
                    default -> {
                    }
                }
            }
        }
        Set<String> scope = runScopes.get(runLine);
        return scope != null && declaredNames.contains(name) && !scope.contains(name);
    }

    /**
     * Whether a command of a RUN runs one of these programs. Asked by most RUN rules, each with a few names, of a
     * file whose RUNs often run dozens of programs: the smaller side is walked, the other looked up.
     */
    boolean runsAnyOf(Set<String> names) {
        if (fileMask == null) {
            Mask m = new Mask();
            m.numbered = Programs.numbered;
            for (Run run : runs()) {
                m.low |= run.mask.low;
                m.high |= run.mask.high;
                m.numbered = Math.min(m.numbered, run.mask.numbered); // what every RUN's mask can tell
            }
            fileMask = m;
        }
        Boolean byMask = fileMask.runsAnyOf(names);
        if (byMask != null) {
            return byMask;
        }
        programs();
        if (names.size() < programs.size()) {
            for (String name : names) {
                if (programSet.contains(name)) {
                    return true;
                }
            }
            return false;
        }
        for (int k = 0; k < programs.size(); k++) {
            if (names.contains(programs.get(k))) {
                return true;
            }
        }
        return false;
    }

    /** The programs of every RUN as bits. */
    private Mask fileMask;

    /** Whether a command of a RUN runs python (python3, python3.12, …). */
    boolean runsPython() {
        List<String> all = programs();
        for (int k = 0; k < all.size(); k++) {
            if (all.get(k).startsWith("python")) {
                return true;
            }
        }
        return false;
    }

    /** Whether a command of a RUN runs a program whose name starts with this prefix. */
    boolean runsPrefixed(String prefix) {
        List<String> all = programs();
        for (int k = 0; k < all.size(); k++) {
            if (all.get(k).startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    /** The programs the commands of the RUN instructions run, each once. */
    private List<String> programs() {
        if (programs == null) {
            List<String> out = new ArrayList<>();
            Set<String> seen = new java.util.HashSet<>();
            for (Run run : runs()) {
                for (ShellCommands.Command c : run.commands()) {
                    if (seen.add(c.program())) {
                        out.add(c.program());
                    }
                }
            }
            programSet = seen;
            programs = out;
        }
        return programs;
    }

    private Set<String> programSet;

    /** What rules derive from one instruction, each computed on first use. */
    private static final class Derived {
        String script;
        List<ShellCommands.Command> commands;
        List<String> words;
        List<String> argumentWords;
        Map<String, String> env;
        Map<String, String> rawEnv;
        Map<String, String> argPairs;
    }

    /**
     * What is derived from this very instruction (by identity). The file's own instructions, which rules ask about
     * most, have a slot each, found by their start line (no two start on the same line) and checked to be the same
     * instance; any other (an expanded or trigger instruction, or one that merely has the same line) is looked up by
     * identity. So most instructions never need an identity hash, whose first computation per object is a call into
     * the VM (~30-40 ns each, for objects made anew by every lint).
     */
    private Derived derived(Instruction i) {
        if (slotOfLine == null) {
            List<Instruction> all = dockerfile.instructions();
            int last = 0;
            for (int k = 0; k < all.size(); k++) {
                last = Math.max(last, all.get(k).line());
            }
            // A file whose instructions start beyond what a slot table should hold (a 4 MB file of blank lines)
            // takes the identity map for everything.
            slotOfLine = new int[last <= 65_536 ? last + 1 : 0];
            if (slotOfLine.length > 0) {
                for (int k = 0; k < all.size(); k++) {
                    int line = all.get(k).line();
                    if (line >= 0) {
                        slotOfLine[line] = k + 1; // 0: none starts there; a line given twice keeps the last
                    }
                }
            }
            derivedOfFile = new Derived[all.size()];
        }
        int line = i.line();
        if (line >= 0 && line < slotOfLine.length) {
            int slot = slotOfLine[line] - 1;
            if (slot >= 0 && dockerfile.instructions().get(slot) == i) {
                Derived d = derivedOfFile[slot];
                if (d == null) {
                    d = new Derived();
                    derivedOfFile[slot] = d;
                }
                return d;
            }
        }
        if (derived == null) {
            derived = new IdentityHashMap<>(16);
        }
        Derived d = derived.get(i);
        if (d == null) {
            d = new Derived();
            derived.put(i, d);
        }
        return d;
    }

    /** For each line, 1 + the index of the file's instruction that starts there, or 0; made on first use. */
    private int[] slotOfLine;
    /** What is derived from each of the file's own instructions, by index. */
    private Derived[] derivedOfFile;

    /** {@link #script(Instruction)}, made once per instruction. */
    String scriptOf(Instruction run) {
        Derived d = derived(run);
        if (d.script == null) {
            d.script = script(run);
        }
        return d.script;
    }

    /**
     * The simple commands of a RUN ({@link ShellCommands#split} of its {@link #script}), split once per instruction
     * and shared with {@link #runs()}: every rule that looks at a RUN's commands reads the same list.
     */
    List<ShellCommands.Command> commands(Instruction run) {
        Derived d = derived(run);
        if (d.commands == null) {
            d.commands = ShellCommands.split(scriptOf(run));
        }
        return d.commands;
    }

    /** {@link Instruction#words(char)} (the daemon's split), split once. */
    List<String> words(Instruction i) {
        Derived d = derived(i);
        if (d.words == null) {
            d.words = i.words(dockerfile.escape());
        }
        return d.words;
    }

    /** The arguments as words: the exec form's strings, or the shell words before any heredoc (quotes removed). */
    List<String> argumentWords(Instruction i) {
        Derived d = derived(i);
        if (d.argumentWords == null) {
            d.argumentWords = Collections.unmodifiableList(BuiltinInstructionRules.words(i));
        }
        return d.argumentWords;
    }

    /**
     * The word with its quotes and escapes removed as the rules read it, as BuildKit processes them with the file's
     * escape character (substitutions left as written); the word itself when it has none. (A shell split of the word,
     * as before, ignored {@code # escape=`} and dropped the backslash of {@code "\\n"}: SubstitutionDifferentialIT.)
     */
    private String unquote(String word) {
        return io.buildgateway.dockerfile.Substitution.unquote(word, dockerfile.escape());
    }

    /** The pairs of an ENV (or LABEL), as {@link BuiltinRules#env} reads them, quotes removed. */
    Map<String, String> env(Instruction i) {
        Derived d = derived(i);
        if (d.env == null) {
            // The rules judge the words with their quotes removed (the expansion processes them as written).
            // Most pairs have no quote or escape: then the pairs as written are the ones the rules see.
            Map<String, String> raw = rawEnv(i);
            boolean unquoted = true;
            for (Map.Entry<String, String> e : raw.entrySet()) {
                if (unquote(e.getKey()) != e.getKey() || unquote(e.getValue()) != e.getValue()) {
                    unquoted = false;
                    break;
                }
            }
            if (unquoted) {
                d.env = Collections.unmodifiableMap(raw);
            } else {
                Map<String, String> pairs = new java.util.LinkedHashMap<>();
                raw.forEach((k, v) -> pairs.put(unquote(k), unquote(v)));
                d.env = Collections.unmodifiableMap(pairs);
            }
        }
        return d.env;
    }

    /**
     * {@link BuiltinRules#env} of an instruction of this file, with its quotes, made once: the expansion reads it for
     * the scope and {@link #env} for the rules. Read only.
     */
    private Map<String, String> rawEnv(Instruction i) {
        Derived d = derived(i);
        if (d.rawEnv == null) {
            d.rawEnv = BuiltinRules.env(i, dockerfile.escape());
        }
        return d.rawEnv;
    }

    /** The declarations of an ARG, name to default (null when none). */
    Map<String, String> argPairs(Instruction i) {
        Derived d = derived(i);
        if (d.argPairs == null) {
            // The daemon's parseWords (Go spaces outside quotes and escapes), quotes then removed for the rules.
            Map<String, String> pairs = new java.util.LinkedHashMap<>();
            for (String decl : io.buildgateway.dockerfile.DockerfileParser.nameValueWords(i.arguments(),
                    dockerfile.escape())) {
                int eq = decl.indexOf('=');
                pairs.put(unquote(eq < 0 ? decl : decl.substring(0, eq)), eq < 0 ? null : unquote(decl.substring(eq + 1)));
            }
            d.argPairs = Collections.unmodifiableMap(pairs);
        }
        return d.argPairs;
    }

    List<BuiltinRules.Pull> pulls() {
        if (pulls == null) {
            pulls = BuiltinRules.pulls(this);
        }
        return pulls;
    }

    List<BuildStages.Stage> targetChain() {
        if (targetChain == null) {
            targetChain = plan == null ? List.of() : plan.targetChain();
        }
        return targetChain;
    }

    /**
     * The shell text a RUN executes: the command (exec form joined) and its heredoc bodies. A body BuildKit hands to
     * an interpreter that is not a shell is that program's input, not shell: {@code RUN python3 <<EOF}, or
     * {@code RUN <<EOF} whose body starts with a {@code #!} line naming one (BuildKit then runs the body as that
     * file). Every other body is read as shell, also one written to a file ({@code cat <<EOF >x.sh}), which may be
     * run later.
     */
    static String script(Instruction run) {
        if (run.heredocs().isEmpty() && !run.isJsonForm()) {
            return run.arguments();
        }
        StringBuilder out = new StringBuilder(run.isJsonForm() ? String.join(" ", run.json()) : run.arguments());
        boolean fedToOther = !run.isJsonForm() && run.heredocs().size() == 1 && feedsAnotherInterpreter(run);
        for (Instruction.Heredoc h : run.heredocs()) {
            if (fedToOther || (run.heredocs().size() == 1 && run.arguments().strip().startsWith("<<")
                    && otherShebang(h.body()))) {
                continue;
            }
            out.append('\n').append(h.body());
        }
        return out.toString();
    }

    private static final Set<String> NOT_SHELLS = Set.of("python", "python2", "python3", "perl", "node", "ruby",
            "php", "lua");

    private static String interpreter(String word) {
        String name = word.substring(word.lastIndexOf('/') + 1);
        return isVersionedPython3(name) ? "python3" : name;
    }

    /** Exactly {@code name.matches("python3\\.[0-9]+")}, without compiling the expression on every call. */
    static boolean isVersionedPython3(String name) {
        if (name.length() < 9 || !name.startsWith("python3.")) {
            return false;
        }
        for (int k = 8; k < name.length(); k++) {
            if (name.charAt(k) < '0' || name.charAt(k) > '9') {
                return false;
            }
        }
        return true;
    }

    /**
     * Exactly {@code text.strip().split("\\s+")}: the words between runs of ASCII whitespace (space, \t, \n, 0x0B,
     * \f, \r), with {@code [""]} for a text that is blank; without compiling the expression on every call.
     */
    static String[] splitAtWhitespace(String text) {
        String stripped = text.strip();
        if (stripped.isEmpty()) {
            return new String[] {""};
        }
        List<String> out = new ArrayList<>();
        int n = stripped.length();
        int k = 0;
        while (k < n) {
            int start = k;
            while (k < n && !asciiSpace(stripped.charAt(k))) {
                k++;
            }
            // strip() leaves no ASCII space at either end, so no word is empty.
            out.add(stripped.substring(start, k));
            while (k < n && asciiSpace(stripped.charAt(k))) {
                k++;
            }
        }
        return out.toArray(new String[0]);
    }

    private static boolean asciiSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
    }

    /** {@code python3 <<EOF} (options between allowed): the one heredoc is that interpreter's program. */
    private static boolean feedsAnotherInterpreter(Instruction run) {
        String[] words = splitAtWhitespace(run.arguments());
        if (words.length < 2 || !words[words.length - 1].startsWith("<<") || !NOT_SHELLS.contains(interpreter(words[0]))) {
            return false;
        }
        for (int w = 1; w < words.length - 1; w++) {
            if (!words[w].startsWith("-") || words[w].equals("-c") || words[w].equals("-e")) {
                return false; // python -c '…' <<EOF: the code is in the command, the heredoc is its stdin
            }
        }
        return true;
    }

    /** A body starting with {@code #!} naming an interpreter that is not a shell ({@code #!/usr/bin/env python3}). */
    private static boolean otherShebang(String body) {
        if (!body.startsWith("#!")) {
            return false;
        }
        int nl = body.indexOf('\n');
        String[] words = splitAtWhitespace(body.substring(2, nl < 0 ? body.length() : nl));
        String program = interpreter(words[0]);
        if (program.equals("env") && words.length > 1) {
            program = interpreter(words[words.length - 1]);
        }
        return NOT_SHELLS.contains(program);
    }
}
