package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.time.Duration;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
    /** This run's nonce: a step built in an earlier run is never this run's. */
    private static final String RUN = UUID.randomUUID().toString().substring(0, 13);
    private int steps;

    private String dockerfile(String run) {
        return "FROM " + registryAddress() + "/base/busybox\n" + run + "\nUSER 65534\n";
    }

    /**
     * Builds {@code run} for {@code team} and asserts it SUCCEEDED, showing the build and its log when not; returns the
     * build's log.
     */
    private String succeeds(String token, String team, String run, boolean noCache) {
        Response r = submit(token, "image=" + team + "/cache&tag=1" + (noCache ? "&noCache=true" : ""),
                Tars.dockerfile(dockerfile(run)));
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        String id = read(r).get("id").asText();
        JsonNode done = awaitFinal(token, id, BUILD);
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(done.get("status").asText()).as(() -> run + "\n" + done + "\n" + log).isEqualTo("SUCCEEDED");
        return log;
    }

    /**
     * Builds {@code check} (a RUN line's command, after the cache mount) ending with a nonce of this call, and asserts
     * that the step ran: its output line {@code ran-<nonce>} is in the log (printf makes it, so the command's own text
     * {@code '%s-%s\n' ran <nonce>} does not match), and its vertex was not CACHED. The daemon's data root outlives the
     * test run: without the nonce, a step that passed once would be taken from BuildKit's layer cache on every later
     * run and its check never made again, whatever the cache mounts hold.
     */
    private String checks(String token, String team, String check, boolean noCache) {
        String nonce = RUN + "-" + (++steps);
        String run = check + " && printf '%s-%s\\n' ran " + nonce;
        String log = succeeds(token, team, run, noCache);
        Matcher ran = Pattern.compile("(?m)^\\| #(\\d+) ran-" + Pattern.quote(nonce) + "$").matcher(log);
        assertThat(ran.find()).as("the step ran: " + check + "\n" + log).isTrue();
        assertThat(log).as("the step was not taken from the cache").doesNotContain("\n| #" + ran.group(1)
                + " CACHED\n");
        return run;
    }

    @Test
    void aCacheMountIsTheTeamsOwnAndANoCacheBuildStartsEmpty() {
        String alpha = builder("cachea");
        String beta = builder("cacheb");
        String mount = "RUN --mount=type=cache,target=/cache ";

        // each step ends with a nonce (checks): it runs, whatever earlier runs left in BuildKit's layer cache; the
        // cache mounts' ids (their targets) hold no nonce, so the teams' mounts are the same from step to step
        String first = checks(alpha, "cachea", mount + "echo alpha > /cache/marker-" + RUN, false);
        // control of what checks reads: the very same step built again (the same nonce) is taken from the layer cache,
        // its vertex CACHED and no output line, as every check without a nonce of its own would be on a later run
        String again = succeeds(alpha, "cachea", first, false);
        String nonce = first.substring(first.lastIndexOf(' ') + 1);
        Matcher step = Pattern.compile("(?m)^\\| #(\\d+) \\[[^\\]]*\\d+/\\d+\\] RUN .*" + Pattern.quote(nonce) + "$")
                .matcher(again);
        assertThat(step.find()).as(again).isTrue();
        assertThat(again).contains("\n| #" + step.group(1) + " CACHED\n").doesNotContain("ran-" + nonce);
        // the same team, the same target: its own cache, so the file is there (the check below can fail)
        checks(alpha, "cachea", mount + "test -e /cache/marker-" + RUN, false);
        // another team naming the same target, or the id the first team's mount had by default, sees nothing
        checks(beta, "cacheb", mount + "test ! -e /cache/marker-" + RUN, false);
        checks(beta, "cacheb", "RUN --mount=type=cache,id=/cache,target=/c test ! -e /c/marker-" + RUN, false);
        // a noCache build of the first team starts from an empty cache mount
        checks(alpha, "cachea", mount + "test ! -e /cache/marker-" + RUN, true);
        // and the first team's cache still holds the marker after it (the noCache build's mount was a fresh one)
        checks(alpha, "cachea", mount + "test -e /cache/marker-" + RUN, false);
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
