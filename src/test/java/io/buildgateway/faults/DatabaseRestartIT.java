package io.buildgateway.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Restartable;
import io.buildgateway.support.Tars;
import java.time.Duration;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Issue #17, "PostgreSQL restarted during builds and appends": the PostgreSQL this gateway uses (the embedded one
 * under the run's data folder) is really stopped (fast shutdown, every connection cut) while a build runs, and started
 * again on the same port and data. Meanwhile the API answers 503 problem+json with Retry-After; afterwards it answers
 * by itself, the running build ends recorded once, a build whose step failed during the outage has that outcome
 * recorded once after it, the audit chain is one valid chain, and a notification queued as
 * the database went arrives as one delivery, recorded once.
 */
class DatabaseRestartIT extends IntegrationTest {

    /** This class's gateway's data folder: a context of its own starts a PostgreSQL of its own there. */
    static final java.nio.file.Path OWN_DATA = java.nio.file.Path.of(DATA + "-db-restart").toAbsolutePath();

    /**
     * A gateway of its own (its data folder and PostgreSQL). A notification attempt whose outcome could not be
     * recorded is tried again when its lease ends: a lease of 21 s (the least allowed over the longest attempt,
     * 1 s + 10 × 1 s, against a receiver on loopback) rather than the default 165 s, which this test spent waiting,
     * and with it every test of the other JVM that must run alone.
     */
    @DynamicPropertySource
    static void shortNotificationLease(DynamicPropertyRegistry registry) {
        ownGateway(registry, OWN_DATA);
        registry.add("gateway.notifications.connect-timeout", () -> "1s");
        registry.add("gateway.notifications.response-timeout", () -> "1s");
        registry.add("gateway.notifications.lease", () -> "21s");
    }

    @Autowired
    MeterRegistry meters;

    @Autowired
    io.buildgateway.inventory.notify.Notifications notifications;

    /** Requests the gateway itself counted with this status (Spring's {@code http.server.requests}). */
    private long served(int status) {
        return meters.find("http.server.requests").tag("status", Integer.toString(status)).timers().stream()
                .mapToLong(Timer::count).sum();
    }

    @Test
    void whileTheDatabaseIsDownTheApiAnswers503AndAfterwardsNothingIsLostOrDoubled() throws Exception {
        String token = builder("payments");
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                + "RUN echo db-restart-step && sleep 10 && echo db-restart-done\nUSER 65534\n");
        String id = read(submit(token, "image=payments/db-restart&tag=1&noCache=true", context)).path("id")
                .asString();
        // A second build whose step fails while the database is away: its outcome meets the outage and is recorded
        // when the database is back (BuildDispatcher.finish's retry), once.
        String failing = read(submit(token, "image=payments/db-restart-fail&tag=1&noCache=true", Tars.dockerfile(
                "FROM " + registryAddress() + "/base/busybox\nRUN echo db-restart-fail-step && sleep 8 && exit 3\n"
                        + "USER 65534\n"))).path("id").asString();
        eventually("the step starting", Duration.ofMinutes(2),
                () -> get(token, "/api/v1/builds/" + id + "/logs").body().contains("db-restart-step"));
        eventually("the failing step starting", Duration.ofMinutes(2),
                () -> get(token, "/api/v1/builds/" + failing + "/logs").body().contains("db-restart-fail-step"));

