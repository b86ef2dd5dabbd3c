package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.hostpool.BuildKitOracle;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
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
        byte[] reader = Tars.dockerfile("FROM " + name + ":" + RUN + "\nRUN cat /marker\n");
        try (BuildKitOracle oracle = BuildKitOracle.connect("base/busybox")) {
            assertThat(oracle.names(name)).as("names of the pushed image left on the host").isEmpty();
            BuildKitOracle.Built refused = oracle.build(reader, "Dockerfile", Map.of());
            assertThat(refused.error()).as("a build FROM the team's image, without credentials for it: " + refused.log())
                    .isNotNull();
            assertThat(refused.log()).doesNotContain(RUN + "\n");

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
}
