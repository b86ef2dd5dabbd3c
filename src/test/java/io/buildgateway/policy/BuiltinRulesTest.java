package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Each built-in rule fires on a Dockerfile that breaks it, at the right line, and stays quiet on a clean one. */
class BuiltinRulesTest {

    private static final String BASE = "FROM reg.local/base/debian:12\n";
    private static final PolicyEvaluator POLICY = Policies.evaluator("""
            approvedImages: [reg.local/base/]
            deniedImages: ["reg.local/base/debian:10*"]
            requireHealthcheck: true
            requiredLabels: [org.opencontainers.image.source]
            """);
    private static final String CLEAN = """
            FROM reg.local/base/debian:12@sha256:%s
            LABEL org.opencontainers.image.source="https://git.example/app"
            WORKDIR /app
            RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10 \\
                && rm -rf /var/lib/apt/lists/*
            COPY app.jar /app/app.jar
            EXPOSE 8080
            HEALTHCHECK CMD ["/app/health"]
            USER 10001
            ENTRYPOINT ["java", "-jar", "/app/app.jar"]
            """.formatted("a".repeat(64));

    static Stream<Arguments> violations() {
        return Stream.of(
                Arguments.of("unapproved-image", "FROM docker.io/library/debian:12\nUSER 1\n", 1),
                Arguments.of("unapproved-image", BASE + "COPY --from=ghcr.io/x/y:1 /a /a\nUSER 1\n", 2),
                Arguments.of("denied-image", "FROM reg.local/base/debian:10.1\nUSER 1\n", 1),
                Arguments.of("image-latest-tag", "FROM reg.local/base/debian\nUSER 1\n", 1),
                Arguments.of("image-latest-tag", "FROM reg.local/base/debian:latest\nUSER 1\n", 1),
                Arguments.of("image-not-pinned", BASE + "USER 1\n", 1),
                Arguments.of("from-platform-flag", "FROM --platform=linux/amd64 reg.local/base/debian:12\nUSER 1\n", 1),
                Arguments.of("final-user-root", BASE + "USER root\n", 2),
                Arguments.of("final-user-unresolved", BASE + "USER $NB_UID\n", 2),
                Arguments.of("sudo", BASE + "RUN sudo apt-get update\nUSER 1\n", 2),
                Arguments.of("chpasswd", BASE + "RUN echo 'app:secret' | chpasswd\nUSER 1\n", 2),
                Arguments.of("curl-pipe-shell", BASE + "RUN curl -fsSL https://get.example.sh | sh\nUSER 1\n", 2),
                Arguments.of("curl-pipe-shell", BASE + "RUN wget -qO- https://x.example/i.sh | bash -s --\nUSER 1\n", 2),
                Arguments.of("curl-pipe-shell", BASE + "RUN bash -c \"$(curl -fsSL https://x.example/i)\"\nUSER 1\n", 2),
                Arguments.of("tls-verification-disabled", BASE + "RUN curl -k https://x.example/a -o a\nUSER 1\n", 2),
                Arguments.of("tls-verification-disabled", BASE + "RUN curl -fsSLk https://x.example/a\nUSER 1\n", 2),
                Arguments.of("tls-verification-disabled", BASE + "RUN wget --no-check-certificate https://x/a\nUSER 1\n", 2),
                Arguments.of("tls-verification-disabled", BASE + "RUN pip install --trusted-host pypi.x flask==3\nUSER 1\n", 2),
                Arguments.of("tls-verification-disabled", BASE + "RUN npm config set strict-ssl false\nUSER 1\n", 2),
                Arguments.of("tls-verification-disabled", BASE + "RUN git config --global http.sslVerify false\nUSER 1\n", 2),
                Arguments.of("tls-verification-disabled", BASE + "ENV NODE_TLS_REJECT_UNAUTHORIZED=0\nUSER 1\n", 2),
                Arguments.of("tls-verification-disabled", BASE + "ENV PYTHONHTTPSVERIFY 0\nUSER 1\n", 2),
                Arguments.of("signature-verification-disabled", BASE
                        + "RUN apt-get install -y --allow-unauthenticated x=1\nUSER 1\n", 2),
                Arguments.of("signature-verification-disabled", BASE + "RUN yum install -y --nogpgcheck x-1\nUSER 1\n", 2),
                Arguments.of("signature-verification-disabled", BASE + "RUN apk add --allow-untrusted x=1\nUSER 1\n", 2),
                Arguments.of("signature-verification-disabled", BASE + "RUN rpm -i --nosignature x.rpm\nUSER 1\n", 2),
                Arguments.of("signature-verification-disabled", BASE
                        + "RUN echo 'deb [trusted=yes] http://x/ ./' > /etc/apt/sources.list\nUSER 1\n", 2),
                Arguments.of("secret-in-arg-or-env", BASE + "ARG NPM_TOKEN\nUSER 1\n", 2),
                Arguments.of("secret-in-arg-or-env", BASE + "ENV DB_PASSWORD=hunter2\nUSER 1\n", 2),
                Arguments.of("secret-in-arg-or-env", "# escape=`\n" + BASE + "ENV DB_PASS`WORD=hunter2\nUSER 1\n", 3),
                Arguments.of("secret-in-arg-or-env", BASE + "ENV KEY_ID=AKIAABCDEFGHIJKLMNOP\nUSER 1\n", 2),
                Arguments.of("secret-in-label-or-run", BASE + "RUN echo ghp_abcdefghijklmnopqrstuvwxyz0123456789 > t\n"
                        + "USER 1\n", 2),
                Arguments.of("run-security-insecure", BASE + "RUN --security=insecure mount\nUSER 1\n", 2),
                Arguments.of("run-network-host", BASE + "RUN --network=host curl x\nUSER 1\n", 2),
                Arguments.of("run-device", BASE + "RUN --device=/dev/kvm true\nUSER 1\n", 2),
                Arguments.of("run-mount-ssh", BASE + "RUN --mount=type=ssh git clone git@x:y\nUSER 1\n", 2),
                Arguments.of("docker-socket", BASE + "VOLUME /var/run/docker.sock\nUSER 1\n", 2),
                Arguments.of("docker-socket", BASE
                        + "RUN --mount=type=bind,source=/var/run/docker.sock,target=/var/run/docker.sock true\nUSER 1\n", 2),
                Arguments.of("setuid-bit", BASE + "RUN chmod u+s /usr/bin/find\nUSER 1\n", 2),
                Arguments.of("setuid-bit", BASE + "RUN chmod 4755 /bin/x\nUSER 1\n", 2),
                Arguments.of("setuid-bit", BASE + "COPY --chmod=2755 tool /bin/tool\nUSER 1\n", 2),
                Arguments.of("copy-whole-filesystem", BASE + "COPY --from=reg.local/base/debian:12 / /\nUSER 1\n", 2),
                // A stage from scratch has the builder's default PATH: ${PATH:+/} is '/' (dockerd 26, by hand).
                Arguments.of("copy-whole-filesystem", "FROM scratch\nCOPY --from=reg.local/base/debian:12 ${PATH:+/}"
                        + " /x/\nUSER 1\n", 2),
                Arguments.of("copy-dest-slash", BASE + "COPY a b /dest\nUSER 1\n", 2),
                Arguments.of("add-url-without-checksum", BASE + "ADD https://x.example/a.tgz /opt/\nUSER 1\n", 2),
                Arguments.of("add-url-outside-egress", BASE + "ADD --checksum=sha256:" + "a".repeat(64)
                        + " https://x.example/a.tgz /opt/\nUSER 1\n", 2),
                Arguments.of("add-instead-of-copy", BASE + "ADD app.jar /app/\nUSER 1\n", 2),
                Arguments.of("expose-ssh", BASE + "EXPOSE 22\nUSER 1\n", 2),
                Arguments.of("invalid-port", BASE + "EXPOSE 70000\nUSER 1\n", 2),
                Arguments.of("invalid-port", BASE + "EXPOSE 80/xtp\nUSER 1\n", 2),
                Arguments.of("duplicate-stage-name", BASE.trim() + " AS a\n" + BASE.trim() + " AS A\nUSER 1\n", 2),
                Arguments.of("copy-from-own-stage", BASE.trim() + " AS a\nCOPY --from=a /x /y\nUSER 1\n", 2),
                Arguments.of("relative-workdir", BASE + "WORKDIR app\nUSER 1\n", 2),
                Arguments.of("multiple-cmd-entrypoint-healthcheck", BASE + "CMD [\"a\"]\nCMD [\"b\"]\nUSER 1\n", 3),
                Arguments.of("onbuild-misuse", BASE + "ONBUILD FROM x\nUSER 1\n", 2),
                Arguments.of("onbuild-trigger", BASE + "ONBUILD RUN make\nUSER 1\n", 2),
                Arguments.of("maintainer-deprecated", BASE + "MAINTAINER me\nUSER 1\n", 2),
                Arguments.of("json-args-recommended", BASE + "CMD java -jar app.jar\nUSER 1\n", 2),
                Arguments.of("missing-healthcheck", BASE + "USER 1\n", 1),
                Arguments.of("missing-required-label", BASE + "USER 1\n", 1),
                Arguments.of("inline-ignore-comment", BASE + "# hadolint ignore=DL3002\nUSER root\n", 2),
                Arguments.of("inline-ignore-comment", BASE + "RUN apt-get update \\\n  # checkov:skip=CKV_DOCKER_8\n"
                        + "  && true\nUSER 1\n", 3),
                Arguments.of("cd-in-run", BASE + "RUN cd /tmp && make\nUSER 1\n", 2),
                Arguments.of("apt-no-install-recommends", BASE + "RUN apt-get install -y curl=1\nUSER 1\n", 2),
                Arguments.of("apt-lists-not-cleaned", BASE + "RUN apt-get install -y curl=1\nUSER 1\n", 2),
                Arguments.of("apt-unpinned", BASE + "RUN apt-get install -y curl\nUSER 1\n", 2),
                Arguments.of("apk-unpinned", BASE + "RUN apk add --no-cache curl\nUSER 1\n", 2),
                Arguments.of("pip-unpinned", BASE + "RUN pip install flask\nUSER 1\n", 2),
                Arguments.of("pip-unpinned", BASE + "RUN python3 -m pip install flask\nUSER 1\n", 2),
                Arguments.of("npm-unpinned", BASE + "RUN npm install -g typescript\nUSER 1\n", 2),
                Arguments.of("gem-unpinned", BASE + "RUN gem install rails\nUSER 1\n", 2),
                Arguments.of("yum-dnf-unpinned", BASE + "RUN dnf install -y httpd\nUSER 1\n", 2),
                Arguments.of("zypper-unpinned", BASE + "RUN zypper install -y nginx\nUSER 1\n", 2),
                Arguments.of("go-install-unpinned", BASE + "RUN go install example.com/tool@latest\nUSER 1\n", 2),
                Arguments.of("dockerfile-syntax", BASE + "RUNN x\nUSER 1\n", 2),
                Arguments.of("dockerfile-canonical", BASE + "RUN <<EOF\nUSER root\nEOF\nUSER 1\n", 2),
                Arguments.of("dockerfile-canonical", BASE + "ENV A=1 \\\f\nUSER 1\n", 2));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("violations")
    void firesOnAViolationAtItsLine(String rule, String dockerfile, int line) {
        List<Finding> findings = POLICY.evaluate(dockerfile, Map.of(), null).findings();

        assertThat(findings).as(findings.toString()).anySatisfy(f -> {
            assertThat(f.rule()).isEqualTo(rule);
            assertThat(f.line()).isEqualTo(line);
            assertThat(f.message()).isNotBlank();
        });
    }

    @Test
    void aCleanOrdinaryDockerfileHasNoFindingAtAll() {
        Evaluation e = POLICY.evaluate(CLEAN, Map.of(), null);

        assertThat(e.findings()).isEmpty();
        assertThat(e.passed()).isTrue();
    }

    @Test
    void everyRegisteredRuleHasACaseAndDocumentation() {
        Set<String> covered = new HashSet<>();
        violations().forEach(a -> covered.add((String) a.get()[0]));
        BuiltinLintRulesTest.violations().forEach(a -> covered.add((String) a.get()[0]));
        covered.addAll(Set.of("secret-build-arg", "image-digest-required", "unknown-target", "context-secret-file",
                "context-git-directory", "missing-dockerignore", "copy-source-missing",
                "base-image-triggers", // base-image-triggers: ExpansionTest
                "shellcheck")); // shellcheck: ShellCheckTest (against the real binary)
        // The image rules judge built images: their cases are in the scanning module's tests (ImageChecksTest,
        // LayerAuditTest, ImagePolicyTest and ScanningIT on real images).
        ImageRules.ALL.forEach(r -> covered.add(r.id()));
        for (RuleInfo r : PolicyEvaluator.registry()) {
            assertThat(covered).as("a test case for " + r.id()).contains(r.id());
            assertThat(r.title()).isNotBlank();
            assertThat(r.rationale()).hasSizeGreaterThan(40);
            assertThat(r.id()).matches("[a-z0-9]+(-[a-z0-9]+)*");
        }
        assertThat(PolicyEvaluator.registry()).hasSizeGreaterThanOrEqualTo(40);
    }

    @Test
    void secretLookingBuildArgsAreFindingsWithoutTheirValues() {
        List<Finding> f = POLICY.evaluate(CLEAN, Map.of("GITHUB_TOKEN", "ghp_abc", "MODE", "x"), null).findings();

        assertThat(f).singleElement().satisfies(x -> {
            assertThat(x.rule()).isEqualTo("secret-build-arg");
            assertThat(x.message()).contains("GITHUB_TOKEN").doesNotContain("ghp_abc");
        });
    }

    @Test
    void requireDigestTurnsUnpinnedImagesIntoErrors() {
        PolicyEvaluator strict = Policies.evaluator("approvedImages:\n  - prefix: reg.local/base/\n"
                + "    requireDigest: true\n");
        Evaluation e = strict.evaluate("FROM reg.local/base/debian:12\nUSER 1\n", Map.of(), null);
        assertThat(e.passed()).isFalse();
        assertThat(e.findings()).extracting(Finding::rule).contains("image-digest-required");
        assertThat(strict.evaluate(CLEAN, Map.of(), null).passed()).isTrue();
    }

    @Test
    void approvedTagsAreAnRe2PatternOfTheWholeTag() {
        PolicyEvaluator tagged = Policies.evaluator("approvedImages:\n  - prefix: reg.local/base/\n"
                + "    tags: '(12|[0-9]+\\.[0-9]+)'\n");
        assertThat(tagged.evaluate("FROM reg.local/base/debian:12\nUSER 1\n", Map.of(), null).findings())
                .extracting(Finding::rule).doesNotContain("unapproved-image");
        assertThat(tagged.evaluate("FROM reg.local/base/debian:12-slim\nUSER 1\n", Map.of(), null).findings())
                .extracting(Finding::rule).contains("unapproved-image");
        // RE2 has no lookaround or backreferences (what keeps its matching linear): refused with the reason.
        assertThatThrownBy(() -> Policies.document("approvedImages:\n  - prefix: reg.local/base/\n"
                + "    tags: '(?!latest).*'\n")).isInstanceOf(PolicyDocument.InvalidPolicyException.class)
                .hasMessageContaining(".tags: not a valid RE2 regular expression");
        assertThatThrownBy(() -> Policies.document("approvedImages:\n  - prefix: reg.local/base/\n"
                + "    tags: '[0-9'\n")).isInstanceOf(PolicyDocument.InvalidPolicyException.class)
                .hasMessageContaining("missing closing ]");
    }

    /**
     * Patterns of the policy meet names the user chooses: a tag pattern that backtracks exponentially in
     * java.util.regex ((a+)+ against 40 a's and a '-', a valid tag: 2^40 steps), and a deny glob of many stars
     * (polynomial, to the power of the stars) against a long image name, are answered at once. A guard against a
     * hang, not a timing (the JDK's engine would take hours).
     */
    @Test
    @org.junit.jupiter.api.Timeout(60)
    void namesUsersChooseCannotMakeThePolicysPatternsBacktrack() {
        PolicyEvaluator tagged = Policies.evaluator("approvedImages:\n  - prefix: reg.local/base/\n"
                + "    tags: '(a+)+'\n");
        List<Finding> found = tagged.evaluate("FROM reg.local/base/debian:" + "a".repeat(40) + "-\nUSER 1\n",
                Map.of(), null).findings();
        assertThat(found).filteredOn(f -> f.rule().equals("unapproved-image")).extracting(Finding::message)
                .singleElement().asString().doesNotContain("not a valid image reference");
        assertThat(tagged.evaluate("FROM reg.local/base/debian:aaaa\nUSER 1\n", Map.of(), null).findings())
                .extracting(Finding::rule).doesNotContain("unapproved-image");
        PolicyEvaluator denying = Policies.evaluator("approvedImages: [reg.local/]\n"
                + "deniedImages: ['*a*a*a*a*a*a*a*a*a*a*a*a*b*']\n");
        assertThat(denying.evaluate("FROM reg.local/" + "a".repeat(200) + ":1\nUSER 1\n", Map.of(), null)
                .findings()).extracting(Finding::rule).doesNotContain("denied-image");
        assertThat(denying.evaluate("FROM reg.local/" + "a".repeat(20) + "b:1\nUSER 1\n", Map.of(), null)
                .findings()).extracting(Finding::rule).contains("denied-image");
    }

    @Test
    void aMalformedCopyGlobIsAFindingNotAnError() {
        Set<String> files = Set.of("Dockerfile", "a[1].txt");
        List<Finding> found = POLICY.evaluate(new PolicyEvaluator.Request(BASE + "COPY a[1.txt /app/\nUSER 1\n",
                Map.of(), null, "payments", "payments/app", files)).findings();
        assertThat(found).filteredOn(f -> f.rule().equals("copy-source-missing")).extracting(Finding::message)
                .containsExactly("COPY source a[1.txt is not in the context");
    }

    @Test
    void contextRulesSeeTheFilesThatWereSent() {
        String dockerfile = BASE + "COPY app.jar /app/\nCOPY missing.txt conf/ /app/\nCOPY ../outside /x\n"
                + "COPY lib/*.so /lib/\nUSER 1\n";
        Set<String> files = Set.of("Dockerfile", "app.jar", "conf/", "conf/app.yaml", "lib/", "lib/a.so",
                ".env", "keys/id_rsa", "keys/id_rsa.pub", ".git/", ".git/config");

        List<Finding> found = POLICY.evaluate(new PolicyEvaluator.Request(dockerfile, Map.of(), null, "payments",
                "payments/app", files)).findings();

        assertThat(found).filteredOn(f -> f.rule().equals("copy-source-missing")).extracting(Finding::message)
                .containsExactlyInAnyOrder("COPY source missing.txt is not in the context",
                        "COPY source ../outside is outside the context");
        assertThat(found).filteredOn(f -> f.rule().equals("context-secret-file")).extracting(Finding::message)
                .containsExactlyInAnyOrder("the context contains .env, which looks like a secret",
                        "the context contains keys/id_rsa, which looks like a secret");
        assertThat(found).extracting(Finding::rule).contains("context-git-directory", "missing-dockerignore");
    }
}
