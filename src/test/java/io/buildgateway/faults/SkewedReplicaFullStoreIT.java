package io.buildgateway.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.shared.DatabaseClock;
import io.buildgateway.shared.HostClock;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * A gateway of its own (its own data folder and PostgreSQL) for two faults of issue #17 that need the replica
 * itself to be different: its context store is a small tmpfs (a full disk, then space returned), and its host's clock
 * runs {@link #SKEW} ahead of the database's (a replica whose clock is wrong, judging the leases of others and the
 * expiry of tokens, and minting the registry tokens of its builds).
 */
class SkewedReplicaFullStoreIT extends IntegrationTest {

    /**
     * Ahead of the database, by far more than any tolerance the gateway had before it read the database's time
     * ({@link io.buildgateway.shared.DatabaseClock}): the registry refuses a token whose not-before is 30 s ahead of
     * its own clock, and every build of this class pulls and pushes with tokens this replica mints.
     */
    static final Duration SKEW = Duration.ofMinutes(10);
    static final Path OWN_DATA = Path.of(DATA + "-skewed-full").toAbsolutePath();
    static final Path STORE = OWN_DATA.resolve("contexts");

    @DynamicPropertySource
    static void ownReplica(DynamicPropertyRegistry registry) {
        mountStore("size=2m");
        ownGateway(registry, OWN_DATA);
        registry.add("gateway.intake.store-dir", STORE::toString);
    }

    @TestConfiguration(proxyBeanMethods = false)
    static class SkewedClock {
        @Bean
        @Primary
        HostClock skewedClock() {
            return new HostClock(Clock.offset(Clock.systemUTC(), SKEW));
        }
    }

    @Autowired
    Clock clock;

    @AfterAll
    static void unmount() {
        runAnyExit("umount", "-l", STORE.toString()); // gone already: fine
    }

    @Test
    void aFullContextStoreAnswers507KeepsNothingAndRecoversWhenSpaceReturns() throws IOException {
        String token = builder("payments");
        // A context already stored (its build recorded, the context kept for retention): the full store must leave its
        // bytes as they were.
        Response kept = submit(token, "image=payments/full-store&tag=0", Tars.dockerfile("FROM " + registryAddress()
                + "/base/busybox\nUSER 65534\n"));
        assertThat(kept.status()).as(kept.body()).isEqualTo(202);
        awaitFinal(token, read(kept).path("id").asString(), Duration.ofMinutes(2));
        List<String> before = storeFiles();
        assertThat(before).as("a stored context to keep intact").isNotEmpty();
        java.util.Map<String, String> bytesBefore = storeDigests();
        long buildsBefore = builds("payments/full-store");
        long refusedBefore = summarisedRefusals("insufficient-storage", "FAILED", d -> true, 0);

        // Larger than the store: the upload itself cannot be written.
        byte[] tooLarge = contextWith(3 * 1024 * 1024);
        Response r = submit(token, "image=payments/full-store&tag=1", tooLarge);
        JsonNode problem = problem(r, 507);
        assertThat(problem.path("type").asString()).endsWith("/insufficient-storage");
        assertThat(Long.parseLong(r.header("Retry-After"))).isPositive();
        assertThat(storeFiles()).isEqualTo(before);
        assertThat(builds("payments/full-store")).isEqualTo(buildsBefore);

        // The upload fits, its re-pack (a second copy) does not: the stored upload is removed again, no build row.
        byte[] fitsOnce = contextWith(1024 * 1024 + 256 * 1024);
        problem(submit(token, "image=payments/full-store&tag=2", fitsOnce), 507);
        assertThat(storeFiles()).isEqualTo(before);
        assertThat(builds("payments/full-store")).isEqualTo(buildsBefore);

        assertThat(storeDigests()).as("the stored contexts' bytes").isEqualTo(bytesBefore);
        // Each refusal is in the audit trail (since 2026-12-06; a 507 was not audited before), counted in the
        // per-second summary with outcome FAILED.
        assertThat(summarisedRefusals("insufficient-storage", "FAILED", d -> true, refusedBefore + 2))
                .isEqualTo(refusedBefore + 2);

        // Space returns: the same submission is accepted, and builds from an intact context.
        mountStore("remount,size=64m");
        Response accepted = submit(token, "image=payments/full-store&tag=2", fitsOnce);
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        JsonNode done = awaitFinal(token, read(accepted).path("id").asString(), Duration.ofMinutes(4));
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
        assertThat(builds("payments/full-store")).isEqualTo(buildsBefore + 1);
    }

