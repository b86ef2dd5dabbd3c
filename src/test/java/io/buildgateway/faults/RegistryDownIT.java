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

    /**
     * A retried naming is made only while this replica still holds the build's run lease, renewed right before it:
     * here the build's row is held locked from another connection (as a replica's transaction would), so the renewal
     * cannot be made, and once the registry is back a retry must still not name the image (no tag in the registry)
     * while the row stays held. Before, a retry named the image whatever had become of the lease: a replica whose
     * build was re-queued or failed by another moved a tag for a run that is not recorded. Released, the next retry
     * renews the lease and names the image, and the build SUCCEEDS once.
     */
    @Test
    void aRetriedNamingNamesNothingWhileTheBuildsLeaseCannotBeRenewed() throws Exception {
        String token = builder("payments");
        String repository = "payments/registry-lease";
        String id = submitAndAwaitStep(token, "registry-lease", "1");
        String leaseNotRenewed = "could not renew the build's lease";

        Restartable tokenRegistry = tokenRegistry();
        Restartable openRegistry = openRegistry();
        try (java.sql.Connection holder = java.util.Objects.requireNonNull(jdbc.getDataSource()).getConnection()) {
            holder.setAutoCommit(false);
            try {
                try {
                    openRegistry.stop("TERM", Duration.ofSeconds(20));
                    eventually("a failed attempt to name the image", Duration.ofMinutes(2),
                            () -> get(token, "/api/v1/builds/" + id + "/logs").body()
                                    .contains("Naming the image in " + registryAddress() + " failed ("));
                    try (java.sql.PreparedStatement lock = holder.prepareStatement(
                            "select id from build where id = ?::uuid for update")) {
                        lock.setString(1, id);
                        lock.executeQuery().close();
                    }
                } finally {
                    startAgain(tokenRegistry, openRegistry);
                }
                // The registry is back: wait for a retry made since (its lease not renewed), or the tag written.
                long before = occurrences(get(token, "/api/v1/builds/" + id + "/logs").body(), leaseNotRenewed);
                eventually("a retried naming after the registry came back", Duration.ofMinutes(2),
                        () -> occurrences(get(token, "/api/v1/builds/" + id + "/logs").body(), leaseNotRenewed)
                                > before || manifestStatus(repository, "1") == 200);
                String log = get(token, "/api/v1/builds/" + id + "/logs").body();
                assertThat(manifestStatus(repository, "1")).as("the tag, named while the lease could not be"
                        + " renewed: " + log).isEqualTo(404);
                assertThat(read(get(token, "/api/v1/builds/" + id)).path("status").asString()).isEqualTo("RUNNING");
            } finally {
                holder.rollback();
            }
        }

        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(done.path("status").asString()).as(log).isEqualTo("SUCCEEDED");
        assertThat(log).contains("Naming the image in " + registryAddress() + " failed (this replica "
                + leaseNotRenewed);
        assertRecordedOnce(id, done, repository, "1");
    }

    private static long occurrences(String text, String part) {
        return (text.length() - text.replace(part, "").length()) / part.length();
    }

    /**
     * A submission whose base's ONBUILD triggers must be read while the registry is down: 503 problem+json with
     * Retry-After, and nothing recorded (no build row, so no REJECTED build in the team's history); the refusal is
     * audited. Before (bench/chaos.sh, 2026-12-06) it was rejected by policy, 422, "could not be read (no reason
     * given)", a REJECTED build. Once the registry is back the same base is judged again: a tag the registry does not
     * have stays a finding of the policy's (422), as any answer of the registry's own does.
     */
    @Test
    void aSubmissionThatCannotReadItsBaseWhileTheRegistryIsDownIs503AndRecordsNothing() throws Exception {
        String token = builder("payments");
        // A tag no submission has asked about: its triggers are in no cache, so the registry is asked.
        String base = registryAddress() + "/base/busybox:unread-" + java.util.UUID.randomUUID().toString()
                .substring(0, 8);
        byte[] context = io.buildgateway.support.Tars.dockerfile("FROM " + base + "\nUSER 65534\n");

        Restartable tokenRegistry = tokenRegistry();
        Restartable openRegistry = openRegistry();
        Response refused;
        try {
            openRegistry.stop("TERM", Duration.ofSeconds(20));
            refused = submit(token, "image=payments/registry-unread&tag=1", context);
        } finally {
            startAgain(tokenRegistry, openRegistry);
        }
        assertThat(refused.status()).as(refused.body()).isEqualTo(503);
        assertThat(refused.header("Content-Type")).startsWith("application/problem+json");
        assertThat(refused.header("Retry-After")).isEqualTo("10");
        JsonNode problem = read(refused);
        assertThat(problem.path("type").asString()).endsWith("/registry-unavailable");
        assertThat(problem.path("detail").asString()).contains("'" + base + "'")
                .contains("no build was recorded").doesNotContain("Exception");
        assertThat(problem.has("buildId")).isFalse();
        assertThat(count("select count(*) from build where image = 'payments/registry-unread'")).isZero();
        // Audited in the per-second summary (every CI runner retries through an outage), outcome FAILED, naming it.
        assertThat(summarisedRefusals("registry-unavailable", "FAILED",
                d -> d.path("lastDetail").asString().contains("'" + base + "'"), 1)).isEqualTo(1);
        assertThat(count("select count(*) from audit_event where action = 'http.refused'"
                + " and details like '%registry-unavailable%'")).isZero();

        Response judged = submit(token, "image=payments/registry-unread&tag=2", context);
        assertThat(judged.status()).as(judged.body()).isEqualTo(422);
        assertThat(judged.body()).contains("base-image-triggers").contains("has no image");
    }
}
