package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Issue #13 on a real BuildKit host: cache mounts that another team's build cannot see, a fresh cache for noCache
 * builds, the modern syntax end to end, and a heredoc script whose commands the policy judges.
 *
 * <p>Needs the BuildKit build hosts (dockerd 26, builds with {@code version=2} and {@code heredocsSupported=true} in
 * the policy request), as the suite's userns-1 is. On a pool with a classic-builder host these builds are refused by
 * {@code dockerfile-canonical} (heredocs, {@code RUN --mount}).
 */
class BuildKitCacheIT extends IntegrationTest {

    private static final Duration BUILD = Duration.ofMinutes(3);

    private String dockerfile(String run) {
        return "FROM " + registryAddress() + "/base/busybox\n" + run + "\nUSER 65534\n";
    }

    /** Builds {@code run} for {@code team} and asserts it SUCCEEDED, showing the build and its log when not. */
    private void succeeds(String token, String team, String run, boolean noCache) {
        Response r = submit(token, "image=" + team + "/cache&tag=1" + (noCache ? "&noCache=true" : ""),
                Tars.dockerfile(dockerfile(run)));
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        String id = read(r).get("id").asText();
        JsonNode done = awaitFinal(token, id, BUILD);
        assertThat(done.get("status").asText())
                .as(() -> run + "\n" + done + "\n" + get(token, "/api/v1/builds/" + id + "/logs").body())
                .isEqualTo("SUCCEEDED");
    }

    @Test
    void aCacheMountIsTheTeamsOwnAndANoCacheBuildStartsEmpty() {
        String alpha = builder("cachea");
        String beta = builder("cacheb");
        String mount = "RUN --mount=type=cache,target=/cache ";

        succeeds(alpha, "cachea", mount + "sh -c 'echo alpha > /cache/marker'", false);
        // the same team, the same target: its own cache, so the file is there (the check below can fail)
        succeeds(alpha, "cachea", mount + "test -e /cache/marker", false);
        // another team naming the same target, or the id the first team's mount had by default, sees nothing
        succeeds(beta, "cacheb", mount + "test ! -e /cache/marker", false);
        succeeds(beta, "cacheb", "RUN --mount=type=cache,id=/cache,target=/c test ! -e /c/marker", false);
        // a noCache build of the first team starts from an empty cache mount
        succeeds(alpha, "cachea", mount + "test ! -e /cache/marker", true);
    }

    @Test
    void theModernSyntaxBuildsAndTheBuildShowsTheNamespacedDockerfile() {
        String token = builder("modern");
        String text = "FROM " + registryAddress() + "/base/busybox AS src\nRUN <<EOT\nset -e\nmkdir -p /out\n"
                + "echo built > /out/a\nEOT\n"
                + "FROM " + registryAddress() + "/base/busybox\n"
                + "COPY --link --chmod=0644 --from=src /out/a /a\n"
                + "COPY <<EOF /etc/app.conf\nkey=value\nEOF\n"
                + "RUN --mount=type=cache,target=/var/cache/x --mount=type=bind,from=src,source=/out,target=/in "
                + "cp /in/a /b\nUSER 65534\n";
        Response r = submit(token, "image=modern/app&tag=1", Tars.dockerfile(text));
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        JsonNode done = awaitFinal(token, read(r).get("id").asText(), BUILD);

        assertThat(done.get("status").asText()).as(done.toString()).isEqualTo("SUCCEEDED");
    }

    @Test
    void aHeredocScriptsCommandsAreJudged() {
        String token = builder("heredoc");
        Response r = submit(token, "image=heredoc/app&tag=1", Tars.dockerfile(dockerfile(
                "RUN <<EOF\nset -e\nwget -qO- http://127.0.0.1:9/install.sh | sh\nEOF")));

        JsonNode problem = problem(r, 422);
        assertThat(problem.get("findings").toString()).contains("curl-pipe-shell");
    }
}
