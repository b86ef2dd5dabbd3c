package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The lint's hand-written fast paths answer as what they replace: curl's {@code -k} among short options as the
 * expression, a command's {@code mentions} of '=' and '"' (kept after the first question) as a fresh walk, the
 * ASCII shortcut of the TLS variables' names as their upper-cased lookup, and an image prefix's path-boundary test as
 * the two strings it used to build.
 */
class LintFastPathsTest {

    private static final String ALPHABET = "-kKa=Z\"z0 _é";

    /**
     * The canonical writer's problems are named by a binary search over the instructions by line: it finds what a
     * scan finds, for every line of files with continuations, comments, blank lines and heredocs (a line inside an
     * instruction starts none).
     */
    /** One to {@code maxParts} of the parts, picked at random and joined: values built from a pattern's fragments. */
    private static String randomValue(Random r, List<String> parts, int maxParts) {
        StringBuilder b = new StringBuilder();
        for (int k = r.nextInt(maxParts); k >= 0; k--) {
            b.append(parts.get(r.nextInt(parts.size())));
        }
        return b.toString();
    }

    @Test
    void theInstructionAtALineIsTheScansAnswer() {
        Random r = new Random(7);
        String[] pieces = {"RUN a \\\n  b\n", "# c\n", "\n", "COPY x y\n", "RUN <<EOF\nx\nEOF\n", "ENV A=1\n",
                "USER 1\n", "LABEL a=b \\\n c=d\n"};
        for (int n = 0; n < 500; n++) {
            StringBuilder text = new StringBuilder("FROM reg.local/base/x\n");
            for (int k = r.nextInt(12); k > 0; k--) {
                text.append(pieces[r.nextInt(pieces.length)]);
            }
            io.buildgateway.dockerfile.Dockerfile parsed = io.buildgateway.dockerfile.DockerfileParser.parse(
                    text.toString());
            int lines = (int) text.chars().filter(c -> c == '\n').count();
            for (int line = 0; line <= lines + 1; line++) {
                String scan = null;
                for (io.buildgateway.dockerfile.Instruction in : parsed.instructions()) {
                    if (in.line() == line) {
                        scan = in.keyword();
                        break;
                    }
                }
                assertThat(PolicyEvaluator.instructionAt(parsed, line)).as("line %d of%n%s", line, text)
                        .isEqualTo(scan);
            }
        }
    }

    @Test
    void shortOptionWithKIsTheExpression() {
        Random r = new Random(12);
        for (int n = 0; n < 20_000; n++) {
            String w = word(r);
            assertThat(BuiltinRunRules.anyShortOptionWithK(List.of(w))).as("'%s'", w)
                    .isEqualTo(BuiltinRunRules.CURL_SHORT_K.matcher(w).matches());
        }
        assertThat(BuiltinRunRules.anyShortOptionWithK(List.of("--insecure", "-sSL", "-fsSLk"))).isTrue();
        assertThat(BuiltinRunRules.anyShortOptionWithK(List.of("-", "-k1", "k", "--k"))).isFalse();
    }

    @Test
    void mentionsAnswersAsAWalkOverTheWords() {
        Random r = new Random(13);
        for (int n = 0; n < 5_000; n++) {
            List<String> words = List.of(word(r), word(r), word(r));
            for (char asked : new char[] {'=', '"', 'k'}) {
                ShellCommands.Command c = new ShellCommands.Command(words, false);
                boolean walk = words.stream().anyMatch(w -> w.indexOf(asked) >= 0);
                assertThat(c.mentions(asked)).as("%s %s", words, asked).isEqualTo(walk);
                // asked again, and after the other character: the kept answers
                assertThat(c.mentions(asked)).isEqualTo(walk);
                assertThat(c.mentions(asked == '=' ? '"' : '=')).isEqualTo(words.stream()
                        .anyMatch(w -> w.indexOf(asked == '=' ? '"' : '=') >= 0));
            }
        }
    }

