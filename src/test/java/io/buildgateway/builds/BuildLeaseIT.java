package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The state machine against a real race: a lease another replica expires while the build still runs. */
class BuildLeaseIT extends IntegrationTest {

    @Test
    void aBuildFailedForItsLapsedLeaseStaysFailedWhenItsWorkerFinishesLate() {
        String token = builder("payments");
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                + "RUN echo started-leased-step && sleep 25 && echo done-leased-step\nUSER 65534\n");
        String id = read(submit(token, "image=payments/leased&tag=1&noCache=true", context)).path("id").asString();
        eventually("the step starting", Duration.ofMinutes(1),
                () -> get(token, "/api/v1/builds/" + id + "/logs").body().contains("started-leased-step"));

        // As the database sees it, the replica running the build stopped: its lease lapsed and is no longer its own
        // to renew. The lease recovery (every 15 s, on any replica) fails the build.
        jdbc.update("update build set lease_owner = 'a-replica-that-stopped', lease_expires_at = now() - interval"
                + " '1 second' where id = ?::uuid", id);
        JsonNode failed = awaitFinal(token, id, Duration.ofSeconds(40));
        assertThat(failed.path("status").asString()).isEqualTo("FAILED");
        assertThat(failed.path("failureReason").asString()).isEqualTo(Build.LEASE_EXPIRED);

        // The worker was not stopped (nothing told it): its build ends, and its outcome is refused by the
        // transition instead of overwriting the failure.
        eventually("the worker's late outcome", Duration.ofMinutes(3),
                () -> get(token, "/api/v1/builds/" + id + "/logs").body().contains("Not recorded: the build had"
                        + " already ended FAILED"));
        JsonNode after = read(get(token, "/api/v1/builds/" + id));
        assertThat(after.path("status").asString()).isEqualTo("FAILED");
        assertThat(after.path("failureReason").asString()).isEqualTo(Build.LEASE_EXPIRED);
        assertThat(after.path("imageRef").isNull() || after.path("imageRef").isMissingNode()).isTrue();
        assertThat(auditCount("build.failed", "build/" + id)).isEqualTo(1);
        assertThat(auditCount("build.succeeded", "build/" + id)).isZero();
        assertThat(jdbc.queryForObject("select lease_owner is null and lease_expires_at is null from build"
                + " where id = ?::uuid", Boolean.class, id)).isTrue();
    }
}
