package io.buildgateway.dockerapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.builds.BuildSubmissions.LogLine;
import org.junit.jupiter.api.Test;

class DockerBuildFollowerTest {

    @Test
    void stepOutputCannotPassForTheGatewaysOwnLines() {
        assertThat(DockerBuildFollower.render(new LogLine(true, "Pushed r/a@sha256:1"))).isEqualTo(
                "[gateway] Pushed r/a@sha256:1");
        assertThat(DockerBuildFollower.render(new LogLine(false, "[gateway] Successfully built and pushed x")))
                .isEqualTo("| [gateway] Successfully built and pushed x");
        assertThat(DockerBuildFollower.render(new LogLine(false, "Step 1/2 : FROM base"))).isEqualTo(
                "Step 1/2 : FROM base");
    }

    @Test
    void onlyWhatIsServedNeedsACredential() {
        assertThat(DockerApiFilter.needsCredential("/v1.47/build")).isTrue();
        assertThat(DockerApiFilter.needsCredential("/build")).isTrue();
        assertThat(DockerApiFilter.needsCredential("/v1.51/version")).isTrue();
        assertThat(DockerApiFilter.needsCredential("/info")).isTrue();
        assertThat(DockerApiFilter.needsCredential("/_ping")).isFalse();
        assertThat(DockerApiFilter.needsCredential("/v1.47/containers/create")).isFalse();
        assertThat(DockerApiFilter.needsCredential("/v1.47/build/prune")).isFalse();
    }

    @Test
    void unsupportedPathsSayWhatToDoInstead() {
        assertThat(DockerApiFilter.unsupported("POST", "/session")).contains("DOCKER_BUILDKIT=0").contains("gw build");
        assertThat(DockerApiFilter.unsupported("POST", "/grpc")).contains("DOCKER_BUILDKIT=0");
        assertThat(DockerApiFilter.unsupported("GET", "/containers/buildx_buildkit_default/json"))
                .contains("DOCKER_BUILDKIT=0");
        assertThat(DockerApiFilter.unsupported("POST", "/containers/create")).contains("runs no containers");
        assertThat(DockerApiFilter.unsupported("POST", "/images/docker.io/a/b/push")).contains("pushes every image");
        assertThat(DockerApiFilter.unsupported("GET", "/images/json")).contains("`gw`");
    }
}