    @Test
    void lowerContainsIsTheLowerCasedTextsContains() {
        // Words from the needles' letters in either case, near-letters outside ASCII that lower-case to ASCII or
        // change length ('K' Kelvin to 'k', 'İ' to "i̇", 'ſ', final 'Σ'), spaces inside quoted words, and '='.
        List<String> needles = List.of("sslverify=false", "sslverify=0", "sslverify", "strict-ssl", "false",
                "gpgcheck=0", "gpgcheck=false", "trusted=yes", "allow-insecure=yes");
        String alphabet = "sSlLvVeErRiIfFyY=0aAtTcCkKgGpPhHuUdD-nNo \u212A\u0130\u017F\u03A3é";
        Random r = new Random(15);
        for (int n = 0; n < 20_000; n++) {
            List<String> words = new java.util.ArrayList<>();
            for (int w = 1 + r.nextInt(3); w > 0; w--) {
                StringBuilder b = new StringBuilder();
                if (r.nextInt(3) == 0) {
                    String needle = needles.get(r.nextInt(needles.size()));
                    for (int k = 0; k < needle.length(); k++) {
                        char ch = needle.charAt(k);
                        b.append(r.nextBoolean() ? Character.toUpperCase(ch) : ch);
                    }
                }
                for (int k = r.nextInt(8); k > 0; k--) {
                    b.insert(r.nextInt(b.length() + 1), alphabet.charAt(r.nextInt(alphabet.length())));
                }
                words.add(b.toString());
            }
            for (String needle : needles) {
                ShellCommands.Command c = new ShellCommands.Command(List.copyOf(words), false);
                boolean expected = String.join(" ", words).toLowerCase(java.util.Locale.ROOT).contains(needle);
                assertThat(c.lowerContains(needle)).as("%s %s", words, needle).isEqualTo(expected);
            }
            // The rules' groups of '=' needles in one walk: as the lower-cased text's contains of any of them,
            // before and after the lower-cased text is made.
            String lowered = String.join(" ", words).toLowerCase(java.util.Locale.ROOT);
            for (List<String> group : List.of(List.of("sslverify=false", "sslverify=0"), List.of("gpgcheck=0",
                    "gpgcheck=false", "trusted=yes", "allow-insecure=yes"))) {
                boolean expected = group.stream().anyMatch(lowered::contains);
                ShellCommands.Command c = new ShellCommands.Command(List.copyOf(words), false);
                String[] asked = group.toArray(String[]::new);
                assertThat(c.lowerContainsAnyAssignment(asked)).as("%s %s", words, group).isEqualTo(expected);
                c.lowerText();
                assertThat(c.lowerContainsAnyAssignment(asked)).as("%s %s", words, group).isEqualTo(expected);
            }
        }
        assertThat(new ShellCommands.Command(List.of("git", "config", "http.sslVerify=FALSE"), false)
                .lowerContains("sslverify=false")).isTrue();
        assertThat(new ShellCommands.Command(List.of("gpgchec\u212A=0"), false).lowerContains("gpgcheck=0")).isTrue();
        assertThat(new ShellCommands.Command(List.of("sslver\u0130fy=0"), false).lowerContains("sslverify=0")).isFalse();
    }

    /**
     * The label formats and the secret check moved to RE2 (linear time) from java.util.regex, which was quadratic on
     * a 1 MB value (a review's finding, 2026-12-06): the same answers on random values built from the patterns'
     * fragments, whitespace of every kind \\s knows included.
     */
    @Test
    void re2AnswersAsJavaUtilRegexDidForLabelsAndSecrets() {
        java.util.regex.Pattern url = java.util.regex.Pattern.compile("(?i)[a-z][a-z0-9+.-]*://[^\\s/?#]+[^\\s]*");
        java.util.regex.Pattern email = java.util.regex.Pattern.compile("[^@\\s<>]+@[^@\\s<>]+\\.[^@\\s<>]+");
        java.util.regex.Pattern secret = java.util.regex.Pattern.compile(
                "(AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY|gh[pousr]_[A-Za-z0-9]{30,}|xox[baprs]-[A-Za-z0-9-]{10,}"
                        + "|glpat-[A-Za-z0-9_-]{20}|eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,}\\.)");
        List<String> parts = List.of("https", "://", "a", "b.c", "/", "?", "#", "@", "x@y", ".", "<", ">", " ", "\t",
                "\u000B", "\f", "\r", "\n", "\u00A0", "git+ssh", "eyJ", "abcdefghij0123", "AKIA", "ABCDEFGHIJKLMNOP",
                "ghp_", "xoxb-", "glpat-", "-", "_", "é");
        Random r = new Random(26);
        int urls = 0;
        int emails = 0;
        for (int n = 0; n < 50_000; n++) {
            String v = randomValue(r, parts, 10);
            boolean isUrl = url.matcher(v).matches();
            boolean isEmail = email.matcher(v).find();
            urls += isUrl ? 1 : 0;
            emails += isEmail ? 1 : 0;
            assertThat(BuiltinLintRules.labelFormatProblem("org.opencontainers.image.url", v) == null).as("url '%s'", v)
                    .isEqualTo(isUrl);
            assertThat(BuiltinLintRules.labelFormatProblem("maintainer", v) == null).as("e-mail '%s'", v)
                    .isEqualTo(isEmail);
            assertThat(BuiltinRules.matchesSecretValue(v)).as("secret '%s'", v).isEqualTo(secret.matcher(v).find());
        }
        assertThat(urls).isGreaterThan(100);
        assertThat(emails).isGreaterThan(100);
    }

