package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The lint rules of {@link BuiltinLintRules}: each fires where its semantics say, at the right line, and stays quiet
 * on the forms its peers accept; and the coverage table accounts for every check of hadolint, Trivy and BuildKit.
 */
class BuiltinLintRulesTest {

    private static final String BASE = "FROM reg.local/base/debian:12\n";
    private static final PolicyEvaluator POLICY = Policies.evaluator("approvedImages: [reg.local/base/]\n");

    static Stream<Arguments> violations() {
        return Stream.of(
                Arguments.of("package-upgrade", BASE + "RUN apt-get update && apt-get -y upgrade\n", 2),
                Arguments.of("package-upgrade", BASE + "RUN apt-get dist-upgrade -y\n", 2),
                Arguments.of("package-upgrade", BASE + "RUN apk upgrade\n", 2),
                Arguments.of("package-upgrade", BASE + "RUN yum -y update\n", 2),
                Arguments.of("install-without-yes", BASE + "RUN apt-get install curl=7.88.1-10\n", 2),
                Arguments.of("install-without-yes", BASE + "RUN yum install tool-1.0\n", 2),
                Arguments.of("install-without-yes", BASE + "RUN dnf install tool-1.0\n", 2),
                Arguments.of("install-without-yes", BASE + "RUN zypper install tool=1.0\n", 2),
                Arguments.of("apt-instead-of-apt-get", BASE + "RUN apt install -y curl=7.88.1-10\n", 2),
                Arguments.of("apk-no-cache", BASE + "RUN apk add jq=1.7-r0\n", 2),
                Arguments.of("package-cache-not-cleaned", BASE + "RUN yum install -y tool-1.0\n", 2),
                Arguments.of("package-cache-not-cleaned", BASE + "RUN yum clean all && yum install -y t-1\n", 2),
                Arguments.of("package-cache-not-cleaned", BASE + "RUN dnf install -y tool-1.0\n", 2),
                Arguments.of("package-cache-not-cleaned", BASE + "RUN zypper install -n tool=1.0\n", 2),
                Arguments.of("package-cache-not-cleaned", BASE + "RUN pip install flask==3.0.0\n", 2),
                Arguments.of("package-cache-not-cleaned", BASE + "RUN yarn install\n", 2),
                Arguments.of("update-without-install", BASE + "RUN apt-get update\n", 2),
                Arguments.of("pipe-without-pipefail", BASE + "RUN curl -fsS https://x/a.tgz | tar xz\n", 2),
                Arguments.of("pipe-without-pipefail",
                        BASE + "SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nFROM reg.local/base/debian:12\n"
                                + "RUN a | b\n", 4),
                Arguments.of("pipe-without-pipefail", BASE + "SHELL [\"/bin/sh\", \"-o\", \"pipefail\", \"-c\"]\n"
                        + "RUN a | b\n", 3),
                Arguments.of("wget-and-curl", BASE + "RUN curl -o /a https://x/a\nRUN wget https://x/b\n", 3),
                Arguments.of("useradd-high-uid", BASE + "RUN useradd -u 123456789 app\n", 2),
                Arguments.of("useradd-high-uid", BASE + "RUN useradd --uid=123456789 app\n", 2),
                Arguments.of("pointless-command", BASE + "RUN service nginx start\n", 2),
                Arguments.of("consecutive-run", BASE + "RUN a\n# comment\nRUN b\n", 4),
                Arguments.of("default-shell-replaced", BASE + "RUN ln -sf /bin/bash /bin/sh\n", 2),
                Arguments.of("copy-from-unknown-stage", BASE + "COPY --from=builder /a /a\n", 2),
                Arguments.of("copy-from-unknown-stage", BASE + "COPY --from=0 /a /a\n", 2),
                Arguments.of("copy-from-unknown-stage", BASE + "COPY --from=later /a /a\n"
                        + "FROM reg.local/base/debian:12 AS later\n", 2),
                Arguments.of("copy-relative-dest-without-workdir", BASE + "COPY a.txt app/\n", 2),
                Arguments.of("copy-relative-dest-without-workdir", BASE + "WORKDIR /app\n"
                        + "FROM reg.local/base/debian:12\nCOPY a.txt app/\n", 4),
                Arguments.of("env-self-reference", BASE + "ENV A=/opt B=$A/bin\n", 2),
                Arguments.of("env-self-reference", BASE + "ENV A=/opt B=${A:-/x}/bin\n", 2),
                Arguments.of("undefined-var", "ARG V=1\n" + BASE + "COPY app-$V.jar /app/\n", 3),
                Arguments.of("undefined-var", "FROM scratch\nCOPY $SRC /x\n", 2),
                Arguments.of("undefined-var", "FROM scratch\nWORKDIR /$DIR\nARG DIR=app\n", 2),
                Arguments.of("stage-name-casing", "FROM reg.local/base/debian:12 AS Build\n", 1),
                Arguments.of("reserved-stage-name", "FROM reg.local/base/debian:12 AS context\n", 1),
                Arguments.of("redundant-target-platform", "FROM --platform=$TARGETPLATFORM reg.local/base/d:1\n", 1),
                Arguments.of("legacy-key-value-format", BASE + "ENV MODE production\n", 2),
                Arguments.of("legacy-key-value-format", BASE + "LABEL team payments\n", 2),
                Arguments.of("expose-proto-casing", BASE + "EXPOSE 8080/TCP\n", 2),
                Arguments.of("instruction-before-from", "LABEL a=b\n" + BASE, 1),
                Arguments.of("workdir-system-dir", BASE + "WORKDIR /proc/app\n", 2),
                Arguments.of("label-key-invalid", BASE + "LABEL Team=payments\n", 2),
                Arguments.of("label-key-invalid", BASE + "LABEL com.docker.thing=x\n", 2),
                Arguments.of("label-key-invalid", BASE + "LABEL a..b=x\n", 2),
                Arguments.of("label-key-invalid", BASE + "LABEL 1team=x\n", 2),
                // Keys read as BuildKit reads them, with the file's escape character (SubstitutionDifferentialIT).
                Arguments.of("label-key-invalid", "# escape=`\n" + BASE + "LABEL com.docker`.thing=x\n", 3),
                Arguments.of("label-value-empty", BASE + "LABEL org.opencontainers.image.title=\"\"\n", 2),
                Arguments.of("label-value-format", BASE + "LABEL org.opencontainers.image.created=yesterday\n", 2),
                Arguments.of("label-value-format", BASE + "LABEL org.opencontainers.image.source=git.example/a\n", 2),
                Arguments.of("label-value-format", BASE + "LABEL org.opencontainers.image.licenses=\"MIT OR\"\n", 2),
                Arguments.of("label-value-format", BASE + "LABEL org.opencontainers.image.revision=abc123\n", 2),
                Arguments.of("label-value-format", BASE + "LABEL org.opencontainers.image.version=1.2\n", 2),
                Arguments.of("label-value-format", BASE + "LABEL maintainer=\"the team\"\n", 2));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("violations")
    void firesAtItsLine(String rule, String dockerfile, int line) {
        List<Finding> findings = POLICY.evaluate(dockerfile, Map.of(), null).findings();
        assertThat(findings).as(findings.toString()).anyMatch(f -> f.rule().equals(rule) && f.line() == line);
    }

    static Stream<Arguments> quiet() {
        return Stream.of(
                Arguments.of("package-upgrade", BASE + "RUN apt-get update && apt-get install -y --only-upgrade"
                        + " openssl=3.0.15-1\n"),
                Arguments.of("package-upgrade", BASE + "RUN yum update -y openssl-3.0.7\n"),
                Arguments.of("install-without-yes", BASE + "RUN apt-get install -y curl=1\n"),
                Arguments.of("install-without-yes", BASE + "RUN apt-get -qq install curl=1\n"),
                Arguments.of("install-without-yes", BASE + "RUN apt-get install -qy curl=1\n"),
                Arguments.of("install-without-yes", BASE + "RUN apt-get --assume-yes install curl=1\n"),
                Arguments.of("install-without-yes", BASE + "RUN yum install -y tool-1.0 && yum clean all\n"),
                Arguments.of("install-without-yes", BASE + "RUN zypper -n install tool=1.0\n"),
                Arguments.of("install-without-yes", BASE + "RUN zypper install -y tool=1.0\n"),
                Arguments.of("apt-instead-of-apt-get", BASE + "RUN apt-get install -y curl=1\n"),
                Arguments.of("apk-no-cache", BASE + "RUN apk add --no-cache jq=1.7-r0\n"),
                Arguments.of("apk-no-cache", BASE + "RUN --mount=type=cache,target=/var/cache/apk apk add jq=1\n"),
                Arguments.of("apk-no-cache", BASE + "RUN apk add jq=1 && rm -rf /var/cache/apk/*\n"),
                Arguments.of("package-cache-not-cleaned", BASE + "RUN yum install -y t-1 && yum clean all\n"),
                Arguments.of("package-cache-not-cleaned", BASE + "RUN dnf install -y t-1 && dnf clean all\n"),
                Arguments.of("package-cache-not-cleaned", BASE + "RUN zypper in -n t=1 && zypper clean\n"),
                Arguments.of("package-cache-not-cleaned", BASE + "RUN pip install --no-cache-dir flask==3\n"),
                Arguments.of("package-cache-not-cleaned", BASE + "ENV PIP_NO_CACHE_DIR=1\nRUN pip install f==3\n"),
                Arguments.of("package-cache-not-cleaned", BASE + "RUN --mount=type=cache,target=/root/.cache"
                        + " pip install flask==3\n"),
                Arguments.of("package-cache-not-cleaned", BASE + "RUN yarn install && yarn cache clean\n"),
                Arguments.of("update-without-install", BASE + "RUN apt-get update && apt-get install -y c=1\n"),
                Arguments.of("pipe-without-pipefail", BASE + "SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\n"
                        + "RUN curl -fsS https://x/a.tgz | tar xz\n"),
                Arguments.of("pipe-without-pipefail", BASE + "SHELL [\"/bin/bash\", \"-eux\", \"-o\", \"pipefail\","
                        + " \"-c\"]\nRUN a | b\n"),
                Arguments.of("pipe-without-pipefail", BASE + "RUN set -euo pipefail; a | b\n"),
                Arguments.of("pipe-without-pipefail", BASE + "SHELL [\"pwsh\", \"-Command\"]\nRUN a | b\n"),
                Arguments.of("pipe-without-pipefail", BASE + "RUN a || b\n"),
                Arguments.of("pipe-without-pipefail", BASE + "RUN [\"sh\", \"-c\", \"a | b\"]\n"),
                Arguments.of("wget-and-curl", BASE + "RUN curl -o /a https://x/a\nRUN curl -o /b https://x/b\n"),
                Arguments.of("useradd-high-uid", BASE + "RUN useradd -l -u 123456789 app\n"),
                Arguments.of("useradd-high-uid", BASE + "RUN useradd -u 10001 app\n"),
                Arguments.of("pointless-command", BASE + "RUN apt-get install -y procps=2\n"),
                Arguments.of("consecutive-run", BASE + "RUN a\nCOPY x /x\nRUN b\n"),
                Arguments.of("default-shell-replaced", BASE + "RUN ln -s /usr/bin/python3 /usr/local/bin/python\n"),
                Arguments.of("consecutive-run", BASE + "RUN a\nRUN --mount=type=cache,target=/c b\n"),
                Arguments.of("consecutive-run", BASE + "RUN a && b && c\nRUN d\n"),
                Arguments.of("copy-from-unknown-stage", "FROM reg.local/base/debian:12 AS Builder\n"
                        + BASE + "COPY --from=builder /a /a\nCOPY --from=0 /b /b\n"),
                Arguments.of("copy-from-unknown-stage", BASE + "COPY --from=reg.local/base/tools:1 /a /a\n"),
                Arguments.of("copy-relative-dest-without-workdir", BASE + "WORKDIR /app\nCOPY a.txt app/\n"),
                Arguments.of("copy-relative-dest-without-workdir", BASE + "COPY a.txt /app/\n"),
                Arguments.of("copy-relative-dest-without-workdir", "FROM reg.local/base/debian:12 AS base\n"
                        + "WORKDIR /app\nFROM base\nCOPY a.txt lib/\n"),
                Arguments.of("env-self-reference", BASE + "ENV PATH=/opt/bin:$PATH\n"),
                Arguments.of("env-self-reference", BASE + "ENV A=/opt\nENV B=$A/bin\n"),
                Arguments.of("env-self-reference", BASE + "ENV A=/opt\nENV A=/usr B=$A/bin\n"),
                Arguments.of("undefined-var", "ARG V=1\n" + BASE + "ARG V\nCOPY app-$V.jar /app/\n"),
                Arguments.of("undefined-var", BASE + "ENV JAVA_OPTS=\"$JAVA_OPTS -Xmx1g\"\n"),
                Arguments.of("undefined-var", "FROM scratch\nARG SRC=a\nCOPY $SRC /x\n"),
                Arguments.of("undefined-var", "FROM scratch\nCOPY \\$SRC /x\n"),
                Arguments.of("stage-name-casing", "FROM reg.local/base/debian:12 AS build\n"),
                Arguments.of("reserved-stage-name", "FROM reg.local/base/debian:12 AS contexts\n"),
                Arguments.of("redundant-target-platform", "FROM --platform=$BUILDPLATFORM reg.local/base/d:1\n"),
                Arguments.of("legacy-key-value-format", BASE + "ENV MODE=production\nLABEL team=payments\n"),
                Arguments.of("expose-proto-casing", BASE + "EXPOSE 8080/tcp 53/udp\n"),
                Arguments.of("instruction-before-from", "ARG V=1\n" + BASE + "LABEL a=b\n"),
                Arguments.of("workdir-system-dir", BASE + "WORKDIR /opt/proc\n"),
                Arguments.of("label-key-invalid", BASE + "LABEL org.opencontainers.image.title=app team-name=x\n"),
                Arguments.of("label-key-invalid", "# escape=`\n" + BASE + "LABEL team`-name=x\n"),
                Arguments.of("label-value-empty", BASE + "LABEL org.opencontainers.image.title=app\n"),
                Arguments.of("label-value-format", BASE + "LABEL org.opencontainers.image.created="
                        + "\"2026-11-28T12:00:00Z\" org.opencontainers.image.source=https://git.example/a"
                        + " org.opencontainers.image.licenses=\"(MIT OR Apache-2.0) AND BSD-3-Clause\""
                        + " org.opencontainers.image.revision=" + "0123456789abcdef0123456789abcdef01234567"
                        + " org.opencontainers.image.version=1.2.3-rc.1 maintainer=\"Team <team@example.com>\"\n"),
                Arguments.of("label-value-format", BASE + "ARG V\nLABEL org.opencontainers.image.version=$V\n"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("quiet")
    void staysQuiet(String rule, String dockerfile) {
        List<Finding> findings = POLICY.evaluate(dockerfile, Map.of(), null).findings();
        assertThat(findings).as(findings.toString()).noneMatch(f -> f.rule().equals(rule));
    }

    @Test
    void everyLintRuleHasAFiringAndAQuietCase() {
        Set<String> fired = new HashSet<>();
        violations().forEach(a -> fired.add((String) a.get()[0]));
        Set<String> quiet = new HashSet<>();
        quiet().forEach(a -> quiet.add((String) a.get()[0]));
        Set<String> mine = new HashSet<>(BuiltinRules.ids());
        mine.retainAll(fired);
        assertThat(quiet).containsAll(fired);
        assertThat(mine).containsExactlyInAnyOrderElementsOf(fired);
    }

    @Test
    void everyPeerCheckHasARuleOrAReasonInTheCoverageTable() {
        Set<String> claimed = new HashSet<>();
        PolicyEvaluator.registry().forEach(r -> claimed.addAll(r.references()));
        List<String> unaccounted = BuiltinLintRules.PEER_CHECKS.stream()
                .filter(c -> !claimed.contains(c) && !BuiltinLintRules.NOT_APPLICABLE.containsKey(c)).toList();
        assertThat(unaccounted).as("checks neither claimed by a rule nor explained in"
                + " BuiltinLintRules.NOT_APPLICABLE").isEmpty();
        assertThat(BuiltinLintRules.PEER_CHECKS).containsAll(BuiltinLintRules.NOT_APPLICABLE.keySet());
        Set<String> ids = new HashSet<>(BuiltinRules.ids());
        Matcher m = Pattern.compile("`([a-z0-9-]+)`").matcher(String.join(" ",
                BuiltinLintRules.NOT_APPLICABLE.values()));
        while (m.find()) {
            assertThat(ids).as("a rule named in the coverage notes").contains(m.group(1));
        }
    }

    @Test
    void truncatedAndMangledFilesNeverThrow() throws Exception {
        // Every prefix (at a stride) of every lint corpus file, and the same with quotes and '$' stripped or doubled:
        // the rules read half-written instructions without an exception.
        List<java.nio.file.Path> files = CorpusTest.files()
                .filter(p -> p.getFileName().toString().startsWith("lint-")).toList();
        assertThat(files).hasSizeGreaterThanOrEqualTo(25);
        for (java.nio.file.Path file : files) {
            String text = java.nio.file.Files.readString(file);
            for (String variant : List.of(text, text.replace("\"", ""), text.replace("$", "$$"),
                    text.replace(" ", "  AS "), text.replace("=", ""))) {
                for (int end = 0; end <= variant.length(); end += 9) {
                    POLICY.evaluate(variant.substring(0, end), Map.of(), null);
                }
            }
        }
    }

    @Test
    void variablesAreFoundInEveryForm() {
        assertThat(BuiltinLintRules.variables("a$B c${D} ${E:-x} \\$F $1 ${G_H}", '\\'))
                .containsExactly("B", "D", "E", "G_H");
        assertThat(BuiltinLintRules.variables("`$A $B", '`')).containsExactly("B");
    }

    @Test
    void spdxExpressionsAreParsed() {
        assertThat(BuiltinLintRules.spdx("MIT")).isTrue();
        assertThat(BuiltinLintRules.spdx("(MIT OR Apache-2.0) AND GPL-2.0-only WITH Classpath-exception-2.0")).isTrue();
        assertThat(BuiltinLintRules.spdx("LicenseRef-internal")).isTrue();
        assertThat(BuiltinLintRules.spdx("MIT OR")).isFalse();
        assertThat(BuiltinLintRules.spdx("(MIT")).isFalse();
        assertThat(BuiltinLintRules.spdx("MIT Apache-2.0")).isFalse();
    }
}
