package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The state machine against a real race: a lease another replica expires while the build still runs on this one.
 * As the database sees it, the replica running the build stopped: its lease lapsed and is no longer its own to renew.
 * The worker is alive, though (a pause longer than the lease, a partition from the database): its next heartbeat
 * updates 0 rows, and it must stop the daemon's build and push, record, sign and publish nothing (issue #17).
 */
class BuildLeaseIT extends IntegrationTest {

    @Test
    void aWorkerWhoseLeaseLapsedStopsItsBuildAndPushesNothing() {
        String token = builder("payments");
        String tag = "lapsed-" + UUID.randomUUID().toString().substring(0, 8);
        String id = startSleeper(token, tag, 25);
        // The step's shell, as the host's process table shows it: the oracle for "the daemon's build stopped". (The
        // log names the step as BuildKit announces it, before its process may have started.)
        eventually("the step running on the host", Duration.ofSeconds(20),
                () -> run("ps", "-eo", "args").contains(tag));

        // What a lost run leaves on its host: an image labelled with its build id (FROM scratch, as HostLostIT plants).
        String socket = require("BGW_DOCKER_HOST").substring("unix://".length());
        run("sh", "-c", "printf 'FROM scratch\\nLABEL planted=1\\n' | DOCKER_BUILDKIT=0 docker -H unix://" + socket
                + " build -q --label io.buildgateway.build-id=" + id + " -");
        long seq = jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);

        // Its second attempt already (so the lease recovery fails it rather than re-queueing it).
        loseLease(id, "a-replica-that-stopped", "attempts = 2");
        JsonNode failed = awaitFinal(token, id, Duration.ofSeconds(20));
        assertThat(failed.path("status").asString()).isEqualTo("FAILED");
        assertThat(failed.path("failureReason").asString()).startsWith(Build.LEASE_EXPIRED)
                .contains("not re-queued: this was its attempt 2 of 2");

