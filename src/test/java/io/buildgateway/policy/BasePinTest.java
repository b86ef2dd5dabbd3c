package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A build is pinned to the bases it judged: each FROM whose base's config was read (triggers, Env) is written in the
 * canonical Dockerfile, and listed in the pulls, as {@code name:tag@digest} of the manifest read, so that a tag moved
 * between submission and dispatch cannot bring triggers nobody judged. A lint reads no registry: nothing changes.
 * No registry here: the lookup is a map.
 */
class BasePinTest {

    private static final PolicyEvaluator POLICY = Policies.evaluator("approvedImages: [reg.local/base/]\n");
    private static final String D1 = "sha256:" + "1".repeat(64);
    private static final String D2 = "sha256:" + "2".repeat(64);
    private static final String D3 = "sha256:" + "3".repeat(64);
    private static final Map<String, String> DIGESTS = Map.of("reg.local/base/x:1", D1, "reg.local/base/y", D2,
            "reg.local/base/y:2", D3);

    /** What the registry read gives: no triggers, no Env, the digest of the manifest read. */
    private static final class Reads implements PolicyEvaluator.BaseEnvironment {
        final java.util.List<String> asked = new java.util.ArrayList<>();
        final java.util.List<String> digestsAsked = new java.util.ArrayList<>();

        List<String> triggers(String ref) {
            asked.add(ref);
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
            digestsAsked.add(ref);
            if (ref.contains("/gone")) {
                throw new java.io.UncheckedIOException(new java.io.IOException("manifest unknown"));
            }
            if (ref.contains("/down")) {
                throw new io.buildgateway.shared.RegistryUnavailable("image '" + ref + "'", "connection refused");
            }
            return DIGESTS.get(ref);
        }

        @Override
        public boolean granted(String ref) {
            return true; // the build's daemon would pull every base here
        }
    }

    private static PolicyEvaluator.Request request(String dockerfile, Map<String, String> args, Reads reads) {
        return new PolicyEvaluator.Request(dockerfile, args, null, "payments", "payments/app", null,
                reads == null ? null : reads::triggers, true, false).withBaseEmptyEnv(reads);
    }

    private static final String FILE = """
            ARG BASE=reg.local/base/x:1
            FROM --platform=$BUILDPLATFORM ${BASE} AS build
            RUN true
            FROM reg.local/base/y
            COPY --from=build /etc/hostname /h
            COPY --from=reg.local/base/x:1 /etc/hostname /h2
            USER 1000
            """;

    @Test
    void theCanonicalDockerfileAndThePullsNameEachJudgedBaseByTheDigestRead() {
        Reads reads = new Reads();
        Evaluation e = POLICY.evaluate(request(FILE, Map.of(), reads));

        assertThat(e.findings()).filteredOn(f -> f.severity() == Finding.Severity.error).isEmpty();
        assertThat(e.passed()).isTrue();
        assertThat(e.canonicalDockerfile()).contains(
                "FROM --platform=$BUILDPLATFORM reg.local/base/x:1@" + D1 + " AS build\n",
                "FROM reg.local/base/y@" + D2 + "\n", "COPY --from=build /etc/hostname /h\n",
                "COPY --from=reg.local/base/x:1@" + D1 + " /etc/hostname /h2\n");
        // FROM bases pinned; so is an image a COPY --from names (also a FROM here: one pin, one pull)
        assertThat(e.pulls()).containsExactly("reg.local/base/x:1@" + D1, "reg.local/base/y@" + D2);
        // the base image recorded for the inventory (tag moves, rebuilds) stays the name judged
        assertThat(e.baseImage()).isEqualTo("reg.local/base/y");
        assertThat(e.baseDigest()).as("the digest judged, recorded beside it").isEqualTo(D2);
    }

