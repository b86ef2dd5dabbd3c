package io.buildgateway.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.SyslogReceiver;
import io.buildgateway.support.Tars;
import io.buildgateway.support.Webhooks;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;

/**
 * The audit API and the SIEM export against the real gateway: roles, filters, paging, verify; syslog over TLS (the
 * shared test configuration) and plain TCP, the file sink, an outage of the receiver; no secret in any event.
 */
class AuditApiIT extends IntegrationTest {

    @Autowired
    AuditExport export;
    @Autowired
    AuditCheckpoints checkpoints;

    private long maxSeq() {
        return jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);
    }

    private String tokenSecretIssued() {
        return token(Set.of("DEPLOYER"), Set.of());
    }

    @Test
    void onlyAuditorsAndAdminsReadTheTrailAndARefusalIsAudited() {
        String auditor = token(Set.of("AUDITOR"), Set.of());
        assertThat(get(auditor, "/api/v1/audit").status()).isEqualTo(200);
        assertThat(get(ADMIN_SECRET, "/api/v1/audit/verify").status()).isEqualTo(200);
        for (String role : List.of("BUILDER", "DEPLOYER", "SECURITY")) {
            String other = token(Set.of(role), Set.of("payments"));
            Response r = get(other, "/api/v1/audit?action=token.issued");
            problem(r, 403);
            problem(get(other, "/api/v1/audit/verify"), 403);
            String requestId = r.header("X-Request-Id");
            Map<String, Object> row = jdbc.queryForMap("select action, outcome, target from audit_event"
                    + " where request_id = ?", requestId);
            assertThat(row).containsEntry("action", "http.refused").containsEntry("outcome", "DENIED")
                    .containsEntry("target", "/api/v1/audit");
        }
        problem(get(null, "/api/v1/audit"), 401);
    }

    @Test
    void filtersSelectEventsAndBadValuesAre400() {
        String auditor = token(Set.of("AUDITOR"), Set.of());
        Instant before = Instant.now().minusSeconds(1);
        String name = "audit-filter-" + UUID.randomUUID().toString().substring(0, 8);
        Response created = postJson(ADMIN_SECRET, "/api/v1/tokens", "{\"name\":\"" + name
                + "\",\"roles\":[\"AUDITOR\"]}");
        String target = "token/" + read(created).path("id").asString();

        JsonNode page = read(get(auditor, "/api/v1/audit?action=token.issued&target=" + target + "&since=" + before));
        assertThat(page.path("items")).hasSize(1);
        JsonNode item = page.path("items").get(0);
        assertThat(item.path("actor").asString()).isEqualTo("bootstrap-admin");
        assertThat(item.path("outcome").asString()).isEqualTo("SUCCESS");
        assertThat(item.path("details").path("name").asString()).isEqualTo(name);
        assertThat(item.path("hash").asString()).hasSize(64);
        assertThat(item.path("prevHash").asString()).hasSize(64);
        assertThat(item.path("requestId").asString()).isEqualTo(created.header("X-Request-Id"));
        // details are served as stored: the bytes the hash covers
        String stored = jdbc.queryForObject("select details from audit_event where seq = ?", String.class,
                item.path("seq").asLong());
        assertThat(get(auditor, "/api/v1/audit?target=" + target).body()).contains("\"details\":" + stored);

        String actor = item.path("actor").asString();
        JsonNode byActor = read(get(auditor, "/api/v1/audit?limit=500&actor=" + actor));
        assertThat(byActor.path("items").findValuesAsString("actor")).isNotEmpty().containsOnly(actor);
        assertThat(read(get(auditor, "/api/v1/audit?until=" + before + "&target=" + target)).path("items")).isEmpty();
        assertThat(read(get(auditor, "/api/v1/audit?actor=nobody-at-all")).path("items")).isEmpty();

        for (String bad : List.of("since=yesterday", "until=2026-13-01T00:00:00Z", "limit=0", "limit=501",
                "limit=x", "cursor=%21%21", "order=sideways", "since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
                "actor=" + "a".repeat(201), "cursor=" + new AuditController.Cursor(false, 5).encode())) {
            JsonNode p = problem(get(auditor, "/api/v1/audit?" + bad), 400);
            assertThat(p.path("errors").get(0).path("field").asString()).as(bad).isNotBlank();
        }
    }

    @Test
    void pagesCoverTheTrailOnceInEitherOrder() {
        String auditor = token(Set.of("AUDITOR"), Set.of());
        for (int i = 0; i < 7; i++) {
            tokenSecretIssued();
        }
        long max = maxSeq();
        for (String order : List.of("asc", "desc")) {
            List<Long> seqs = new ArrayList<>();
            String cursor = null;
            int pages = 0;
            do {
                JsonNode page = read(get(auditor, "/api/v1/audit?action=token.issued&limit=3&order=" + order
                        + (cursor == null ? "" : "&cursor=" + cursor)));
                page.path("items").forEach(i -> seqs.add(i.path("seq").asLong()));
                cursor = page.path("nextCursor").isNull() ? null : page.path("nextCursor").asString();
                pages++;
            } while (cursor != null && pages < 1000);
            List<Long> expected = jdbc.queryForList("select seq from audit_event where action = 'token.issued'"
                    + " and seq <= ? order by seq " + order, Long.class, max);
            assertThat(seqs.stream().filter(s -> s <= max).toList()).as(order).isEqualTo(expected);
            assertThat(new HashSet<>(seqs)).hasSameSizeAs(seqs);
        }
    }

    @Autowired
    io.buildgateway.signing.GatewayKey key;

    /**
     * The key that signs the checkpoints is itself in the trail: its first use (this suite's gateway generates its
     * key on first start) is one {@code signing-key.first-used} event, covered by a checkpoint, and later checkpoints
     * add none.
     */
    @Test
    void theSigningKeysFirstUseIsInTheTrailOnce() {
        tokenSecretIssued();
        Checkpoint cp = checkpoints.checkpoint("test");
        String events = "select count(*) from audit_event where action = 'signing-key.first-used' and target = ?";
        assertThat(jdbc.queryForObject(events, Long.class, "signing-key/" + key.keyId())).isOne();
        Long seq = jdbc.queryForObject("select seq from audit_event where action = 'signing-key.first-used' and"
                + " target = ?", Long.class, "signing-key/" + key.keyId());
        assertThat(jdbc.queryForObject("select count(*) from audit_checkpoint where key_id = ? and seq >= ?",
                Long.class, key.keyId(), seq)).as("a checkpoint of this key covers the event").isPositive();
        assertThat(jdbc.queryForObject("select details from audit_event where seq = ?", String.class, seq))
                .contains(key.keyId()).contains("BEGIN PUBLIC KEY").doesNotContain("PRIVATE");
        tokenSecretIssued();
        checkpoints.checkpoint("test");
        assertThat(jdbc.queryForObject(events, Long.class, "signing-key/" + key.keyId())).isOne();
        assertThat(cp).isNotNull();
    }

    @Test
    void verifyReportsAnIntactChainWithItsHeadAndTheNewestCheckpoint() {
        tokenSecretIssued();
        Checkpoint cp = checkpoints.checkpoint("test");
        JsonNode v = read(get(token(Set.of("AUDITOR"), Set.of()), "/api/v1/audit/verify"));

        assertThat(v.path("valid").asBoolean()).as(v.toString()).isTrue();
        assertThat(v.has("firstBrokenSeq")).isFalse();
        long events = v.path("events").asLong();
        assertThat(events).isGreaterThanOrEqualTo(cp.seq());
        assertThat(v.path("head").asString()).isEqualTo(jdbc.queryForObject(
                "select hash from audit_event where seq = ?", String.class, events));
        assertThat(v.path("checkpoint").path("seq").asLong()).isEqualTo(cp.seq());
        assertThat(v.path("checkpoint").path("hash").asString()).isEqualTo(cp.hash());
        assertThat(v.path("checkpoint").path("source").asString()).isEqualTo("file");
        assertThat(v.path("checkpoint").path("verified").asBoolean()).isTrue();
    }

    @Test
    void eventsReachTheSyslogReceiverOverTlsAndTheFileAndNoneIsLostWhileTheReceiverIsDown() {
        SYSLOG.start();
        long first = maxSeq() + 1;
        for (int i = 0; i < 3; i++) {
            tokenSecretIssued();
        }
        eventually("the events reaching the syslog receiver", Duration.ofSeconds(20),
                () -> syslogSeqs(SYSLOG).containsAll(range(first, maxSeq())));

        SYSLOG.stop();
        try {
            for (int i = 0; i < 5; i++) {
                tokenSecretIssued();
            }
            long down = maxSeq();
            sleep(1500); // several export attempts fail meanwhile
            assertThat(syslogSeqs(SYSLOG)).doesNotContain(down);
            assertThat(jdbc.queryForObject("select seq from audit_export_cursor where sink = 'syslog'", Long.class))
                    .isLessThan(down);
        } finally {
            SYSLOG.start();
        }
        tokenSecretIssued();
        long last = maxSeq();
        eventually("every event reaching the receiver after its outage", Duration.ofSeconds(30),
                () -> syslogSeqs(SYSLOG).containsAll(range(first, last)));
        assertThat(SYSLOG.malformed()).isEmpty();

        String lastHash = jdbc.queryForObject("select hash from audit_event where seq = ?", String.class, last);
        SyslogReceiver.Message m = SYSLOG.received().stream().filter(x -> x.msgId().equals("audit")
                && seqOf(x) == last && json.readTree(x.msg()).path("hash").asString().equals(lastHash)).findFirst()
                .orElseThrow();
        assertThat(m.pri()).isEqualTo(13 * 8 + 6);
        assertThat(m.appName()).isEqualTo("build-gateway");
        assertThat(m.structuredData()).isEqualTo("-");
        JsonNode line = json.readTree(m.msg());
        Map<String, Object> row = jdbc.queryForMap("select hash, at from audit_event where seq = ?", last);
        assertThat(line.path("hash").asString()).isEqualTo(row.get("hash"));
        assertThat(line.path("action").asString()).isEqualTo("token.issued");
        assertThat(Instant.parse(m.timestamp())).isEqualTo(Instant.parse(line.path("at").asString()));

        eventually("the events reaching the export file", Duration.ofSeconds(20),
                () -> fileSeqs().containsAll(range(first, last)));
    }

    @Test
    void aCheckpointIsAlsoSentToSyslogWithItsSignature() {
        SYSLOG.start();
        tokenSecretIssued();
        Checkpoint cp = checkpoints.checkpoint("test");
        assertThat(cp).isNotNull();
        eventually("the checkpoint reaching syslog", Duration.ofSeconds(10), () -> SYSLOG.received().stream()
                .anyMatch(m -> m.msgId().equals("checkpoint") && m.msg().equals(cp.line())));
        SyslogReceiver.Message m = SYSLOG.received().stream().filter(x -> x.msg().equals(cp.line())).findFirst()
                .orElseThrow();
        assertThat(Checkpoint.parseLine(m.msg()).signedBy(
                io.buildgateway.signing.GatewayKey.publicKeyFromPem(read(get(ADMIN_SECRET, "/api/v1/signing-key"))
                        .path("publicKey").asString()))).isTrue();
    }

    @Test
    void plainTcpSyslogResumesFromItsCursorAfterTheReceiverWasDown() {
        SyslogReceiver tcp = SyslogReceiver.tcp();
        String cursor = "it-tcp-" + UUID.randomUUID().toString().substring(0, 8);
        SyslogSink sink = new SyslogSink(new AuditProperties.Syslog("127.0.0.1", tcp.port(), false, null, 13,
                "build-gateway", "it-host", cursor, Duration.ofSeconds(2), Duration.ofMillis(50), true));
        try {
            long first = maxSeq() + 1;
            jdbc.update("insert into audit_export_cursor (sink, seq, updated_at) values (?, ?, now())", cursor,
                    first - 1);
            tokenSecretIssued();
            drain(sink);
            // The receiver parses on a thread of its own: what the sink wrote is seen there a moment later.
            long drained = maxSeq();
            eventually("the first batch parsed by the receiver", Duration.ofSeconds(10),
                    () -> tcpSeqs(tcp).containsAll(range(first, drained)));

            tcp.stop();
            // The receiver went down between two batches, as it does in production. Back to back, the sink's side of
            // the connection may not have processed the receiver's FIN yet when the next batch starts (loopback
            // delivers it in a softirq, which a loaded CPU defers): make test once saw the sink find the connection
            // alive, write the batch and hear nothing within its 50 ms confirm-wait.
            sleep(500);
            tokenSecretIssued();
            tokenSecretIssued();
            long before = cursorOf(cursor);
            assertThatThrownBy(() -> export.exportOnce(sink)).isInstanceOf(UncheckedIOException.class);
            assertThat(cursorOf(cursor)).isEqualTo(before);

            tcp.start();
            drain(sink);
            long last = maxSeq();
            // make test once found only the first phase's events here. The receiver parses on threads of its own, so
            // this waits for them; a batch that never arrives still fails it.
            eventually("the batches after the outage parsed by the receiver", Duration.ofSeconds(10),
                    () -> tcpSeqs(tcp).containsAll(range(first, last)));
            assertThat(cursorOf(cursor)).isGreaterThanOrEqualTo(last);
            assertThat(tcp.malformed()).isEmpty();
            assertThat(tcp.received()).allSatisfy(m -> assertThat(m.hostname()).isEqualTo("it-host"));
        } finally {
            sink.close();
            tcp.stop();
        }
    }

    /**
     * A failed batch insert's message names no value: PgJDBC put the failed entry's SQL with its parameters (a build
     * row's batch carries the real values of non-public build args) and the server's DETAIL into the exception's
     * message, which Hibernate and the gateway log (a review's finding, 2026-12-06). The gateway's pool sets
     * logServerErrorDetail=false.
     */
    @Test
    void aFailedBatchInsertsMessageNamesNoValue() {
        String value = "batch-secret-" + UUID.randomUUID();
        String team = "bt" + UUID.randomUUID().toString().substring(0, 8);
        Throwable failure = org.assertj.core.api.Assertions.catchThrowable(() -> jdbc.batchUpdate(
                "insert into team (name, description, created_at) values (?, ?, now())",
                List.of(new Object[] {team, value}, new Object[] {team, value})));
        assertThat(failure).as("the second entry breaks the primary key").isNotNull();
        StringBuilder messages = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            messages.append(t).append('\n');
            if (t instanceof java.sql.SQLException sql && sql.getNextException() != null) {
                messages.append(sql.getNextException()).append('\n');
            }
        }
        assertThat(io.buildgateway.shared.RefusedByDatabase.sqlState(failure)).isEqualTo("23505");
        assertThat(messages.toString()).contains("team").doesNotContain(value).doesNotContain(team);
    }

    @Test
    void noSecretAppearsInTheTrailOrItsExport() throws Exception {
        SYSLOG.start();
        long first = maxSeq() + 1;
        Response issued = postJson(ADMIN_SECRET, "/api/v1/tokens", "{\"name\":\"secret-check\",\"roles\":[\"BUILDER\"],"
                + "\"teams\":[\"payments\"]}");
        String secret = read(issued).path("token").asString();
        String id = read(issued).path("id").asString();
        assertThat(send(request(ADMIN_SECRET, "/api/v1/tokens/" + id).DELETE()).status()).isEqualTo(204);
        // a refused request carrying a bearer secret, and a build whose secret-looking build arg is redacted
        problem(get(secret, "/api/v1/builds"), 401);
        String buildArgValue = "hunter2-" + UUID.randomUUID();
        String builder = builder("payments");
        Response build = submit(builder, "image=payments/secret-check&tag=1&buildArg=DB_PASSWORD=" + buildArgValue,
                Tars.dockerfile("FROM docker.io/library/alpine:3\nUSER 1000\n"));
        assertThat(build.status()).as(build.body()).isEqualTo(422);
        String buildId = read(build).path("buildId").asString();
        assertThat(auditCount("build.rejected", "build/" + buildId)).isEqualTo(1);

        long last = maxSeq();
        eventually("the events reaching the syslog receiver and the file", Duration.ofSeconds(20),
                () -> syslogSeqs(SYSLOG).containsAll(range(first, last)) && fileSeqs().containsAll(range(first, last)));
        List<String> secrets = List.of(secret, sha256Hex(secret), ADMIN_SECRET, sha256Hex(ADMIN_SECRET), Webhooks.SECRET,
                buildArgValue, builder);
        String trail = String.join("\n", jdbc.queryForList("select concat_ws(' ', actor, action, target, source_ip,"
                + " request_id, details) from audit_event", String.class));
        String exported = SYSLOG.received().stream().map(SyslogReceiver.Message::msg)
                .collect(Collectors.joining("\n")) + Files.readString(AUDIT_EXPORT_FILE);
        for (String s : secrets) {
            assertThat(trail).doesNotContain(s);
            assertThat(exported).doesNotContain(s);
        }
        assertThat(trail).contains("secret-check"); // the events are there, without their secrets
    }

    /**
     * The export stops with its context (SmartLifecycle: Spring's test context cache pauses a context no test uses,
     * and a replica stops before it closes): events appended meanwhile stay after the cursor, and the export resumes
     * from it when the context runs again.
     */
    @Test
    void aStoppedExportReadsNothingAndResumesFromItsCursor() throws Exception {
        long appended;
        export.stop();
        try {
            Thread.sleep(500); // a round under way at the stop ends
            long before = cursorOf("file");
            tokenSecretIssued();
            appended = maxSeq();
            assertThat(appended).isGreaterThan(before);
            Thread.sleep(1_000); // five poll intervals
            assertThat(cursorOf("file")).as("the cursor of a stopped export").isEqualTo(before);
            assertThat(fileSeqs()).doesNotContain(appended);
        } finally {
            export.start();
        }
        long last = appended;
        eventually("the export resumed from its cursor", Duration.ofSeconds(20),
                () -> cursorOf("file") >= last && fileSeqs().contains(last));
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private void drain(SyslogSink sink) {
        for (int i = 0; i < 1000 && export.exportOnce(sink) > 0; i++) {
            // until nothing is left after the cursor
        }
    }

    private long cursorOf(String cursor) {
        return jdbc.queryForObject("select seq from audit_export_cursor where sink = ?", Long.class, cursor);
    }

    private static Set<Long> range(long from, long to) {
        return LongStream.rangeClosed(from, to).boxed().collect(Collectors.toSet());
    }

    private long seqOf(SyslogReceiver.Message m) {
        return json.readTree(m.msg()).path("seq").asLong();
    }

    /**
     * The seqs of this gateway's events among those the receiver got. The receiver and the export file belong to the
     * JVM, and every Spring context of the suite exports its own database's chain to them: a seq alone may be another
     * context's event (CI once saw "seq 1319" arrive while this test's receiver was down: another gateway's). An event
     * counts as this gateway's when its hash is the one this database holds for its seq.
     */
    private Set<Long> syslogSeqs(SyslogReceiver receiver) {
        return ours(receiver.received().stream().filter(m -> m.msgId().equals("audit")).map(m -> json.readTree(
                m.msg())).toList());
    }

    private Set<Long> ours(List<JsonNode> events) {
        if (events.isEmpty()) {
            return Set.of();
        }
        long min = events.stream().mapToLong(e -> e.path("seq").asLong()).min().orElseThrow();
        long max = events.stream().mapToLong(e -> e.path("seq").asLong()).max().orElseThrow();
        Map<Long, String> hashes = new java.util.HashMap<>();
        jdbc.query("select seq, hash from audit_event where seq between ? and ?", rs -> {
            hashes.put(rs.getLong(1), rs.getString(2));
        }, min, max);
        return events.stream().filter(e -> e.path("hash").asString().equals(hashes.get(e.path("seq").asLong())))
                .map(e -> e.path("seq").asLong()).collect(Collectors.toSet());
    }

    private Set<Long> tcpSeqs(SyslogReceiver receiver) {
        return syslogSeqs(receiver);
    }

    private Set<Long> fileSeqs() {
        try {
            if (!Files.exists(AUDIT_EXPORT_FILE)) {
                return Set.of();
            }
            return ours(Files.readAllLines(AUDIT_EXPORT_FILE, StandardCharsets.UTF_8).stream()
                    .filter(l -> !l.isBlank()).map(l -> json.readTree(l)).toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
