package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A COPY {@code --from=$S} or a mount's {@code from=$S} whose variable resolves to a stage of the file: the
 * policy judges a stage, so the canonical Dockerfile must name that stage literally. BuildKit 0.13 (dockerd 26) does
 * not substitute variables there: it would read {@code $S} as an image ("failed to parse stage name"), or refuse a
 * mount's {@code from=$S} outright. Stage names are matched lower-cased; a number is a stage index for COPY/ADD only
 * (as Go's strconv.Atoi reads one: ASCII digits, an optional sign), never for a mount, where {@code from=0} is an
 * image named "0" (BuildKit's dockerfile2llb toCommand and detectRunMount). No registry here: the lookup is a map.
 */
class StageSourceTest {

    private static final PolicyEvaluator POLICY = Policies.evaluator("approvedImages: [reg.local/base/]\n");
    private static final String D = "sha256:" + "2".repeat(64);

    /** What the registry read gives: no triggers, no Env, one digest for every image. */
    private static final class Reads implements PolicyEvaluator.BaseEnvironment {
        List<String> triggers(String ref) {
            return List.of();
        }

        @Override
        public Set<String> apply(String ref) {
            return Set.of();
        }

        @Override
        public Map<String, String> values(String ref) {
            return Map.of("PATH", "/bin");
        }

        @Override
        public String digest(String ref) {
            return D;
        }

        @Override
        public boolean granted(String ref) {
            return true;
        }
    }

    /** A build's evaluation: with the registry read (pins) or without it (reads null). */
    private static Evaluation build(String dockerfile, Reads reads) {
        return POLICY.evaluate(new PolicyEvaluator.Request(dockerfile, Map.of(), null, "payments", "payments/app",
                null, reads == null ? null : reads::triggers, true, false).withBaseEmptyEnv(reads));
    }

    private static final String GLOBAL = """
            ARG S=build
            FROM reg.local/base/y AS build
            RUN echo hi > /x
            FROM reg.local/base/y
            ARG S
            COPY --from=$S /x /y
            COPY --from=${S} /x /z
            RUN --mount=type=bind,from=$S,target=/m cat /m/x
            USER 1000
            """;
    // (ADD --from is refused whatever it names: the build hosts' frontend has no such flag.)

    @Test
    void aGlobalArgNamingAStageIsWrittenAsThatStagesName() {
        for (Reads reads : new Reads[] {new Reads(), null}) {
            Evaluation e = build(GLOBAL, reads);
            assertThat(e.findings()).filteredOn(f -> f.severity() == Finding.Severity.error).isEmpty();
            assertThat(e.canonicalDockerfile()).contains("COPY --from=build /x /y\n", "COPY --from=build /x /z\n",
                    "RUN --mount=type=bind,from=build,target=/m cat /m/x\n").doesNotContain("$S", "${S}");
            assertThat(e.pulls()).as("a stage is no pull").allMatch(p -> p.startsWith("reg.local/base/y"));
        }
        // A global ARG reaches a stage's instructions only when the stage declares it again (Docker's ARG scope,
        // which the policy follows for every instruction): without that, $S is empty there, an empty image, refused.
        Evaluation undeclared = build(GLOBAL.replace("ARG S\n", ""), new Reads());
        assertThat(undeclared.passed()).isFalse();
        assertThat(undeclared.findings()).anyMatch(f -> f.rule().equals("unapproved-image") && f.line() == 5);
    }

    @Test
    void anInStageArgNamingAStageInAnotherCaseOrByIndexIsWrittenAsResolved() {
        Evaluation e = build("""
                FROM reg.local/base/y AS Build
                RUN echo hi > /x
                FROM reg.local/base/y
                ARG S=BUILD
                ARG I=0
                ARG P=+0
                COPY --from=$S /x /y
                COPY --from=$I /x /z
                COPY --from=$P /x /w
                RUN --mount=from=${S},target=/m cat /m/x
                USER 1000
                """, new Reads());

        assertThat(e.findings()).filteredOn(f -> f.severity() == Finding.Severity.error).isEmpty();
        assertThat(e.canonicalDockerfile()).contains("COPY --from=BUILD /x /y\n", "COPY --from=0 /x /z\n",
                "COPY --from=+0 /x /w\n", "RUN --mount=from=BUILD,target=/m cat /m/x\n");
        assertThat(e.pulls()).containsExactly("reg.local/base/y@" + D);
    }

    /** What is not a stage is judged as an image, as before: pinned when approved and read, refused when not. */
    @Test
    void aValueThatIsNoStageIsAnImage() {
        Evaluation mountZero = build("""
                FROM reg.local/base/y AS build
                FROM reg.local/base/y
                ARG S=0
                RUN --mount=from=$S,target=/m true
                USER 1000
                """, new Reads());
        assertThat(mountZero.pulls()).as("a mount's from=0 is the image \"0\"").contains("0");
        assertThat(mountZero.passed()).isFalse();

        Evaluation arabicDigit = build("""
                FROM reg.local/base/y AS build
                FROM reg.local/base/y
                ARG S=\u0660
                COPY --from=$S /x /y
                USER 1000
                """, new Reads());
        assertThat(arabicDigit.pulls()).as("only ASCII digits make an index").contains("\u0660");
        assertThat(arabicDigit.passed()).isFalse();

        Evaluation image = build("""
                FROM reg.local/base/y AS build
                FROM reg.local/base/y
                ARG S=reg.local/base/x:1
                COPY --from=$S /x /y
                USER 1000
                """, new Reads());
        assertThat(image.canonicalDockerfile()).contains("COPY --from=reg.local/base/x:1@" + D + " /x /y\n");
    }
}
