package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.EnvironmentUse;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;

/**
 * Issue #17: two gateway replicas on one PostgreSQL. Replica A is this JVM's gateway (the suite's, with its embedded
 * PostgreSQL); replica B is a second JVM of the gateway started from the same classes, connected to A's database as
 * the least-privilege login, sharing the data folder (contexts, logs, signing key: the ReadWriteMany volume of a
 * real deployment) and the policy folder, with a short lease (5 s) so that its loss is decided quickly.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@EnvironmentUse(holds = EnvironmentUse.EGRESS_RELAY)
class ReplicasIT extends IntegrationTest {

    private static final Duration B_LEASE = Duration.ofSeconds(5);

    @Autowired
    EmbeddedPostgres postgres;

    @Autowired
    io.buildgateway.egress.EgressProxy egressA;
    @Autowired
    io.micrometer.core.instrument.MeterRegistry metersA;
    @Autowired
    BuildDispatcher dispatcherA;

    private Process replicaB;
    private int portB;
    /** Replica B's egress listener (gateway.egress.listen on loopback; its peer address by default). */
    private int egressPortB;
    private Path logB;

    @BeforeAll
    void startReplicaB() throws Exception {
        portB = freePort();
        egressPortB = freePort();
        logB = DATA.resolve("replica-b.log");
        String classpath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> !e.endsWith("test-classes")).collect(Collectors.joining(File.pathSeparator));
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Xmx768m", "-XX:TieredStopAtLevel=1", "-cp", classpath,
                "io.buildgateway.BuildGatewayApplication"));
        String scans = Files.isWritable(Path.of("/dev/shm")) ? "/dev/shm/bgw-it-b-" + ProcessHandle.current().pid()
                : DATA.resolve("scans-b").toString();
        for (String[] p : new String[][] {
            {"server.port", Integer.toString(portB)},
            {"spring.datasource.url", "jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres"},
            {"spring.datasource.username", "build_gateway"},
            {"spring.datasource.password", ""},
            {"spring.flyway.user", "postgres"},
            {"spring.flyway.password", ""},
            {"gateway.data-dir", DATA.toString()},
            {"gateway.policy.dir", POLICY.toString()},
            {"gateway.policy.reload-interval", "300ms"},
            {"gateway.policy.approved-base-prefixes[0]", registryAddress() + "/base/"},
            {"gateway.auth.bootstrap-token", ADMIN_SECRET},
            // B's metrics for the relay test: the same scrape token as A's
            {"gateway.auth.scrape-token", SCRAPE_SECRET},
            {"gateway.hostpool.registry.address", registryAddress()},
            {"gateway.hostpool.registry.tokens.key-path", require("BGW_TOKEN_KEY")},
            {"gateway.hostpool.registry.tokens.certificate-path", require("BGW_TOKEN_CERT")},
            {"gateway.hostpool.registry.tokens.issuer", require("BGW_TOKEN_ISSUER")},
            {"gateway.hostpool.registry.tokens.service", require("BGW_TOKEN_SERVICE")},
            {"gateway.hostpool.hosts[0].name", "userns-1"},
            {"gateway.hostpool.hosts[0].endpoint", require("BGW_DOCKER_HOST")},
            {"gateway.hostpool.hosts[0].capacity", "2"},
            {"gateway.hostpool.hosts[0].egress-address", System.getenv().getOrDefault("BGW_EGRESS_STEP_ADDRESS", "")},
            {"gateway.egress.listen", "127.0.0.1:" + egressPortB},
            {"gateway.hostpool.health-interval", "2s"},
            {"gateway.hostpool.build.timeout", "5m"},
            {"gateway.builds.dispatch-interval", "200ms"},
            {"gateway.builds.lease", B_LEASE.toSeconds() + "s"},
            {"gateway.builds.lease-check-interval", "1s"},
            {"gateway.replica-name", "replica-b"},
            {"gateway.scanning.work-dir", scans},
            {"gateway.scanning.max-files", "20000"},
            {"gateway.intake.max-context-size", "32MB"},
            {"gateway.intake.max-uncompressed-size", "64MB"},
            {"gateway.intake.max-entries", "2000"},
            {"gateway.web.refusal-limit.limit", "1000000"},
            {"gateway.warmup.max-duration", "3s"},
            {"gateway.warmup.rounds", "10"},
            // The same webhook as replica A's (team inv): a notification is sent by whichever replica records it.
            {"gateway.notifications.webhooks[0].team", "inv"},
            {"gateway.notifications.webhooks[0].url", WEBHOOKS.url()},
            {"gateway.notifications.webhooks[0].secret", io.buildgateway.support.Webhooks.SECRET},
            {"gateway.notifications.poll-interval", "200ms"},
            // The scheduled base-image watch every second on this replica (5 min by default, as on replica A), so
            // that it runs while A's and B's explicit refreshes do (aMovedBaseIsRecordedOnceWhenBothReplicasWatch).
            {"gateway.inventory.base-watch-interval", "1s"},
        }) {
            command.add("--" + p[0] + "=" + p[1]);
        }
        replicaB = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logB.toFile())).start();
        long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
        while (true) {
            if (!replicaB.isAlive()) {
                throw new IllegalStateException("replica B exited " + replicaB.exitValue() + "; " + tail());
            }
            try {
                if (send(HttpRequest.newBuilder(URI.create(baseB() + "/actuator/health/readiness")).GET())
                        .status() == 200) {
                    break;
                }
            } catch (UncheckedIOException notYet) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("replica B did not become ready; " + tail());
            }
            sleep(500);
        }
    }

    @AfterAll
    void stopReplicaB() {
        if (replicaB != null && replicaB.isAlive()) {
            replicaB.destroy();
        }
    }

    @Test
    @Order(1)
    void buildsSpreadOverBothReplicasEachRunsOnceAndTheAuditStaysOneChain() {
        String token = builder("payments");
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                + "RUN echo spread > /spread.txt\nUSER 65534\n");
        List<String> ids = new ArrayList<>();
        // Waves of four until both replicas have claimed some: which replica claims a queued build is a race, and on
        // a loaded machine one replica took all eight of a single batch. At least 8 builds, at most 20.
        for (int wave = 0; wave < 5; wave++) {
            for (int i = 0; i < 4; i++) {
                String base = i % 2 == 0 ? base() : baseB();
                Response r = send(HttpRequest.newBuilder(URI.create(base + "/api/v1/builds?image=payments/spread&tag=s"
                        + wave + "-" + i + "&noCache=true")).header("Authorization", "Bearer " + token)
                        .header("Content-Type", "application/x-tar")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(context)));
                assertThat(r.status()).as(r.body()).isEqualTo(202);
                ids.add(read(r).path("id").asString());
            }
            for (String id : ids) {
                awaitFinal(token, id, Duration.ofMinutes(5));
            }
            if (ids.size() >= 8 && startedBy(ids, "replica-a-") > 0 && startedBy(ids, "replica-b-") > 0) {
                break;
            }
        }
        for (String id : ids) {
            // Read through the other replica half of the time: the record and the log are shared.
            JsonNode done = awaitFinal(token, id, Duration.ofMinutes(5));
            assertThat(done.path("status").asString()).as(id).isEqualTo("SUCCEEDED");
            assertThat(getB(token, "/api/v1/builds/" + id + "/logs").body()).contains("Succeeded: ");
            assertThat(auditCount("build.started", "build/" + id)).as("started once").isEqualTo(1);
            assertThat(auditCount("build.succeeded", "build/" + id)).as("succeeded once").isEqualTo(1);
            assertThat(jdbc.queryForObject("select count(*) from image_provenance where build_id = ?::uuid",
                    Long.class, id)).as("signed once").isEqualTo(1);
        }
        long onB = startedBy(ids, "replica-b-");
        long onA = startedBy(ids, "replica-a-");
        assertThat(onA + onB).isEqualTo(ids.size());
        assertThat(onA).as("builds claimed by replica A").isPositive();
        assertThat(onB).as("builds claimed by replica B").isPositive();

        long lastOfTheBuilds = jdbc.queryForObject("select max(seq) from audit_event", Long.class);
        JsonNode verifyA = read(get(ADMIN_SECRET, "/api/v1/audit/verify"));
        JsonNode verifyB = read(getB(ADMIN_SECRET, "/api/v1/audit/verify"));
        assertThat(verifyA.path("valid").asBoolean()).as(verifyA.toString()).isTrue();
        assertThat(verifyB.path("valid").asBoolean()).as(verifyB.toString()).isTrue();
        // Both verified the whole chain, this test's events included: every event up to the last of them.
        assertThat(verifyA.path("events").asLong()).isGreaterThanOrEqualTo(lastOfTheBuilds);
        assertThat(verifyB.path("events").asLong()).isGreaterThanOrEqualTo(lastOfTheBuilds);
    }

    @Test
    @Order(2)
    void aPolicyChangeIsRecordedOnceThoughBothReplicasLoadIt() throws IOException {
        Path file;
        try (var files = Files.list(POLICY)) {
            file = files.filter(f -> f.toString().endsWith(".yaml")).sorted().findFirst().orElseThrow();
        }
        String original = Files.readString(file);
        String before = read(get(ADMIN_SECRET, "/api/v1/policy")).path("digest").asString();
        long seq = jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);
        try {
            Files.writeString(file, original + "\n# ReplicasIT " + UUID.randomUUID() + "\n");
            eventually("both replicas loading the change", Duration.ofSeconds(20), () -> {
                String a = read(get(ADMIN_SECRET, "/api/v1/policy")).path("digest").asString();
                String b = read(getB(ADMIN_SECRET, "/api/v1/policy")).path("digest").asString();
                return !a.equals(before) && a.equals(b);
            });
            sleep(2_000);
            assertThat(jdbc.queryForObject("select count(*) from audit_event where action = 'policy.loaded'"
                    + " and seq > ?", Long.class, seq)).as("one policy.loaded for one change").isEqualTo(1);
        } finally {
            Files.writeString(file, original);
        }
        eventually("both replicas back on the policy", Duration.ofSeconds(20),
                () -> read(get(ADMIN_SECRET, "/api/v1/policy")).path("digest").asString().equals(before)
                        && read(getB(ADMIN_SECRET, "/api/v1/policy")).path("digest").asString().equals(before));
        sleep(2_000);
        assertThat(jdbc.queryForObject("select count(*) from audit_event where action = 'policy.loaded'"
                + " and seq > ?", Long.class, seq)).as("and one for the change back").isEqualTo(2);
    }

    /**
     * A base tag moves; replica B's scheduled watch finds it, then both replicas refresh at once while that schedule
     * runs on: the move is recorded, audited, notified and rebuilt once (docs/operations.md, "Several replicas").
     * The image is team inv's, whose webhook both replicas have, and the team's policy asks for automatic rebuilds.
     */
    @Test
    @Order(3)
    void aMovedBaseIsRecordedOnceWhenBothReplicasWatch() throws IOException {
        String repository = "base/replicas-watch";
        String tag = "w" + UUID.randomUUID().toString().substring(0, 8);
        copyManifest("base/busybox", "latest", repository, tag);
        String token = builder("inv");
        String id = read(submit(token, "image=inv/watched&tag=" + tag, Tars.dockerfile("FROM " + registryAddress()
                + "/" + repository + ":" + tag + "\nUSER 65534\n"))).path("id").asString();
        awaitSucceeded(token, id, Duration.ofMinutes(3));
        String security = token(Set.of("SECURITY"), Set.of());
        assertThat(postJson(security, "/api/v1/base-images/refresh", "").status()).isEqualTo(200);
        Path autoRebuild = POLICY.resolve("zz-replicas-auto-rebuild.yaml");
        String policyBefore = read(get(ADMIN_SECRET, "/api/v1/policy")).path("digest").asString();
        Files.writeString(autoRebuild, "teams:\n  inv:\n    autoRebuild: true\n");
        try {
            eventually("both replicas loading the auto-rebuild policy", Duration.ofSeconds(20), () -> {
                String a = read(get(ADMIN_SECRET, "/api/v1/policy")).path("digest").asString();
                return !a.equals(policyBefore)
                        && a.equals(read(getB(ADMIN_SECRET, "/api/v1/policy")).path("digest").asString());
            });
            aMovedBaseIsRecordedOnce(repository, tag, security, id);
        } finally {
            Files.delete(autoRebuild);
        }
    }

    private void aMovedBaseIsRecordedOnce(String repository, String tag, String security, String built) {
        String ref = registryAddress() + "/" + repository + ":" + tag;
        long seq = jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);
        copyManifest("base/debian", "12", repository, tag);
        // Replica B's scheduled watch (every second) finds the move by itself: recorded by the system, not a caller.
        eventually("the scheduled watch recording the move", Duration.ofSeconds(30), () -> jdbc.queryForObject(
                "select count(*) from base_image_change where ref = ?", Long.class, ref) > 0);
        assertThat(jdbc.queryForList("select actor from audit_event where action = 'base-image.changed'"
                + " and target = ? and seq > ?", String.class, "base/" + ref, seq)).containsExactly("system");
        // Then both replicas are asked at once, while B's schedule goes on running: nothing is recorded again.
        CompletableFuture<Response> a = CompletableFuture.supplyAsync(
                () -> postJson(security, "/api/v1/base-images/refresh", ""));
        CompletableFuture<Response> b = CompletableFuture.supplyAsync(() -> send(HttpRequest.newBuilder(
                URI.create(baseB() + "/api/v1/base-images/refresh")).header("Authorization", "Bearer " + security)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(""))));
        assertThat(a.join().status()).as(a.join().body()).isEqualTo(200);
        assertThat(b.join().status()).as(b.join().body()).isEqualTo(200);
        sleep(3_000); // about three more runs of B's schedule
        assertThat(jdbc.queryForObject("select count(*) from base_image_change where ref = ?", Long.class, ref))
                .isEqualTo(1);
        assertThat(jdbc.queryForObject("select count(*) from audit_event where action = 'base-image.changed'"
                + " and target = ?", Long.class, "base/" + ref)).isEqualTo(1);
        // Notified once: one notification queued for the team, delivered to its webhook as one delivery.
        assertThat(jdbc.queryForObject("select count(*) from notification_delivery where team = 'inv' and event ="
                + " 'image.rebuild-needed' and body like ?", Long.class, "%" + ref + "%")).isEqualTo(1);
        eventually("the notification received", Duration.ofSeconds(30), () -> WEBHOOKS.received(
                "image.rebuild-needed").stream().anyMatch(r -> r.body().contains(ref)));
        assertThat(WEBHOOKS.received("image.rebuild-needed").stream().filter(r -> r.body().contains(ref))
                .map(io.buildgateway.support.Webhooks.Received::delivery).distinct().count()).isEqualTo(1);
        // Rebuilt once: one automatic rebuild of the image, not one per replica.
        assertThat(jdbc.queryForObject("select count(*) from build where rebuild_of = ?::uuid", Long.class, built))
                .isEqualTo(1);
        String rebuild = jdbc.queryForObject("select id::text from build where rebuild_of = ?::uuid", String.class,
                built);
        awaitSucceeded(security, rebuild, Duration.ofMinutes(3));
        assertThat(jdbc.queryForObject("select count(*) from build where rebuild_of = ?::uuid", Long.class, built))
                .as("and no second one later").isEqualTo(1);
    }

    /**
     * Controlled egress with two replicas (docs/egress.md, "Several replicas"): the build host's egress path is
     * pointed at the replica that did NOT claim the build, so every proxy connection of its RUN step lands there and
     * must be relayed to the replica holding the session (without the relay: 407, the step fails).
     */
    @Test
    @Order(4)
    void anEgressBuildsProxyConnectionsLandingOnTheOtherReplicaAreRelayedToItsHolder() throws Exception {
        String team = "egrelay";
        String token = builder(team);
        String mirror = require("BGW_MIRROR_URL");
        Path policyFile = POLICY.resolve("zz-replicas-egress.yaml");
        String before = read(get(token, "/api/v1/policy")).path("digest").asString();
        Files.writeString(policyFile, "teams:\n  " + team + ":\n    egress:\n      - \"" + mirror + "/debian/\"\n");
        try {
            eventually("both replicas loading the egress policy", Duration.ofSeconds(20), () -> {
                String a = read(get(token, "/api/v1/policy")).path("digest").asString();
                return !a.equals(before) && a.equals(read(getB(token, "/api/v1/policy")).path("digest").asString());
            });
            double relaysOnA = relaysA();
            double relaysOnB = relaysB();
            // the step waits a little, so that the egress path points at the other replica before it connects
            byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                    + "RUN sleep 3 && wget -q -O - " + mirror + "/debian/dists/stable/Release"
                    + " | grep -q 'build-gateway test mirror'\nUSER 65534\n");
            Response r = send(HttpRequest.newBuilder(URI.create(base() + "/api/v1/builds?image=" + team
                    + "/app&tag=relay&noCache=true")).header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/x-tar").POST(HttpRequest.BodyPublishers.ofByteArray(context)));
            assertThat(r.status()).as(r.body()).isEqualTo(202);
            String id = read(r).path("id").asString();
            String[] owner = new String[1];
            eventually("the build being claimed", Duration.ofSeconds(60), () -> (owner[0] = jdbc.queryForObject(
                    "select lease_owner from build where id = ?::uuid", String.class, id)) != null);
            boolean heldByA = owner[0].startsWith("replica-a");
            int other = heldByA ? egressPortB : egressA.listenPort();
            Files.writeString(Path.of(require("BGW_EGRESS_PORT_FILE")), Integer.toString(other));
            JsonNode done = awaitFinal(token, id, Duration.ofMinutes(5));
            String log = get(token, "/api/v1/builds/" + id + "/logs").body();
            assertThat(done.path("status").asString()).as(log).isEqualTo("SUCCEEDED");
            // the holder recorded the fetch once, the session row is closed, and it named the holder's listener
            assertThat(jdbc.queryForObject("select count(*) from build_fetch where build_id = ?::uuid and url = ?",
                    Long.class, id, mirror + "/debian/dists/stable/Release")).isEqualTo(1);
            assertThat(auditCount("build.fetch", "build/" + id)).isEqualTo(1);
            assertThat(jdbc.queryForObject("select peer_address from egress_session where build_id = ?::uuid"
                    + " and closed_at is not null", String.class, id))
                    .isEqualTo("127.0.0.1:" + (heldByA ? egressA.listenPort() : egressPortB));
            // whichever replica holds it, the other relayed the step's connections (A's meter, B's scrape), and
            // the holder relayed none: the session was its own
            double relayedByA = relaysA() - relaysOnA;
            double relayedByB = relaysB() - relaysOnB;
            assertThat(heldByA ? relayedByB : relayedByA).as("connections relayed by the replica not holding the"
                    + " build (held by " + owner[0] + ")").isPositive();
            assertThat(heldByA ? relayedByA : relayedByB).as("connections relayed by the holder " + owner[0])
                    .isZero();
            System.out.println("ReplicasIT: egress build " + id + " held by " + owner[0] + ", its step's proxy"
                    + " connections relayed by the other replica");
        } finally {
            Files.deleteIfExists(policyFile);
        }
    }

    @Test
    @Order(5)
    void aReplicaKilledMidBuildHasItsBuildQueuedAgainAndRunOnceToItsEnd() {
        String token = builder("payments");
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                + "RUN echo started-killed-step && sleep 15 && echo done-killed-step\nUSER 65534\n");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Response r = send(HttpRequest.newBuilder(URI.create(baseB() + "/api/v1/builds?image=payments/killed&tag=k"
                    + i + "-" + UUID.randomUUID().toString().substring(0, 6) + "&noCache=true"))
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/x-tar")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(context)));
            assertThat(r.status()).as(r.body()).isEqualTo(202);
            ids.add(read(r).path("id").asString());
        }
        String[] victim = new String[1];
        eventually("a build running on replica B", Duration.ofMinutes(2), () -> {
            for (String id : ids) {
                String owner = jdbc.queryForObject("select lease_owner from build where id = ?::uuid", String.class,
                        id);
                if (owner != null && owner.startsWith("replica-b-")
                        && get(token, "/api/v1/builds/" + id + "/logs").body().contains("started-killed-step")) {
                    victim[0] = id;
                    return true;
                }
            }
            return false;
        });
        String id = victim[0];
        run("kill", "-9", Long.toString(replicaB.pid()));
        long killed = System.nanoTime();
        eventually("the lost build queued again", Duration.ofSeconds(30),
                () -> auditCount("build.requeued", "build/" + id) == 1);
        long recoveredMillis = (System.nanoTime() - killed) / 1_000_000;
        System.out.println("ReplicasIT: build " + id + " re-queued " + recoveredMillis + " ms after kill -9 of"
                + " replica B (lease " + B_LEASE + ", check every 1s)");
        assertThat(recoveredMillis).as("within lease + check interval + a heartbeat, with margin")
                .isLessThan(B_LEASE.toMillis() + 1_000 + 1_000 + 5_000);

        for (String each : ids) {
            JsonNode done = awaitFinal(token, each, Duration.ofMinutes(5));
            assertThat(done.path("status").asString()).as(get(token, "/api/v1/builds/" + each + "/logs").body())
                    .isEqualTo("SUCCEEDED");
            assertThat(auditCount("build.succeeded", "build/" + each)).as("pushed and recorded once").isEqualTo(1);
        }
        assertThat(jdbc.queryForObject("select attempts from build where id = ?::uuid", Integer.class, id))
                .isEqualTo(2);
        assertThat(auditCount("build.started", "build/" + id)).isEqualTo(2);
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(log).contains("Replica lost:").contains("queued again (attempt 2 of 2)");
        assertThat(log.split("Pushing ", -1)).as("one push, by the second attempt").hasSize(2);
        // The registry's own word: each run pushes into a quarantine repository of its own
        // (gateway-quarantine/<build>/<run>), so a killed run that had pushed would have left a second one.
        assertThat(quarantineRepositories(id)).as("one run reached the registry").hasSize(1);
    }

    /**
     * Replica B killed with {@code kill -9} while the build host's daemon uploads its build into the quarantine (a
     * layer of 150 MB of random bytes, so the push lasts; the upload seen in the registry's storage): the image was
     * not named yet, so the build is re-queued once and named once, by its second run; the lost run's quarantine copy
     * is deleted by the replica that decided the lost run (the registry's word), as a refused image's is. This
     * dockerd stops a push whose client went away, so the test puts a manifest where the lost run's push would have
     * written it.
     */
    @Test
    @Order(6)
    void aReplicaKilledDuringItsPushHasTheImageNamedOnceAndItsQuarantineCopyDeleted() throws Exception {
        if (!replicaB.isAlive()) {
            startReplicaB();
        }
        String token = builder("payments");
        String tag = "p-" + UUID.randomUUID().toString().substring(0, 8);
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                + "RUN head -c 150000000 /dev/urandom > /blob && echo blob-written\nUSER 65534\n");
        // Replica A claims nothing until B has claimed this build (any replica may claim a queued build, and A's
        // dispatch loop sometimes came first); A's lease recovery, which must decide the lost run, resumes with it.
        dispatcherA.stop();
        String id;
        try {
            Response r = send(HttpRequest.newBuilder(URI.create(baseB() + "/api/v1/builds?image=payments/killed-push"
                    + "&tag=" + tag + "&noCache=true")).header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/x-tar").POST(HttpRequest.BodyPublishers.ofByteArray(context)));
            assertThat(r.status()).as(r.body()).isEqualTo(202);
            id = read(r).path("id").asString();
            eventually("replica B claiming the build", Duration.ofMinutes(1), () -> String.valueOf(jdbc.queryForObject(
                    "select lease_owner from build where id = ?::uuid", String.class, id)).startsWith("replica-b-"));
        } finally {
            dispatcherA.start();
        }
        String lostRun = "gateway-quarantine/" + id + "/run-1";
        // The daemon's upload into the lost run's quarantine repository, seen in the registry's own storage: an
        // upload under way is a folder under the repository's _uploads until the registry commits the blob.
        Path uploads = Path.of(require("BGW_STATE"), "registry", "data", "docker", "registry", "v2", "repositories")
                .resolve(lostRun).resolve("_uploads");
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (!uploading(uploads)) {
            assertThat(System.nanoTime()).as("the quarantine push of build " + id + " beginning").isLessThan(deadline);
            assertThat(jdbc.queryForObject("select status from build where id = ?::uuid", String.class, id))
                    .isIn("QUEUED", "RUNNING");
            sleep(10);
        }
        run("kill", "-9", Long.toString(replicaB.pid()));
        assertThat(registryDigest("payments/killed-push", tag)).as("not named when B was killed").startsWith("none");
        // As if the daemon had ended the push by itself after its client was gone: this dockerd stops a push whose
        // client went away (nothing would be left to delete), another daemon or a push at its very end may not.
        copyManifest("base/busybox", "latest", lostRun, "checking");
        assertThat(registryTags(lostRun)).containsExactly("checking");

        eventually("the lost build queued again", Duration.ofSeconds(30),
                () -> auditCount("build.requeued", "build/" + id) == 1);
        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(5));
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(done.path("status").asString()).as(log).isEqualTo("SUCCEEDED");
        assertThat(auditCount("build.succeeded", "build/" + id)).isEqualTo(1);
        assertThat(auditCount("build.started", "build/" + id)).isEqualTo(2);
        assertThat(log.split("Pushed ", -1)).as("named once, by the second run").hasSize(2);
        // The registry's word: the tag names the recorded image, and only the second run's quarantine copy was
        // ever named; the lost run's copy is gone (no tag left in its repository).
        assertThat(registryDigest("payments/killed-push", tag)).isEqualTo(done.path("imageDigest").asString());
        eventually("the lost run's quarantine copy deleted", Duration.ofSeconds(30),
                () -> registryTags(lostRun).isEmpty());
        // The deletion is audited (before, 2026-12-07, only logged): by the system, naming the build and the copy.
        eventually("the deletion audited", Duration.ofSeconds(10), () -> jdbc.queryForObject("select count(*) from"
                + " audit_event where action = 'build.quarantine-discarded' and target = ? and actor = 'system' and"
                + " details like ?", Long.class, "build/" + id, "%" + lostRun + "%") >= 1);
        eventually("the second run's quarantine copy deleted", Duration.ofSeconds(30),
                () -> registryTags("gateway-quarantine/" + id + "/run-2").isEmpty());
    }

    /** Whether an upload is under way in the registry's storage folder {@code uploads} (a repository's _uploads). */
    private static boolean uploading(Path uploads) {
        try (var entries = Files.list(uploads)) {
            return entries.findAny().isPresent();
        } catch (IOException e) {
            return false; // no upload yet
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private String baseB() {
        return "http://localhost:" + portB;
    }

    private Response getB(String token, String path) {
        return send(HttpRequest.newBuilder(URI.create(baseB() + path)).header("Authorization", "Bearer " + token)
                .GET());
    }

    private double relaysA() {
        return metersA.counter("gateway.egress.relays").count();
    }

    /** Replica B's {@code gateway.egress.relays}, from its Prometheus scrape (its meters are in another JVM). */
    private double relaysB() {
        Response scrape = getB(SCRAPE_SECRET, "/actuator/prometheus");
        assertThat(scrape.status()).as(scrape.body()).isEqualTo(200);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^gateway_egress_relays_total(?:\\{[^}]*\\})?"
                + " ([0-9.eE+-]+)$").matcher(scrape.body());
        assertThat(m.find()).as("gateway_egress_relays_total in replica B's scrape").isTrue();
        return Double.parseDouble(m.group(1));
    }

    private long startedBy(List<String> ids, String replicaPrefix) {
        return ids.stream().filter(id -> jdbc.queryForObject("select count(*) from audit_event where action ="
                + " 'build.started' and target = ? and details like ?", Long.class, "build/" + id,
                "%\"replica\":\"" + replicaPrefix + "%") == 1).count();
    }

    /** Puts the image of {@code from:fromTag} under {@code to:toTag} in the registry (blobs mounted, not copied). */
    private String tail() {
        try {
            List<String> lines = Files.readAllLines(logB);
            return "its log ends:\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "no log";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
