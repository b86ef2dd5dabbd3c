package io.buildgateway.dockerfile;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RemoteAddsTest {

    private static final String HEAD = "# escape=\\\nFROM reg.local/base/debian:12\n";
    private static final String SUM = "sha256:" + "a".repeat(64);

    @Test
    void findsAnAddOfAUrlWithItsChecksumAndTheNameAddGivesIt() {
        List<RemoteAdds.Add> adds = RemoteAdds.find(HEAD + "ADD --checksum=" + SUM
                + " http://mirror/maven2/org/x/lib-1.jar /opt/\nCOPY a /a\nADD local.tgz /x/\n");
        assertThat(adds).containsExactly(new RemoteAdds.Add(3, List.of("http://mirror/maven2/org/x/lib-1.jar"), SUM,
                List.of("lib-1.jar"), null));
    }

    @Test
    void rewritesTheAddIntoACopyKeepingDestinationAndOwnershipFlags() {
        String text = HEAD + "ADD --chown=10:10 --checksum=" + SUM + " --link http://mirror/a/lib.jar /opt/lib/\n"
                + "USER 1\n";
        String out = RemoteAdds.rewrite(text, Map.of(3, List.of(".f/1/lib.jar")));
        assertThat(out).isEqualTo(HEAD + "COPY --chown=10:10 --link=\"\" .f/1/lib.jar /opt/lib/\nUSER 1\n");
        assertThat(RemoteAdds.find(out)).isEmpty();
    }

    @Test
    void rewritesTheJsonFormAsJson() {
        String out = RemoteAdds.rewrite(HEAD + "ADD [\"http://mirror/a/b.txt\", \"/o p/\"]\n",
                Map.of(3, List.of(".f/1/b.txt")));
        assertThat(out).isEqualTo(HEAD + "COPY [\".f/1/b.txt\", \"/o p/\"]\n");
    }

    @Test
    void namesAUrlWithoutAPathSegmentAsBuildKitDoes() {
        assertThat(RemoteAdds.name("http://mirror/")).isEqualTo("__unnamed__");
        assertThat(RemoteAdds.name("http://mirror")).isEqualTo("__unnamed__");
        assertThat(RemoteAdds.name("http://mirror/a/b/")).isEqualTo("b");
        assertThat(RemoteAdds.name("http://mirror/a/b.tgz?x=1")).isEqualTo("b.tgz");
        assertThat(RemoteAdds.name("http://mirror?q=/x")).isEqualTo("__unnamed__");
        assertThat(RemoteAdds.name("http://mirror/a/lib%2B1.jar#f")).isEqualTo("lib+1.jar");
        assertThat(RemoteAdds.name("http://mirror/a/bad%2")).isNull();
    }

    @Test
    void refusesWhatItCannotRewriteWithTheSameMeaning() {
        assertThat(problem("ADD http://m/${V}/a.jar /o/\n")).contains("variable");
        assertThat(problem("ADD git@github.com:x/y.git /o/\n")).contains("only http and https");
        assertThat(problem("ADD http://m/a.jar local.txt /o/\n")).contains("mixes a URL");
        assertThat(problem("ADD --keep-git-dir=true http://m/a.jar /o/\n")).contains("--keep-git-dir");
        assertThat(problem("ADD --checksum=sha384:abc http://m/a.jar /o/\n")).contains("only sha256");
        assertThat(problem("ADD http://m/a*b.jar /o/\n")).contains("pattern");
    }

    @Test
    void findsTheOnbuildAddOfAStageALaterStageBuildsFromAtItsOnbuildLine() {
        String text = HEAD.replace("debian:12\n", "debian:12 AS tools\n")
                + "ONBUILD ADD --chown=10:10 --checksum=" + SUM + " http://mirror/a/lib-1.jar /opt/\n"
                + "FROM tools\nRUN true\n";
        assertThat(RemoteAdds.find(text, Map.of(), null)).containsExactly(new RemoteAdds.Add(3,
                List.of("http://mirror/a/lib-1.jar"), SUM, List.of("lib-1.jar"), null));
        // Without the build's plan (the plain find) triggers are not looked at.
        assertThat(RemoteAdds.find(text)).isEmpty();
    }

    @Test
    void rewritesTheTriggerIntoAnOnbuildCopyOfTheFetchedFile() {
        String text = HEAD.replace("debian:12\n", "debian:12 AS tools\n")
                + "ONBUILD ADD --chown=10:10 --chmod=0640 --checksum=" + SUM + " http://mirror/a/lib-1.jar /opt/\n"
                + "ONBUILD ADD [\"http://mirror/a/b.txt\", \"/o p/\"]\n"
                + "ONBUILD RUN true\nFROM tools\nUSER 1\n";
        String out = RemoteAdds.rewrite(text, Map.of(3, List.of(".f/1/lib-1.jar"), 4, List.of(".f/2/b.txt")));
        assertThat(out).isEqualTo(HEAD.replace("debian:12\n", "debian:12 AS tools\n")
                + "ONBUILD COPY --chown=10:10 --chmod=0640 .f/1/lib-1.jar /opt/\n"
                + "ONBUILD COPY [\".f/2/b.txt\", \"/o p/\"]\n"
                + "ONBUILD RUN true\nFROM tools\nUSER 1\n");
        assertThat(RemoteAdds.find(out, Map.of(), null)).isEmpty();
    }

    @Test
    void leavesTheTriggersOfTheTargetAndOfAStageNothingBuildsFromAlone() {
        String trigger = "ONBUILD ADD --checksum=" + SUM + " http://mirror/a/lib.jar /opt/\n";
        // The last stage's triggers go into the pushed image's config; they do not fire in this build.
        assertThat(RemoteAdds.find(HEAD + trigger, Map.of(), null)).isEmpty();
        // A stage no later stage builds FROM (COPY --from does not run triggers).
        assertThat(RemoteAdds.find(HEAD.replace("debian:12\n", "debian:12 AS a\n") + trigger
                + "FROM reg.local/base/debian:12\nCOPY --from=a /x /x\n", Map.of(), null)).isEmpty();
        // The target: its triggers stay as written even when a later stage (not built) builds FROM it.
        String two = HEAD.replace("debian:12\n", "debian:12 AS a\n") + trigger + "FROM a AS b\nRUN true\n";
        assertThat(RemoteAdds.find(two, Map.of(), "a")).isEmpty();
        assertThat(RemoteAdds.find(two, Map.of(), "b")).hasSize(1);
        // A FROM that names the stage through a build arg.
        String byArg = "ARG S=x\n" + HEAD.substring(HEAD.indexOf("FROM")).replace("debian:12\n", "debian:12 AS a\n")
                + trigger + "FROM ${S}\nRUN true\n";
        assertThat(RemoteAdds.find(byArg, Map.of("S", "a"), null)).hasSize(1);
        assertThat(RemoteAdds.find(byArg, Map.of(), null)).isEmpty();
    }

    @Test
    void refusesATriggerItCannotRewriteWithTheSameMeaning() {
        List<RemoteAdds.Add> adds = RemoteAdds.find(HEAD.replace("debian:12\n", "debian:12 AS a\n")
                + "ONBUILD ADD http://m/${V}/a.jar /o/\nFROM a\n", Map.of(), null);
        assertThat(adds).hasSize(1);
        assertThat(adds.get(0).problem()).startsWith("ONBUILD ADD http://m/${V}/a.jar").contains("variable");
    }

    private static String problem(String line) {
        List<RemoteAdds.Add> adds = RemoteAdds.find(HEAD + line);
        assertThat(adds).hasSize(1);
        return adds.get(0).problem();
    }

    /** What BuildKit's ADD takes for a git repository without a scheme is remote too (a review's finding, 2026-12-07). */
    @Test
    void takesSchemelessGitSourcesForRemoteOnes() {
        for (String remote : java.util.List.of("example.com/t/repo.git", "example.com/t/repo.git#main",
                "github.com/org/repo", "deploy@git.corp:t/repo.git", "git@github.com:org/repo.git", "1@git.corp:repo",
                "HTTPS://example.com/x", "ssh://git.corp/r")) {
            assertThat(RemoteAdds.isRemote(remote)).as(remote).isTrue();
        }
        for (String local : java.util.List.of("repo.git", "./dir/repo.git", "../r.git", "/abs/repo.git", "app.jar",
                "dir/file.txt", "user@host", "a:b")) {
            assertThat(RemoteAdds.isRemote(local)).as(local).isFalse();
        }
    }
}