        // The worker learns it at its next heartbeat and stops the daemon's build: the step never ends.
        eventually("the worker stopping", Duration.ofSeconds(30),
                () -> log(token, id).contains("Stopped on this replica: its lease lapsed"));
        sleep(3_000);
        String log = log(token, id);
        assertThat(log).doesNotContainPattern("\\| #\\d+ done-leased-step").doesNotContain("Pushing")
                .doesNotContain("Succeeded").doesNotContain("Not recorded");
        JsonNode after = read(get(token, "/api/v1/builds/" + id));
        assertThat(after.path("status").asString()).isEqualTo("FAILED");
        assertThat(after.path("imageRef").isNull() || after.path("imageRef").isMissingNode()).isTrue();
        assertThat(auditCount("build.failed", "build/" + id)).isEqualTo(1);
        assertThat(auditCount("build.succeeded", "build/" + id)).isZero();
        assertThat(auditCount("build.requeued", "build/" + id)).isZero();
        assertThat(jdbc.queryForObject("select count(*) from image where build_id = ?::uuid", Long.class, id))
                .isZero();
        assertThat(jdbc.queryForObject("select count(*) from image_provenance where build_id = ?::uuid", Long.class,
                id)).isZero();
        assertThat(manifestStatus("payments/leased", tag)).as("nothing pushed").isEqualTo("404");
        assertThat(labelled(socket, "images", id)).as("nothing left on the host").isEqualTo("[]");
        // The lease recovery's removal is audited (before, 2026-12-07, only logged): the system, the host, the build.
        var removal = jdbc.queryForMap("select actor, details from audit_event where seq > ? and action ="
                + " 'build.leftovers-removed' and target = ?", seq, "build/" + id);
        assertThat(removal.get("actor")).isEqualTo("system");
        JsonNode details = json.readTree((String) removal.get("details"));
        assertThat(details.path("host").asString()).isNotBlank();
        assertThat(details.path("count").asInt()).isPositive();
        assertThat(details.path("builds").toString()).contains(id);
        assertThat(details.path("removed").get(0).path("kind").asString()).isIn("image", "container");
        // The daemon's build was stopped, not left to run out (its step would still sleep for ~20 s here): the
        // step's process is gone from the host.
        eventually("the step's process gone from the host", Duration.ofSeconds(10),
                () -> !run("ps", "-eo", "args").contains(tag));
    }

    @Test
    void aBuildWhoseReplicaWasLostIsQueuedAgainOnceAndRunsToItsEnd() {
        String token = builder("payments");
        String tag = "requeued-" + UUID.randomUUID().toString().substring(0, 8);
        String id = startSleeper(token, tag, 6);

        loseLease(id, "a-replica-that-stopped", "");
        eventually("the re-queue", Duration.ofSeconds(10), () -> auditCount("build.requeued", "build/" + id) == 1);
        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
        assertThat(done.path("status").asString()).as(log(token, id)).isEqualTo("SUCCEEDED");
        String log = log(token, id);
        assertThat(log).contains("Replica lost: the gateway replica running this build")
                .contains("queued again (attempt 2 of 2)").contains("Stopped on this replica");
        assertThat(jdbc.queryForObject("select attempts from build where id = ?::uuid", Integer.class, id))
                .isEqualTo(2);
        assertThat(auditCount("build.started", "build/" + id)).isEqualTo(2);
        assertThat(auditCount("build.succeeded", "build/" + id)).isEqualTo(1);
        assertThat(auditCount("build.failed", "build/" + id)).isZero();
        assertThat(log.split("Pushing ", -1)).as("pushed by the second attempt only").hasSize(2);
        assertThat(manifestStatus("payments/leased", tag)).isEqualTo("200");
    }

    /**
     * A lease recovery that died while it held a lost build (its own lease lapsed in turn) is taken over like any
     * lost lease, and the decision names the replica that was lost first, not the recovery.
     */
    @Test
    void aRecoveryThatDiedIsTakenOverAndTheDecisionNamesTheReplicaLostFirst() {
        String token = builder("payments");
        String tag = "orphan-" + UUID.randomUUID().toString().substring(0, 8);
        String id = startSleeper(token, tag, 25);

        loseLease(id, "a-dead-replica-1234/recovery/0badc0de",
                "lost_lease_owner = 'a-replica-that-stopped', attempts = 2");
        JsonNode failed = awaitFinal(token, id, Duration.ofSeconds(20));
        assertThat(failed.path("status").asString()).isEqualTo("FAILED");
        assertThat(failed.path("failureReason").asString()).startsWith(Build.LEASE_EXPIRED)
                .contains("not re-queued: this was its attempt 2 of 2");
        assertThat(jdbc.queryForObject("select details::jsonb ->> 'leaseOwner' from audit_event"
                + " where action = 'build.failed' and target = ?", String.class, "build/" + id))
                .isEqualTo("a-replica-that-stopped");
        assertThat(jdbc.queryForObject("select lost_lease_owner from build where id = ?::uuid", String.class, id))
                .as("cleared with the decision").isNull();
        eventually("the worker stopping", Duration.ofSeconds(30),
                () -> log(token, id).contains("Stopped on this replica: its lease lapsed"));
    }

    /**
     * A lost replica's build whose image is already in the registry (the push was done, the record was not) is not
     * run again: a second attempt would push a second image under the same tag. It fails with that reason, and the
     * tag keeps the image the first attempt pushed (issue #17: "nothing is pushed twice").
     */
    @Test
    void aBuildWhoseImageReachedTheRegistryIsNotQueuedAgain() throws Exception {
        String token = builder("payments");
        String tag = "reached-" + UUID.randomUUID().toString().substring(0, 8);
        String id = startSleeper(token, tag, 25);
        // What the lost replica had pushed before it died: an image under the build's name and tag, labelled with
        // its id, as the gateway labels every image it builds.
        java.nio.file.Path ctx = java.nio.file.Files.createTempDirectory("reached");
        java.nio.file.Files.writeString(ctx.resolve("Dockerfile"), "FROM scratch\nLABEL "
                + io.buildgateway.hostpool.BuildHosts.BUILD_ID_LABEL + "=" + id + "\n");
        // Pushed where the environment's CLI may push (a tag of its own in base/busybox, as InventoryIT does), then
        // put under the build's name through the registry's API: the CLI's token is scoped to the base images, as a
        // build host's token is to its build's name.
        String staged = registryAddress() + "/base/busybox:" + tag;
        environmentDocker("build", "-q", "--network", "none", "-t", staged, ctx.toString());
        assertThat(environmentDocker("push", staged)).contains("digest: sha256:");
        copyManifest("base/busybox", tag, "payments/leased", tag);
        String pushed = registryDigest("payments/leased", tag);
        assertThat(pushed).startsWith("sha256:");

        loseLease(id, "a-replica-that-stopped", "");
        JsonNode failed = awaitFinal(token, id, Duration.ofSeconds(20));
        assertThat(failed.path("status").asString()).isEqualTo("FAILED");
        assertThat(failed.path("failureReason").asString()).startsWith(Build.LEASE_EXPIRED)
                .contains("not re-queued: its image had reached the registry as payments/leased:" + tag);
        assertThat(auditCount("build.requeued", "build/" + id)).isZero();
        assertThat(auditCount("build.failed", "build/" + id)).isEqualTo(1);
        eventually("the worker stopping", Duration.ofSeconds(30),
                () -> log(token, id).contains("Stopped on this replica: its lease lapsed"));
        sleep(3_000);
        assertThat(log(token, id)).doesNotContain("Pushing");
        assertThat(registryDigest("payments/leased", tag)).as("the tag keeps what was pushed before").isEqualTo(pushed);
        assertThat(jdbc.queryForObject("select count(*) from image_provenance where build_id = ?::uuid", Long.class,
                id)).isZero();
    }

    private String startSleeper(String token, String tag, int seconds) {
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                + "RUN echo started-leased-step " + tag + " && sleep " + seconds + " && echo done-leased-step\n"
                + "USER 65534\n");
        String id = read(submit(token, "image=payments/leased&tag=" + tag + "&noCache=true", context)).path("id")
                .asString();
        eventually("the step starting", Duration.ofMinutes(1), () -> log(token, id).contains("started-leased-step"));
        return id;
    }

    private String log(String token, String id) {
        return get(token, "/api/v1/builds/" + id + "/logs").body();
    }

    static String manifestStatus(String repository, String tag) {
        return run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                "Accept: application/vnd.oci.image.manifest.v1+json,"
                        + " application/vnd.docker.distribution.manifest.v2+json",
                "http://" + registryAddress() + "/v2/" + repository + "/manifests/" + tag).strip();
    }
}
