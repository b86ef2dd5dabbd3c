package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * A recovered host's clean-up ({@link HostHealth}) keeps the pinned base of a build running there: a team image the
 * gateway built carries its build-id label, and pulled by digest ({@code FROM name:tag@sha256:…}) it has only a
 * repository digest, no tag, so it is listed as dangling like a leftover; removing it would take the base from under
 * the build (BuildKit builds with {@code pull=0}). An unrelated dangling labelled image, of no running build, still
 * goes.
 *
 * <p>As {@link HostRecoveryRaceIT}: the environment's old user-namespaced daemon as a {@code builder: classic} host
 * (the suites' gateways build nothing on it), "down" as its endpoint's symbolic link missing. The running build is a
 * RUNNING row of the suite's database on that host, read through the gateway's own {@link RunningBuilds}.
 */
class PinnedBaseRecoveryIT extends IntegrationTest {

    @TempDir
    Path dir;

    @Autowired
    RunningBuilds running;

    @Test
    void theRecoveryCleanUpKeepsTheDigestPulledBaseOfABuildRunningOnTheHost() throws Exception {
        String socket = require("BGW_OLD_DOCKER_HOST").substring("unix://".length());
        String run = UUID.randomUUID().toString().substring(0, 8);
        String team = "pin" + run;
        String hostName = "pin-" + run;
        // A team image as the gateway builds them (its build-id label), in the registry, pulled by digest.
        String digest = pushDerivedImage("base/busybox", team + "/base", run, config -> config.putObject("Labels")
                .put(BuildHosts.BUILD_ID_LABEL, "built-" + run));
        String pinned = registryAddress() + "/" + team + "/base:" + run + "@" + digest;
        UUID build = UUID.randomUUID();
        List<String> made = new ArrayList<>();
        try {
            String auth = Base64.getUrlEncoder().encodeToString(json.writeValueAsBytes(Map.of("serveraddress",
                    registryAddress(), "registrytoken", BuildKitOracle.pullToken(team + "/base"))));
            String pulled = run("curl", "-sS", "--fail", "--unix-socket", socket, "-X", "POST", "-H",
                    "X-Registry-Auth: " + auth, "http://localhost/v1.41/images/create?fromImage="
                            + java.net.URLEncoder.encode(registryAddress() + "/" + team + "/base@" + digest,
                                    StandardCharsets.UTF_8));
            assertThat(pulled).doesNotContain("\"error");
            String pinnedId = run("docker", "-H", "unix://" + socket, "image", "inspect", "--format", "{{.Id}}",
                    registryAddress() + "/" + team + "/base@" + digest).strip();
            made.add(pinnedId);
            assertThat(run("docker", "-H", "unix://" + socket, "images", "-q", "--no-trunc", "--filter",
                    "dangling=true", "--filter", "label=" + BuildHosts.BUILD_ID_LABEL)).as("pulled by digest, the"
                            + " base has no tag: it is listed as a dangling labelled image").contains(pinnedId);
            // What an ended build left: an untagged labelled image.
            String leftover = HostRecoveryRaceIT.plantImage(socket, "ended-" + run);
            made.add(leftover);
            // An image the gateway built under a pullable prefix, pulled by digest by a build that has ended: the
            // sweep leaves such names alone, so the recovery still removes it when no running build may pull it.
            String baseDigest = pushDerivedImage("base/busybox", "base/pinrec-" + run, run, config -> config
                    .putObject("Labels").put(BuildHosts.BUILD_ID_LABEL, "built-base-" + run));
            String baseAuth = Base64.getUrlEncoder().encodeToString(json.writeValueAsBytes(Map.of("serveraddress",
                    registryAddress(), "registrytoken", BuildKitOracle.pullToken("base/pinrec-" + run))));
            assertThat(run("curl", "-sS", "--fail", "--unix-socket", socket, "-X", "POST", "-H",
                    "X-Registry-Auth: " + baseAuth, "http://localhost/v1.41/images/create?fromImage="
                            + java.net.URLEncoder.encode(registryAddress() + "/base/pinrec-" + run + "@" + baseDigest,
                                    StandardCharsets.UTF_8))).doesNotContain("\"error");
            String endedBase = run("docker", "-H", "unix://" + socket, "image", "inspect", "--format", "{{.Id}}",
                    registryAddress() + "/base/pinrec-" + run + "@" + baseDigest).strip();
            made.add(endedBase);
            // The build running on the host, pinned to that base (as another replica's: its lease far ahead).
            jdbc.update("insert into build (id, image, tag, team, status, requested_by, requested_at, started_at,"
                    + " host, context_digest, context_size, dockerfile, build_args, labels, allowed_pulls,"
                    + " base_image, lease_owner, lease_expires_at) values (?, ?, ?, ?, 'RUNNING', 'it', ?, ?, ?, ?,"
                    + " 0, 'Dockerfile', '{}', '{}', ?, ?, 'another-replica', ?)", build, team + "/app", run, team,
                    Timestamp.from(Instant.now()), Timestamp.from(Instant.now()), hostName,
                    "sha256:" + "0".repeat(64), json.writeValueAsString(List.of(pinned)), pinned,
                    Timestamp.from(Instant.now().plusSeconds(3600)));
            sleep(2_100); // both older than the down check, in the daemon's whole seconds

            Path link = dir.resolve("docker.sock");
            HostPoolProperties.Host host = new HostPoolProperties.Host(hostName, "unix://" + link, 1, null,
                    HostPoolProperties.Builder.CLASSIC, null, null, null);
            try (DockerClients clients = new DockerClients(TestHostPools.properties(host))) {
                HostHealth health = new HostHealth(clients, Clock.systemUTC(), event -> { },
                        new BuildCacheCap(clients, new SimpleMeterRegistry(), event -> { }, Runnable::run),
                        running::ids, BuildHosts.inUseOn(() -> running, registryAddress()), registryAddress(),
                        repository -> TeamImages.swept(repository, List.of("base/"), ""));
                health.check(host);
                assertThat(health.get(host.name()).healthy()).as(health.get(host.name()).error()).isFalse();
                sleep(1_100);
                Files.createSymbolicLink(link, Paths.get(socket));
                health.check(host);
                assertThat(health.get(host.name()).healthy()).as(health.get(host.name()).error()).isTrue();

                assertThat(HostRecoveryRaceIT.exists(socket, "images", leftover)).as("the ended build's image")
                        .isFalse();
                assertThat(HostRecoveryRaceIT.exists(socket, "images", pinnedId))
                        .as("the running build's pinned base").isTrue();
                assertThat(HostRecoveryRaceIT.exists(socket, "images", endedBase))
                        .as("a base/ image an ended build pulled by digest: not left to the sweep").isFalse();
            }
        } finally {
            jdbc.update("delete from build where id = ?", build);
            HostRecoveryRaceIT.removeAll(socket, made);
        }
    }
}