    /**
     * An image (not a stage) that a COPY --from or a mount's from= names, approved and read, is written and pulled
     * by the digest read, as a FROM base is: the flag (or the mount's field) as the literal after substitution, the
     * other flags and fields as written; a stage, by name or index, is not touched.
     */
    @Test
    void anImageACopyOrAMountReadsFromIsPinnedToTheDigestRead() {
        Reads reads = new Reads();
        Evaluation e = POLICY.evaluate(request("""
                FROM reg.local/base/y AS tools
                FROM reg.local/base/y
                ARG SRC=reg.local/base/x:1
                COPY --from=${SRC} --chown=1000:1000 --link /a /a
                COPY --from=reg.local/base/x:1 /b /b
                COPY --from=tools /c /c
                COPY --from=0 /d /d
                RUN --mount=type=bind,from=$SRC,target=/m --mount=type=bind,from=tools,target=/t cp /m/a /t/b /
                USER 1000
                """, Map.of(), reads));

        assertThat(e.findings()).filteredOn(f -> f.severity() == Finding.Severity.error).isEmpty();
        assertThat(e.canonicalDockerfile()).contains(
                "COPY --from=reg.local/base/x:1@" + D1 + " --chown=1000:1000 --link /a /a\n",
                "COPY --from=reg.local/base/x:1@" + D1 + " /b /b\n",
                "COPY --from=tools /c /c\n", "COPY --from=0 /d /d\n",
                "RUN --mount=type=bind,from=reg.local/base/x:1@" + D1 + ",target=/m --mount=type=bind,from=tools,"
                        + "target=/t cp /m/a /t/b /\n");
        assertThat(e.pulls()).containsExactly("reg.local/base/y@" + D2, "reg.local/base/x:1@" + D1);
        assertThat(reads.digestsAsked).as("images only, never a stage").containsOnly("reg.local/base/y",
                "reg.local/base/x:1");
        assertThat(reads.digestsAsked).as("a source named three times is asked about once")
                .filteredOn("reg.local/base/x:1"::equals).hasSize(1);
        // a lint reads nothing and pins nothing
        Evaluation linted = POLICY.lint(request("FROM reg.local/base/y\nCOPY --from=reg.local/base/x:1 /b /b\n"
                + "USER 1000\n", Map.of(), null));
        assertThat(linted.pulls()).containsExactly("reg.local/base/y", "reg.local/base/x:1");
    }

