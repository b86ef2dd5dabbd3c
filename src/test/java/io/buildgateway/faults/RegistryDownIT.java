package io.buildgateway.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.Restartable;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Issue #17, the registry down during a push and back within the build's deadline ({@link RegistryOutages}): the push,
 * or the naming of the checked image, is retried with backoff and the build SUCCEEDS once, with one image. On the
 * suite's own gateway (its 5-minute deadline is not reached), so no Spring context of its own is started.
 */
class RegistryDownIT extends RegistryOutages {

    @Test
    void aPushThatFindsTheRegistryDownIsRetriedAndSucceedsOnceItIsBack() throws Exception {
        String token = builder("payments");
        String id = submitAndAwaitStep(token, "registry-down", "1");

        Restartable tokenRegistry = tokenRegistry();
        Restartable openRegistry = openRegistry();
        try {
            tokenRegistry.stop("TERM", Duration.ofSeconds(20));
            openRegistry.stop("TERM", Duration.ofSeconds(20));
            eventually("a failed push attempt", Duration.ofMinutes(3),
                    () -> get(token, "/api/v1/builds/" + id + "/logs").body().contains("; attempt 2 in "));
            assertThat(read(get(token, "/api/v1/builds/" + id)).path("status").asString()).isEqualTo("RUNNING");
        } finally {
            startAgain(tokenRegistry, openRegistry);
        }

        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(4));
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(done.path("status").asString()).as(log).isEqualTo("SUCCEEDED");
        assertThat(log).contains("Push to " + registryAddress() + " failed (");
        assertRecordedOnce(id, done, "payments/registry-down", "1");
    }

    /**
     * The registry goes away between the quarantine push and the naming: the open registry (where the gateway names
     * the checked image) is stopped while the step runs, so the daemon's quarantine push to the token registry
     * succeeds and the naming finds no registry. It is retried; once the registry is back the build SUCCEEDS once,
     * with one image.
     */
    @Test
    void theNamingOfTheCheckedImageIsRetriedWhenTheRegistryIsAwayAndTheBuildSucceedsOnce() throws Exception {
        String token = builder("payments");
        String id = submitAndAwaitStep(token, "registry-naming", "1");

        Restartable tokenRegistry = tokenRegistry();
        Restartable openRegistry = openRegistry();
        try {
            openRegistry.stop("TERM", Duration.ofSeconds(20));
            eventually("a failed attempt to name the image", Duration.ofMinutes(2),
                    () -> get(token, "/api/v1/builds/" + id + "/logs").body()
                            .contains("Naming the image in " + registryAddress() + " failed ("));
            assertThat(read(get(token, "/api/v1/builds/" + id)).path("status").asString()).isEqualTo("RUNNING");
        } finally {
            startAgain(tokenRegistry, openRegistry);
        }

        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(done.path("status").asString()).as(log).isEqualTo("SUCCEEDED");
        // the quarantine push went through at once; only the naming was tried again
        assertThat(log).doesNotContain("Push to " + registryAddress() + " failed (");
        assertRecordedOnce(id, done, "payments/registry-naming", "1");
    }
}