    /**
     * A hang guard, not a performance figure (the limit is a hundred times what RE2 needs on the slowest machine
     * seen): the values that made java.util.regex quadratic, a megabyte each, answer within it.
     */
    @Test
    void megabyteLabelValuesAreAnsweredAtOnce() {
        String noAt = "a".repeat(1 << 20);
        String tokens = "eyJ".repeat(350_000);
        String spaced = "a://" + "b".repeat(1 << 20) + " ";
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20), () -> {
            assertThat(BuiltinLintRules.labelFormatProblem("maintainer", noAt)).isNotNull();
            assertThat(BuiltinLintRules.labelFormatProblem("org.opencontainers.image.url", spaced)).isNotNull();
            assertThat(BuiltinRules.looksSecretValue(tokens)).isFalse();
        });
    }

    @Test
    void secretValueFilterKeepsEveryMatchOfTheExpression() {
        // Fragments of every pattern, near misses ("gh" and "xox" with other letters or separators), token bodies.
        List<String> parts = List.of("AKIA", "ABCDEFGHIJKLMNOP", "-----BEGIN ", "RSA ", "PRIVATE KEY", "gh", "ghp_",
                "ghs_", "ghx_", "ghp-", "xox", "xoxb-", "xoxz-", "xoxa_", "glpat-", "eyJ", "abcdefghij0123456789",
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", ".", "_", "-", " ", "github.com", "high", "p", "s", "b");
        Random r = new Random(16);
        int matched = 0;
        for (int n = 0; n < 50_000; n++) {
            StringBuilder b = new StringBuilder();
            for (int k = r.nextInt(8); k >= 0; k--) {
                b.append(parts.get(r.nextInt(parts.size())));
            }
            String v = b.toString();
            boolean expression = BuiltinRules.matchesSecretValue(v);
            matched += expression ? 1 : 0;
            assertThat(BuiltinRules.looksSecretValue(v)).as("'%s'", v).isEqualTo(expression);
        }
        assertThat(matched).isGreaterThan(500);
    }

    @Test
    void mountFromsShortcutAnswersAsReadingTheMount() {
        // Mount values of keys, values, commas, quotes, case changes of "from", a non-ASCII letter and spaces.
        List<String> parts = List.of("type=", "cache", "bind", "secret", "target=", "/x", "from=", "FROM=", "fRoM",
                "fro", "m", "src=", "id=", "img", ",", ",", "\"", "=", "é", " ", "ro", "f", "rom=");
        Random r = new Random(19);
        int withImage = 0;
        int shortcut = 0;
        for (int n = 0; n < 30_000; n++) {
            String v = randomValue(r, parts, 10);
            List<String> expected = BuiltinRules.mountFromsParsed(v);
            withImage += expected.isEmpty() ? 0 : 1;
            shortcut += BuiltinRules.asciiWithoutQuoteOrFrom(v) ? 1 : 0;
            assertThat(BuiltinRules.mountFroms(v)).as("'%s'", v).isEqualTo(expected);
        }
        assertThat(withImage).isGreaterThan(1_000);
        assertThat(shortcut).isGreaterThan(1_000);
        // A refused mount's quotes are dropped before its fields are read: they can join a "from".
        for (String v : List.of("fr\"om=img", "type=bind,FROM=img,target=/x", "type=cache,target=/root/.m2",
                "type=secret,id=npmrc", "from=img,from=other", "type=bind,\"from=img\",target=/x")) {
            assertThat(BuiltinRules.mountFroms(v)).as("'%s'", v).isEqualTo(BuiltinRules.mountFromsParsed(v));
        }
        assertThat(BuiltinRules.mountFroms("fr\"om=img")).containsExactly("img");
    }

    @Test
    void splitKnowsWhatMentionsWouldFindByWalking() {
        // Scripts of quotes, escapes, '=', redirections (whose targets are no words), separators and comments.
        String alphabet = "a=\"'\\ >2<&|;\n#(){}x=1 ";
        Random r = new Random(17);
        for (int n = 0; n < 20_000; n++) {
            StringBuilder script = new StringBuilder();
            for (int k = r.nextInt(24); k > 0; k--) {
                script.append(alphabet.charAt(r.nextInt(alphabet.length())));
            }
            for (ShellCommands.Command c : ShellCommands.split(script.toString())) {
                for (char asked : new char[] {'=', '"'}) {
                    boolean walk = c.words().stream().anyMatch(w -> w.indexOf(asked) >= 0);
                    assertThat(c.mentions(asked)).as("%s in %s of '%s'", asked, c.words(), script).isEqualTo(walk);
                }
            }
        }
    }

    @Test
    void asciiShortcutOfTheTlsVariablesIsTheirLookup() {
        // Names near the variables' own (case changes, one letter off, non-ASCII letters that upper-case to theirs:
        // 'ı' to 'I', 'ß' to "SS", 'ſ' to 'S'), and random ones.
        List<String> seeds = List.of("GIT_SSL_NO_VERIFY", "git_ssl_no_verify", "Git_Ssl_No_Verify", "GIT_ßL_NO_VERIFY",
                "GIT_SSL_NO_VERıFY", "GIT_ſSL_NO_VERIFY", "PIP_TRUSTED_HOST", "pip_trusted_hosts", "PYTHONHTTPSVERIFY",
                "NODE_TLS_REJECT_UNAUTHORIZED", "NPM_CONFIG_STRICT_SSL", "npm_config_strict_ssl", "NPM_CONFIG_STRICT_SS",
                "CGO_ENABLED", "", "=");
        Random r = new Random(14);
        List<String> names = new java.util.ArrayList<>(seeds);
        for (int n = 0; n < 20_000; n++) {
            StringBuilder w = new StringBuilder(seeds.get(r.nextInt(seeds.size())));
            for (int k = r.nextInt(3); k > 0 && w.length() > 0; k--) {
                w.setCharAt(r.nextInt(w.length()), "aAsSıſß_é=".charAt(r.nextInt(10)));
            }
            names.add(w.toString());
        }
        int shortcut = 0;
        for (String name : names) {
            boolean lookupMisses = !Set.of("NODE_TLS_REJECT_UNAUTHORIZED", "PYTHONHTTPSVERIFY", "GIT_SSL_NO_VERIFY",
                    "PIP_TRUSTED_HOST", "NPM_CONFIG_STRICT_SSL").contains(name.toUpperCase(java.util.Locale.ROOT));
            if (BuiltinRunRules.asciiNameOfNoInsecureVariable(name, name.length())) {
                shortcut++;
                assertThat(lookupMisses).as("'%s'", name).isTrue();
            }
        }
        assertThat(shortcut).isGreaterThan(1000);
        assertThat(BuiltinRunRules.asciiNameOfNoInsecureVariable("git_ssl_no_verify", 17)).isFalse();
        assertThat(BuiltinRunRules.asciiNameOfNoInsecureVariable("GIT_SSL_NO_VERıFY", 17)).isFalse(); // left to the lookup
        assertThat(BuiltinRunRules.asciiNameOfNoInsecureVariable("CGO_ENABLED=0", 11)).isTrue();
    }

    @Test
    void imagePrefixOnPathBoundariesAsBefore() {
        List<String> prefixes = List.of("127.0.0.1:5000/base/", "127.0.0.1:5000/base/busybox", "base", "base/", "b/",
                "/", "");
        List<String> repositories = List.of("127.0.0.1:5000/base/busybox", "127.0.0.1:5000/base/busybox-evil",
                "127.0.0.1:5000/base/busybox/x", "127.0.0.1:5000/base", "127.0.0.1:5000/basex", "base", "base/x",
                "basex", "b", "b/", "", "/", "//x");
        for (String prefix : prefixes) {
            PolicyDocument.ImageRule rule = new PolicyDocument.ImageRule(prefix, null, false);
            for (String repository : repositories) {
                String bare = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
                boolean before = repository.equals(bare) || repository.startsWith(bare + "/");
                assertThat(rule.matches(repository, null)).as("%s under %s", repository, prefix).isEqualTo(before);
            }
        }
    }

    @Test
    void ordinaryCharactersByTableAreTheTest() {
        for (int k = 0; k <= Character.MAX_VALUE; k++) {
            char c = (char) k;
            assertThat(ShellCommands.ordinary(c)).as("char %d", (int) c).isEqualTo(ShellCommands.ordinaryByTest(c));
        }
    }

    @Test
    void aLiteralWordExpandsToItselfWithoutALookup() {
        // Words of variables, quotes and both escapes among plain characters: a word the shortcut passes is what the
        // full expansion (with a scope that knows every name, and one that knows none) returns.
        String alphabet = "a$\\`'\"{}:-=/. _é";
        Random r = new Random(14);
        for (int n = 0; n < 20_000; n++) {
            StringBuilder w = new StringBuilder();
            for (int k = r.nextInt(9); k > 0; k--) {
                w.append(alphabet.charAt(r.nextInt(alphabet.length())));
            }
            String word = w.toString();
            for (char escape : new char[] {'\\', '`'}) {
                for (boolean known : new boolean[] {false, true}) {
                    String full = io.buildgateway.dockerfile.Substitution.expand(word, name -> known ? "v" : null,
                            escape);
                    if (io.buildgateway.dockerfile.Substitution.isLiteral(word, escape)) {
                        assertThat(full).as(word).isSameAs(word);
                        assertThat(Expansion.expandWord(word, java.util.Map.of(), known, escape)).isSameAs(word);
                    }
                }
            }
        }
    }

    @Test
    void anInstructionWithNothingToSubstituteRunsAsWritten() {
        io.buildgateway.dockerfile.Dockerfile d = io.buildgateway.dockerfile.DockerfileParser.parse(
                "FROM scratch\nARG V=1\nRUN --mount=type=cache,target=/c true\nRUN --mount=type=cache,target=/$V true\n"
                        + "WORKDIR /app\nWORKDIR /app/$V\nCOPY a b\n");
        io.buildgateway.dockerfile.BuildStages.Plan plan = io.buildgateway.dockerfile.BuildStages.plan(d, java.util.Map.of(), null);
        List<Expansion.Effective> effective = Expansion.of(d, plan, null, b -> false).instructions();
        assertThat(effective).extracting(e -> e.instruction().keyword())
                .containsExactly("ARG", "RUN", "RUN", "WORKDIR", "WORKDIR", "COPY");
        assertThat(effective.get(1).instruction()).isSameAs(effective.get(1).written());
        assertThat(effective.get(2).instruction()).isNotSameAs(effective.get(2).written());
        assertThat(effective.get(2).instruction().flag("mount")).contains("type=cache,target=/1");
        assertThat(effective.get(3).instruction()).isSameAs(effective.get(3).written());
        assertThat(effective.get(4).instruction().arguments()).isEqualTo("/app/1");
        // COPY keeps an instruction of its own, with its expanded words.
        assertThat(effective.get(5).instruction()).isNotSameAs(effective.get(5).written());
        assertThat(effective.get(5).words()).containsExactly("a", "b");
    }

    @Test
    void programMasksAnswerAsLookups() {
        // Every rule's program set has bits (the rules' classes are initialised by then), and a RUN's and a file's
        // answer by masks is the lookup's, for the rules' sets, sets made later and plain sets.
        BuiltinRules.all();
        List<String> programs = List.of("apt-get", "apt", "apk", "yum", "dnf", "pip", "pip3", "curl", "wget", "sudo",
                "sh", "bash", "chmod", "cd", "ln", "useradd", "gem", "npm", "go", "make", "python3", "echo", "rm");
        Random r = new Random(15);
        for (int n = 0; n < 2_000; n++) {
            StringBuilder script = new StringBuilder();
            for (int c = r.nextInt(6); c > 0; c--) {
                script.append(programs.get(r.nextInt(programs.size()))).append(" x && ");
            }
            script.append("true");
            List<ShellCommands.Command> commands = ShellCommands.split(script.toString());
            io.buildgateway.dockerfile.Instruction run = io.buildgateway.dockerfile.DockerfileParser
                    .parse("FROM scratch\nRUN " + script).instructions().get(1);
            Subject.Run masked = new Subject.Run(run, commands);
            java.util.Set<String> names = new java.util.HashSet<>();
            for (int k = r.nextInt(4); k > 0; k--) {
                names.add(r.nextBoolean() ? programs.get(r.nextInt(programs.size())) : "p" + r.nextInt(40));
            }
            boolean expected = commands.stream().anyMatch(c -> names.contains(c.program()));
            Set<String> asProgramsBefore = Subject.Programs.of(names); // may number names the RUN's mask lacks
            assertThat(masked.runsAnyOf(names)).as("%s in %s", names, script).isEqualTo(expected);
            assertThat(masked.runsAnyOf(asProgramsBefore)).as("%s in %s", names, script).isEqualTo(expected);
            assertThat(new Subject.Run(run, commands).runsAnyOf(asProgramsBefore)).isEqualTo(expected);
        }
        for (String name : List.of("apt-get", "sudo", "chmod", "useradd", "zypper", "busybox")) {
            Set<String> set = Subject.Programs.of(name);
            assertThat(set).containsExactly(name);
            Subject.Run run = new Subject.Run(io.buildgateway.dockerfile.DockerfileParser
                    .parse("FROM scratch\nRUN " + name + " x").instructions().get(1),
                    ShellCommands.split(name + " x"));
            assertThat(run.runsAnyOf(set)).isTrue();
        }
    }

    @Test
    void hasArgAnswersAsTheWalkOverEveryOption() {
        // Options and words from option-like pieces: '-', '--', '=', letters, empty ones, and words that only share
        // a first character with an option.
        String[] pieces = {"-", "--", "=", "k", "y", "yes", "q", "2", "x", ""};
        Random r = new Random(21);
        for (int n = 0; n < 20_000; n++) {
            String[] options = new String[1 + r.nextInt(3)];
            for (int k = 0; k < options.length; k++) {
                options[k] = piecesOf(r, pieces);
            }
            List<String> words = List.of(piecesOf(r, pieces), piecesOf(r, pieces), piecesOf(r, pieces));
            ShellCommands.Command c = new ShellCommands.Command(words, false);
            assertThat(BuiltinRules.hasArg(c, options)).as("%s %s", words, List.of(options))
                    .isEqualTo(hasArgByWalk(words, options));
        }
        ShellCommands.Command apt = new ShellCommands.Command(List.of("apt-get", "install", "--yes=1", "curl"), false);
        assertThat(BuiltinRules.hasArg(apt, "-y", "--yes")).isTrue();
        assertThat(BuiltinRules.hasArg(apt, "-y", "--assume-yes")).isFalse();
    }

    /** hasArg as it was written before its first-character test, kept verbatim. */
    private static boolean hasArgByWalk(List<String> words, String... options) {
        for (String w : words) {
            for (String o : options) {
                if (w.equals(o) || (w.length() > o.length() && w.charAt(o.length()) == '=' && o.startsWith("--")
                        && w.startsWith(o))) {
                    return true;
                }
            }
        }
        return false;
    }

    private static String piecesOf(Random r, String[] pieces) {
        StringBuilder w = new StringBuilder();
        for (int k = r.nextInt(4); k > 0; k--) {
            w.append(pieces[r.nextInt(pieces.length)]);
        }
        return w.toString();
    }

    private static String word(Random r) {
        StringBuilder w = new StringBuilder();
        for (int k = r.nextInt(6); k > 0; k--) {
            w.append(ALPHABET.charAt(r.nextInt(ALPHABET.length())));
        }
        return w.toString();
    }
}
