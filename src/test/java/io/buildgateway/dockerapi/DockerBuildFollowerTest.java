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

    private static io.buildgateway.builds.BuildView view(java.util.UUID id, io.buildgateway.builds.BuildStatus status) {
        return new io.buildgateway.builds.BuildView(id, "payments/app", "1", "payments", status, null, "ci",
                java.time.Instant.EPOCH, null, null, null, "sha256:c", 1, "Dockerfile", null, java.util.Map.of(),
                java.util.Map.of(), false, "sha256:p", java.util.List.of(), null, null,
                status == io.buildgateway.builds.BuildStatus.FAILED ? "step failed" : null, null, null);
    }

    /** A source whose every read fails with {@code failure}. */
    private static DockerBuildFollower.Source failing(java.util.function.Supplier<RuntimeException> failure) {
        return new DockerBuildFollower.Source() {
            @Override
            public io.buildgateway.builds.BuildSubmissions.LogRead readLog(java.util.UUID build, long offset) {
                throw failure.get();
            }

            @Override
            public io.buildgateway.builds.BuildView get(java.util.UUID build) {
                throw failure.get();
            }
        };
    }

    /** What the database's driver throws while PostgreSQL restarts (recognised as the database away). */
    private static RuntimeException databaseAway() {
        return new org.springframework.dao.DataAccessResourceFailureException("away",
                new java.sql.SQLTransientConnectionException("connection refused"));
    }

    /**
     * The database away while a docker build's stream is open: the follower waits for it with heartbeats and goes on
     * where it was once it answers (before, the exception left the filter after the 200 had begun: a servlet error
     * and a broken connection; a review's find, 2026-12-07).
     */
    @Test
    void aDatabaseAwayForAWhileIsWaitedForAndTheStreamGoesOn() {
        java.util.UUID id = java.util.UUID.randomUUID();
        int[] calls = {0};
        DockerBuildFollower.Source source = new DockerBuildFollower.Source() {
            @Override
            public io.buildgateway.builds.BuildSubmissions.LogRead readLog(java.util.UUID build, long offset) {
                calls[0]++;
                if (calls[0] >= 2 && calls[0] <= 4) {
                    throw databaseAway();
                }
                return offset == 0 ? new io.buildgateway.builds.BuildSubmissions.LogRead(java.util.List.of(
                        new LogLine(false, "#1 DONE")), 1) : new io.buildgateway.builds.BuildSubmissions.LogRead(
                        java.util.List.of(), offset);
            }

            @Override
            public io.buildgateway.builds.BuildView get(java.util.UUID build) {
                return view(build, calls[0] > 5 ? io.buildgateway.builds.BuildStatus.FAILED
                        : io.buildgateway.builds.BuildStatus.RUNNING);
            }
        };
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        DockerBuildStream stream = new DockerBuildStream(out, tools.jackson.databind.json.JsonMapper.builder().build());

        new DockerBuildFollower(source, java.time.Duration.ofMillis(1), java.time.Duration.ofMinutes(1), java.time.Duration.ofSeconds(10))
                .follow(view(id, io.buildgateway.builds.BuildStatus.QUEUED), stream);

        String written = out.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(written).contains("#1 DONE").contains("step failed");
        assertThat(written.indexOf("#1 DONE")).as("the line is written once").isEqualTo(written.lastIndexOf("#1 DONE"));
        assertThat(calls[0]).isGreaterThan(5);
    }

    /** Away longer than the patience: the stream ends with an error the CLI prints, saying the build goes on. */
    @Test
    void aDatabaseAwayLongerThanThePatienceEndsTheStreamWithAnError() {
        java.util.UUID id = java.util.UUID.randomUUID();
        DockerBuildFollower.Source away = failing(() -> databaseAway());
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        DockerBuildStream stream = new DockerBuildStream(out, tools.jackson.databind.json.JsonMapper.builder().build());

        new DockerBuildFollower(away, java.time.Duration.ofMillis(1), java.time.Duration.ofMillis(50), java.time.Duration.ofSeconds(10))
                .follow(view(id, io.buildgateway.builds.BuildStatus.QUEUED), stream);

        assertThat(out.toString(java.nio.charset.StandardCharsets.UTF_8)).contains("\"error\"")
                .contains("database cannot be reached").contains(id.toString() + " goes on");
    }

    /** Any other failure is not the database's absence: it is not swallowed. */
    @Test
    void anotherFailureIsNotWaitedFor() {
        DockerBuildFollower.Source broken = failing(() -> new IllegalStateException("bug"));
        DockerBuildStream stream = new DockerBuildStream(new java.io.ByteArrayOutputStream(),
                tools.jackson.databind.json.JsonMapper.builder().build());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new DockerBuildFollower(broken,
                java.time.Duration.ofMillis(1), java.time.Duration.ofMinutes(1), java.time.Duration.ofSeconds(10)).follow(view(java.util.UUID.randomUUID(),
                        io.buildgateway.builds.BuildStatus.QUEUED), stream)).hasMessage("bug");
    }

    /**
     * Heartbeats go by time, not by polls: with the database away each poll waits for a connection (seconds), and a
     * count of polls left the stream silent past a proxy's idle timeout (a review's find, 2026-12-07).
     */
    @Test
    void heartbeatsKeepComingWhileEachPollWaitsForTheDatabase() {
        DockerBuildFollower.Source slowAway = new DockerBuildFollower.Source() {
            @Override
            public io.buildgateway.builds.BuildSubmissions.LogRead readLog(java.util.UUID build, long offset) {
                try {
                    Thread.sleep(30); // a connection attempt that times out
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw databaseAway();
            }

            @Override
            public io.buildgateway.builds.BuildView get(java.util.UUID build) {
                throw databaseAway();
            }
        };
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        DockerBuildStream stream = new DockerBuildStream(out, tools.jackson.databind.json.JsonMapper.builder().build());

        new DockerBuildFollower(slowAway, java.time.Duration.ofMillis(1), java.time.Duration.ofMillis(600),
                java.time.Duration.ofMillis(100)).follow(view(java.util.UUID.randomUUID(),
                        io.buildgateway.builds.BuildStatus.QUEUED), stream);

        String written = out.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(written.split("\\{\"aux\":\\{\\}\\}", -1).length - 1).as(written)
                .isGreaterThanOrEqualTo(3);
        assertThat(written).contains("database cannot be reached");
    }

    /** A rejection whose findings cannot be read (the database away) ends with an error saying it was rejected. */
    @Test
    void aRejectionWhoseFindingsCannotBeReadSaysItWasRejected() {
        java.util.UUID id = java.util.UUID.randomUUID();
        DockerBuildFollower.Source away = failing(() -> databaseAway());
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        new DockerBuildFollower(away, java.time.Duration.ofMillis(1), java.time.Duration.ofMillis(50),
                java.time.Duration.ofSeconds(10)).rejected(id, new DockerBuildStream(out,
                        tools.jackson.databind.json.JsonMapper.builder().build()));
        assertThat(out.toString(java.nio.charset.StandardCharsets.UTF_8)).contains("rejected by policy (build " + id);
    }
}
