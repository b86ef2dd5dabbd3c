package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * The clean-up after a lost build ({@link BuildHosts#cleanBuild}) removes every image carrying the lost build's label,
 * named or not, except one a build still running on the host may pull (the lost build pushed it; another build pulled
 * it by digest as its base). The lost build is itself RUNNING on the host while its recovery decides (under the
 * recovery's lease): its own repository must not keep its own image there (a review's find).
 *
 * <p>On the environment's old user-namespaced daemon, the suite's {@code old-1} host (the suites' gateways build
 * nothing on it: it is refused as older than dockerd 26), with RUNNING rows of the suite's database on it.
 */
class LostBuildCleanupIT extends IntegrationTest {

    @Autowired
    BuildHosts hosts;

    private String tag(String socket, String image, String reference) {
        return run("docker", "-H", "unix://" + socket, "tag", image, reference);
    }

    private void running(UUID id, String repository, String team, List<String> pulls) throws Exception {
        jdbc.update("insert into build (id, image, tag, team, status, requested_by, requested_at, started_at,"
                + " host, context_digest, context_size, dockerfile, build_args, labels, allowed_pulls,"
                + " lease_owner, lease_expires_at) values (?, ?, '1', ?, 'RUNNING', 'it', ?, ?, 'old-1', ?, 0,"
                + " 'Dockerfile', '{}', '{}', ?, 'another-replica', ?)", id, repository, team,
                Timestamp.from(Instant.now()), Timestamp.from(Instant.now()), "sha256:" + "0".repeat(64),
                json.writeValueAsString(pulls), Timestamp.from(Instant.now().plusSeconds(3600)));
    }

    @Test
    void aLostBuildsNamedImageGoesUnlessAnotherRunningBuildMayPullIt() throws Exception {
        String socket = require("BGW_OLD_DOCKER_HOST").substring("unix://".length());
        String run = UUID.randomUUID().toString().substring(0, 8);
        String team = "lost" + run;
        UUID lost = UUID.randomUUID();
        UUID other = UUID.randomUUID();
        List<String> made = new ArrayList<>();
        try {
            // What the lost build left: its image under its own name, and one another build now uses as its base.
            String own = HostRecoveryRaceIT.plantImage(socket, lost.toString());
            made.add(own);
            tag(socket, own, registryAddress() + "/" + team + "/app:" + run);
            String base = HostRecoveryRaceIT.plantImage(socket, lost + "-base");
            made.add(base);
            // (labelled as the lost build's too, as an image it made would be)
            String relabelled = run("sh", "-c", "printf 'FROM " + base + "\\n' | DOCKER_BUILDKIT=0 docker -H unix://"
                    + socket + " build -q --label " + BuildHosts.BUILD_ID_LABEL + "=" + lost + " -").strip();
            relabelled = relabelled.substring(relabelled.lastIndexOf('\n') + 1);
            made.add(relabelled);
            tag(socket, relabelled, registryAddress() + "/" + team + "/base:" + run);
            running(lost, team + "/app", team, List.of());
            running(other, team + "/next", team, List.of(registryAddress() + "/" + team + "/base:" + run));

            List<BuildHosts.Removed> removed = hosts.cleanBuild("old-1", lost.toString(), () -> true);

            assertThat(removed).as("what the clean-up removed").isNotNull();
            assertThat(HostRecoveryRaceIT.exists(socket, "images", own)).as("the lost build's own image").isFalse();
            assertThat(HostRecoveryRaceIT.exists(socket, "images", relabelled))
                    .as("the image a running build may pull").isTrue();
        } finally {
            jdbc.update("delete from build where id in (?, ?)", lost, other);
            run("sh", "-c", "docker -H unix://" + socket + " rmi -f " + registryAddress() + "/" + team + "/app:" + run
                    + " " + registryAddress() + "/" + team + "/base:" + run + " >/dev/null 2>&1; true");
            HostRecoveryRaceIT.removeAll(socket, made);
        }
    }
}