    /**
     * A source named by digest already stays as written (pulled so, and checked against the build's trace as a
     * base is); an unapproved one is never read (refused anyway); one the registry does not have is refused as a
     * base whose config cannot be read is; one the registry cannot be asked about now refuses the request (503).
     */
    @Test
    void aSourceByDigestStaysUnapprovedIsNotReadUnreadableIsRefused() {
        String byDigest = "reg.local/base/x:1@" + D2;
        Evaluation pinned = POLICY.evaluate(request("FROM reg.local/base/y\nCOPY --from=" + byDigest
                + " /b /b\nRUN --mount=from=" + byDigest + ",target=/m true\nUSER 1000\n", Map.of(), new Reads()));
        assertThat(pinned.canonicalDockerfile()).contains("COPY --from=" + byDigest + " /b /b\n",
                "RUN --mount=from=" + byDigest + ",target=/m true\n");
        assertThat(pinned.pulls()).containsExactly("reg.local/base/y@" + D2, byDigest);

        Reads reads = new Reads();
        Evaluation unapproved = POLICY.evaluate(request("FROM reg.local/base/y\nCOPY --from=evil.example/x:1 /b /b"
                + "\nUSER 1000\n", Map.of(), reads));
        assertThat(reads.digestsAsked).containsExactly("reg.local/base/y");
        assertThat(unapproved.pulls()).containsExactly("reg.local/base/y@" + D2, "evil.example/x:1");
        assertThat(unapproved.passed()).isFalse();

        Evaluation gone = POLICY.evaluate(request("FROM reg.local/base/y\nRUN --mount=from=reg.local/base/gone:1,"
                + "target=/m true\nUSER 1000\n", Map.of(), new Reads()));
        assertThat(gone.passed()).isFalse();
        assertThat(gone.findings()).filteredOn(f -> f.rule().equals("base-image-triggers")).singleElement()
                .satisfies(f -> {
                    assertThat(f.line()).isEqualTo(2);
                    assertThat(f.instruction()).isEqualTo("RUN");
                    assertThat(f.severity()).isEqualTo(Finding.Severity.error);
                    assertThat(f.message()).contains("reg.local/base/gone:1", "could not be read", "manifest unknown");
                });
        assertThat(gone.pulls()).contains("reg.local/base/gone:1");

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> POLICY.evaluate(request("FROM reg.local/base/y\n"
                + "COPY --from=reg.local/base/down:1 /b /b\nUSER 1000\n", Map.of(), new Reads())))
                .isInstanceOf(io.buildgateway.shared.RegistryUnavailable.class);
    }

    /**
     * A mount's fields are read before its variables are substituted, as BuildKit 0.13 does (checked on dockerd 26:
     * this very file mounts x:1, at the target {@code /a,from=…/y:2}, and never pulls y:2): a variable's value stays
     * in its field, commas and all. The image written is the one pinned, and the only one read; before, the whole
     * value was substituted first, the mount read as from= twice, and the line was written with y:2's pin.
     */
    @Test
    void aVariableInAMountFieldIsThatFieldsValueNeverASecondFrom() {
        Reads reads = new Reads();
        Evaluation e = POLICY.evaluate(request("""
                FROM reg.local/base/y
                ARG T=/a,from=reg.local/base/y:2
                RUN --mount=type=bind,from=reg.local/base/x:1,target=$T true
                USER 1000
                """, Map.of(), reads));

        assertThat(e.findings()).filteredOn(f -> f.severity() == Finding.Severity.error).isEmpty();
        assertThat(e.canonicalDockerfile()).contains(
                "RUN --mount=type=bind,from=reg.local/base/x:1@" + D1 + ",target=$T true\n")
                .doesNotContain("y:2@", D3);
        assertThat(e.pulls()).containsExactly("reg.local/base/y@" + D2, "reg.local/base/x:1@" + D1);
        assertThat(reads.digestsAsked).as("y:2 is part of the target: no image").doesNotContain("reg.local/base/y:2");
    }

    /**
     * An image that an ONBUILD trigger of the file copies or mounts from, when a later stage of the file inherits the
     * trigger, cannot be pinned (the daemon reads the trigger from the stage it is in): the build is refused
     * ({@code dockerfile-canonical}, at each ONBUILD line, in a build and a lint alike) rather than built with that
     * image by tag, as it was before. One named by digest, or a trigger no stage of the file inherits (it runs in a
     * later build, whose own FROM is then read), is not refused.
     */
    @Test
    void anImageNamedInAnInheritedOnbuildTriggerIsRefusedNotReadByTag() {
        String file = """
                FROM reg.local/base/y AS parent
                ONBUILD COPY --from=reg.local/base/x:1 /pin.txt /p
                ONBUILD RUN --mount=type=bind,from=reg.local/base/x:1,target=/m cp /m/pin.txt /q
                FROM parent
                USER 1000
                """;
        for (Evaluation e : List.of(POLICY.evaluate(request(file, Map.of(), new Reads())),
                POLICY.lint(request(file, Map.of(), new Reads())), POLICY.lint(request(file, Map.of(), null)))) {
            assertThat(e.passed()).isFalse();
            assertThat(e.findings()).filteredOn(f -> f.rule().equals("dockerfile-canonical")).hasSize(2)
                    .allSatisfy(f -> {
                        assertThat(f.severity()).isEqualTo(Finding.Severity.error);
                        assertThat(f.instruction()).isEqualTo("ONBUILD");
                        assertThat(f.message()).contains("'reg.local/base/x:1'", "ONBUILD trigger cannot be pinned",
                                "in the stage that needs it");
                    }).extracting(Finding::line).containsExactly(2, 3);
        }

        String byDigest = file.replace("reg.local/base/x:1", "reg.local/base/x:1@" + D1);
        Evaluation pinned = POLICY.evaluate(request(byDigest, Map.of(), new Reads()));
        assertThat(pinned.findings()).filteredOn(f -> f.rule().equals("dockerfile-canonical")).isEmpty();
        Evaluation notInherited = POLICY.evaluate(request(file.replace("FROM parent\n", ""), Map.of(), new Reads()));
        assertThat(notInherited.findings()).filteredOn(f -> f.rule().equals("dockerfile-canonical")).isEmpty();
    }

    @Test
    void aBaseNamedThroughABuildArgIsPinnedToTheLiteralJudged() {
        Evaluation e = POLICY.evaluate(request(FILE, Map.of("BASE", "reg.local/base/y"), new Reads()));
        assertThat(e.canonicalDockerfile()).contains(
                "FROM --platform=$BUILDPLATFORM reg.local/base/y@" + D2 + " AS build\n");
        assertThat(e.pulls()).startsWith("reg.local/base/y@" + D2);
    }

    @Test
    void aLintReadsNoBaseAndPinsNothing() {
        Evaluation built = POLICY.evaluate(request(FILE, Map.of(), null));
        assertThat(built.canonicalDockerfile()).contains("FROM --platform=$BUILDPLATFORM ${BASE} AS build\n");
        assertThat(built.pulls()).containsExactly("reg.local/base/x:1", "reg.local/base/y");
        Evaluation linted = POLICY.lint(request(FILE, Map.of(), null));
        assertThat(linted.pulls()).containsExactly("reg.local/base/x:1", "reg.local/base/y");
        assertThat(linted.findings()).isEqualTo(built.findings());
        assertThat(built.baseDigest()).isNull();
    }

    @Test
    void aBaseNotReadOrNamedByDigestAlreadyIsNotPinned() {
        // unapproved: never read, refused anyway
        Reads reads = new Reads();
        Evaluation other = POLICY.evaluate(request("FROM evil.example/x:1\nUSER 1000\n", Map.of(), reads));
        assertThat(reads.asked).isEmpty();
        assertThat(other.pulls()).containsExactly("evil.example/x:1");
        // by digest already: kept as written
        String byDigest = "reg.local/base/x:1@" + D1;
        Evaluation pinned = POLICY.evaluate(request("FROM " + byDigest + "\nUSER 1000\n", Map.of(),
                new Reads()));
        assertThat(pinned.canonicalDockerfile()).contains("FROM " + byDigest + "\n");
        assertThat(pinned.pulls()).containsExactly(byDigest);
        // a base whose read gave no digest (a lookup that does not know it): as before
        Evaluation unknown = POLICY.evaluate(request("FROM reg.local/base/z:1\nUSER 1000\n", Map.of(),
                new Reads()));
        assertThat(unknown.canonicalDockerfile()).contains("FROM reg.local/base/z:1\n");
    }
}
