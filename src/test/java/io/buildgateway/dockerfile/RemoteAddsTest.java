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

    private static String problem(String line) {
        List<RemoteAdds.Add> adds = RemoteAdds.find(HEAD + line);
        assertThat(adds).hasSize(1);
        return adds.get(0).problem();
    }
}
