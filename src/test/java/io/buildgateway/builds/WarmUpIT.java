package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.ReadinessState;
import tools.jackson.databind.JsonNode;

/**
 * The warm-up before readiness (docs/operations.md, "Warm-up before readiness"): it ran at this gateway's start while
 * the readiness probe still refused traffic, went through every leg, and rehearsing writes nothing: no build row, no
 * audit event, no file in the context store.
 */
class WarmUpIT extends IntegrationTest {

    @Autowired
    WarmUp warmUp;
    @Autowired
    io.buildgateway.auth.WarmUpPass pass;
    @Autowired
    ApplicationAvailability availability;
    @Value("${gateway.intake.store-dir}")
    Path store;

    @Test
    void theStartsWarmUpRanWhileReadinessRefusedTraffic() {
        WarmUp.Report report = warmUp.last();
        assertThat(report).as("the warm-up at this context's start").isNotNull();
        assertThat(report.rounds()).isPositive();
        assertThat(report.failed()).as("legs left out after a failure").isEmpty();
        // the sample's base (base/busybox under the first approved prefix) is in the environment's registry
        assertThat(report.baseTriggers()).isEqualTo("read from the registry");
        assertThat(report.legs()).containsOnlyKeys("token checks", "status reads", "submissions", "records",
                "lints", "http lints", "http refusals", "http status reads", "probe requests")
                .allSatisfy((leg, n) -> assertThat(n).as(leg).isEqualTo(report.rounds()));
        // At its first round and after its last: the application refused traffic, and the probe said so.
        assertThat(report.readinessStates()).containsExactly(ReadinessState.REFUSING_TRAFFIC,
                ReadinessState.REFUSING_TRAFFIC);
        assertThat(report.readiness()).containsExactly(503, 503);
        // and once it ended, the gateway went ready
        assertThat(availability.getReadinessState()).isEqualTo(ReadinessState.ACCEPTING_TRAFFIC);
        assertThat(get(null, "/actuator/health/readiness").status()).isEqualTo(200);
    }

    @Test
    void rehearsingWritesNoBuildRowAuditEventOrStoredContext() throws IOException {
        long builds = jdbc.queryForObject("select count(*) from build", Long.class);
        long seq = jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);
        List<Path> stored = storeFiles();

        WarmUp.Report report = warmUp.rehearse(Duration.ofMinutes(2), 40);

        assertThat(report.rounds()).isEqualTo(40);
        assertThat(report.endedBy()).isEqualTo("rounds");
        assertThat(report.failed()).isEmpty();
        // the records (alone and four together) were made, and rolled back
        assertThat(report.legs()).containsEntry("submissions", 40).containsEntry("status reads", 40)
                .containsEntry("records", 40).containsEntry("http refusals", 40).containsEntry("http lints", 40);
        assertThat(jdbc.queryForObject("select count(*) from build", Long.class)).isEqualTo(builds);
        assertThat(jdbc.queryForObject("select count(*) from build where team = ? or requested_by = ?", Long.class,
                WarmUp.TEAM, "warm-up")).isZero();
        // Builds of earlier test classes may still be finishing: only events about those (and their images, whose
        // provenance is attached after the build ends) may appear meanwhile.
        assertThat(jdbc.queryForList("select action || ' ' || coalesce(target, '') from audit_event where seq > ?"
                + " and not (target like 'build/%' and substring(target from 7)::uuid in (select id from build))"
                + " and not (target like 'image/%' and substring(target from 7) in (select image_digest from build"
                + " where image_digest is not null)) and action not like 'host.%'", String.class, seq)).isEmpty();
        sleep(2_500); // the refusals' summaries are written once a second (RefusalSummaries): one would be there now
        assertThat(jdbc.queryForObject("select count(*) from audit_event where seq > ? and (actor = 'warm-up'"
                + " or details like '%warm-up%')", Long.class, seq)).isZero();
        assertThat(storeFiles()).isEqualTo(stored);
        // The rolled-back appends took no place in the chain: the next event follows the head with no gap, and the
        // chain verifies.
        // one event after the rehearsal: a refused request's
        assertThat(get("bgw_not-a-token", "/api/v1/builds").status()).isEqualTo(401);
        long head = jdbc.queryForObject("select max(seq) from audit_event", Long.class);
        assertThat(jdbc.queryForObject("select count(*) from audit_event where seq > ?", Long.class, seq))
                .as("events after seq %d up to %d, without a gap", seq, head).isEqualTo(head - seq).isPositive();
        JsonNode verified = read(get(ADMIN_SECRET, "/api/v1/audit/verify"));
        assertThat(verified.path("valid").asBoolean()).as(verified.toString()).isTrue();
    }

    /**
     * The warm-up's credential (WarmUpPass) while it is open: its submission is refused as at the quota, with nothing
     * uploaded, recorded or audited; its lint works; another team's build is refused. Once closed, the same secret is
     * an unknown token, refused and audited as any.
     */
    @Test
    void theWarmUpsCredentialIsRefusedAtTheQuotaUnauditedAndUnknownOnceClosed() {
        long builds = jdbc.queryForObject("select count(*) from build", Long.class);
        long seq = jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\nUSER 65534\n");
        String secret = pass.open();
        try {
            Response refused = submit(secret, "image=" + WarmUp.TEAM + "/app&tag=1", context);
            JsonNode problem = problem(refused, 429);
            assertThat(problem.path("type").asString()).endsWith("team-queue-full");
            assertThat(refused.header("Retry-After")).isNotBlank();
            Response lint = send(request(secret, "/api/v1/lint").header("Content-Type", "application/x-tar")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(context)));
            assertThat(lint.status()).as(lint.body()).isEqualTo(200);
            problem(submit(secret, "image=other-team/app&tag=1", context), 403);
            problem(get(secret, "/api/v1/builds/" + java.util.UUID.randomUUID()), 404);
            problem(get(secret, "/api/v1/tokens"), 403);
        } finally {
            pass.close();
        }
        sleep(2_500); // a refusal summary would be written within a second
        assertThat(jdbc.queryForObject("select count(*) from build", Long.class)).isEqualTo(builds);
        // (the other test JVM's refusals may be audited meanwhile: only the warm-up's are looked for)
        assertThat(jdbc.queryForList("select action || ' ' || coalesce(target, '') from audit_event where seq > ?"
                + " and (actor = 'warm-up' or details like '%warm-up%')", String.class, seq)).isEmpty();

        Response closed = submit(secret, "image=" + WarmUp.TEAM + "/app&tag=1", context);
        problem(closed, 401);
        Map<String, Object> row = jdbc.queryForMap("select * from audit_event where request_id = ?",
                closed.header("X-Request-Id"));
        assertThat(row.get("action")).isEqualTo("http.refused");
        assertThat(row.get("outcome")).isEqualTo("DENIED");
        assertThat(row.get("actor")).isEqualTo("anonymous");
        assertThat(row.get("details").toString()).contains("not known").doesNotContain(secret.substring(11));
        assertThat(jdbc.queryForObject("select count(*) from build", Long.class)).isEqualTo(builds);
    }

    private List<Path> storeFiles() throws IOException {
        if (!Files.isDirectory(store)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(store)) {
            return files.filter(Files::isRegularFile).sorted().toList();
        }
    }
}
