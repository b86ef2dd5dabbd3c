package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;

/**
 * A fixed build host runs builds of one team at a time ({@code gateway.hostpool.team-isolation}, on by default;
 * docs/security.md, "BuildKit builds without a session"): while team X's build runs on the suite's only healthy
 * host (capacity 2), with X's team image pulled into the host's store, team Y's build stays QUEUED though a slot is
 * free, and starts there once X's builds ended (their names gone from the host); a second build of X starts beside the
 * first. A build of X submitted after Y's waits behind it (the fair order holds: the host drains for Y instead of
 * filling with X's builds), and starts once Y's ended.
 *
 * <p>Every build holds its host with a long {@code sleep} step, ended by a cancel. The oracles outside the gateway:
 * the host daemon's image list (the Docker CLI on the host's socket) and the host's processes ({@code ps}: each
 * build's step sleeps a number of its own).
 */
class TeamIsolationIT extends IntegrationTest {

    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);

    @Autowired
    org.springframework.core.env.Environment environment;

    @Test
    void aHostRunsBuildsOfOneTeamAtATime() throws Exception {
        String host = environment.getRequiredProperty("gateway.hostpool.hosts[0].name");
        String x = "isox" + RUN;
        String y = "isoy" + RUN;
        String tokenX = builder(x);
        String tokenY = builder(y);
        // X's team image (base/busybox with a label of the run), which X's builds pull onto the host as their base.
        pushDerivedImage("base/busybox", x + "/tools", RUN, config -> config.putObject("Labels")
                .put("isolation-it", RUN));
        String teamImage = registryAddress() + "/" + x + "/tools";
        String tail = "USER 65534\nHEALTHCHECK NONE\n";
        Path policyFile = POLICY.resolve("zz-isolation-" + x + ".yaml");
        List<String[]> started = new ArrayList<>();
        try {
            Files.writeString(policyFile, "teams:\n  " + x + ":\n    rules:\n      unapproved-image: \"off\"\n");
            eventually("the team's rule off", Duration.ofSeconds(15), () -> lintErrors(tokenX, x,
                    "FROM " + teamImage + ":" + RUN + "\nRUN true\n" + tail).isEmpty());

            // X1 runs on the host, its team image in the host's store.
            String sleepX1 = sleepCommand();
            String x1 = submitted(tokenX, x, "x1", "FROM " + teamImage + ":" + RUN + "\nRUN " + sleepX1 + "\n"
                    + tail, started);
            awaitRunning(tokenX, x1, host, sleepX1);
            assertThat(hostImages()).as("X's team image in the host's store while X's build runs")
                    .anyMatch(n -> n.startsWith(teamImage + "@sha256:") || n.equals(teamImage + ":" + RUN));

            // A second build of X starts beside the first.
            String sleepX2 = sleepCommand();
            String x2 = submitted(tokenX, x, "x2", "FROM " + teamImage + ":" + RUN + "\nRUN " + sleepX2 + "\n"
                    + tail, started);
            awaitRunning(tokenX, x2, host, sleepX2);
            cancelAndAwait(tokenX, x2);
            assertThat(status(tokenX, x1)).isEqualTo("RUNNING");

            // Y's build waits, though the host has a free slot, and nothing of Y runs there.
            String sleepY = sleepCommand();
            String yb = submitted(tokenY, y, "y", "FROM " + registryAddress() + "/base/busybox\nRUN " + sleepY + "\n"
                    + tail, started);
            // A build of X submitted after Y's: it would fit beside X1, but the host is kept for Y.
            String sleepX3 = sleepCommand();
            String x3 = submitted(tokenX, x, "x3", "FROM " + teamImage + ":" + RUN + "\nRUN " + sleepX3 + "\n"
                    + tail, started);
            for (int i = 0; i < 40; i++) {
                assertThat(status(tokenY, yb)).as("Y's build while X's runs on the host").isEqualTo("QUEUED");
                assertThat(status(tokenX, x3)).as("X's build submitted after Y's").isEqualTo("QUEUED");
                assertThat(running(sleepY)).as("a step of Y's build").isFalse();
                sleep(200);
            }
            assertThat(host(host).path("activeBuilds").asInt()).as("the host's free slot, left free").isEqualTo(1);
            assertThat(hostImages()).anyMatch(n -> n.startsWith(teamImage + "@sha256:")
                    || n.equals(teamImage + ":" + RUN));
            assertThat(auditCount("build.started", "build/" + yb)).isZero();

            // X1 ends: Y starts on the host, after X's team image came off it; X3 still waits (Y runs there now).
            cancelAndAwait(tokenX, x1);
            awaitRunning(tokenY, yb, host, sleepY);
            assertThat(hostImages()).as("X's team image, once no build of X runs on the host")
                    .noneMatch(n -> n.startsWith(teamImage + ":") || n.startsWith(teamImage + "@"));
            assertThat(seq("build.cancelled", x1)).as("Y started after X's last build there ended")
                    .isLessThan(seq("build.started", yb));
            for (int i = 0; i < 15; i++) {
                assertThat(status(tokenX, x3)).as("X's build while Y's runs on the host").isEqualTo("QUEUED");
                sleep(200);
            }

            // Y ends: X3 starts.
            cancelAndAwait(tokenY, yb);
            awaitRunning(tokenX, x3, host, sleepX3);
            assertThat(seq("build.cancelled", yb)).isLessThan(seq("build.started", x3));
            cancelAndAwait(tokenX, x3);
        } finally {
            for (String[] build : started) {
                send(request(build[0], "/api/v1/builds/" + build[1] + "/cancel")
                        .POST(HttpRequest.BodyPublishers.noBody()));
            }
            Files.deleteIfExists(policyFile);
        }
    }

    /**
     * A lost run (its replica died) is decided by the lease recovery, and then its host may go to another team: the
     * names of the team images the run pulled there come off first, as the end of a build takes them; a name of a
     * repository the run never used stays. On the environment's old daemon, the suite's {@code old-1} host (the
     * suite's gateways build nothing on it), with a RUNNING row of the suite's database on it whose lease lapsed.
     */
    @Test
    void aLostRunsTeamImageNamesComeOffItsHostWhenItIsDecided() throws Exception {
        String socket = require("BGW_OLD_DOCKER_HOST");
        String lostTeam = "isol" + RUN;
        String pulled = registryAddress() + "/" + lostTeam + "/base:" + RUN;
        String unrelated = registryAddress() + "/isou" + RUN + "/other:" + RUN;
        String image = run("sh", "-c", "printf 'FROM scratch\\nLABEL planted=isolation-" + RUN + "\\n'"
                + " | DOCKER_BUILDKIT=0 docker -H " + socket + " build -q -").strip();
        image = image.substring(image.lastIndexOf('\n') + 1);
        assertThat(image).startsWith("sha256:");
        UUID lost = UUID.randomUUID();
        try {
            run("docker", "-H", socket, "tag", image, pulled);
            run("docker", "-H", socket, "tag", image, unrelated);
            // its second attempt, so that the recovery fails it rather than queueing it again
            jdbc.update("insert into build (id, image, tag, team, status, requested_by, requested_at, started_at,"
                    + " host, context_digest, context_size, dockerfile, build_args, labels, allowed_pulls, attempts,"
                    + " lease_owner, lease_expires_at) values (?, ?, '1', ?, 'RUNNING', 'it', now(), now(), 'old-1',"
                    + " ?, 0, 'Dockerfile', '{}', '{}', ?, 2, 'a-replica-that-stopped',"
                    + " now() - interval '1 second')", lost, lostTeam + "/app", lostTeam, "sha256:" + "0".repeat(64),
                    json.writeValueAsString(List.of(pulled)));
            String token = builder(lostTeam);
            assertThat(awaitFinal(token, lost.toString(), Duration.ofSeconds(30)).path("status").asString())
                    .isEqualTo("FAILED");
            assertThat(runAnyExit("docker", "-H", socket, "image", "inspect", pulled).exit())
                    .as("the lost run's pulled team image, by name, on its host").isNotZero();
            assertThat(runAnyExit("docker", "-H", socket, "image", "inspect", unrelated).exit())
                    .as("a name of a repository the lost run never used").isZero();
        } finally {
            jdbc.update("delete from build where id = ?", lost);
            runAnyExit("docker", "-H", socket, "rmi", "-f", pulled, unrelated, image);
        }
    }

    /** A sleep of a number of its own, so that {@code ps} tells this step's process from any other. */
    private static String sleepCommand() {
        return "sleep " + (600_000 + (int) (Math.abs(System.nanoTime()) % 300_000));
    }

    private String submitted(String token, String team, String tag, String dockerfile, List<String[]> started) {
        Response accepted = submit(token, "image=" + team + "/app&tag=" + tag + "&noCache=true",
                Tars.dockerfile(dockerfile));
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String id = read(accepted).path("id").asString();
        started.add(new String[] {token, id});
        return id;
    }

    private String status(String token, String id) {
        return read(get(token, "/api/v1/builds/" + id)).path("status").asString();
    }

    /** Until the build is RUNNING on {@code host} and its step's process runs. */
    private void awaitRunning(String token, String id, String host, String sleep) {
        eventually("build " + id + " running its step on " + host, Duration.ofMinutes(2), () -> {
            JsonNode b = read(get(token, "/api/v1/builds/" + id));
            assertThat(b.path("status").asString()).as(b.toString()).isIn("QUEUED", "RUNNING");
            return b.path("status").asString().equals("RUNNING") && host.equals(b.path("host").asString())
                    && running(sleep);
        });
    }

    private void cancelAndAwait(String token, String id) {
        Response r = send(request(token, "/api/v1/builds/" + id + "/cancel").POST(HttpRequest.BodyPublishers
                .noBody()));
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        assertThat(awaitFinal(token, id, Duration.ofMinutes(1)).path("status").asString()).isEqualTo("CANCELLED");
    }

    private long seq(String action, String id) {
        return jdbc.queryForObject("select seq from audit_event where action = ? and target = ?", Long.class, action,
                "build/" + id);
    }

    private List<String> lintErrors(String token, String team, String dockerfile) {
        JsonNode lint = read(send(request(token, "/api/v1/lint?image=" + team + "/app")
                .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString(dockerfile))));
        List<String> rules = new ArrayList<>();
        for (JsonNode f : lint.path("findings")) {
            if (f.path("severity").asString().equals("error") && !f.path("waived").asBoolean(false)) {
                rules.add(f.path("rule").asString());
            }
        }
        return rules;
    }

    /**
     * The names in the build host's image store (tags and repository digests: a base pinned by digest has no tag),
     * by the Docker CLI on its socket.
     */
    private static List<String> hostImages() {
        String out = run("docker", "-H", require("BGW_DOCKER_HOST"), "image", "ls", "--digests", "--format",
                "{{.Repository}}:{{.Tag}} {{.Repository}}@{{.Digest}}");
        return Arrays.stream(out.split("\\s+")).map(String::strip)
                .filter(s -> !s.isEmpty() && !s.endsWith(":<none>") && !s.endsWith("@<none>")).toList();
    }

    private static boolean running(String command) {
        try {
            Process p = new ProcessBuilder("ps", "-eo", "args").redirectErrorStream(true).start();
            String ps = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return Arrays.stream(ps.split("\n")).anyMatch(l -> l.strip().equals(command));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
