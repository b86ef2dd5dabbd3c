package io.buildgateway.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.RequestInfo;
import io.buildgateway.support.IntegrationTest;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The evidence of issue #6 for the trail itself: the application's database role cannot change it, a superuser who
 * does (trigger disabled) is caught by verify at the right sequence, truncating the tail is caught by the signed
 * checkpoints (in the table and in the file outside the database), a forged checkpoint is caught, two "replicas"
 * with 20 threads keep one chain, and verification streams.
 *
 * <p>Tampering happens under the chain's advisory lock (a superuser session holds it), so the gateway's own appends
 * and checkpoints wait meanwhile, and every change is undone before the lock is released.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AuditTamperIT extends IntegrationTest {

    @Autowired
    EmbeddedPostgres postgres;
    @Autowired
    DataSource dataSource;
    @Autowired
    AuditTrail trail;
    @Autowired
    AuditCheckpoints checkpoints;
    @Autowired
    AuditVerification verification;

    private long maxSeq() {
        return jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);
    }

    private void appendSome(int n) {
        for (int i = 0; i < n; i++) {
            trail.append(new AuditRecord("test.tamper-filler", "test/" + i, AuditRecord.Outcome.SUCCESS,
                    Map.of("i", i), RequestInfo.system()));
        }
    }

    // ---- least privilege ----------------------------------------------------------------------------------------

    @Test
    @Order(1)
    void theGatewayRunsAsALeastPrivilegeRoleThatCannotChangeTheTrail() {
        assertThat(jdbc.queryForObject("select current_user", String.class)).isEqualTo("build_gateway");
        assertThat(jdbc.queryForObject("select rolsuper or rolcreaterole or rolbypassrls from pg_roles"
                + " where rolname = current_user", Boolean.class)).isFalse();
        assertThat(jdbc.queryForObject("select pg_has_role(current_user, 'build_gateway_app', 'member')",
                Boolean.class)).isTrue();
        for (String table : List.of("audit_event", "audit_checkpoint")) {
            assertThat(privilege(table, "SELECT")).isTrue();
            assertThat(privilege(table, "INSERT")).isTrue();
            assertThat(privilege(table, "UPDATE")).as(table).isFalse();
            assertThat(privilege(table, "DELETE")).as(table).isFalse();
            assertThat(privilege(table, "TRUNCATE")).as(table).isFalse();
        }
        assertThat(privilege("build", "UPDATE")).isTrue();
        assertThat(privilege("audit_export_cursor", "UPDATE")).isTrue();

        // the append function takes the same lock as the gateway's checkpoints (and this test's tampering)
        assertThat(jdbc.queryForObject("select prosrc from pg_proc where proname = 'audit_append'", String.class))
                .contains("pg_advisory_xact_lock(" + AuditTrail.CHAIN_LOCK + ")");

        appendSome(2);
        long seq = maxSeq();
        assertDenied("update audit_event set actor = 'mallory' where seq = " + seq);
        assertDenied("delete from audit_event where seq = " + seq);
        assertDenied("truncate audit_event");
        assertThatThrownBy(() -> jdbc.execute("alter table audit_event disable trigger audit_event_no_update"))
                .satisfies(e -> assertThat(database(e)).contains("must be owner of table audit_event"));
        assertDenied("update audit_checkpoint set hash = 'x'");
        assertDenied("delete from audit_checkpoint");
        // with the trigger off (a superuser did that), the role still has no UPDATE or DELETE: two locks, not one
        JdbcTemplate su = new JdbcTemplate(postgres.getPostgresDatabase());
        su.execute("alter table audit_event disable trigger audit_event_no_update");
        try {
            assertDenied("update audit_event set actor = 'mallory' where seq = " + seq);
            assertDenied("delete from audit_event where seq = " + seq);
        } finally {
            su.execute("alter table audit_event enable trigger audit_event_no_update");
        }
        // and the trigger refuses even the owner
        assertThatThrownBy(() -> su.update("update audit_event set actor = 'mallory' where seq = ?", seq))
                .satisfies(e -> assertThat(database(e)).contains("audit_event is append-only: UPDATE refused"));
        assertThatThrownBy(() -> su.update("delete from audit_checkpoint"))
                .satisfies(e -> assertThat(database(e)).contains("audit_checkpoint is append-only: DELETE refused"));
        assertThat(jdbc.queryForObject("select actor from audit_event where seq = ?", String.class, seq))
                .isEqualTo("system");
    }

    /** PostgreSQL's own message, under Spring's translation. */
    private static String database(Throwable e) {
        return ((DataAccessException) e).getMostSpecificCause().getMessage();
    }

    private boolean privilege(String table, String privilege) {
        return jdbc.queryForObject("select has_table_privilege(current_user, ?, ?)", Boolean.class, table, privilege);
    }

    private void assertDenied(String sql) {
        assertThatThrownBy(() -> jdbc.execute(sql)).as(sql).isInstanceOf(DataAccessException.class)
                .satisfies(e -> assertThat(database(e)).contains("permission denied").doesNotContain("append-only"));
    }

    // ---- tampering as a superuser -------------------------------------------------------------------------------

    @FunctionalInterface
    interface Step {
        void run(JdbcTemplate superuser) throws Exception;
    }

    /** Tampers as a superuser with appends held off, verifies, and undoes the tampering. */
    private Verification tampered(Step tamper, Step undo) throws Exception {
        try (Connection c = postgres.getPostgresDatabase().getConnection()) {
            JdbcTemplate su = new JdbcTemplate(new SingleConnectionDataSource(c, true));
            su.queryForObject("select pg_advisory_lock(?)", Object.class, AuditTrail.CHAIN_LOCK);
            try {
                su.execute("alter table audit_event disable trigger audit_event_no_update");
                su.execute("alter table audit_checkpoint disable trigger audit_checkpoint_no_update");
                try {
                    tamper.run(su);
                    return verification.verify();
                } finally {
                    undo.run(su);
                    su.execute("alter table audit_event enable trigger audit_event_no_update");
                    su.execute("alter table audit_checkpoint enable trigger audit_checkpoint_no_update");
                }
            } finally {
                su.queryForObject("select pg_advisory_unlock(?)", Boolean.class, AuditTrail.CHAIN_LOCK);
            }
        }
    }

    private static Map<String, Object> row(JdbcTemplate su, long seq) {
        return su.queryForMap("select * from audit_event where seq = ?", seq);
    }

    private static void reinsert(JdbcTemplate su, Map<String, Object> r) {
        su.update("insert into audit_event (seq, at, actor, action, target, outcome, source_ip, request_id, details,"
                + " prev_hash, hash) values (?,?,?,?,?,?,?,?,?,?,?)", r.get("seq"), r.get("at"), r.get("actor"),
                r.get("action"), r.get("target"), r.get("outcome"), r.get("source_ip"), r.get("request_id"),
                r.get("details"), r.get("prev_hash"), r.get("hash"));
    }

    @Test
    @Order(2)
    void aFieldChangedInPlaceIsFoundAtItsSeq() throws Exception {
        appendSome(5);
        long k = maxSeq() - 2;
        String[] original = new String[1];
        for (String column : List.of("actor", "details", "target", "at")) {
            Verification v = tampered(su -> {
                original[0] = su.queryForObject("select " + column + "::text from audit_event where seq = ?",
                        String.class, k);
                su.update("update audit_event set " + column + " = " + switch (column) {
                    case "at" -> "at + interval '1 microsecond'";
                    case "details" -> "'{\"i\":99}'";
                    default -> "'mallory'";
                } + " where seq = ?", k);
            }, su -> su.update("update audit_event set " + column + " = ?::" + (column.equals("at") ? "timestamptz"
                    : "text") + " where seq = ?", original[0], k));

            assertThat(v.valid()).as(column).isFalse();
            assertThat(v.firstBrokenSeq()).as(column).isEqualTo(k);
            assertThat(v.reason()).contains("does not match its hash");
        }
        assertThat(verification.verify().valid()).isTrue();
    }

    @Test
    @Order(3)
    void aDeletedEventIsFoundAsAGapAtItsSeq() throws Exception {
        appendSome(5);
        long k = maxSeq() - 3;
        List<Map<String, Object>> saved = new ArrayList<>();
        Verification v = tampered(su -> {
            saved.add(row(su, k));
            su.update("delete from audit_event where seq = ?", k);
        }, su -> reinsert(su, saved.get(0)));

        assertThat(v.valid()).isFalse();
        assertThat(v.firstBrokenSeq()).isEqualTo(k);
        assertThat(v.reason()).contains("gap");
        assertThat(verification.verify().valid()).isTrue();
    }

    @Test
    @Order(4)
    void anEditedHashIsFoundAtItsSeq() throws Exception {
        appendSome(5);
        checkpoints.checkpoint("test");
        long k = maxSeq() - 1;
        String[] original = new String[1];
        Verification v = tampered(su -> {
            original[0] = su.queryForObject("select hash from audit_event where seq = ?", String.class, k);
            su.update("update audit_event set hash = ? where seq = ?", "0".repeat(63) + "1", k);
        }, su -> su.update("update audit_event set hash = ? where seq = ?", original[0], k));

        assertThat(v.valid()).isFalse();
        assertThat(v.firstBrokenSeq()).isEqualTo(k);
        // a rehashed event with its successor's prev_hash edited too: the successor breaks
        Verification rehashed = tampered(su -> {
            Map<String, Object> r = row(su, k);
            AuditEvent forged = new AuditEvent(k, ((java.sql.Timestamp) r.get("at")).toInstant(), "mallory",
                    (String) r.get("action"), (String) r.get("target"), (String) r.get("outcome"),
                    (String) r.get("source_ip"), (String) r.get("request_id"), (String) r.get("details"), null,
                    (String) r.get("prev_hash"));
            original[0] = (String) r.get("hash");
            String hash = AuditChain.hash(forged.prevHash(), forged);
            su.update("update audit_event set actor = 'mallory', hash = ? where seq = ?", hash, k);
            su.update("update audit_event set prev_hash = ? where seq = ?", hash, k + 1);
        }, su -> {
            su.update("update audit_event set actor = 'system', hash = ? where seq = ?", original[0], k);
            su.update("update audit_event set prev_hash = ? where seq = ?", original[0], k + 1);
        });
        assertThat(rehashed.valid()).isFalse();
        assertThat(rehashed.firstBrokenSeq()).isEqualTo(k + 1);
        assertThat(verification.verify().valid()).isTrue();
    }

    @Test
    @Order(5)
    void aTruncatedTailIsFoundThroughTheSignedCheckpoints() throws Exception {
        appendSome(6);
        Checkpoint cp = checkpoints.checkpoint("test");
        assertThat(cp).isNotNull();
        long head = cp.seq();
        long firstRemoved = head - 2;
        List<Map<String, Object>> saved = new ArrayList<>();
        List<Map<String, Object>> savedCheckpoints = new ArrayList<>();

        // the tail cut: the table's and the file's checkpoints both show it
        Verification v = tampered(su -> {
            saved.addAll(su.queryForList("select * from audit_event where seq >= ? order by seq", firstRemoved));
            su.update("delete from audit_event where seq >= ?", firstRemoved);
        }, su -> saved.forEach(r -> reinsert(su, r)));
        assertThat(v.valid()).isFalse();
        assertThat(v.firstBrokenSeq()).isEqualTo(firstRemoved);
        assertThat(v.reason()).contains("were removed");
        assertThat(v.checkpoint().seq()).isGreaterThanOrEqualTo(head);
        assertThat(v.checkpoint().verified()).isFalse();

        // the tail cut and the checkpoints in the database removed too: the file outside the database still shows it
        saved.clear();
        Verification fileOnly = tampered(su -> {
            saved.addAll(su.queryForList("select * from audit_event where seq >= ? order by seq", firstRemoved));
            savedCheckpoints.addAll(su.queryForList("select * from audit_checkpoint where seq >= ? order by id",
                    firstRemoved));
            su.update("delete from audit_event where seq >= ?", firstRemoved);
            su.update("delete from audit_checkpoint where seq >= ?", firstRemoved);
        }, su -> {
            saved.forEach(r -> reinsert(su, r));
            savedCheckpoints.forEach(r -> su.update("insert into audit_checkpoint (id, seq, hash, at, key_id, payload,"
                    + " signature, replica) overriding system value values (?,?,?,?,?,?,?,?)", r.get("id"),
                    r.get("seq"), r.get("hash"), r.get("at"), r.get("key_id"), r.get("payload"), r.get("signature"),
                    r.get("replica")));
        });
        assertThat(fileOnly.valid()).isFalse();
        assertThat(fileOnly.firstBrokenSeq()).isEqualTo(firstRemoved);
        assertThat(fileOnly.checkpoint().source()).isEqualTo("file");

        // the tail cut, then new events: a rewritten chain is not the one that was signed
        saved.clear();
        Verification rewritten = tampered(su -> {
            saved.addAll(su.queryForList("select * from audit_event where seq >= ? order by seq", firstRemoved));
            su.update("delete from audit_event where seq >= ?", firstRemoved);
            String prev = su.queryForObject("select hash from audit_event where seq = ?", String.class,
                    firstRemoved - 1);
            for (long s = firstRemoved; s <= head; s++) {
                AuditEvent e = new AuditEvent(s, Instant.now().truncatedTo(ChronoUnit.MICROS),
                        "mallory", "test.rewritten", null, "SUCCESS", null, null, "{}", null, prev);
                String hash = AuditChain.hash(prev, e);
                su.update("insert into audit_event (seq, at, actor, action, target, outcome, details, prev_hash, hash)"
                        + " values (?,?,?,?,?,?,?,?,?)", s, java.sql.Timestamp.from(e.at()), e.actor(), e.action(),
                        null, e.outcome(), e.details(), prev, hash);
                prev = hash;
            }
        }, su -> {
            su.update("delete from audit_event where seq >= ?", firstRemoved);
            saved.forEach(r -> reinsert(su, r));
        });
        assertThat(rewritten.valid()).isFalse();
        assertThat(rewritten.firstBrokenSeq()).isLessThanOrEqualTo(firstRemoved);
        assertThat(rewritten.reason()).contains("replaced");

        assertThat(verification.verify().valid()).isTrue();
    }

    @Test
    @Order(6)
    void aCheckpointWithATamperedSignatureIsDetected() throws Exception {
        appendSome(2);
        Checkpoint cp = checkpoints.checkpoint("test");
        Path file = checkpoints.file().path();
        String original = Files.readString(file);
        String flipped = flip(cp.signature());
        try {
            Files.writeString(file, original.replace(cp.signature(), flipped));
            Verification v = verification.verify();
            assertThat(v.valid()).isFalse();
            assertThat(v.firstBrokenSeq()).isNull();
            assertThat(v.checkpoint().verified()).isFalse();
            assertThat(v.reason()).contains("not signed by this gateway's key");
        } finally {
            Files.writeString(file, original);
        }

        Verification table = tampered(su -> su.update("update audit_checkpoint set signature = ? where signature = ?",
                flipped, cp.signature()), su -> su.update("update audit_checkpoint set signature = ?"
                + " where signature = ?", cp.signature(), flipped));
        assertThat(table.valid()).isFalse();
        assertThat(table.reason()).contains("table").contains("not signed by this gateway's key");

        Verification payload = tampered(su -> su.update("update audit_checkpoint set hash = ? where signature = ?",
                "f".repeat(64), cp.signature()), su -> su.update("update audit_checkpoint set hash = ?"
                + " where signature = ?", cp.hash(), cp.signature()));
        assertThat(payload.valid()).isFalse();
        assertThat(payload.reason()).contains("altered");

        assertThat(verification.verify().valid()).isTrue();
    }

    private static String flip(String base64) {
        byte[] sig = java.util.Base64.getDecoder().decode(base64);
        sig[sig.length - 1] ^= 1;
        return java.util.Base64.getEncoder().encodeToString(sig);
    }

    @Test
    @Order(7)
    void aChainThatDoesNotExtendTheLastCheckpointIsNeverSignedAgain() throws Exception {
        appendSome(3);
        Checkpoint cp = checkpoints.checkpoint("test");
        List<Map<String, Object>> saved = new ArrayList<>();
        Checkpoint[] during = new Checkpoint[1];
        try (Connection c = postgres.getPostgresDatabase().getConnection()) {
            JdbcTemplate su = new JdbcTemplate(new SingleConnectionDataSource(c, true));
            su.execute("alter table audit_event disable trigger audit_event_no_update");
            try {
                saved.addAll(su.queryForList("select * from audit_event where seq >= ? order by seq", cp.seq()));
                su.update("delete from audit_event where seq >= ?", cp.seq());
                su.execute("alter table audit_event enable trigger audit_event_no_update");
                appendSome(1); // the gateway goes on from the truncated head
                during[0] = checkpoints.checkpoint("test");
            } finally {
                su.execute("alter table audit_event disable trigger audit_event_no_update");
                su.queryForObject("select pg_advisory_lock(?)", Object.class, AuditTrail.CHAIN_LOCK);
                su.update("delete from audit_event where seq >= ?", cp.seq());
                saved.forEach(r -> reinsert(su, r));
                su.queryForObject("select pg_advisory_unlock(?)", Boolean.class, AuditTrail.CHAIN_LOCK);
                su.execute("alter table audit_event enable trigger audit_event_no_update");
            }
        }
        assertThat(during[0]).isNull();
        assertThat(verification.verify().valid()).isTrue();
    }

    // ---- concurrent writers -------------------------------------------------------------------------------------

    @Test
    @Order(10)
    void twoReplicasWithTwentyThreadsKeepOneChain() throws Exception {
        String run = "concurrency-" + UUID.randomUUID().toString().substring(0, 8);
        long before = maxSeq();
        // replica B: its own AuditTrail, DataSource (the same least-privilege login) and transaction manager
        try (HikariDataSource other = new HikariDataSource()) {
            other.setJdbcUrl(postgres.getJdbcUrl("build_gateway", "postgres"));
            other.setUsername("build_gateway");
            other.setMaximumPoolSize(10);
            AuditTrail replicaB = new AuditTrail(new JdbcTemplate(other), Clock.systemUTC());
            TransactionTemplate txB = new TransactionTemplate(new DataSourceTransactionManager(other));
            ExecutorService pool = Executors.newFixedThreadPool(20);
            AtomicInteger failures = new AtomicInteger();
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 20; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 500; i++) {
                        AuditRecord r = new AuditRecord("test.concurrent", "thread/" + thread, Outcome.SUCCESS,
                                Map.of("i", i, "replica", thread % 2 == 0 ? "A" : "B"),
                                new RequestInfo(run, "127.0.0.1", run + "-" + thread + "-" + i));
                        try {
                            if (thread % 2 == 0) {
                                trail.append(r); // replica A: the gateway's own bean, its pool, its transactions
                            } else {
                                txB.executeWithoutResult(s -> replicaB.append(r));
                            }
                        } catch (RuntimeException e) {
                            failures.incrementAndGet();
                        }
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            pool.shutdown();
            assertThat(failures.get()).isZero();
        }

        Verification v = verification.verify();
        assertThat(v.valid()).as(v.reason()).isTrue();
        long after = maxSeq();
        assertThat(v.events()).isEqualTo(after);
        assertThat(jdbc.queryForObject("select count(*) from audit_event", Long.class)).isEqualTo(after);
        assertThat(jdbc.queryForObject("select count(*) from audit_event where actor = ?", Long.class, run))
                .isEqualTo(10_000);
        assertThat(jdbc.queryForObject("select count(distinct request_id) from audit_event where actor = ?",
                Long.class, run)).isEqualTo(10_000);
        assertThat(jdbc.queryForObject("select min(seq) from audit_event where actor = ?", Long.class, run))
                .isGreaterThan(before);
    }

    @Test
    @Order(9)
    void aBatchIsAppendedByOneStatementInItsOrderAndVerifies() {
        String run = "batch-" + UUID.randomUUID().toString().substring(0, 8);
        List<AuditRecord> batch = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            // nulls (no source address, no request id), non-ASCII and JSON escapes go through the arrays unchanged
            batch.add(new AuditRecord("test.batch", "item/" + i, i % 3 == 0 ? Outcome.REJECTED : Outcome.SUCCESS,
                    Map.of("i", i, "text", "ä \"q\" \\ {" + i + "}"),
                    new RequestInfo(run, i % 2 == 0 ? null : "10.0.0." + i, i % 5 == 0 ? null : run + "-" + i)));
        }
        TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
        List<AuditEvent> events = tx.execute(s -> trail.appendAll(batch));

        assertThat(events).hasSize(40);
        for (int i = 0; i < 40; i++) {
            assertThat(events.get(i).target()).isEqualTo("item/" + i);
            if (i > 0) {
                assertThat(events.get(i).seq()).isEqualTo(events.get(i - 1).seq() + 1);
                assertThat(events.get(i).prevHash()).isEqualTo(events.get(i - 1).hash());
            }
        }
        List<String> stored = jdbc.queryForList("select target || '|' || coalesce(source_ip, '-') || '|'"
                + " || coalesce(request_id, '-') || '|' || details from audit_event where actor = ? order by seq",
                String.class, run);
        assertThat(stored).hasSize(40);
        assertThat(stored.get(0)).isEqualTo("item/0|-|-|" + events.get(0).details());
        assertThat(stored.get(7)).isEqualTo("item/7|10.0.0.7|" + run + "-7|" + events.get(7).details());
        assertThat(events.get(7).details()).contains("ä");
        Verification v = verification.verify();
        assertThat(v.valid()).as(v.reason()).isTrue();
    }

    // ---- streaming ----------------------------------------------------------------------------------------------

    @Test
    @Order(11)
    void verificationStreamsTheChainAFetchAtATime() throws Exception {
        long missing = 3L * ChainReader.FETCH_SIZE - maxSeq();
        if (missing > 0) {
            appendSome((int) missing);
        }
        int[] buffered = {-1};
        long[] rows = {0};
        long n = ChainReader.inSnapshot(dataSource, c -> {
            assertThat(c.getAutoCommit()).isFalse();
            return ChainReader.forEachRow(c, 0, rs -> {
                if (rows[0]++ == 0) {
                    buffered[0] = bufferedRows(rs);
                }
            });
        });
        assertThat(n).isGreaterThanOrEqualTo(3L * ChainReader.FETCH_SIZE);
        // the driver holds one fetch, not the whole result
        assertThat(buffered[0]).isBetween(1, ChainReader.FETCH_SIZE);
    }

    @Test
    @Order(12)
    void severalConnectionsReadingRangesFindTheSameBreaks() throws Exception {
        verification.minPerReader(1000); // ranges of the ~15,000-event chain on every processor's connection
        try {
            Verification intact = verification.verify();
            long max = maxSeq();
            assertThat(intact.valid()).as(intact.reason()).isTrue();
            assertThat(intact.events()).isEqualTo(max);
            assertThat(intact.head()).isEqualTo(jdbc.queryForObject("select hash from audit_event where seq = ?",
                    String.class, max));

            long k = max - 100;
            String[] actor = new String[1];
            Verification changed = tampered(su -> {
                actor[0] = su.queryForObject("select actor from audit_event where seq = ?", String.class, k);
                su.update("update audit_event set actor = 'mallory' where seq = ?", k);
            }, su -> su.update("update audit_event set actor = ? where seq = ?", actor[0], k));
            assertThat(changed.firstBrokenSeq()).isEqualTo(k);

            // a row deleted at every place a range could start (ranges of ceil(max / readers) seqs)
            for (int readers = 2; readers <= Math.min(4, Runtime.getRuntime().availableProcessors()); readers++) {
                long boundary = (max + readers - 1) / readers + 1;
                List<Map<String, Object>> saved = new ArrayList<>();
                Verification gap = tampered(su -> {
                    saved.add(row(su, boundary));
                    su.update("delete from audit_event where seq = ?", boundary);
                }, su -> reinsert(su, saved.get(0)));
                assertThat(gap.firstBrokenSeq()).as("readers " + readers).isEqualTo(boundary);
                assertThat(gap.reason()).contains("gap");
            }
        } finally {
            verification.minPerReader(100_000);
        }
        assertThat(verification.verify().valid()).isTrue();
    }

    /** How many rows PostgreSQL's driver holds in memory for this result (its private buffer). */
    private static int bufferedRows(ResultSet rs) throws SQLException {
        try {
            Class<?> pg = Class.forName("org.postgresql.jdbc.PgResultSet");
            Object unwrapped = rs.unwrap(pg);
            Field rows = pg.getDeclaredField("rows");
            rows.setAccessible(true);
            return ((List<?>) rows.get(unwrapped)).size();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("this PostgreSQL driver keeps its rows elsewhere", e);
        }
    }
}
