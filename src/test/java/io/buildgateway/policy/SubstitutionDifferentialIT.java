package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

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
 * our reading of the same line. ENV values are what the comparison sees; the other instructions use the same
 * expansion on both sides.
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

    private static String quote(String s) {
        return s == null ? "(unset)" : "[" + s + "]";
    }

    private static final String[] NAMES = {"V", "W", "U", "Y", "Z", "1", "12", "0", "@", "*", "#", "?", "-", "$", "!"};
    private static final String[] MODIFIERS = {":-", "-", ":+", "+", "#", "##", "%", "%%", ":#", ":%", "/", "//"};
    private static final String LITERALS = "ab/*?.-_:@[]^+=,";

    /** One word: a few pieces; a piece is a literal, a variable in either form, a quoted run or an escape. */
    private static String word(Random r, char escape, int depth) {
        StringBuilder w = new StringBuilder();
        int pieces = 1 + r.nextInt(depth == 0 ? 4 : 2);
        for (int p = 0; p < pieces; p++) {
            w.append(piece(r, escape, depth, false));
        }
        return w.toString();
    }

    private static String piece(Random r, char escape, int depth, boolean inDouble) {
        switch (r.nextInt(depth > 1 ? 4 : 9)) {
            case 0, 1 -> {
                return String.valueOf(LITERALS.charAt(r.nextInt(LITERALS.length())));
            }
            case 2 -> {
                // The escape character before an ordinary or a special character.
                return escape + String.valueOf("an$\"'/*}{`\\".charAt(r.nextInt(11)));
            }
            case 3 -> {
                return "$" + pick(r, NAMES) + (r.nextBoolean() ? "" : String.valueOf(LITERALS.charAt(r.nextInt(4))));
            }
            case 4 -> {
                return "${" + pick(r, NAMES) + "}";
            }
            case 5, 6 -> {
                String modifier = pick(r, MODIFIERS);
                String argument = word(r, escape, depth + 1).replace("}", "");
                if (modifier.startsWith("/")) {
                    argument = argument.replace("/", "") + "/" + word(r, escape, depth + 1).replace("}", "");
                }
                return "${" + pick(r, NAMES) + modifier + argument + "}";
            }
            case 7 -> {
                if (inDouble) {
                    return "a";
                }
                StringBuilder q = new StringBuilder("\"");
                int n = 1 + r.nextInt(3);
                for (int k = 0; k < n; k++) {
                    q.append(piece(r, escape, depth + 1, true).replace("\"", ""));
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
