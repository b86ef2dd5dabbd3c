package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.dockerfile.BuildStages;
import io.buildgateway.dockerfile.CanonicalDockerfile;
import io.buildgateway.dockerfile.Dockerfile;
import io.buildgateway.dockerfile.DockerfileParser;
import io.buildgateway.dockerfile.Instruction;
import io.buildgateway.dockerfile.Substitution;
import io.buildgateway.hostpool.BuildKitOracle;
import io.buildgateway.support.Tars;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * A differential fuzzer of variable substitution, with BuildKit as the oracle. The policy judges FROM, USER, WORKDIR,
 * COPY and ADD sources after {@link Substitution#expand}; BuildKit builds what its own shell lexer makes of the same
 * words. Each round generates a Dockerfile of {@code ENV Xn=<word>} lines, the words drawn from substitution's corners
 * ({@code $name}, {@code ${name…}} with every modifier, nested words, digits and special parameters as names, single
 * and double quotes, the escape character before ordinary and special characters, both escape characters), builds it
 * on the test environment's dockerd 26 with BuildKit, and compares every variable of the image's configuration with
 * our reading of the same line. {@link #instructionWordsReadAsBuildKitReadsThem} does the same for the words of
 * WORKDIR, USER, LABEL, EXPOSE, COPY and ADD (sources, destinations, heredoc bodies), against what the policy reads
 * of them.
 *
 * <p>A round that BuildKit refuses is built again line by line, and the lines it refuses alone are counted, not
 * compared (a build that fails is not a policy bypass). The rounds and their seed are {@code -Dit.subst.rounds}
 * (default 6) and {@code -Dit.subst.seed} (default 17), so that a failure repeats; {@code bench/} does not need its
 * own script: {@code -Dit.subst.rounds=300 -Dit.subst.seed=$RANDOM} runs it for as long as one likes.
 */
class SubstitutionDifferentialIT {

    private static final int LINES = 40;
    private static final Map<String, String> VARS = new LinkedHashMap<>();
    private static BuildKitOracle oracle;
    private static String base;

    static {
        VARS.put("V", "a-b/c*d.e");
        VARS.put("W", "");
        VARS.put("Y", "x/y//z");
    }

    @BeforeAll
    static void connect() {
        oracle = BuildKitOracle.connect("base/busybox");
        base = oracle.registry() + "/base/busybox:latest";
        assertThat(oracle.pull(base)).isNull();
    }

    @AfterAll
    static void close() throws Exception {
        oracle.close();
    }

    @Test
    void substitutionReadsAsBuildKitReadsIt() throws Exception {
        int rounds = Integer.getInteger("it.subst.rounds", 6);
        long seed = Long.getLong("it.subst.seed", 17L);
        Random random = new Random(seed);
        List<String> disagreements = new ArrayList<>();
        Map<String, Integer> counts = new TreeMap<>();
        Map<String, Integer> refusals = new TreeMap<>();
        for (int round = 0; round < rounds; round++) {
            char escape = random.nextInt(4) == 0 ? '`' : '\\';
            List<String> words = new ArrayList<>();
            for (int n = 0; n < LINES; n++) {
                String w = word(random, escape, 0);
                // A trailing escape character would join the next line (a line continuation).
                w = w.endsWith(String.valueOf(escape)) ? w + "a" : w;
                if (Substitution.emptyPatternCrash(w) != null) {
                    // The canonical writer refuses it: dockerd 26's BuildKit panics on it, taking the host down.
                    counts.merge("refused by the gateway (would crash the daemon)", 1, Integer::sum);
                    continue;
                }
                words.add(w);
            }
            Map<String, String> theirs = build(escape, words);
            if (theirs != null) {
                compare(escape, words, 0, theirs, disagreements, counts);
                continue;
            }
            for (int n = 0; n < words.size(); n++) {
                Map<String, String> one = build(escape, List.of(words.get(n)));
                if (one == null) {
                    counts.merge("refused by BuildKit", 1, Integer::sum);
                    refusals.merge(lastError.replaceAll("^.*?: ", "").replaceAll("[\"(].*", "").strip(), 1,
                            Integer::sum);
                } else {
                    compare(escape, List.of(words.get(n)), n, one, disagreements, counts);
                }
            }
        }
        String summary = "seed " + seed + ", " + rounds + " rounds: " + counts + "\nBuildKit's refusals: " + refusals
                + "\n" + String.join("\n", disagreements);
        System.out.println(summary);
        assertThat(disagreements).as(summary).isEmpty();
        assertThat(counts.getOrDefault("agreed", 0)).as(summary).isGreaterThan(rounds * LINES / 2);
    }

    /** The Dockerfile of one round: the variables as single-quoted ARG defaults, then one ENV per word. */
    private static String dockerfile(char escape, List<String> words) {
        StringBuilder d = new StringBuilder();
        if (escape != '\\') {
            d.append("# escape=").append(escape).append('\n');
        }
        d.append("FROM ").append(base).append('\n');
        VARS.forEach((k, v) -> d.append("ARG ").append(k).append("='").append(v).append("'\n"));
        d.append("ARG U\n");
        for (int n = 0; n < words.size(); n++) {
            d.append("ENV X").append(n).append('=').append(words.get(n)).append('\n');
        }
        return d.toString();
    }

    /** Why BuildKit refused the last Dockerfile it refused (for the report). */
    private static String lastError = "";

    /** The image's X variables as BuildKit set them, or null when BuildKit refused the Dockerfile. */
    private static Map<String, String> build(char escape, List<String> words) throws Exception {
        String text = dockerfile(escape, words);
        BuildKitOracle.Built built = oracle.build(Tars.ustar().file("Dockerfile", text).bytes(), "Dockerfile",
                Map.of());
        if (built.imageId() == null) {
            lastError = String.valueOf(built.error());
            return null;
        }
        JsonNode config = oracle.config(built.imageId());
        oracle.remove(built.imageId());
        Map<String, String> env = new TreeMap<>();
        for (JsonNode e : config.path("Env")) {
            String kv = e.asString();
            int eq = kv.indexOf('=');
            if (kv.startsWith("X") && eq > 0) {
                env.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        return env;
    }

    private static void compare(char escape, List<String> words, int first, Map<String, String> theirs,
            List<String> disagreements, Map<String, Integer> counts) {
        Dockerfile parsed = DockerfileParser.parse(dockerfile(escape, words));
        List<Instruction> envs = parsed.instructions().stream().filter(i -> i.keyword().equals("ENV")).toList();
        for (int n = 0; n < words.size(); n++) {
            Map<String, String> pairs = BuiltinRules.env(envs.get(n), parsed.escape());
            String ours = pairs.size() == 1 && pairs.containsKey("X" + n)
                    ? Substitution.expand(pairs.get("X" + n), VARS::get, parsed.escape())
                    : "<not one pair: " + pairs + ">";
            String theirValue = theirs.get("X" + n);
            if (ours.equals(theirValue)) {
                counts.merge("agreed", 1, Integer::sum);
            } else {
                counts.merge("disagreed", 1, Integer::sum);
                disagreements.add("escape " + escape + ": ENV X=" + words.get(n) + "\n   ours     " + quote(ours)
                        + "\n   BuildKit " + quote(theirValue));
            }
        }
    }

    // ---- the words of other instructions -------------------------------------------------------------------------

    /** What a case reads a generated word as: the instruction (and how BuildKit's reading of it is seen). */
    private enum Kind {
        /** {@code WORKDIR /wK}, {@code WORKDIR <word>}, {@code COPY _fixed/mK ./}: where mK lands is the workdir. */
        WORKDIR,
        /** {@code WORKDIR /eK}, {@code COPY _fixed/dK <word>}: where dK lands is the destination. */
        COPY_DEST,
        /** {@code WORKDIR /aK}, {@code ADD _fixed/aK <word>}: ADD of a context file reads its words as COPY does. */
        ADD_DEST,
        /** {@code COPY <word> /sK/}, the context holding a file named as the policy reads the word. */
        COPY_SOURCE,
        /** {@code LABEL lK=<word>}: the config's label lK. */
        LABEL_VALUE,
        /** {@code LABEL <word>=kK}: the config's label whose value is kK. */
        LABEL_KEY,
        /** {@code COPY <<EOF /hK} with the word as the body, the marker bare, double- or single-quoted. */
        HEREDOC,
        /** {@code USER <word>}, the last instruction of a build: the config's User. */
        USER,
        /** {@code EXPOSE <word>} of port pieces: the config's ExposedPorts, for all cases of a build at once. */
        EXPOSE
    }

    /** A generated word in one instruction; {@code source}: the context file name the policy predicts (COPY_SOURCE). */
    private record Case(Kind kind, int id, String word, String marker, String source) {

        List<String> lines() {
            return switch (kind) {
                case WORKDIR -> List.of("WORKDIR /w" + id, "WORKDIR " + word, "COPY _fixed/m" + id + " ./");
                case COPY_DEST -> List.of("WORKDIR /e" + id, "COPY _fixed/d" + id + " " + word);
                case ADD_DEST -> List.of("WORKDIR /a" + id, "ADD _fixed/a" + id + " " + word);
                case COPY_SOURCE -> List.of("COPY " + word + " /s" + id + "/");
                case LABEL_VALUE -> List.of("LABEL l" + id + "=" + word);
                case LABEL_KEY -> List.of("LABEL " + word + "=k" + id);
                case HEREDOC -> List.of("COPY <<" + marker + " /h" + id, word, "EOF");
                case USER -> List.of("USER " + word);
                case EXPOSE -> List.of("EXPOSE " + word);
            };
        }

        /** The line of the instruction that reads the word, counted from the case's first line. */
        int wordLine() {
            return kind == Kind.WORKDIR || kind == Kind.COPY_DEST || kind == Kind.ADD_DEST ? 1 : 0;
        }
    }

    private static final int PER_KIND = 8;
    private static final java.util.regex.Pattern PLAIN_NAME = java.util.regex.Pattern.compile(
            "[A-Za-z0-9._,:@+=^-]+");

    /**
     * The words of WORKDIR, USER, LABEL (keys and values), EXPOSE and COPY/ADD (sources, destination, heredoc bodies)
     * as BuildKit reads them, against the policy's reading of the same instruction: {@link Expansion}'s substituted
     * instruction (WORKDIR, USER, EXPOSE split as the port rules split it) and words (COPY, ADD), the
     * {@link Subject}'s LABEL pairs, and the parser's heredoc with its {@code expand} flag. Each round is one
     * Dockerfile FROM scratch, every case in its own folders, built as the canonical text the gateway would send; a
     * round BuildKit refuses is halved until the cases it refuses alone are found (counted, not compared). Same knobs
     * as above (its own random stream from the seed).
     */
    @Test
    void instructionWordsReadAsBuildKitReadsThem() throws Exception {
        int rounds = Integer.getInteger("it.subst.rounds", 6);
        long seed = Long.getLong("it.subst.seed", 17L);
        Random random = new Random(seed * 1_000_003L + 11);
        List<String> disagreements = new ArrayList<>();
        Map<String, Integer> counts = new TreeMap<>();
        Map<String, Integer> refusals = new TreeMap<>();
        long started = System.nanoTime();
        for (int round = 0; round < rounds; round++) {
            char escape = random.nextInt(4) == 0 ? '`' : '\\';
            List<Case> cases = new ArrayList<>();
            int id = 0;
            for (Kind kind : Kind.values()) {
                int wanted = kind == Kind.USER ? 1 : kind == Kind.EXPOSE ? 4 : PER_KIND;
                // A few tries per case: most words are no plain file name (COPY_SOURCE), and there is one USER.
                for (int tries = 0; wanted > 0 && tries < 4 * (kind == Kind.USER ? 4 : PER_KIND); tries++) {
                    Case c = generate(random, escape, kind, id, counts);
                    if (c != null) {
                        cases.add(c);
                        id++;
                        wanted--;
                    }
                }
            }
            run(escape, cases, disagreements, counts, refusals);
        }
        String summary = "seed " + seed + ", " + rounds + " rounds, " + (System.nanoTime() - started) / 1_000_000
                + " ms: " + counts + "\nBuildKit's refusals: " + refusals + "\n" + String.join("\n", disagreements);
        System.out.println(summary);
        assertThat(disagreements).as(summary).isEmpty();
        for (Kind kind : Kind.values()) {
            assertThat(counts.getOrDefault(kind + " agreed", 0)).as(summary).isGreaterThan(0);
        }
    }

    /** A case for a new word, or null (counted) when the gateway would refuse it or it cannot be checked. */
    private static Case generate(Random r, char escape, Kind kind, int id, Map<String, Integer> counts) {
        String w = kind == Kind.EXPOSE ? portWord(r, escape, id) : word(r, escape, 0, NAMES_AND_PATH);
        w = w.endsWith(String.valueOf(escape)) ? w + "a" : w;
        if (Substitution.emptyPatternCrash(w) != null) {
            counts.merge(kind + " refused by the gateway (would crash the daemon)", 1, Integer::sum);
            return null;
        }
        String marker = kind == Kind.HEREDOC ? List.of("EOF", "\"EOF\"", "'EOF'").get(r.nextInt(3)) : null;
        Case c = new Case(kind, id, w, marker, null);
        Dockerfile parsed = DockerfileParser.parse(header(escape) + String.join("\n", c.lines()) + "\n");
        if (!CanonicalDockerfile.problems(parsed, OPTIONS).isEmpty()) {
            counts.merge(kind + " refused by the gateway", 1, Integer::sum);
            return null;
        }
        if (kind == Kind.COPY_SOURCE) {
            List<String> words = policyWords(parsed, parsed.instructions().size() - 1);
            String name = words.size() == 2 ? words.get(0) : "";
            if (!PLAIN_NAME.matcher(name).matches() || name.equals(".") || name.equals("..")
                    || name.equals("Dockerfile") || name.equals("_fixed")) {
                // A glob, a path or nothing: which context files it copies is another question than its reading.
                counts.merge(kind + " skipped (the policy reads no plain file name)", 1, Integer::sum);
                return null;
            }
            return new Case(kind, id, w, null, name);
        }
        return c;
    }

    private static final CanonicalDockerfile.Options OPTIONS = new CanonicalDockerfile.Options(true, null, null);

    private static String header(char escape) {
        StringBuilder d = new StringBuilder();
        if (escape != '\\') {
            d.append("# escape=").append(escape).append('\n');
        }
        d.append("FROM scratch\n");
        VARS.forEach((k, v) -> d.append("ARG ").append(k).append("='").append(v).append("'\n"));
        return d.append("ARG U\nARG P='2'\nARG Q='7 81'\nARG R='udp'\n").toString();
    }

    private static final String[] PORT_PIECES = {"2", "8", "$P", "${P}", "${P:-9}", "${U:-3}", "${P:+1}", "${U:+1}",
        "'4'", "\"5\"", "\"$P\"", "$Q", "${Q:+6}", "${W}", "${W:-0}"};

    /** A port word: the case's own two digits, then pieces that make digits (or nothing, or a space), a protocol. */
    private static String portWord(Random r, char escape, int id) {
        StringBuilder w = new StringBuilder(String.valueOf(10 + id % 90));
        for (int n = r.nextInt(3); n > 0; n--) {
            w.append(r.nextInt(6) == 0 ? escape + "7" : pick(r, PORT_PIECES));
        }
        return w.append(List.of("", "", "/tcp", "/udp", "/$R", "/'udp'", "/${R:+tcp}").get(r.nextInt(7)))
                .toString();
    }

    /** The Expansion's words of the (COPY) instruction at this index, or of the instruction substituted. */
    private static List<String> policyWords(Dockerfile parsed, int index) {
        Expansion.Effective e = effective(parsed, parsed.instructions().get(index));
        return e.words() != null ? e.words() : List.of(e.instruction().arguments().strip());
    }

    private static Expansion.Effective effective(Dockerfile parsed, Instruction written) {
        BuildStages.Plan plan = BuildStages.plan(parsed, Map.of(), null, true);
        for (Expansion.Effective e : Expansion.of(parsed, plan, null, b -> false).instructions()) {
            if (e.written() == written) {
                return e;
            }
        }
        throw new AssertionError("no effective instruction for " + written);
    }

    /** Builds the cases together; when BuildKit refuses them, each half again, down to single cases. */
    private static void run(char escape, List<Case> cases, List<String> disagreements, Map<String, Integer> counts,
            Map<String, Integer> refusals) throws Exception {
        if (cases.isEmpty()) {
            return;
        }
        StringBuilder text = new StringBuilder(header(escape));
        Map<Case, Integer> firstLine = new LinkedHashMap<>();
        Tars context = Tars.ustar();
        List<Case> ordered = new ArrayList<>(cases);
        // The USER case last: only the last USER is in the config.
        ordered.sort(java.util.Comparator.comparing(c -> c.kind() == Kind.USER));
        int line = (int) text.chars().filter(ch -> ch == '\n').count() + 1;
        java.util.Set<String> sources = new java.util.HashSet<>();
        for (Case c : ordered) {
            firstLine.put(c, line);
            for (String l : c.lines()) {
                text.append(l).append('\n');
                line++;
            }
            switch (c.kind()) {
                case WORKDIR -> context.file("_fixed/m" + c.id(), "m" + c.id());
                case COPY_DEST -> context.file("_fixed/d" + c.id(), "d" + c.id());
                case ADD_DEST -> context.file("_fixed/a" + c.id(), "a" + c.id());
                case COPY_SOURCE -> {
                    if (sources.add(c.source())) {
                        context.file(c.source(), "src:" + c.source());
                    }
                }
                default -> {
                }
            }
        }
        Dockerfile parsed = DockerfileParser.parse(text.toString());
        CanonicalDockerfile.Result canonical = CanonicalDockerfile.write(parsed, OPTIONS);
        assertThat(canonical.problems()).as(text.toString()).isEmpty();
        // Never a pattern that may be empty: dockerd 26's BuildKit panics on it (whole daemon).
        assertThat(Substitution.emptyPatternCrash(canonical.text())).as(canonical.text()).isNull();
        BuildKitOracle.Built built = oracle.build(context.file("Dockerfile", canonical.text()).bytes(),
                "Dockerfile", Map.of());
        if (built.imageId() == null) {
            if (cases.size() == 1) {
                counts.merge(cases.get(0).kind() + " refused by BuildKit", 1, Integer::sum);
                refusals.merge(String.valueOf(built.error()).replaceAll("^.*?: ", "").replaceAll("[\"(].*", "")
                        .strip(), 1, Integer::sum);
                return;
            }
            run(escape, cases.subList(0, cases.size() / 2), disagreements, counts, refusals);
            run(escape, cases.subList(cases.size() / 2, cases.size()), disagreements, counts, refusals);
            return;
        }
        JsonNode config;
        Map<String, BuildKitOracle.Entry> files;
        try {
            config = oracle.config(built.imageId());
            files = oracle.files(built.imageId());
        } finally {
            oracle.remove(built.imageId());
        }
        Subject subject = new Subject(parsed, BuildStages.plan(parsed, Map.of(), null, true), Map.of(), null, "t",
                "i", null, java.util.Set.of());
        Map<Integer, Instruction> byLine = new java.util.HashMap<>();
        parsed.instructions().forEach(i -> byLine.put(i.line(), i));
        java.util.Set<String> oursExposed = new java.util.TreeSet<>();
        List<Case> exposes = new ArrayList<>();
        for (Case c : ordered) {
            Instruction written = byLine.get(firstLine.get(c) + c.wordLine());
            String ours;
            String theirs;
            if (c.kind() == Kind.EXPOSE) {
                // The words the port rules read: the daemon's split of the substituted instruction.
                for (String w : effective(parsed, written).instruction().words(parsed.escape())) {
                    oursExposed.add(w.contains("/") ? w : w + "/tcp");
                }
                exposes.add(c);
                continue;
            }
            switch (c.kind()) {
                case WORKDIR -> {
                    String dir = effective(parsed, written).instruction().arguments().strip();
                    ours = clean(dir.startsWith("/") ? dir : "/w" + c.id() + "/" + dir);
                    ours = (ours.equals("/") ? "" : ours) + "/m" + c.id();
                    theirs = whereIs(files, "m" + c.id());
                }
                case COPY_DEST, ADD_DEST -> {
                    String name = (c.kind() == Kind.COPY_DEST ? "d" : "a") + c.id();
                    List<String> words = effective(parsed, written).words();
                    String dest = words.get(words.size() - 1);
                    String target = clean(dest.startsWith("/") ? dest
                            : "/" + (c.kind() == Kind.COPY_DEST ? "e" : "a") + c.id() + "/" + dest);
                    BuildKitOracle.Entry at = files.get(target);
                    boolean into = dest.endsWith("/") || at != null && at.type().equals("dir");
                    ours = words.size() != 2 ? "<" + words.size() + " words: " + words + ">"
                            : into ? (target.equals("/") ? "" : target) + "/" + name : target;
                    theirs = whereIs(files, name);
                }
                case COPY_SOURCE -> {
                    List<String> words = effective(parsed, written).words();
                    ours = words.size() == 2 ? "/s" + c.id() + "/" + words.get(0) : "<" + words + ">";
                    List<String> in = files.keySet().stream().filter(f -> f.startsWith("/s" + c.id() + "/"))
                            .toList();
                    theirs = in.size() == 1 && ("src:" + in.get(0).substring(in.get(0).lastIndexOf('/') + 1))
                            .equals(files.get(in.get(0)).content()) ? in.get(0) : String.valueOf(in);
                }
                case LABEL_VALUE, LABEL_KEY -> {
                    Map<String, String> pairs = subject.env(written);
                    // The value the key case looks for: kK, or what the policy read after the key ("=kK" when the
                    // key word holds an '=' of its own: the pair is split at the first).
                    String value = "k" + c.id();
                    if (pairs.size() != 1) {
                        ours = "<" + pairs + ">";
                    } else {
                        Map.Entry<String, String> pair = pairs.entrySet().iterator().next();
                        ours = c.kind() == Kind.LABEL_VALUE ? pair.getValue() : pair.getKey();
                        value = pair.getValue();
                    }
                    if (ours.contains("$") || value.contains("$")) {
                        // The label rules leave a word with a variable to the builder.
                        counts.merge(c.kind() + " with a variable (not judged by the policy)", 1, Integer::sum);
                        continue;
                    }
                    JsonNode labels = config.path("Labels");
                    if (c.kind() == Kind.LABEL_VALUE) {
                        theirs = labels.has("l" + c.id()) ? labels.path("l" + c.id()).asString() : null;
                    } else {
                        List<String> keys = new ArrayList<>();
                        String wanted = value;
                        labels.properties().forEach(p -> {
                            if (p.getValue().asString().equals(wanted)) {
                                keys.add(p.getKey());
                            }
                        });
                        theirs = keys.size() == 1 ? keys.get(0) : String.valueOf(keys);
                    }
                }
                case HEREDOC -> {
                    // The policy reads no COPY heredoc body; what it says is whether BuildKit expands one.
                    Instruction.Heredoc h = written.heredocs().isEmpty() ? null : written.heredocs().get(0);
                    ours = h == null ? "<no heredoc>" : h.expand() ? Substitution.expandHeredoc(h.body(),
                            n -> n.equals("PATH") ? Expansion.DEFAULT_PATH : VARS.get(n)) : h.body();
                    BuildKitOracle.Entry f = files.get("/h" + c.id());
                    theirs = f == null ? null : f.content();
                }
                case USER -> {
                    ours = effective(parsed, written).instruction().arguments().strip();
                    theirs = config.path("User").asString();
                }
                default -> throw new AssertionError(c.kind());
            }
            if (ours.equals(theirs)) {
                counts.merge(c.kind() + " agreed", 1, Integer::sum);
            } else {
                counts.merge(c.kind() + " disagreed", 1, Integer::sum);
                disagreements.add("escape " + escape + ": " + String.join(" \\n ", c.lines()) + "\n   ours     "
                        + quote(ours) + "\n   BuildKit " + quote(theirs));
            }
        }
        compareExposed(escape, exposes, oursExposed, config, disagreements, counts, refusals);
    }

    /** The EXPOSE cases of a build BuildKit built: compared all at once, each alone again when they differ. */
    private static void compareExposed(char escape, List<Case> exposes, java.util.Set<String> ours, JsonNode config,
            List<String> disagreements, Map<String, Integer> counts, Map<String, Integer> refusals) throws Exception {
        if (exposes.isEmpty()) {
            return;
        }
        java.util.Set<String> theirs = new java.util.TreeSet<>(config.path("ExposedPorts").propertyNames());
        if (ours.equals(theirs)) {
            counts.merge("EXPOSE agreed", exposes.size(), Integer::sum);
        } else if (exposes.size() == 1) {
            counts.merge("EXPOSE disagreed", 1, Integer::sum);
            disagreements.add("escape " + escape + ": " + exposes.get(0).lines().get(0) + "\n   ours     " + ours
                    + "\n   BuildKit " + theirs);
        } else {
            for (Case c : exposes) {
                run(escape, List.of(c), disagreements, counts, refusals);
            }
        }
    }

    /** The path of the one file whose content is {@code content}, else what was found. */
    private static String whereIs(Map<String, BuildKitOracle.Entry> files, String content) {
        List<String> at = files.entrySet().stream().filter(e -> content.equals(e.getValue().content()))
                .map(Map.Entry::getKey).toList();
        return at.size() == 1 ? at.get(0) : String.valueOf(at);
    }

    /** Go's {@code path.Clean} of an absolute path. */
    private static String clean(String path) {
        java.util.Deque<String> out = new java.util.ArrayDeque<>();
        for (String part : path.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                out.pollLast();
            } else {
                out.addLast(part);
            }
        }
        return "/" + String.join("/", out);
    }

    private static String quote(String s) {
        return s == null ? "(unset)" : "[" + s + "]";
    }

    private static final String[] NAMES = {"V", "W", "U", "Y", "Z", "1", "12", "0", "@", "*", "#", "?", "-", "$", "!"};
    /** The names of the instruction cases: also PATH, which the builder sets in a stage from scratch. */
    private static final String[] NAMES_AND_PATH = java.util.stream.Stream.concat(java.util.Arrays.stream(NAMES),
            java.util.stream.Stream.of("PATH")).toArray(String[]::new);
    private static final String[] MODIFIERS = {":-", "-", ":+", "+", "#", "##", "%", "%%", ":#", ":%", "/", "//"};
    private static final String LITERALS = "ab/*?.-_:@[]^+=,";

    /** One word: a few pieces; a piece is a literal, a variable in either form, a quoted run or an escape. */
    private static String word(Random r, char escape, int depth) {
        return word(r, escape, depth, NAMES);
    }

    private static String word(Random r, char escape, int depth, String[] names) {
        StringBuilder w = new StringBuilder();
        int pieces = 1 + r.nextInt(depth == 0 ? 4 : 2);
        for (int p = 0; p < pieces; p++) {
            w.append(piece(r, escape, depth, false, names));
        }
        return w.toString();
    }

    private static String piece(Random r, char escape, int depth, boolean inDouble, String[] names) {
        switch (r.nextInt(depth > 1 ? 4 : 9)) {
            case 0, 1 -> {
                return String.valueOf(LITERALS.charAt(r.nextInt(LITERALS.length())));
            }
            case 2 -> {
                // The escape character before an ordinary or a special character.
                return escape + String.valueOf("an$\"'/*}{`\\".charAt(r.nextInt(11)));
            }
            case 3 -> {
                return "$" + pick(r, names) + (r.nextBoolean() ? "" : String.valueOf(LITERALS.charAt(r.nextInt(4))));
            }
            case 4 -> {
                return "${" + pick(r, names) + "}";
            }
            case 5, 6 -> {
                String modifier = pick(r, MODIFIERS);
                String argument = word(r, escape, depth + 1, names).replace("}", "");
                if (modifier.startsWith("/")) {
                    argument = argument.replace("/", "") + "/" + word(r, escape, depth + 1, names).replace("}", "");
                }
                return "${" + pick(r, names) + modifier + argument + "}";
            }
            case 7 -> {
                if (inDouble) {
                    return "a";
                }
                StringBuilder q = new StringBuilder("\"");
                int n = 1 + r.nextInt(3);
                for (int k = 0; k < n; k++) {
                    q.append(piece(r, escape, depth + 1, true, names).replace("\"", ""));
                }
                return q.append('"').toString();
            }
            default -> {
                return inDouble ? "'" : "'" + LITERALS.charAt(r.nextInt(LITERALS.length())) + "$V'";
            }
        }
    }

    private static String pick(Random r, String[] from) {
        return from[r.nextInt(from.length)];
    }
}