    @Test
    void aReplicaWhoseClockRunsAheadDoesNotExpireALeaseTheDatabaseStillHolds() {
        String token = builder("payments");
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                + "RUN echo skew-step && sleep 60 && echo skew-done\nUSER 65534\n");
        String id = read(submit(token, "image=payments/skew&tag=1&noCache=true", context)).path("id").asString();
        eventually("the step starting", Duration.ofMinutes(2),
                () -> get(token, "/api/v1/builds/" + id + "/logs").body().contains("skew-step"));
        // The lease and start this replica wrote are the database's times, not its host clock's (10 min ahead): the
        // lease ends within its 60 s from now by the database's clock, and the start is not in the future.
        Double leaseLeft = jdbc.queryForObject("select extract(epoch from lease_expires_at - clock_timestamp())"
                + " from build where id = ?::uuid", Double.class, id);
        assertThat(leaseLeft).as("seconds of lease left by the database's clock").isBetween(0.0, 61.0);
        assertThat(jdbc.queryForObject("select started_at <= clock_timestamp() from build where id = ?::uuid",
                Boolean.class, id)).as("started_at not ahead of the database's clock").isTrue();
        // The request time is the replica's (its corrected clock), the start the database's: in that order.
        assertThat(jdbc.queryForObject("select requested_at <= started_at from build where id = ?::uuid",
                Boolean.class, id)).as("requested_at not after started_at").isTrue();
        // As if another replica ran the build and renewed its lease 20 s ahead, by the database's clock. This
        // replica's host clock is 10 min ahead: judged by it, that lease lapsed already.
        jdbc.update("update build set lease_owner = 'another-replica', lease_expires_at = clock_timestamp()"
                + " + interval '20 seconds' where id = ?::uuid", id);
        // The lease recovery runs every second here (gateway.builds.lease-check-interval): about 17 times in these
        // 17 s, all before the lease ends by the database's clock, and after it ends by this replica's.
        sleep(17_000);
        assertThat(jdbc.queryForObject("select status from build where id = ?::uuid", String.class, id))
                .isEqualTo("RUNNING");
        assertThat(jdbc.queryForObject("select lease_owner from build where id = ?::uuid", String.class, id))
                .isEqualTo("another-replica");
        assertThat(auditCount("build.requeued", "build/" + id)).isZero();
        // Once the database's clock passes the lease, the lapsed build is decided, once: nothing of it reached the
        // registry, so it is queued again (docs/operations.md, "a replica killed"), not failed.
        eventually("the lapsed lease decided", Duration.ofSeconds(45),
                () -> auditCount("build.requeued", "build/" + id) == 1);
        assertThat(get(token, "/api/v1/builds/" + id + "/logs").body()).contains("queued again (attempt 2 of 2)");
        assertThat(auditCount("build.failed", "build/" + id)).isZero();
        // The second run is not this test's: cancelled, so that nothing of it outlives the test.
        assertThat(postJson(token, "/api/v1/builds/" + id + "/cancel", "").status()).isEqualTo(202);
        JsonNode cancelled = awaitFinal(token, id, Duration.ofMinutes(1));
        assertThat(cancelled.path("status").asString()).isEqualTo("CANCELLED");
        assertThat(auditCount("build.requeued", "build/" + id)).isEqualTo(1);
    }

    /**
     * Token expiry under the same skew (docs/operations.md, "Clock skew"): the replica judges an expiry by the
     * database's time, measured through its own clock ({@link io.buildgateway.shared.DatabaseClock}), so its host clock
     * 10 min ahead neither refuses a token 10 s before its end nor accepts one past it. Before the correction, the
     * first was refused (off by the skew).
     */
    @Test
    void aReplicaWhoseHostClockRunsAheadJudgesTokenExpiryByTheDatabasesTime() throws Exception {
        String soon = builder("payments");
        String past = builder("payments");
        // Expiries as another replica would have set them, by the database's clock; set before the tokens' first
        // use, so no earlier answer of this replica's is remembered.
        expireIn(soon, "10 seconds"); // long past by this replica's host clock
        expireIn(past, "-1 seconds");
        assertThat(get(soon, "/api/v1/policy").status()).isEqualTo(200);
        JsonNode refused = problem(get(past, "/api/v1/policy"), 401);
        assertThat(refused.path("detail").asString()).contains("expired");
        // The gateway's clock is the database's, within the measurement's error, not its host's.
        Instant db = jdbc.queryForObject("select clock_timestamp()", java.sql.Timestamp.class).toInstant();
        assertThat(Duration.between(db, clock.instant()).abs()).isLessThan(Duration.ofSeconds(1));
    }

    /**
     * A host clock behind the database's, corrected the same way: this replica cannot run behind and ahead at once,
     * so the correction itself is checked against this test's database (the gateway builds its clock the same way).
     */
    @Test
    void aHostClockBehindTheDatabaseIsCorrectedToo() {
        DatabaseClock behind = new DatabaseClock(Clock.offset(Clock.systemUTC(), SKEW.negated()),
                () -> jdbc.queryForObject("select clock_timestamp()", java.sql.Timestamp.class).toInstant());
        assertThat(behind.sync()).isTrue();
        Instant db = jdbc.queryForObject("select clock_timestamp()", java.sql.Timestamp.class).toInstant();
        assertThat(Duration.between(db, behind.instant()).abs()).isLessThan(Duration.ofSeconds(1));
        assertThat(behind.offset()).isBetween(SKEW.minusSeconds(1), SKEW.plusSeconds(1));
    }

    private void expireIn(String secret, String interval) throws Exception {
        String hash = sha256Hex(secret);
        assertThat(jdbc.update("update api_token set expires_at = clock_timestamp() + ?::interval where secret_hash = ?",
                interval, hash)).isEqualTo(1);
    }

    private long builds(String image) {
        return jdbc.queryForObject("select count(*) from build where image = ?", Long.class, image);
    }

    /** A context of incompressible bytes (so gzip cannot help) that the policy accepts. */
    private static byte[] contextWith(int bytes) {
        byte[] payload = new byte[bytes];
        new Random(bytes).nextBytes(payload);
        return Tars.tar().file("Dockerfile", ("FROM " + registryAddress() + "/base/busybox\n"
                + "COPY payload.bin /payload.bin\nUSER 65534\n").getBytes()).file("payload.bin", payload).bytes();
    }

    /** Every file of the store by its SHA-256. */
    private static java.util.Map<String, String> storeDigests() {
        java.util.Map<String, String> out = new java.util.TreeMap<>();
        for (String f : storeFiles()) {
            try {
                out.put(f, sha256Hex(Files.readAllBytes(STORE.resolve(f))));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    private static List<String> storeFiles() {
        try (var files = Files.walk(STORE)) {
            return files.filter(Files::isRegularFile).map(p -> STORE.relativize(p).toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void mountStore(String options) {
        try {
            Files.createDirectories(STORE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        boolean mounted = runAnyExit("findmnt", "-n", STORE.toString()).output().contains(STORE.toString());
        if (!mounted || options.startsWith("remount")) {
            String out = run("mount", "-t", "tmpfs", "-o", options, "tmpfs", STORE.toString());
            assertThat(out).as("mount -o " + options + " " + STORE).isEmpty();
        }
    }
}
