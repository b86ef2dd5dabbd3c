package io.buildgateway.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.hostpool.BuildHosts;
import io.buildgateway.support.Restartable;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Issue #17: the build host's dockerd killed while the gateway is retrying its push. The daemon makes the push (to the
 * token registry), so once it is dead no attempt can succeed whatever the registry does: the build fails "host lost"
 * at once instead of retrying until the build's deadline. Found by {@code bench/chaos.sh}'s dockerd-kill hook, whose
 * kill landed in a push: the build was still retrying "push to …: Connection refused" (the daemon's socket, not the
 * registry) three minutes later. Here the token registry is stopped during the step so that the push is in its
 * retries when the daemon is killed; both are started again in {@code finally}, the daemon by
 * {@code scripts/env.sh up} as {@code HostLostIT} does.
 */
class HostLostDuringPushIT extends RegistryOutages {

    @Test
    void aPushWhoseDaemonDiesEndsHostLostWithoutWaitingForTheDeadline() throws Exception {
        String token = builder("payments");
        String id = submitAndAwaitStep(token, "hostlost-push", "1");
        Restartable tokenRegistry = tokenRegistry();
        Restartable openRegistry = openRegistry();
        try {
            tokenRegistry.stop("TERM", Duration.ofSeconds(20));
            eventually("the push failing and retried", Duration.ofMinutes(1), () -> get(token, "/api/v1/builds/" + id
                    + "/logs").body().contains("Push to " + registryAddress() + " failed ("));
            killBuildHostDaemon();

            // The build's deadline is minutes away; the retries' backoff reaches the dead daemon within seconds.
            JsonNode failed = awaitFinal(token, id, Duration.ofSeconds(40));
            assertThat(failed.path("status").asString()).isEqualTo("FAILED");
            assertThat(failed.path("failureReason").asString())
                    .startsWith(BuildHosts.HOST_LOST + ": build host userns-1")
                    .contains("the build host's daemon stopped answering");
            assertThat(auditCount("build.succeeded", "build/" + id)).isZero();
            assertThat(count("select count(*) from image where build_id = ?::uuid", id)).isZero();
            assertThat(count("select count(*) from image_provenance where build_id = ?::uuid", id)).isZero();
        } finally {
            try {
                startAgain(tokenRegistry, openRegistry);
            } finally {
                startEnvironmentAgain();
                eventually("the host healthy again", Duration.ofSeconds(30),
                        () -> host("userns-1").path("healthy").asBoolean());
            }
        }
    }
}
