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
    private static final Map<String, String> DIGESTS = Map.of("reg.local/base/x:1", D1, "reg.local/base/y", D2);

    /** What the registry read gives: no triggers, no Env, the digest of the manifest read. */
    private static final class Reads implements PolicyEvaluator.BaseEnvironment {
        final java.util.List<String> asked = new java.util.ArrayList<>();

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
                "COPY --from=reg.local/base/x:1 /etc/hostname /h2\n");
        // FROM bases pinned; an image a COPY --from names (no triggers run from it) is pulled as named
        assertThat(e.pulls()).containsExactly("reg.local/base/x:1@" + D1, "reg.local/base/y@" + D2,
                "reg.local/base/x:1");
        // the base image recorded for the inventory (tag moves, rebuilds) stays the name judged
        assertThat(e.baseImage()).isEqualTo("reg.local/base/y");
        assertThat(e.baseDigest()).as("the digest judged, recorded beside it").isEqualTo(D2);
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
