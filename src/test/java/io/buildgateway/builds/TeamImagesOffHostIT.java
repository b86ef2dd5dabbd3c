package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.hostpool.BuildKitOracle;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;

/**
 * A team's image does not stay named on a shared build host after its build: BuildKit builds with {@code pull=0},
 * so another team's build whose {@code FROM} the policy misread would have read it from the host's store (the
 * registry refuses that team's token; the host's store asks nothing). The oracle is the host's own BuildKit: a build
 * {@code FROM} the team's image, with no registry credentials for it, fails after the gateway's build; the control
 * shows the same build succeeds while the name is on the host.
 */
class TeamImagesOffHostIT extends IntegrationTest {

    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);

    @Autowired
    BuildRepository builds;
    @Autowired
    org.springframework.core.env.Environment environment;

    @Test
    void aPushedTeamImageIsNotLeftNamedOnTheSharedHostWhereAnotherBuildCouldReadIt() throws Exception {
        String token = builder("offhost");
        Response accepted = submit(token, "image=offhost/app&tag=" + RUN, Tars.dockerfile("FROM " + registryAddress()
                + "/base/busybox\nRUN echo " + RUN + " > /marker\nUSER 65534\n"));
        assertThat(accepted.status()).as(accepted.body()).isBetween(200, 299);
        String id = read(accepted).path("id").asString();
        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("SUCCEEDED");

        String name = registryAddress() + "/offhost/app";
        // a plain ustar context: BuildKit reads a body starting with a PAX header as the Dockerfile itself
        byte[] reader = Tars.ustar().file("Dockerfile", "FROM " + name + ":" + RUN + "\nRUN cat /marker\n").bytes();
        try (BuildKitOracle oracle = BuildKitOracle.connect("base/busybox")) {
            assertThat(oracle.names(name)).as("names of the pushed image left on the host").isEmpty();
            BuildKitOracle.Built refused = oracle.build(reader, "Dockerfile", Map.of());
            assertThat(refused.error()).as("a build FROM the team's image, without credentials for it: " + refused.log())
                    .isNotNull().contains(name); // its image could not be resolved (not a parse error, say)

            // The control: the same image named on the host again (pulled with a token that grants it), the same
            // build reads it from the store; then the name comes off again.
            try (BuildKitOracle granted = BuildKitOracle.connect("offhost/app")) {
                assertThat(granted.pull(name + ":" + RUN)).isNull();
            }
            try {
                BuildKitOracle.Built read = oracle.build(reader, "Dockerfile", Map.of());
                assertThat(read.error()).as(read.log()).isNull();
                oracle.remove(read.imageId());
            } finally {
                for (String ref : oracle.names(name)) {
                    try {
                        oracle.untag(ref);
                    } catch (java.io.IOException alreadyGone) {
                        // the tag's removal took the repository's digest with it
                    }
                }
            }
        }
    }

    /**
     * A repository another build running on the host (on any replica) may still pull keeps its names: that build's
     * FROM would otherwise find nothing (BuildKit builds with pull=0). The other build is a RUNNING row on the host,
     * as another replica's would be, its lease far ahead; removed afterwards.
     */
    @Test
    void aTeamImageAnotherRunningBuildMayPullStaysNamed() throws Exception {
        String token = builder("offhost2");
        String name = registryAddress() + "/offhost2/app";
        Build other = new Build(UUID.randomUUID());
        other.image = "offhost2/other";
        other.tag = RUN;
        other.team = "offhost2";
        other.requestedBy = "it";
        other.requestedAt = java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MICROS);
        other.contextDigest = "sha256:" + "0".repeat(64);
        other.dockerfile = "Dockerfile";
        other.buildArgs = "{}";
        other.labels = "{}";
        other.findings = "[]";
        other.allowedPulls = "[\"" + name + ":" + RUN + "\"]";
        other.queue();
        other.claim(host0(), "another-replica", java.time.Instant.now(), Duration.ofHours(1));
        builds.saveAndFlush(other);
        try {
            Response accepted = submit(token, "image=offhost2/app&tag=" + RUN, Tars.dockerfile("FROM "
                    + registryAddress() + "/base/busybox\nRUN echo " + RUN + " > /marker\nUSER 65534\n"));
            assertThat(accepted.status()).as(accepted.body()).isBetween(200, 299);
            String id = read(accepted).path("id").asString();
            JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
            assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
            try (BuildKitOracle oracle = BuildKitOracle.connect("base/busybox")) {
                assertThat(oracle.names(name)).as("kept for the running build that may pull it")
                        .contains(name + ":" + RUN);
                for (String ref : oracle.names(name)) {
                    try {
                        oracle.untag(ref);
                    } catch (java.io.IOException alreadyGone) {
                        // the tag's removal took the repository's digest with it
                    }
                }
            }
        } finally {
            builds.deleteById(other.id);
        }
    }

    /** The name of the environment's build host in the gateway's pool (IntegrationTest's hosts[0]). */
    private String host0() {
        return environment.getRequiredProperty("gateway.hostpool.hosts[0].name");
    }
}
