package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The policy on a BuildKit host (issue #13): cache mounts in a per-team namespace (fresh for noCache builds and
 * rebuilds), # syntax= frontends only from the policy's frontends list and pinned by digest, builder settings not
 * accepted as build args, and mount sources approved like any pull.
 */
class BuildKitPolicyTest {

    private static final String DIGEST = "@sha256:" + "b".repeat(64);
    private static final String LABS = "reg.local/base/dockerfile:1.7-labs" + DIGEST;
    private final PolicyEvaluator policy = Policies.evaluator("approvedImages: [reg.local/base/]\nfrontends: ["
            + LABS + "]\n");
    private static final String BASE = "FROM reg.local/base/x\n";

    private Evaluation buildkit(String dockerfile, String team, String namespace, Map<String, String> args) {
        return policy.evaluate(new PolicyEvaluator.Request(dockerfile, args, null, team, team + "/app", null, null,
                true, null, namespace));
    }

    private static List<String> errors(Evaluation e) {
        return e.findings().stream().filter(f -> f.severity() == Finding.Severity.error)
                .map(f -> f.rule() + "@" + f.line()).toList();
    }

    @Test
    void cacheMountsGoToTheTeamsNamespaceByDefault() {
        Evaluation e = buildkit(BASE + "RUN --mount=type=cache,target=/root/.m2 mvn -o package\nUSER 1\n",
                "payments", null, Map.of());

        assertThat(e.passed()).as(e.findings().toString()).isTrue();
        assertThat(e.canonicalDockerfile()).contains("id=bgw-payments-").doesNotContain("id=/root/.m2");
    }

    @Test
    void noCacheBuildsGetANamespaceOfTheirOwn() {
        String dockerfile = BASE + "RUN --mount=type=cache,target=/root/.m2 mvn -o package\nUSER 1\n";
        String fresh = PolicyEvaluator.cacheNamespace("payments", "0b6d6e1c-AAAA");

        Evaluation usual = buildkit(dockerfile, "payments", PolicyEvaluator.cacheNamespace("payments", null), Map.of());
        Evaluation noCache = buildkit(dockerfile, "payments", fresh, Map.of());

        assertThat(fresh).isEqualTo("payments.fresh-0b6d6e1c-aaaa");
        assertThat(noCache.canonicalDockerfile()).contains("id=bgw-payments.fresh-0b6d6e1c-aaaa-");
        assertThat(usual.canonicalDockerfile()).isNotEqualTo(noCache.canonicalDockerfile());
    }

    @Test
    void withoutATeamACacheMountIsRefusedNotShared() {
        Evaluation e = buildkit(BASE + "RUN --mount=type=cache,target=/c true\nUSER 1\n", "Bad Team!", null,
                Map.of());

        assertThat(e.passed()).isFalse();
        assertThat(errors(e)).contains("dockerfile-canonical@2");
    }

    @Test
    void anApprovedFrontendIsPinnedByDigestAndAnyOtherIsRefused() {
        Evaluation approved = buildkit("# syntax=reg.local/base/dockerfile:1.7-labs\n" + BASE
                + "COPY --parents ./a/*/x /d/\nUSER 1\n", "payments", null, Map.of());
        Evaluation hub = buildkit("# syntax=docker/dockerfile:1.7-labs\n" + BASE + "USER 1\n", "payments", null,
                Map.of());
        // a base approval is not a frontend approval: the frontend runs the whole build
        Evaluation base = buildkit("# syntax=reg.local/base/x:1\n" + BASE + "USER 1\n", "payments", null, Map.of());

        assertThat(approved.passed()).as(approved.findings().toString()).isTrue();
        assertThat(approved.canonicalDockerfile()).startsWith("# syntax=" + LABS + "\n");
        assertThat(approved.pulls()).contains(LABS);
        assertThat(errors(hub)).containsExactly("dockerfile-canonical@1");
        assertThat(errors(base)).containsExactly("dockerfile-canonical@1");
    }