        // A follow of the build's log open across the outage: it waits for the database and reaches the build's end.
        // Open (its answer's head received: the lines so far are sent at once) before the database goes.
        java.net.http.HttpResponse<java.io.InputStream> following = http.send(
                request(token, "/api/v1/builds/" + id + "/logs?follow=true").GET().build(),
                java.net.http.HttpResponse.BodyHandlers.ofInputStream());
        assertThat(following.statusCode()).isEqualTo(200);
        java.util.concurrent.CompletableFuture<String> follow = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> {
                    try (java.io.InputStream in = following.body()) {
                        return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                    } catch (java.io.IOException e) {
                        return "read failed: " + e;
                    }
                });

        Restartable postgres = Restartable.postgres(OWN_DATA.resolve("postgres"), OWN_DATA.resolve("postgres.log"));
        String url = "jdbc:postgresql://localhost:" + postgresPort() + "/postgres?user=postgres";
        long errorsBefore = served(500);
        long unavailableBefore = served(503);
        // A notification queued just before the outage (to team inv's webhook, a real receiver in this JVM): its
        // delivery is attempted while the database goes, and it must arrive, as one delivery, recorded once.
        String marker = "db-restart-" + java.util.UUID.randomUUID();
        notifications.notify("inv", "faults.db-restart", java.util.Map.of("marker", marker));
        try {
            postgres.stop("INT", Duration.ofSeconds(30));
            // A read (the token lookup in the security filter fails first), a submission, an admin call.
            Response readResponse = get(token, "/api/v1/builds/" + id);
            JsonNode read = problem(readResponse, 503);
            assertThat(read.path("type").asString()).endsWith("/database-unavailable");
            Response submitted = submit(token, "image=payments/db-restart-during&tag=1", context);
            problem(submitted, 503);
            Response admin = get(ADMIN_SECRET, "/api/v1/audit?limit=1");
            problem(admin, 503);
            for (Response r : java.util.List.of(readResponse, submitted, admin)) {
                assertThat(r.header("Retry-After")).as("Retry-After of %s", r.body()).isNotNull();
                assertThat(Long.parseLong(r.header("Retry-After"))).isPositive();
            }
            // The client saw 503s; the gateway must not have counted (and logged) any of them as a 500 on the way:
            // a token lookup failing in the security filter once was, before the error page made it a 503.
            // (A request is counted as it completes, just after its client has the answer.)
            eventually("the gateway counting the three 503s", Duration.ofSeconds(10),
                    () -> served(503) >= unavailableBefore + 3);
            assertThat(served(500)).as("requests the gateway counted as 500").isEqualTo(errorsBefore);
            // Long enough for the build's step to end while the database is away: the recording of its scan waits for
            // the database (DatabaseUnavailable's retry), so the image is named, and the outcome recorded, after it
            // is back. (The outcome's own retry, BuildDispatcher.finish, is not reached this way: the naming asks
            // the database first.)
            sleep(12_000);
        } finally {
            postgres.start(null, Duration.ofSeconds(60), () -> {
                try (var c = java.sql.DriverManager.getConnection(url)) {
                    return c.isValid(1);
                } catch (java.sql.SQLException e) {
                    return false;
                }
            });
        }

        // Recovered by itself: no restart of the gateway, the pool replaced its dead connections.
        eventually("the API answering again", Duration.ofSeconds(30),
                () -> get(token, "/api/v1/builds/" + id).status() == 200);
        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
        assertThat(done.path("status").asString()).as(get(token, "/api/v1/builds/" + id + "/logs").body())
                .isEqualTo("SUCCEEDED");
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(log).contains("db-restart-done");
        String followed = follow.get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(followed).as(followed).contains("db-restart-done").contains("Succeeded: ")
                .doesNotContain("log follow ended");
        // Nothing of the whole outage was a 500 to the gateway: not the filter's lookups, not the open follow.
        assertThat(served(500)).as("requests the gateway counted as 500").isEqualTo(errorsBefore);
        assertThat(log.split("Succeeded: ", -1)).hasSize(2);
        for (String action : new String[] {"build.queued", "build.started", "build.succeeded"}) {
            assertThat(auditCount(action, "build/" + id)).as(action).isEqualTo(1);
        }
        assertThat(auditCount("build.failed", "build/" + id)).isZero();
        // The failing build: its step ended during the outage, and its outcome was recorded after it, once.
        JsonNode failed = awaitFinal(token, failing, Duration.ofMinutes(1));
        String failedLog = get(token, "/api/v1/builds/" + failing + "/logs").body();
        assertThat(failed.path("status").asString()).as(failedLog).isEqualTo("FAILED");
        assertThat(failedLog).contains("The database cannot be reached: recording this build's outcome is retried");
        assertThat(failed.path("failureReason").asString()).as(failed.toString()).endsWith("exit code: 3");
        for (String action : new String[] {"build.queued", "build.started", "build.failed"}) {
            assertThat(auditCount(action, "build/" + failing)).as(action).isEqualTo(1);
        }
        assertThat(auditCount("build.succeeded", "build/" + failing)).isZero();
        assertThat(jdbc.queryForObject("select count(*) from image_provenance where build_id = ?::uuid", Long.class,
                id)).isEqualTo(1);
        // The submission refused with 503 left no record; the same submission now is accepted once.
        assertThat(jdbc.queryForObject("select count(*) from build where image = 'payments/db-restart-during'",
                Long.class)).isZero();
        assertThat(submit(token, "image=payments/db-restart-during&tag=1", context).status()).isEqualTo(202);
        assertThat(jdbc.queryForObject("select count(*) from build where image = 'payments/db-restart-during'",
                Long.class)).isEqualTo(1);
        JsonNode verify = read(get(ADMIN_SECRET, "/api/v1/audit/verify"));
        assertThat(verify.path("valid").asBoolean()).as(verify.toString()).isTrue();

        // The notification: one row, delivered in the end (an attempt whose outcome could not be recorded is tried
        // again after its lease: at least once, by design), and every copy the receiver got is that one delivery,
        // signed, so a receiver that deduplicates on X-BuildGateway-Delivery sees it once.
        eventually("the notification delivered and recorded", Duration.ofMinutes(3), () -> jdbc.queryForObject(
                "select count(*) from notification_delivery where body like ? and status = 'delivered'", Long.class,
                "%" + marker + "%") == 1);
        assertThat(jdbc.queryForObject("select count(*) from notification_delivery where body like ?", Long.class,
                "%" + marker + "%")).as("queued once").isEqualTo(1);
        java.util.List<io.buildgateway.support.Webhooks.Received> got = WEBHOOKS.received("faults.db-restart")
                .stream().filter(r -> r.body().contains(marker)).toList();
        assertThat(got).as("received").isNotEmpty();
        assertThat(got.stream().map(io.buildgateway.support.Webhooks.Received::delivery).distinct().count())
                .as("one delivery id for every copy").isEqualTo(1);
        assertThat(got).allMatch(r -> r.signedWith(io.buildgateway.support.Webhooks.SECRET));
    }

    /** The port, from postmaster.pid (its fourth line), as the restarted server will listen on it again. */
    private static int postgresPort() {
        try {
            return Integer.parseInt(java.nio.file.Files.readAllLines(OWN_DATA.resolve("postgres")
                    .resolve("postmaster.pid")).get(3).trim());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
