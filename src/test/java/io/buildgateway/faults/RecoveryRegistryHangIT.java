package io.buildgateway.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Issue #17: the lease recovery of a lost build while the registry it asks hangs (its process stopped with SIGSTOP:
 * it accepts connections and never answers, as a wedged registry does). The recovery asks the registry whether the
 * lost run's image reached it; that call must not hold the build's row locked or a transaction open, so that a
 * cancel of the build answers at once and counts, and the build is decided once the registry answers. Before the
 * recovery took the lease over first (2026-12-06), it asked the registry inside the transaction that locked the row:
 * the row stayed locked, and a cancel waited, for as long as the registry hung (up to its 30 s timeout per request).
 */
class RecoveryRegistryHangIT extends RegistryOutages {

    @Test
    void aRegistryThatHangsDuringTheRecoveryLocksNoRowAndACancelMeanwhileCounts() throws Exception {
        String token = builder("payments");
        String tag = "hang-" + UUID.randomUUID().toString().substring(0, 8);
        String id = submitAndAwaitStep(token, "hang", tag, 20);

        // The open registry: where the gateway reads whether a lost run's image reached it.
        String pid = Files.readString(dir.resolve("registry.pid")).strip();
        try {
            run("kill", "-STOP", pid);
            loseLease(id, "a-replica-that-stopped", "");
            // The recovery looks every second (the suite's lease-check-interval): by now it asks the registry, which
            // hangs.
            sleep(3_000);

            // No row is locked while the registry is asked: NOWAIT would fail at once on a locked row.
            assertThat(jdbc.queryForList("select id from build where id = ?::uuid for update nowait", String.class,
                    id)).hasSize(1);
            long start = System.nanoTime();
            Response cancel = send(request(token, "/api/v1/builds/" + id + "/cancel")
                    .POST(HttpRequest.BodyPublishers.noBody()));
            long tookMillis = (System.nanoTime() - start) / 1_000_000;
            assertThat(cancel.status()).as(cancel.body()).isEqualTo(202);
            assertThat(tookMillis).as("the cancel did not wait for the hanging registry").isLessThan(5_000);

            // Not decided while the registry hangs; the recovery holds the lost build's lease and renews it.
            assertThat(owner(id)).contains("/recovery/");
            java.sql.Timestamp leaseBefore = lease(id);
            sleep(3_000);
            assertThat(lease(id)).as("the recovery's lease renewed").isAfter(leaseBefore);
            JsonNode during = read(get(token, "/api/v1/builds/" + id));
            assertThat(during.path("status").asString()).isEqualTo("RUNNING");
            assertThat(owner(id)).contains("/recovery/");
            assertThat(jdbc.queryForObject("select lease_expires_at > now() from build where id = ?::uuid",
                    Boolean.class, id)).isTrue();
        } finally {
            run("kill", "-CONT", pid);
        }

        JsonNode failed = awaitFinal(token, id, Duration.ofMinutes(1));
        assertThat(failed.path("status").asString()).isEqualTo("FAILED");
        assertThat(failed.path("failureReason").asString()).startsWith("replica lost")
                .contains("not re-queued: it had been asked to cancel");
        assertThat(auditCount("build.failed", "build/" + id)).isEqualTo(1);
        assertThat(auditCount("build.requeued", "build/" + id)).isZero();
        assertThat(jdbc.queryForObject("select details::jsonb ->> 'leaseOwner' from audit_event"
                + " where action = 'build.failed' and target = ?", String.class, "build/" + id))
                .as("the lost owner, not the recovery").isEqualTo("a-replica-that-stopped");
        assertThat(owner(id)).isNull();
        // The lost run's worker (this replica's, alive) found its lease gone and pushed nothing.
        eventually("the worker stopping", Duration.ofSeconds(30),
                () -> get(token, "/api/v1/builds/" + id + "/logs").body().contains("Stopped on this replica"));
        assertThat(get(token, "/api/v1/builds/" + id + "/logs").body()).doesNotContain("Pushing");
    }

    private java.sql.Timestamp lease(String id) {
        return jdbc.queryForObject("select lease_expires_at from build where id = ?::uuid", java.sql.Timestamp.class,
                id);
    }

    private String owner(String id) {
        return jdbc.queryForObject("select lease_owner from build where id = ?::uuid", String.class, id);
    }
}
