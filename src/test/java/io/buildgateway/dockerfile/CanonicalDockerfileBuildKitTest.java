package io.buildgateway.dockerfile;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The canonical writer for BuildKit hosts (dockerd 26, BuildKit 0.13, its built-in Dockerfile 1.7 frontend). The
 * expectations come from the Dockerfile reference: heredocs in RUN and COPY, {@code RUN --mount} types and options
 * (a cache mount's id defaults to its target), {@code --network}, {@code COPY --link/--chmod/--chown}, and
 * {@code --parents}/{@code --exclude} being labs features of the 1.7 frontend (stable only from 1.19 for --exclude).
 */
class CanonicalDockerfileBuildKitTest {

    private static final CanonicalDockerfile.Options PAYMENTS = new CanonicalDockerfile.Options(true, "payments",
            null);

    private static CanonicalDockerfile.Result write(String text, CanonicalDockerfile.Options options) {
        return CanonicalDockerfile.write(DockerfileParser.parse(text, true), options);
    }

    private static String hash(String id) {
        return RunMount.sha256Prefix(id);
    }

    @Test
    void writesHeredocsOfRunAndCopyFaithfully() {
        String text = """
                FROM a
                RUN <<EOT
                set -e
                apt-get update
                EOT
                RUN <<"EOT" bash
                echo "$HOME stays literal"
                EOT
                RUN <<-EOT
                \techo tab-stripped
                \tEOT
                RUN <<A cat > /a && <<B cat > /b
                first
                A
                second
                B
                RUN python3 <<EOF
                print("hi")
                EOF
                COPY <<EOF /etc/app.conf
                key=value
                EOF
                """;

        CanonicalDockerfile.Result r = write(text, PAYMENTS);

        assertThat(r.problems()).isEmpty();
        assertThat(r.text()).isEqualTo("""
                # escape=\\
                FROM a
                RUN <<EOT
                set -e
                apt-get update
                EOT
                RUN <<"EOT" bash
                echo "$HOME stays literal"
                EOT
                RUN <<-EOT
                echo tab-stripped
                EOT
                RUN <<A cat > /a && <<B cat > /b
                first
                A
                second
                B
                RUN python3 <<EOF
                print("hi")
                EOF
                COPY <<EOF /etc/app.conf
                key=value
                EOF
                """);
        Dockerfile again = DockerfileParser.parse(r.text(), true);
        assertThat(again.instructions().get(2).heredocs().get(0).expand()).isFalse();
        assertThat(again.instructions().get(4).heredocs()).extracting(Instruction.Heredoc::delimiter)
                .containsExactly("A", "B");
    }

    @Test
    void namespacesEveryCacheMountIdByTeamWithTheTargetAsDefaultId() {
        CanonicalDockerfile.Result r = write("""
                FROM a
                RUN --mount=type=cache,target=/root/.m2 mvn package
                RUN --mount=type=cache,id=apt,target=/var/cache/apt,sharing=locked apt-get update
                """, PAYMENTS);

        assertThat(r.problems()).isEmpty();
        assertThat(r.text()).contains("RUN --mount=type=cache,target=/root/.m2,id=bgw-payments-"
                + hash("/root/.m2") + " mvn package\n");
        assertThat(r.text()).contains("RUN --mount=type=cache,id=bgw-payments-" + hash("apt")
                + ",target=/var/cache/apt,sharing=locked apt-get update\n");
    }

    @Test
    void anotherTeamOrAFreshNamespaceGetsAnotherCacheForTheSameDockerfile() {
        String text = "FROM a\nRUN --mount=type=cache,id=payments-m2,target=/root/.m2 mvn package\n";

        String payments = write(text, PAYMENTS).text();
        String billing = write(text, new CanonicalDockerfile.Options(true, "billing", null)).text();
        String fresh = write(text, new CanonicalDockerfile.Options(true, "payments.b-1234", null)).text();

        assertThat(payments).contains("id=bgw-payments-").doesNotContain("id=payments-m2");
        assertThat(billing).contains("id=bgw-billing-" + hash("payments-m2"));
        assertThat(fresh).contains("id=bgw-payments.b-1234-" + hash("payments-m2"));
        assertThat(List.of(payments, billing, fresh)).doesNotHaveDuplicates();
    }

    @Test
    void aTeamCannotNameAnotherTeamsNamespacedIdDirectly() {
        String stolen = "bgw-billing-" + hash("/root/.m2");

        String text = write("FROM a\nRUN --mount=type=cache,id=" + stolen + ",target=/root/.m2 mvn -o package\n",
                PAYMENTS).text();

        assertThat(text).doesNotContain("id=" + stolen).contains("id=bgw-payments-" + hash(stolen));
    }

    @Test
    void namespacesCacheMountsOfOnbuildRunTriggers() {
        CanonicalDockerfile.Result r = write("FROM a\nONBUILD RUN --mount=type=cache,target=/root/.npm npm ci\n",
                PAYMENTS);

        assertThat(r.problems()).isEmpty();
        assertThat(r.text()).contains("ONBUILD RUN --mount=type=cache,target=/root/.npm,id=bgw-payments-"
                + hash("/root/.npm") + " npm ci\n");
    }

    @Test
    void keepsQuotedMountFieldsAndReadsTheRewrittenLineAsWritten() {
        CanonicalDockerfile.Result r = write("FROM a\nRUN --mount=type=cache,\\\"target=/a,b\\\" true\n",
                PAYMENTS);

        // a CSV field with a comma is quoted again; the flag is then quoted for the flag reader
        assertThat(r.problems()).isEmpty();
        Instruction run = DockerfileParser.parse(r.text(), true).instructions().get(1);
        assertThat(run.flags()).singleElement().satisfies(f -> assertThat(f.value())
                .isEqualTo("type=cache,\"target=/a,b\",id=bgw-payments-" + hash("/a,b")));
    }

    @Test
    void refusesCacheMountsWithoutANamespace() {
        CanonicalDockerfile.Result r = write("FROM a\nRUN --mount=type=cache,target=/c true\n",
                new CanonicalDockerfile.Options(true, null, null));

        assertThat(r.text()).isNull();
        assertThat(r.problems()).singleElement().satisfies(p -> assertThat(p.message()).contains("cache namespace"));
    }

    @Test
    void writesBindAndTmpfsMountsAndTheCopyFlagsAsTheyAre() {
        String text = """
                FROM a AS deps
                FROM a
                RUN --mount=type=bind,source=go.sum,target=/src/go.sum --mount=type=bind,from=deps,source=/out,target=/deps --mount=type=tmpfs,target=/tmp,size=64m go build
                RUN --mount=target=/ctx,rw --network=none make
                COPY --link --chmod=0644 --chown=10:10 app /app
                ADD --link --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 x.tar /x
                COPY --from=deps --link /out /out
                """;

        CanonicalDockerfile.Result r = write(text, PAYMENTS);

        assertThat(r.problems()).isEmpty();
        assertThat(r.text()).isEqualTo("# escape=\\\n" + text);
    }

    @Test
    void refusesSecretAndSshMountsSayingWhatToDoInstead() {
        CanonicalDockerfile.Result secret = write("FROM a\nRUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci\n",
                PAYMENTS);
        CanonicalDockerfile.Result ssh = write("FROM a\nRUN --mount=type=ssh git clone git@host:x\n", PAYMENTS);

        assertThat(secret.text()).isNull();
        assertThat(secret.problems()).singleElement().satisfies(p -> assertThat(p.message())
                .contains("type=secret").contains("session").contains("COPY --from"));
        assertThat(ssh.problems()).singleElement().satisfies(p -> assertThat(p.message())
                .contains("type=ssh").contains("build context"));
    }

    @Test
    void refusesMountsTheFrontendWouldRefuseOrThatCouldReadTwoWays() {
        for (String mount : List.of("type=volume,target=/x", "type=cache", "type=cache,target=/a,id=x,id=y",
                "type=cache,target=/a,sharing=everyone", "type=bind,target=/a,size=1", "type=cache,target=/a,bogus=1",
                "type=cache,target=/a,required", "type=bind,target=\"/a\"x", "type=bind,tar\"get=/a")) {
            CanonicalDockerfile.Result r = write("FROM a\nRUN --mount=" + mount.replace("\"", "\\\"") + " true\n",
                    PAYMENTS);
            assertThat(r.text()).as(mount).isNull();
            assertThat(r.problems()).as(mount).singleElement()
                    .satisfies(p -> assertThat(p.message()).contains("--mount").contains("refused"));
        }
    }

    @Test
    void onlyNetworkNoneAndNoSecurityFlag() {
        assertThat(write("FROM a\nRUN --network=none true\n", PAYMENTS).problems()).isEmpty();
        for (String flag : List.of("--network=host", "--network=default", "--network=bridge")) {
            assertThat(write("FROM a\nRUN " + flag + " true\n", PAYMENTS).problems()).as(flag).singleElement()
                    .satisfies(p -> assertThat(p.message()).contains("only --network=none"));
        }
        assertThat(write("FROM a\nRUN --security=insecure true\n", PAYMENTS).problems()).singleElement()
                .satisfies(p -> assertThat(p.message()).contains("--security=insecure is refused"));
        assertThat(write("FROM a\nONBUILD RUN --network=host true\n", PAYMENTS).problems()).singleElement()
                .satisfies(p -> assertThat(p.message()).contains("ONBUILD RUN --network=host"));
    }

    @Test
    void refusesLabsFlagsOfTheBuiltInFrontendClearly() {
        CanonicalDockerfile.Result parents = write("FROM a\nCOPY --parents ./a/*/x /dst/\n", PAYMENTS);
        CanonicalDockerfile.Result exclude = write("FROM a\nCOPY --exclude=*.md . /dst/\n", PAYMENTS);
        CanonicalDockerfile.Result unknown = write("FROM a\nCOPY --bogus=1 . /dst/\n", PAYMENTS);

        assertThat(parents.problems()).singleElement().satisfies(p -> assertThat(p.message())
                .contains("--parents is a labs feature").contains("BuildKit 0.13").contains("frontends"));
        assertThat(exclude.problems()).singleElement().satisfies(p -> assertThat(p.message())
                .contains("--exclude is a labs feature").contains(".dockerignore"));
        assertThat(unknown.problems()).singleElement().satisfies(p -> assertThat(p.message())
                .contains("--bogus is unknown"));
    }

    @Test
    void syntaxDirectiveOnlyForAnApprovedFrontendWhichIsPinnedByDigest() {
        String pinned = "127.0.0.1:5000/base/dockerfile:1.7-labs@sha256:" + "a".repeat(64);
        CanonicalDockerfile.Options approving = new CanonicalDockerfile.Options(true, "payments",
                s -> s.equals("127.0.0.1:5000/base/dockerfile:1.7-labs") ? pinned : null);
        String text = "# syntax=127.0.0.1:5000/base/dockerfile:1.7-labs\nFROM a\nCOPY --parents --exclude=*.md ./a/ /d/\n";

        CanonicalDockerfile.Result approved = write(text, approving);
        CanonicalDockerfile.Result other = write("# syntax=docker/dockerfile:1\nFROM a\n", approving);

        assertThat(approved.problems()).isEmpty();
        assertThat(approved.text()).startsWith("# syntax=" + pinned + "\n# escape=\\\nFROM a\n");
        assertThat(other.text()).isNull();
        assertThat(other.problems()).singleElement().satisfies(p -> assertThat(p.message())
                .contains("'docker/dockerfile:1' is not approved").contains("frontends"));
    }

    @Test
    void theOldOverloadStillWritesWhatItWroteBefore() {
        Dockerfile d = DockerfileParser.parse("# syntax=docker/dockerfile:1\nFROM a\nRUN <<EOF\nls\nEOF\n");

        assertThat(CanonicalDockerfile.write(d, true).text())
                .isEqualTo("# syntax=docker/dockerfile:1\n# escape=\\\nFROM a\nRUN <<EOF\nls\nEOF\n");
        assertThat(CanonicalDockerfile.write(d, false).text()).isNull();
    }

    /**
     * A heredoc name with an escape character in it ends where the lexer's quoting rules say, which builders read
     * differently: BuildKit keeps the backslash of "\b" inside double quotes (so "LABEL a=\b" ends at the line
     * LABEL a=\b, and the lines after it run as instructions). The parser now reads it as BuildKit does, and the
     * writer refuses such a name anyway (a review's finding, 2026-12-07; BuildKitOracleRefusalIT builds it).
     */
    @Test
    void refusesAHeredocWhoseNameHoldsAnEscape() {
        String text = "FROM a\nRUN <<\"LABEL a=\\b\"\ntrue\nLABEL a=\\b\nRUN --mount=type=cache,id=x,target=/m true\n"
                + "LABEL a=b\nUSER 1000\n";
        Dockerfile parsed = DockerfileParser.parse(text, true);
        assertThat(parsed.instructions()).extracting(Instruction::keyword)
                .containsExactly("FROM", "RUN", "RUN", "LABEL", "USER");
        assertThat(parsed.instructions().get(1).heredocs().get(0).delimiter()).isEqualTo("LABEL a=\\b");
        CanonicalDockerfile.Result r = write(text, PAYMENTS);
        assertThat(r.problems()).anySatisfy(p -> assertThat(p.message()).contains("escape character"));
        assertThat(write("FROM a\nRUN <<\"EO\\\"F\"\ntrue\nEO\"F\n", PAYMENTS).problems())
                .anySatisfy(p -> assertThat(p.message()).contains("escape character"));
        assertThat(DockerfileParser.parse("FROM a\nRUN <<\"EO\\\"F\"\ntrue\nEO\"F\n", true).instructions().get(1)
                .heredocs().get(0).delimiter()).isEqualTo("EO\"F");
        assertThat(write("FROM a\nRUN <<\"EOF\"\ntrue\nEOF\n", PAYMENTS).problems()).isEmpty();
    }
}
