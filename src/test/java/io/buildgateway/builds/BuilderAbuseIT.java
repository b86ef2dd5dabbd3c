package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.Tars;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What one caller with a BUILDER token could do to everyone else (issue #11): fill the queue, hold log streams,
 * flood the gateway with junk tokens. The whole gateway on a real embedded PostgreSQL 17, with no Docker daemon: its
 * one build host is a socket that does not exist, so submitted builds stay QUEUED, which is what these tests need
 * (a queue that fills, logs that stay open as long as a build is not final). The refusal limit test runs last: it
 * blocks 127.0.0.1 for a window.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BuilderAbuseIT {

    static final Path DATA = Path.of("target", "it-data", "abuse-" + ProcessHandle.current().pid() + "-"
            + UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();
    static final String ADMIN_SECRET = "it-admin-" + UUID.randomUUID();

    @LocalServerPort
    int port;
    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    JsonMapper json;
    @Autowired
    BuildRepository builds;
    @Autowired
    BuildSubmissions submissions;
    @Autowired
    SharedQuotaReservations shared;
    @Autowired
    org.springframework.transaction.support.TransactionTemplate tx;
    @Autowired
    LintAdmission lints;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @DynamicPropertySource
    static void environment(DynamicPropertyRegistry registry) {
        registry.add("gateway.data-dir", DATA::toString);
        registry.add("gateway.scanning.work-dir", () -> DATA.resolve("scans").toString());
        registry.add("gateway.auth.bootstrap-token", () -> ADMIN_SECRET);
        // the warm-up before readiness kept to ten rounds (the default's 10,000 took 44-56 s of make test's two cores)
        registry.add("gateway.warmup.rounds", () -> "10");
        registry.add("gateway.hostpool.hosts[0].name", () -> "absent");
        registry.add("gateway.hostpool.hosts[0].endpoint", () -> "unix:///nonexistent/bgw-abuse-it.sock");
        registry.add("gateway.builds.max-queued", () -> "20");
        registry.add("gateway.builds.max-queued-per-team", () -> "2");
        registry.add("gateway.builds.retry-after", () -> "7s");
        registry.add("gateway.builds.retry-after-spread", () -> "0"); // exactly 7 below; RetryAfterSpreadTest
        registry.add("gateway.builds.retry-after-pacing", () -> "false"); // the same; RetryAfterPacingTest
        registry.add("gateway.builds.follow.max-per-caller", () -> "4");
        registry.add("gateway.builds.follow.max-total", () -> "16");
        registry.add("gateway.builds.follow.heartbeat", () -> "2s");
        registry.add("gateway.web.refusal-limit.limit", () -> "20");
        registry.add("gateway.web.refusal-limit.window", () -> "15s");
        registry.add("gateway.web.refusal-limit.flush-interval", () -> "500ms");
    }

    // ---- the queue ----------------------------------------------------------------------------------------------

    @Test
    @Order(1)
    void aTeamAtItsQuotaGets429WhileOtherTeamsStillSubmit() throws Exception {
        String qa = builder("quota-a");
        String qb = builder("quota-b");
        assertThat(submit(qa, "quota-a/app").statusCode()).isEqualTo(202);
        assertThat(submit(qa, "quota-a/app").statusCode()).isEqualTo(202);

        HttpResponse<String> full = submit(qa, "quota-a/app");

        assertThat(full.statusCode()).as(full.body()).isEqualTo(429);
        assertThat(full.headers().firstValue("Content-Type")).hasValueSatisfying(
                v -> assertThat(v).startsWith("application/problem+json"));
        assertThat(full.headers().firstValue("Retry-After")).hasValue("7");
        JsonNode problem = json.readTree(full.body());
        assertThat(problem.path("type").asString()).endsWith("/team-queue-full");
        assertThat(problem.path("detail").asString()).contains("quota-a").contains("2");
        assertThat(jdbc.queryForObject("select count(*) from build where team = 'quota-a'", Long.class))
                .isEqualTo(2);
        // In the audit trail as a count in the per-second summary of such refusals, not as a row of its own.
        assertThat(summarisedRefusals("quota-a", 1)).isEqualTo(1);
        assertThat(jdbc.queryForObject("select count(*) from audit_event where action = 'http.refused'"
                + " and details like '%team-queue-full%' and details like '%quota-a%'", Long.class)).isZero();
        // The other team is not affected.
        assertThat(submit(qb, "quota-b/app").statusCode()).isEqualTo(202);

        // Refused again at once (the replica remembers the team at its quota for 500 ms, QuotaMemory) ...
        assertThat(submit(qa, "quota-a/app").statusCode()).isEqualTo(429);
        // ... and a cancel frees the slot at once all the same.
        String queued = jdbc.queryForObject("select cast(id as varchar) from build where team = 'quota-a'"
                + " order by requested_at limit 1", String.class);
        HttpResponse<String> cancel = send(request(qa, "/api/v1/builds/" + queued + "/cancel")
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(cancel.statusCode()).as(cancel.body()).isEqualTo(202);
        HttpResponse<String> again = submit(qa, "quota-a/app");
        assertThat(again.statusCode()).as(again.body()).isEqualTo(202);
    }

    /**
     * Another replica's submissions under way count against the team's quota before the upload
     * (SharedQuotaReservations, issue #17): a row as the other replica writes it refuses a submission that only it
     * keeps from the quota; an expired row (a replica that died) and the row of a build that is recorded (its build
     * row counts instead) do not; a refused submission leaves no row of its own; the purge removes what no longer
     * counts. Asked directly: a row counts only for the submissions that reserved after it.
     */
    @Test
    @Order(1)
    void anotherReplicasSubmissionsUnderWayCountAgainstTheTeamsQuota() throws Exception {
        String token = builder("quota-peer");
        HttpResponse<String> first = submit(token, "quota-peer/app");
        assertThat(first.statusCode()).as(first.body()).isEqualTo(202);
        UUID peerBuild = UUID.randomUUID();
        jdbc.update("insert into quota_reservation (team, build_id, replica, expires_at) values ('quota-peer', ?,"
                + " 'replica-b-it', now() + interval '1 minute')", peerBuild);

        HttpResponse<String> refused = submit(token, "quota-peer/app");

        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(429);
        assertThat(json.readTree(refused.body()).path("detail").asString())
                .contains("2 builds queued or being submitted");
        assertThat(jdbc.queryForObject("select count(*) from build where team = 'quota-peer'", Long.class))
                .isEqualTo(1);
        assertThat(jdbc.queryForObject("select count(*) from quota_reservation where team = 'quota-peer'"
                + " and replica <> 'replica-b-it' and not exists (select 1 from build b where b.id = build_id)",
                Long.class)).as("the refused submission's own row is gone").isZero();

        // The other replica died: its row expires after a lease and counts no more.
        jdbc.update("update quota_reservation set expires_at = now() - interval '1 second' where build_id = ?",
                peerBuild);
        Thread.sleep(600); // past the replica's memory of the team at its quota (QuotaMemory, 500 ms)
        HttpResponse<String> second = submit(token, "quota-peer/app");
        assertThat(second.statusCode()).as(second.body()).isEqualTo(202);

        // A row whose build is recorded counts as that build's row, not twice: the cancelled build counts for nothing.
        String cancelled = id(first);
        assertThat(send(request(token, "/api/v1/builds/" + cancelled + "/cancel")
                .POST(HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(202);
        jdbc.update("insert into quota_reservation (team, build_id, replica, expires_at) values ('quota-peer', ?::uuid,"
                + " 'replica-b-it', now() + interval '1 minute')", cancelled);
        HttpResponse<String> third = submit(token, "quota-peer/app");
        assertThat(third.statusCode()).as(third.body()).isEqualTo(202);

        shared.purge();
        assertThat(jdbc.queryForObject("select count(*) from quota_reservation where team = 'quota-peer'",
                Long.class)).as("expired, or their build recorded").isZero();

        // Only the rows that reserved before a submission count for it, and never its own replica's rows.
        SharedQuotaReservations.Counts mine = shared.reserve("quota-order", UUID.randomUUID());
        assertThat(mine.peersBefore()).isZero();
        jdbc.update("insert into quota_reservation (team, build_id, replica, expires_at) values ('quota-order', ?,"
                + " 'replica-b-it', now() + interval '1 minute')", UUID.randomUUID());
        assertThat(shared.recount("quota-order", mine.ticket())).as("a later row").isZero();
        SharedQuotaReservations.Counts next = shared.reserve("quota-order", UUID.randomUUID());
        assertThat(next.peersBefore()).as("the other replica's row, not this replica's earlier one").isEqualTo(1);
        shared.release(mine.ticket());
        shared.release(next.ticket());
        jdbc.update("delete from quota_reservation where team = 'quota-order'");
    }

    /**
     * A team's submissions arriving together: exactly its quota is accepted, each accepted one has its row and its
     * {@code build.queued} event, each refused one is counted in an {@code http.refused-summary} event, and the chain
     * stays valid (the
     * count under the team's lock and the audit chain's lock meet in one transaction; issue #17).
     */
    @Test
    @Order(1)
    void aTeamsSubmissionsArrivingTogetherAreAcceptedExactlyToItsQuotaEachWithItsEvent() throws Exception {
        String token = builder("quota-race");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Integer> statuses;
        try {
            List<CompletableFuture<Integer>> sent = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                sent.add(CompletableFuture.supplyAsync(() -> submit(token, "quota-race/app").statusCode(), pool));
            }
            statuses = new ArrayList<>();
            for (CompletableFuture<Integer> f : sent) {
                statuses.add(f.get(60, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(statuses).containsOnly(202, 429);
        assertThat(statuses.stream().filter(s -> s == 202).count()).isEqualTo(2);
        assertThat(jdbc.queryForObject("select count(*) from build where team = 'quota-race'", Long.class))
                .isEqualTo(2);
        assertThat(jdbc.queryForObject("select count(*) from audit_event where action = 'build.queued'"
                + " and details like '%quota-race%'", Long.class)).isEqualTo(2);
        assertThat(summarisedRefusals("quota-race", 6)).isEqualTo(6);
        JsonNode verified = json.readTree(get(ADMIN_SECRET, "/api/v1/audit/verify").body());
        assertThat(verified.path("valid").asBoolean()).as(verified.toString()).isTrue();
    }

    /**
     * The group commit of a team's accepted submissions (issue #17), asked directly: a batch that arrives together
     * takes the quota's free slots in its order of arrival, each row with its {@code build.queued} event (appended
     * one after another by one statement), the rest refused as alone they would be, and every reservation ended. A
     * batch with a row the database refuses leaves nothing behind: no row and no event of the batch.
     */
    @Test
    @Order(1)
    void aBatchOfOneTeamTakesTheFreeSlotsInArrivalOrderAndABadRowTakesNothingWithIt() {
        QuotaReservations reservations = new QuotaReservations();
        List<BuildSubmissions.Recording> batch = List.of(recording("batch-direct", "t0", reservations),
                recording("batch-direct", "t1", reservations), recording("batch-direct", "t2", reservations));

        List<BuildSubmissions.Recorded> out = submissions.recordTogether(batch);

        assertThat(out).extracting(BuildSubmissions.Recorded::batched).containsExactly(true, true, true);
        assertThat(out.get(0).refused()).isNull();
        assertThat(out.get(1).refused()).isNull();
        assertThat(out.get(2).refused()).isNotNull();
        assertThat(out.get(2).refused().status()).isEqualTo(429);
        assertThat(out.get(2).refused().getMessage()).contains("batch-direct");
        assertThat(jdbc.queryForList("select tag from build where team = 'batch-direct' order by tag", String.class))
                .containsExactly("t0", "t1");
        List<Map<String, Object>> events = jdbc.queryForList("select seq, target from audit_event"
                + " where action = 'build.queued' and details like '%batch-direct%' order by seq");
        assertThat(events).extracting(e -> e.get("target")).containsExactly("build/" + batch.get(0).build().id,
                "build/" + batch.get(1).build().id);
        assertThat((Long) events.get(1).get("seq")).isEqualTo((Long) events.get(0).get("seq") + 1);
        assertThat(reservations.held("batch-direct")).isZero();

        BuildSubmissions.Recording bad = recording("batch-bad", "x".repeat(200), reservations); // tag: 128 at most
        List<BuildSubmissions.Recording> failing = List.of(recording("batch-bad", "good", reservations), bad);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> submissions.recordTogether(failing))
                .isInstanceOf(org.springframework.dao.DataAccessException.class);
        assertThat(jdbc.queryForObject("select count(*) from build where team = 'batch-bad'", Long.class)).isZero();
        assertThat(jdbc.queryForObject("select count(*) from audit_event where details like '%batch-bad%'",
                Long.class)).isZero();
        JsonNode verified = json.readTree(get(ADMIN_SECRET, "/api/v1/audit/verify").body());
        assertThat(verified.path("valid").asBoolean()).as(verified.toString()).isTrue();
    }

    /** A team's quota refusals as the audit trail counts them (IntegrationTest#summarisedRefusals). */
    private long summarisedRefusals(String team, long expected) {
        return io.buildgateway.support.IntegrationTest.summarisedRefusals(jdbc, json, "team-queue-full", "REJECTED",
                d -> d.path("team").asString().equals(team), expected);
    }

    /** A submission that passed the policy, ready to be recorded, as {@code BuildSubmissions} makes one. */
    private static BuildSubmissions.Recording recording(String team, String tag, QuotaReservations reservations) {
        Build b = new Build(UUID.randomUUID());
        b.image = team + "/app";
        b.tag = tag;
        b.team = team;
        b.requestedBy = "it";
        b.requestedAt = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MICROS);
        b.contextDigest = "sha256:" + "0".repeat(64);
        b.dockerfile = "Dockerfile";
        b.buildArgs = "{}";
        b.labels = "{}";
        b.findings = "[]";
        b.allowedPulls = "[]";
        b.queue();
        return new BuildSubmissions.Recording(b, new io.buildgateway.shared.AuditRecord("build.queued",
                "build/" + b.id, io.buildgateway.shared.AuditRecord.Outcome.SUCCESS, Map.of("team", team, "tag",
                        tag), null), reservations.reserve(team), Thread.currentThread());
    }

    /**
     * Fair share (issue #17, "Load"): the claim takes the queued build of the team that runs the fewest builds, so a
     * team that floods the queue cannot make another team's single build wait longer than one slot. Asked of the
     * real claim query in a transaction that is rolled back (no host here ever claims: the one host is absent).
     */
    @Test
    @Order(2)
    void theClaimPrefersTheTeamThatRunsTheFewestBuildsOverAnOlderBuildOfAFloodingTeam() {
        String flood = builder("flood");
        String quiet = builder("quiet");
        String first = id(submit(flood, "flood/app"));
        String second = id(submit(flood, "flood/app"));
        String single = id(submit(quiet, "quiet/app"));
        List<String> ours = List.of(first, second, single);

        List<String> claimed = tx.execute(status -> {
            status.setRollbackOnly();
            // only this test's builds are queued, in the rolled-back transaction
            jdbc.update("update build set status = 'CANCELLED' where status = 'QUEUED' and id::text not in (?, ?, ?)",
                    first, second, single);
            List<String> picks = new ArrayList<>();
            picks.add(builds.claimNext(true).get(0).id.toString()); // nobody runs anything: the oldest
            // the claim of hosts isolated by team (gateway.hostpool.team-isolation) reads the same order, a row per
            // team, and takes the team's oldest
            picks.add(teams(builds.claimCandidates(true)));
            picks.add(builds.claimNextOf("flood", false, 1).get(0).id.toString());
            jdbc.update("update build set status = 'RUNNING', host = 'absent' where id = ?::uuid", first);
            picks.add(builds.claimNext(true).get(0).id.toString()); // flood runs one: the quiet team's, though newer
            picks.add(teams(builds.claimCandidates(true)));
            picks.add(builds.claimNextOf("flood", false, 1).get(0).id.toString());
            return picks;
        });

        assertThat(claimed).containsExactly(first, "flood quiet", first, single, "quiet flood", second);
        assertThat(jdbc.queryForList("select status from build where id::text in (?, ?, ?)", String.class,
                ours.toArray())).containsOnly("QUEUED");
    }

    /** The teams of {@link BuildRepository#claimCandidates} rows, in their order, of this test's teams only. */
    private static String teams(List<Object[]> candidates) {
        return String.join(" ", candidates.stream().map(row -> (String) row[0])
                .filter(t -> t.equals("flood") || t.equals("quiet")).toList());
    }

    private String id(HttpResponse<String> submitted) {
        assertThat(submitted.statusCode()).as(submitted.body()).isEqualTo(202);
        return json.readTree(submitted.body()).path("id").asString();
    }

    // ---- following logs -----------------------------------------------------------------------------------------

    @Test
    @Order(2)
    void manyFollowsOfOneCallerDoNotStarveAnotherCaller() throws Exception {
        String a = builder("follow-a");
        String b = builder("follow-b");
        String buildA = json.readTree(submit(a, "follow-a/app").body()).path("id").asString();
        String buildB = json.readTree(submit(b, "follow-b/app").body()).path("id").asString();

        List<HttpResponse<InputStream>> open = new ArrayList<>();
        List<Integer> statuses = new ArrayList<>();
        try {
            for (int i = 0; i < 8; i++) {
                HttpResponse<InputStream> r = http.send(request(a, "/api/v1/builds/" + buildA + "/logs?follow=true")
                        .GET().build(), HttpResponse.BodyHandlers.ofInputStream());
                statuses.add(r.statusCode());
                if (r.statusCode() == 200) {
                    open.add(r);
                } else {
                    String body = new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
                    assertThat(r.statusCode()).as(body).isEqualTo(429);
                    assertThat(r.headers().firstValue("Retry-After")).isPresent();
                    assertThat(r.headers().firstValue("Content-Type").orElseThrow())
                            .startsWith("application/problem+json");
                    assertThat(body).contains("too-many-follows");
                }
            }
            assertThat(statuses).containsExactly(200, 200, 200, 200, 429, 429, 429, 429);
            // Each open follow has started with the log so far.
            for (HttpResponse<InputStream> r : open) {
                assertThat(firstLine(r.body())).startsWith("Queued: ");
            }

            // Another caller follows, reads its build and its log at once.
            long t0 = System.nanoTime();
            HttpResponse<InputStream> other = http.send(request(b, "/api/v1/builds/" + buildB
                    + "/logs?follow=true").GET().timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertThat(other.statusCode()).isEqualTo(200);
            assertThat(firstLine(other.body())).startsWith("Queued: ");
            other.body().close();
            assertThat(get(b, "/api/v1/builds/" + buildB).statusCode()).isEqualTo(200);
            HttpResponse<String> plain = get(b, "/api/v1/builds/" + buildB + "/logs");
            assertThat(plain.statusCode()).isEqualTo(200);
            assertThat(plain.body()).startsWith("Queued: ");
            // So can the first caller, without follow.
            assertThat(get(a, "/api/v1/builds/" + buildA + "/logs").statusCode()).isEqualTo(200);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
        } finally {
            for (HttpResponse<InputStream> r : open) {
                r.body().close();
            }
        }
        // Closed follows are noticed (at the latest at the next heartbeat) and free their slots.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        int status;
        do {
            Thread.sleep(500);
            HttpResponse<InputStream> again = http.send(request(a, "/api/v1/builds/" + buildA + "/logs?follow=true")
                    .GET().build(), HttpResponse.BodyHandlers.ofInputStream());
            status = again.statusCode();
            again.body().close();
        } while (status != 200 && System.nanoTime() < deadline);
        assertThat(status).isEqualTo(200);
    }

    /**
     * One caller's slow lint uploads hold at most gateway.builds.lint.max-per-caller (4) requests at once: the next is
     * 429 with Retry-After, counted in the audit trail's refusal summary; another caller lints meanwhile, and the
     * caller lints again once one of its own has been answered (before, the 2026-12-06 reviews' open item, there was
     * no such bound: a caller's slow uploads could hold every request thread).
     */
    /**
     * A docker build's stream on the API's port holds one of the API's threads until the build ends: it counts as
     * one of the caller's log follows, so a caller with four open follows is refused the same way (429), before
     * anything is submitted (a review's finding, 2026-12-07). Runs after the 30-second test, away from the other
     * tests' refusals (the refusal limit counts them all).
     */
    @Test
    @Order(9)
    void aDockerBuildStreamCountsAsAFollow() throws Exception {
        String a = builder("follow-d");
        String build = json.readTree(submit(a, "follow-d/app").body()).path("id").asString();
        List<HttpResponse<InputStream>> open = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                HttpResponse<InputStream> r = http.send(request(a, "/api/v1/builds/" + build + "/logs?follow=true")
                        .GET().build(), HttpResponse.BodyHandlers.ofInputStream());
                assertThat(r.statusCode()).isEqualTo(200);
                open.add(r);
            }
            long before = jdbc.queryForObject("select count(*) from build where team = 'follow-d'", Long.class);
            HttpResponse<String> docker = send(request(a, "/v1.47/build?t=follow-d/docker:1").header("Content-Type",
                    "application/x-tar").POST(HttpRequest.BodyPublishers.ofByteArray(Tars.dockerfile(
                    "FROM scratch\nUSER 65534\n"))));
            assertThat(docker.statusCode()).as(docker.body()).isEqualTo(429);
            assertThat(docker.body()).contains("too-many-follows");
            assertThat(jdbc.queryForObject("select count(*) from build where team = 'follow-d'", Long.class))
                    .isEqualTo(before);
        } finally {
            for (HttpResponse<InputStream> r : open) {
                r.body().close();
            }
        }
    }

    @Test
    @Order(9)
    void oneCallersSlowLintUploadsHoldAtMostFourRequests() throws Exception {
        String token = builder("lintcap");
        byte[] tar = Tars.dockerfile("FROM scratch\nUSER 65534\n");
        // Four uploads that send their head and the first 512 bytes of a declared body, then nothing.
        List<java.net.Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                java.net.Socket socket = new java.net.Socket("localhost", port);
                held.add(socket);
                socket.getOutputStream().write(("POST /api/v1/lint?image=lintcap/app HTTP/1.1\r\nHost: localhost\r\n"
                        + "Authorization: Bearer " + token + "\r\nContent-Type: application/x-tar\r\nContent-Length: "
                        + tar.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().write(tar, 0, 512);
                socket.getOutputStream().flush();
            }
            // The four are admitted before the fifth is sent: Tomcat serves connections in no set order, and a fifth
            // taken before the fourth raw one made that one the refused request (its 429 then left three held, and
            // every later fifth got 200: the test's flake of 2026-12-07, seen in a thread dump of the test's JVM).
            long admitted = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (lints.underWay() < 4 && System.nanoTime() < admitted) {
                Thread.sleep(20);
            }
            assertThat(lints.underWay()).as("the four held uploads admitted").isEqualTo(4);
            HttpResponse<String> fifth = send(request(token, "/api/v1/lint?image=lintcap/app").header("Content-Type",
                    "application/x-tar").POST(HttpRequest.BodyPublishers.ofByteArray(tar)));
            assertThat(fifth.statusCode()).as(fifth.body()).isEqualTo(429);
            assertThat(fifth.headers().firstValue("Retry-After")).hasValue("1");
            assertThat(json.readTree(fifth.body()).path("detail").asString()).contains("max-per-caller");
            HttpResponse<String> other = send(request(builder("lintcap"), "/api/v1/lint?image=lintcap/app")
                    .header("Content-Type", "application/x-tar").POST(HttpRequest.BodyPublishers.ofByteArray(tar)));
            assertThat(other.statusCode()).as("another caller meanwhile: " + other.body()).isEqualTo(200);
            // The rest of one body: that lint is answered, and its caller's slot is free again.
            java.net.Socket first = held.get(0);
            first.getOutputStream().write(tar, 512, tar.length - 512);
            first.getOutputStream().flush();
            first.setSoTimeout(30_000);
            assertThat(new String(first.getInputStream().readNBytes(12), StandardCharsets.US_ASCII))
                    .isEqualTo("HTTP/1.1 200");
        } finally {
            for (java.net.Socket socket : held) {
                socket.close();
            }
        }
        HttpResponse<String> again = send(request(token, "/api/v1/lint?image=lintcap/app").header("Content-Type",
                "application/x-tar").POST(HttpRequest.BodyPublishers.ofByteArray(tar)));
        assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
        assertThat(io.buildgateway.support.IntegrationTest.summarisedRefusals(jdbc, json, "too-many-lints",
                "REJECTED", d -> true, 1)).isPositive();
    }

    @Test
    @Order(3)
    void aFollowStaysOpenPastTheOldThirtySecondCutWithHeartbeatsAndEndsWithTheBuild() throws Exception {
        String token = builder("follow-long");
        String build = json.readTree(submit(token, "follow-long/app").body()).path("id").asString();
        HttpResponse<InputStream> follow = http.send(request(token, "/api/v1/builds/" + build + "/logs?follow=true")
                .header("Accept", "application/x-ndjson").GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(follow.statusCode()).isEqualTo(200);
        assertThat(follow.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/x-ndjson");
        List<String> lines = new CopyOnWriteArrayList<>();
        CompletableFuture<Void> ended = CompletableFuture.runAsync(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(follow.body(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = reader.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });

        Thread.sleep(34_000);

        assertThat(ended).as("the follow is still open after 34 s").isNotDone();
        assertThat(json.readTree(lines.get(0)).path("source").asString()).isEqualTo("gateway");
        assertThat(json.readTree(lines.get(0)).path("text").asString()).startsWith("Queued: ");
        assertThat(lines.stream().filter("{\"heartbeat\":true}"::equals).count()).isGreaterThanOrEqualTo(10);

        HttpResponse<String> cancel = http.send(request(token, "/api/v1/builds/" + build + "/cancel")
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(cancel.statusCode()).isEqualTo(202);
        ended.get(10, TimeUnit.SECONDS);
    }

    // ---- refused requests ---------------------------------------------------------------------------------------

    @Test
    @Order(10)
    void junkTokensFromOneSourceAreLimitedAndAuditedAsOneRowPerWindow() throws Exception {
        Thread.sleep(2_500); // the earlier tests' refusal summaries are written (once a second) before the count starts
        Instant start = Instant.now().minusSeconds(1);
        long refusedBefore = refusedRowsFromLoopback();
        int unauthorized = 0;
        int limited = 0;
        for (int i = 0; i < 200; i++) {
            HttpResponse<String> r = http.send(request("junk-" + i, "/api/v1/builds").GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/problem+json");
            if (r.statusCode() == 401) {
                unauthorized++;
            } else {
                assertThat(r.statusCode()).as(r.body()).isEqualTo(429);
                assertThat(Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow())).isBetween(1L, 15L);
                assertThat(json.readTree(r.body()).path("type").asString()).endsWith("/rate-limited");
                limited++;
            }
        }
        assertThat(unauthorized).isBetween(1, 20);
        assertThat(limited).isGreaterThanOrEqualTo(180);
        // Blocked before the token is looked at: even a valid token gets 429 from this source now.
        assertThat(get(ADMIN_SECRET, "/api/v1/builds").statusCode()).isEqualTo(429);

        // Another source is not limited (a client bound to 127.0.0.2).
        assertThat(rawStatusFrom("127.0.0.2", "junk-elsewhere")).isEqualTo(401);

        // A few rows: the refusals up to the limit one by one, then one row for the window, when it ends.
        assertThat(refusedRowsFromLoopback() - refusedBefore).isEqualTo(unauthorized);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(25);
        List<Map<String, Object>> rows;
        do {
            Thread.sleep(500);
            rows = jdbc.queryForList("select actor, target, outcome, source_ip, details from audit_event"
                    + " where action = 'request.rate-limited' and source_ip = '127.0.0.1' and at >= ?",
                    java.sql.Timestamp.from(start));
        } while (rows.isEmpty() && System.nanoTime() < deadline);
        assertThat(rows).hasSize(1);
        JsonNode details = json.readTree((String) rows.get(0).get("details"));
        assertThat(rows.get(0).get("target")).isEqualTo("source/127.0.0.1");
        assertThat(rows.get(0).get("outcome")).isEqualTo("DENIED");
        assertThat(details.path("source").asString()).isEqualTo("127.0.0.1");
        assertThat(details.path("rateLimited").asLong()).isEqualTo(limited + 1);
        assertThat(details.path("count").asLong()).isGreaterThanOrEqualTo(limited + 1);
        assertThat(Instant.parse(details.path("windowEnd").asString()))
                .isEqualTo(Instant.parse(details.path("windowStart").asString()).plusSeconds(15));
        assertThat(jdbc.queryForObject("select count(*) from audit_event where at >= ?", Long.class,
                java.sql.Timestamp.from(start))).isLessThan(30L);
        // The window has ended: the source may be refused (and audited) again.
        assertThat(get("junk-after", "/api/v1/builds").statusCode()).isEqualTo(401);
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private long refusedRowsFromLoopback() {
        return jdbc.queryForObject("select count(*) from audit_event where action = 'http.refused'"
                + " and source_ip = '127.0.0.1'", Long.class);
    }

    /** A request from another loopback address: java.net.http cannot choose its local address, a socket can. */
    private int rawStatusFrom(String localAddress, String token) throws IOException {
        try (Socket socket = new Socket()) {
            socket.bind(new InetSocketAddress(localAddress, 0));
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("GET /api/v1/builds HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + token
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String status = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                    StandardCharsets.US_ASCII)).readLine();
            return Integer.parseInt(status.split(" ")[1]);
        }
    }

    private static String firstLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int c; (c = in.read()) != -1 && c != '\n'; ) {
            line.append((char) c);
        }
        return line.toString();
    }

    private String builder(String team) {
        String body = json.writeValueAsString(Map.of("name", "t-" + UUID.randomUUID().toString().substring(0, 8),
                "roles", Set.of("BUILDER"), "teams", Set.of(team)));
        HttpResponse<String> r = send(request(ADMIN_SECRET, "/api/v1/tokens")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return json.readTree(r.body()).path("token").asString();
    }

    private HttpResponse<String> submit(String token, String image) {
        // FROM scratch: these builds never run (no reachable host), and a base image would have its ONBUILD triggers
        // read from a registry this test does not start.
        byte[] context = Tars.dockerfile("FROM scratch\nUSER 65534\n");
        return send(request(token, "/api/v1/builds?image=" + image + "&tag=" + UUID.randomUUID().toString()
                .substring(0, 8)).header("Content-Type", "application/x-tar")
                .POST(HttpRequest.BodyPublishers.ofByteArray(context)));
    }

    private HttpResponse<String> get(String token, String path) {
        return send(request(token, path).GET());
    }

    private HttpRequest.Builder request(String token, String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .timeout(Duration.ofMinutes(2));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    private HttpResponse<String> send(HttpRequest.Builder request) {
        try {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