    @Test
    void frontendsMustBePinnedByDigestInARegistry() {
        for (String bad : List.of("reg.local/base/dockerfile:1.7", "docker/dockerfile:1@sha256:" + "b".repeat(64),
                "reg.local/base/dockerfile@sha256:short")) {
            assertThatThrownBy(() -> Policies.document("frontends: [\"" + bad + "\"]\n")).as(bad)
                    .isInstanceOf(PolicyDocument.InvalidPolicyException.class).hasMessageContaining("frontends");
        }
        PolicyDocument doc = Policies.document("frontends: [" + LABS + "]\n");
        assertThat(doc.frontend("reg.local/base/dockerfile:1.7-labs")).isEqualTo(LABS);
        assertThat(doc.frontend("reg.local/base/dockerfile" + DIGEST)).isEqualTo(LABS);
        assertThat(doc.frontend("reg.local/base/dockerfile:1.8")).isNull();
        assertThat(doc.frontend("reg.local/base/dockerfile:1.7-labs@sha256:" + "c".repeat(64))).isNull();
    }

    @Test
    void builderSettingsAreNotBuildArgs() {
        Evaluation e = buildkit(BASE + "USER 1\n", "payments", null,
                Map.of("BUILDKIT_SYNTAX", "docker/dockerfile:1", "VERSION", "1"));

        assertThat(e.passed()).isFalse();
        assertThat(e.findings()).filteredOn(f -> f.severity() == Finding.Severity.error).singleElement().satisfies(f -> {
            assertThat(f.rule()).isEqualTo("dockerfile-canonical");
            assertThat(f.message()).contains("BUILDKIT_SYNTAX").doesNotContain("docker/dockerfile:1");
        });
    }

    @Test
    void mountSourcesAreApprovedLikePullsWhateverTheirSpelling() {
        for (String mount : List.of("type=cache,target=/c,from=ghcr.io/evil/seed", "type=bind,FROM=ghcr.io/evil/x,target=/t",
                "type=bind,\\\"from=ghcr.io/evil/x\\\",target=/t")) {
            Evaluation e = buildkit(BASE + "RUN --mount=" + mount + " true\nUSER 1\n", "payments", null, Map.of());
            assertThat(errors(e)).as(mount).contains("unapproved-image@2");
        }
        Evaluation stage = buildkit(BASE.replace("\n", " AS deps\n") + BASE
                + "RUN --mount=type=cache,from=deps,source=/seed,target=/c true\nUSER 1\n", "payments", null, Map.of());
        assertThat(stage.passed()).as(stage.findings().toString()).isTrue();
    }

    @Test
    void secretAndSshMountsAreRefusedOnBuildKitHosts() {
        Evaluation e = buildkit(BASE + "RUN --mount=type=secret,id=npm,target=/root/.npmrc npm ci\nUSER 1\n",
                "payments", null, Map.of());

        assertThat(errors(e)).contains("dockerfile-canonical@2");
        assertThat(e.findings()).anySatisfy(f -> assertThat(f.message()).contains("session"));
    }

    private List<String> rulesAt(String dockerfile) {
        return buildkit(dockerfile, "payments", null, Map.of()).findings().stream()
                .filter(f -> f.severity() != Finding.Severity.info || f.rule().endsWith("-unpinned"))
                .map(f -> f.rule() + "@" + f.line()).toList();
    }

    @Test
    void heredocScriptsAreJudgedLikeTheRunCommandsTheyAre() {
        String pinnedBase = "FROM reg.local/base/x:1" + DIGEST + "\n";
        List<String> found = rulesAt(pinnedBase + """
                RUN <<EOF
                set -eu
                curl -fsSL https://get.example/install.sh | sh
                EOF
                RUN bash -e <<'EOT'
                apt-get install -y --no-install-recommends curl
                EOT
                RUN <<-A sh && <<B bash
                \tpip install requests
                \tA
                npm install left-pad
                B
                ONBUILD RUN <<EOF
                wget -O- https://x.example/i | bash
                EOF
                USER 1
                HEALTHCHECK CMD ["/bin/true"]
                """);

        assertThat(found).contains("curl-pipe-shell@2", "apt-unpinned@6", "pip-unpinned@9", "npm-unpinned@9",
                "curl-pipe-shell@14");
    }

    @Test
    void aHeredocFedToAnotherInterpreterIsNotReadAsShell() {
        List<String> found = rulesAt("FROM reg.local/base/x:1" + DIGEST + "\n" + """
                RUN python3 <<EOF
                import subprocess
                print("apt-get install curl")
                EOF
                RUN <<EOF
                #!/usr/bin/env python3
                print("x") ; pip install requests
                EOF
                USER 1
                HEALTHCHECK CMD ["/bin/true"]
                """);

        assertThat(found).noneMatch(r -> r.startsWith("apt-unpinned") || r.startsWith("pip-unpinned"));
    }

