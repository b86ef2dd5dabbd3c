package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.hostpool.BuildHost;
import io.buildgateway.hostpool.BuildHosts;
import io.buildgateway.hostpool.BuildJob;
import io.buildgateway.hostpool.HostBuild;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;

/**
 * A lost run whose replica is paused (kill -STOP), not dead: its connection to the host's daemon stays open, so the
 * daemon never stops its build, and the step would go on after the lease recovery decided the build. The recovery
 * cancels the run's daemon build by its id ({@link BuildHosts#daemonBuildId}: the build's id and the lost attempt)
 * and audits it.
 *
 * <p>The paused replica is this test: it builds on the suite's {@code userns-1} host through the host pool, as a
 * replica's worker does (so the build runs under the id the gateway gives it), and never closes its request; the
 * build's row says another replica ran it, on its second attempt (so the recovery fails it rather than re-queueing
 * it), and its lease is made to lapse once the step runs.
 */
class LostRunDaemonBuildIT extends IntegrationTest {

    private static final String HOST = "userns-1";

    @Autowired
    BuildHosts hosts;

    @Test
    void theRecoveryCancelsALostRunsDaemonBuildThatItsPausedReplicaKeepsOpen() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        UUID id = UUID.randomUUID();
        String base = registryAddress() + "/base/busybox:latest";
        // a sleep of a number of its own, so that ps tells this step's process from any other
        String sleep = "sleep " + (900_000 + (int) (Math.abs(System.nanoTime()) % 90_000));
        Path context = Files.createTempFile("lost-run", ".tar");
        // a plain ustar context, as the gateway's intake hands a build's context to the host pool
        Files.write(context, Tars.ustar().file("Dockerfile", "FROM " + base + "\nRUN echo lost-run-step-started && "
                + sleep + "\n").bytes());
        BuildJob job = new BuildJob(id.toString(), HOST, context, "Dockerfile", null, Map.of(),
                Map.of(BuildHosts.BUILD_ID_LABEL, id.toString()), true, "payments/lostrun", run, "payments", base,
                List.of(base));
        jdbc.update("insert into build (id, image, tag, team, status, requested_by, requested_at, started_at, host,"
                + " context_digest, context_size, dockerfile, build_args, labels, allowed_pulls, attempts,"
                + " lease_owner, lease_expires_at) values (?, 'payments/lostrun', ?, 'payments', 'RUNNING', 'it', now(),"
                + " now(), ?, ?, 0, 'Dockerfile', '{}', '{}', ?, 2, 'a-paused-replica', ?)", id, run, HOST,
                "sha256:" + "0".repeat(64), json.writeValueAsString(List.of(base)),
                Timestamp.from(Instant.now().plusSeconds(3600)));
        long seq = jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);
        AtomicBoolean cleanUp = new AtomicBoolean(); // set only after the assertions: a failed test stops its step
        ExecutorService paused = Executors.newSingleThreadExecutor();
        Future<HostBuild> building = null;
        BuildHost host = hosts.lease(job);
        try {
            StringBuilder log = new StringBuilder();
            Future<HostBuild> started = paused.submit(() -> host.build(2, s -> append(log, s), s -> append(log, s),
                    cleanUp::get, Instant.now().plus(Duration.ofMinutes(10))));
            building = started;
            eventually("the step running on the host", Duration.ofMinutes(1), () -> running(sleep) || started.isDone());
            assertThat(started.isDone()).as("the build ended before its step ran: " + log(log)).isFalse();

            loseLease(id.toString(), "a-paused-replica", "");
            eventually("the recovery's decision", Duration.ofSeconds(30), () -> "FAILED".equals(jdbc.queryForObject(
                    "select status from build where id = ?", String.class, id)));

            eventually("the step's process gone from the host", Duration.ofSeconds(10), () -> !running(sleep));
            HostBuild ended = building.get(30, TimeUnit.SECONDS);
            assertThat(ended.imageId()).isNull();
            assertThat(ended.ended()).as(log(log)).isNotNull();
            assertThat(log(log)).contains("lost-run-step-started");

            Map<String, Object> event = jdbc.queryForMap("select actor, outcome, details from audit_event"
                    + " where seq > ? and action = 'build.host-run-cancelled' and target = ?", seq, "build/" + id);
            assertThat(event.get("actor")).isEqualTo("system");
            assertThat(event.get("outcome")).isEqualTo("SUCCESS");
            JsonNode details = json.readTree((String) event.get("details"));
            assertThat(details.path("host").asString()).isEqualTo(HOST);
            assertThat(details.path("daemonBuildId").asString()).isEqualTo(id + "-2");
            assertThat(details.path("attempt").asInt()).isEqualTo(2);
            assertThat(details.path("builder").asString()).isEqualTo("buildkit");
            assertThat(details.has("error")).isFalse();
        } finally {
            cleanUp.set(true);
            if (building != null) {
                building.get(30, TimeUnit.SECONDS);
            }
            paused.shutdownNow();
            host.close();
            jdbc.update("delete from build where id = ?", id);
            Files.deleteIfExists(context);
        }
    }

    private static void append(StringBuilder log, String s) {
        synchronized (log) {
            log.append(s);
        }
    }

    private static String log(StringBuilder log) {
        synchronized (log) {
            return log.toString();
        }
    }

    /** Whether the host runs {@code command} as a process of its own (the step's sleep). */
    private static boolean running(String command) {
        return Arrays.stream(run("ps", "-eo", "args").split("\n")).anyMatch(l -> l.strip().equals(command));
    }
}