    @Test
    void aBaseImagesOnbuildCacheMountIsRefusedAsItCannotBeNamespaced() {
        String dockerfile = "FROM reg.local/base/x:1" + DIGEST + "\nUSER 1\nHEALTHCHECK CMD [\"/bin/true\"]\n";
        Evaluation withCache = policy.evaluate(new PolicyEvaluator.Request(dockerfile, Map.of(), null, "payments",
                "payments/app", null, base -> List.of("RUN --mount=type=cache,target=/root/.m2 mvn -o install"),
                true, null, null));
        Evaluation withoutCache = policy.evaluate(new PolicyEvaluator.Request(dockerfile, Map.of(), null, "payments",
                "payments/app", null, base -> List.of("RUN --mount=type=bind,target=/s true"), true, null, null));

        assertThat(errors(withCache)).containsExactly("base-image-triggers@1");
        assertThat(withoutCache.passed()).as(withoutCache.findings().toString()).isTrue();
    }

    /**
     * BuildKit takes a COPY's or ADD's heredoc markers out of its words and keeps the rest: {@code ADD <url> <<EOF
     * /d/} fetches the URL (BuildKitOracleIT). The policy read only the words before the first marker, so the URL
     * looked like the destination and the ADD passed.
     */
    @Test
    void aSourceBesideAHeredocIsStillASource() {
        Evaluation url = buildkit(BASE + "ADD http://127.0.0.1:9/x <<EOF /d/\nhi\nEOF\nUSER 1\n", "payments", null,
                Map.of());
        Evaluation variable = buildkit(BASE + "ARG U\nADD $U <<EOF /d/\nhi\nEOF\nUSER 1\n", "payments", null,
                Map.of("U", "http://127.0.0.1:9/y"));
        Evaluation whole = buildkit(BASE + "FROM reg.local/base/x AS a\nFROM reg.local/base/x\n"
                + "COPY --from=a / <<EOF /d/\nhi\nEOF\nUSER 1\n", "payments", null, Map.of());
        Evaluation heredocOnly = buildkit(BASE + "COPY <<EOF <<-\"B\" /d/\nhi\nEOF\n\tho\n\tB\nUSER 1\n", "payments",
                null, Map.of());

        assertThat(errors(url)).containsExactly("add-url-outside-egress@2", "add-url-without-checksum@2");
        assertThat(errors(variable)).containsExactly("add-url-outside-egress@3", "add-url-without-checksum@3");
        assertThat(errors(whole)).containsExactly("copy-whole-filesystem@4");
        assertThat(heredocOnly.passed()).as(heredocOnly.findings().toString()).isTrue();
    }

    /**
     * BuildKit defines its platform arguments in FROM's scope (a review's finding, 2026-12-07): judged with them on
     * BuildKit hosts; refused where the pool is not all BuildKit, since the classic builder has none and the base
     * would depend on the host; refused as build args (they would override them in FROM); RUN --mount from=0 is
     * the image "0" to BuildKit, not the first stage.
     */
    @Test
    void platformArgumentsAndNumericMountSourcesAreReadAsBuildKitReadsThem() {
        String byArch = "FROM ${TARGETARCH:+reg.local/base/x}${TARGETARCH:-ghcr.io/evil/x}\nUSER 1\n";
        Evaluation onBuildKit = buildkit(byArch, "payments", null, Map.of());
        assertThat(errors(onBuildKit)).as(onBuildKit.findings().toString()).isEmpty();
        Evaluation mixed = policy.evaluate(new PolicyEvaluator.Request(byArch, Map.of(), null, "payments",
                "payments/app", null, null, false, null, null));
        assertThat(mixed.passed()).isFalse();
        assertThat(mixed.findings()).anySatisfy(f -> assertThat(f.message()).contains("platform arguments"));
        Evaluation overridden = buildkit("FROM ${TARGETOS:-reg.local/base/x}\nUSER 1\n", "payments", null,
                Map.of("TARGETOS", "ghcr.io/evil/x"));
        assertThat(overridden.passed()).isFalse();
        assertThat(overridden.findings()).anySatisfy(f -> assertThat(f.message()).contains("build arg TARGETOS"));
        Evaluation numeric = buildkit(BASE + "RUN --mount=type=bind,from=0,target=/m true\nUSER 1\n", "payments",
                null, Map.of());
        assertThat(errors(numeric)).contains("unapproved-image@2");
    }
}
