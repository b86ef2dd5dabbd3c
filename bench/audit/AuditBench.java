package io.buildgateway.audit;

import com.zaxxer.hikari.HikariDataSource;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.RequestInfo;
import io.buildgateway.signing.GatewayKey;
import java.io.StringReader;
import java.sql.Connection;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.postgresql.PGConnection;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The audit trail's speed through the gateway's own classes, each against a baseline measured in the same run:
 * <ul>
 *   <li>{@code append <label>}: {@link AuditTrail#append} per event, alone (no surrounding transaction: the
 *       statement commits itself, as a refused request's event does) and in a transaction of its own (begin, event,
 *       commit: as an event commits with its change), with 1 and 8 threads, against a plain INSERT of the same row
 *       into a copy of the table without the chain (no lock, no read of the head, no hash), the same way. Rounds
 *       alternate between the two; the median round is reported.</li>
 *   <li>{@code load <n>}: extends the chain by n events (hashed with {@link AuditChain}, written with COPY).</li>
 *   <li>{@code verify}: the verify endpoint's work ({@link AuditVerification#verify}: the whole chain streamed and
 *       hashed, then compared with the signed checkpoints) against reading the same rows the same way (the same
 *       ranges on as many connections, fetch size, binary transfer and byte arrays) without hashing. Run it with a
 *       small heap to see that it streams.</li>
 * </ul>
 *   java -cp target/classes:<deps>:<out> io.buildgateway.audit.AuditBench jdbc:postgresql://host:port/db user mode ...
 */
public final class AuditBench {

    private static final String[] ACTIONS = {"build.queued", "build.started", "build.succeeded", "token.issued",
        "http.refused", "image.verified", "deployment.recorded", "host.health-changed"};

    public static void main(String[] args) throws Exception {
        ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
                .setLevel(ch.qos.logback.classic.Level.WARN);
        HikariDataSource pool = new HikariDataSource();
        pool.setJdbcUrl(args[0]);
        pool.setUsername(args[1]);
        pool.setMaximumPoolSize(10);
        try (pool) {
            switch (args[2]) {
                case "append" -> append(pool, args[3]);
                case "load" -> load(pool, Long.parseLong(args[3]));
                case "verify" -> verify(pool);
                default -> throw new IllegalArgumentException("mode: append | load <n> | verify");
            }
        }
    }

    // ---- append ----------------------------------------------------------------------------------------------------

    private static AuditRecord record(long i) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("image", "payments/service-" + (i % 97));
        details.put("tag", "v" + (i % 13));
        details.put("team", "payments");
        details.put("contextDigest", "sha256:" + Long.toHexString(i * 0x9E3779B97F4A7C15L).repeat(4));
        details.put("buildArgs", Map.of("VERSION", "1." + i));
        return new AuditRecord(ACTIONS[(int) (i % ACTIONS.length)], "build/" + java.util.UUID.nameUUIDFromBytes(
                Long.toString(i).getBytes()), AuditRecord.Outcome.SUCCESS, details,
                new RequestInfo("ci-payments", "10.1.2." + (i % 250), "req-" + i));
    }

    private static void append(HikariDataSource pool, String label) throws Exception {
        JdbcTemplate jdbc = new JdbcTemplate(pool);
        TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(pool));
        AuditTrail trail = new AuditTrail(jdbc, Clock.systemUTC());
        AtomicLong n = new AtomicLong();
        Op plainAlone = () -> {
            AuditRecord r = record(n.incrementAndGet());
            Instant at = Instant.now().truncatedTo(ChronoUnit.MICROS);
            jdbc.update("insert into audit_event_plain (seq, at, actor, action, target, outcome, source_ip, request_id,"
                    + " details, prev_hash, hash) values (nextval('audit_event_plain_seq'),?,?,?,?,?,?,?,?,?,?)",
                    Timestamp.from(at), r.request().actor(), r.action(), r.target(), r.outcome().name(),
                    r.request().sourceIp(), r.request().requestId(), CanonicalJson.write(r.details()),
                    AuditChain.GENESIS, AuditChain.GENESIS);
        };
        // alone: no surrounding transaction, the statement commits itself (a refused request's event, a host's)
        measure(label + ", each event alone (autocommit)", () -> trail.append(record(n.incrementAndGet())),
                plainAlone);
        // in a transaction: begin, the event, commit (an event with the change it describes)
        measure(label + ", each event in a transaction of its own", () -> tx.executeWithoutResult(
                s -> trail.append(record(n.incrementAndGet()))), () -> tx.executeWithoutResult(s -> {
                    try {
                        plainAlone.run();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }));
        // the chain the appends built must verify
        AuditChain.Verifier v = ChainReader.inSnapshot(pool, conn -> {
            AuditChain.Verifier verifier = new AuditChain.Verifier();
            ChainReader.forEach(conn, 0, verifier::accept);
            return verifier;
        });
        System.out.printf(Locale.ROOT, "chain after the appends: %,d events, valid=%s%n", v.events(), v.valid());
        if (!v.valid()) {
            throw new IllegalStateException("the appended chain does not verify: " + v.reason());
        }
    }

    private static void measure(String label, Op chained, Op plain) throws Exception {
        run(chained, 1, 300);
        run(plain, 1, 300); // warm-up
        System.out.printf(Locale.ROOT, "%n-- append, %s%n", label);
        for (int threads : new int[] {1, 8}) {
            int perThread = threads == 1 ? 1500 : 400;
            List<Double> c = new ArrayList<>();
            List<Double> p = new ArrayList<>();
            for (int round = 0; round < 3; round++) {
                p.add(run(plain, threads, perThread));
                c.add(run(chained, threads, perThread));
            }
            double cm = median(c);
            double pm = median(p);
            System.out.printf(Locale.ROOT, "%d thread(s): AuditTrail.append %,.0f events/s (rounds %s); plain INSERT"
                    + " %,.0f rows/s (rounds %s); ratio %.2f; target 2,000/s: %s%n", threads, cm, rounds(c), pm,
                    rounds(p), cm / pm, cm >= 2000 ? "met" : "NOT met");
        }
    }

    @FunctionalInterface
    interface Op {
        void run() throws Exception;
    }

    /** Events per second for threads x perThread operations. */
    private static double run(Op op, int threads, int perThread) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> done = new ArrayList<>();
        long start = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            done.add(pool.submit(() -> {
                for (int i = 0; i < perThread; i++) {
                    op.run();
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        long nanos = System.nanoTime() - start;
        pool.shutdown();
        return threads * (double) perThread / (nanos / 1e9);
    }

    // ---- load ------------------------------------------------------------------------------------------------------

    private static void load(HikariDataSource pool, long count) throws Exception {
        long start = System.nanoTime();
        try (Connection c = pool.getConnection()) {
            JdbcTemplate jdbc = new JdbcTemplate(new org.springframework.jdbc.datasource.SingleConnectionDataSource(c,
                    true));
            List<Map<String, Object>> head = jdbc.queryForList("select seq, hash from audit_event order by seq desc"
                    + " limit 1");
            long seq = head.isEmpty() ? 0 : ((Number) head.get(0).get("seq")).longValue();
            String prev = head.isEmpty() ? AuditChain.GENESIS : (String) head.get(0).get("hash");
            Instant at = Instant.now().minus(Duration.ofDays(365)).truncatedTo(ChronoUnit.MICROS);
            var copy = c.unwrap(PGConnection.class).getCopyAPI();
            long loaded = 0;
            while (loaded < count) {
                int batch = (int) Math.min(50_000, count - loaded);
                StringBuilder tsv = new StringBuilder(batch * 512);
                for (int i = 0; i < batch; i++) {
                    seq++;
                    at = at.plusNanos(31_000_000L);
                    AuditRecord r = record(seq);
                    AuditEvent e = new AuditEvent(seq, at, r.request().actor(), r.action(), r.target(),
                            r.outcome().name(), r.request().sourceIp(), r.request().requestId(),
                            CanonicalJson.write(r.details()), null, prev);
                    String hash = AuditChain.hash(prev, e);
                    tsv.append(seq).append('\t').append(at).append('\t').append(text(e.actor())).append('\t')
                            .append(text(e.action())).append('\t').append(text(e.target())).append('\t')
                            .append(e.outcome()).append('\t').append(text(e.sourceIp())).append('\t')
                            .append(text(e.requestId())).append('\t').append(text(e.details())).append('\t')
                            .append(prev).append('\t').append(hash).append('\n');
                    prev = hash;
                }
                copy.copyIn("copy audit_event (seq, at, actor, action, target, outcome, source_ip, request_id, details,"
                        + " prev_hash, hash) from stdin", new StringReader(tsv.toString()));
                loaded += batch;
            }
        }
        System.out.printf(Locale.ROOT, "loaded %,d chained events in %.1f s%n", count,
                (System.nanoTime() - start) / 1e9);
    }

    /** COPY's text format: backslash, tab, newline and carriage return escaped; null as \N. */
    private static String text(String s) {
        if (s == null) {
            return "\\N";
        }
        return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r");
    }

    // ---- verify ----------------------------------------------------------------------------------------------------

    private static void verify(HikariDataSource pool) throws Exception {
        JdbcTemplate jdbc = new JdbcTemplate(pool);
        TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(pool));
        Clock clock = Clock.systemUTC();
        AuditTrail trail = new AuditTrail(jdbc, clock);
        AuditProperties properties = new AuditProperties(Duration.ofMinutes(5), null, new AuditProperties.Export(
                Duration.ofSeconds(1), 500, Duration.ofMinutes(1), new AuditProperties.FileSink(null, "file"),
                new AuditProperties.Syslog(null, 6514, false, null, 13, "build-gateway", null, "syslog",
                        Duration.ofSeconds(5), Duration.ofMillis(50), true)));
        GatewayKey key = GatewayKey.generate();
        AuditCheckpoints checkpoints = new AuditCheckpoints(jdbc, tx, key, properties, clock,
                new AuditExport(jdbc, tx, properties, clock, trail));
        Checkpoint cp = checkpoints.checkpoint("bench");
        AuditVerification verification = new AuditVerification(pool, key, checkpoints);
        long rows = jdbc.queryForObject("select count(*) from audit_event", Long.class);
        System.out.printf(Locale.ROOT, "%n-- verify, %,d events, heap limit %d MiB, checkpoint at seq %d%n", rows,
                Runtime.getRuntime().maxMemory() >> 20, cp.seq());
        List<Double> v = new ArrayList<>();
        List<Double> b = new ArrayList<>();
        long peak = 0;
        for (int round = 0; round < 3; round++) {
            long start = System.nanoTime();
            long n = ChainReader.inSnapshot(pool, c -> verification.readChain(c, false)).events();
            b.add(n / ((System.nanoTime() - start) / 1e9));

            start = System.nanoTime();
            Verification result = verification.verify();
            v.add(result.events() / ((System.nanoTime() - start) / 1e9));
            if (!result.valid() || result.events() != rows || !result.checkpoint().verified()) {
                throw new IllegalStateException("the loaded chain does not verify: " + result);
            }
            Runtime rt = Runtime.getRuntime();
            peak = Math.max(peak, rt.totalMemory() - rt.freeMemory());
        }
        double vm = median(v);
        double bm = median(b);
        System.out.printf(Locale.ROOT, "verify (stream + SHA-256 + checkpoints) %,.0f events/s (rounds %s); reading"
                + " the same rows without hashing %,.0f rows/s (rounds %s); ratio %.2f; target 200,000/s: %s%n", vm,
                rounds(v), bm, rounds(b), vm / bm, vm >= 200_000 ? "met" : "NOT met");
        System.out.printf(Locale.ROOT, "heap in use after a round: at most %d MiB%n", peak >> 20);
    }

    // ---- numbers ---------------------------------------------------------------------------------------------------

    private static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        return s.get(s.size() / 2);
    }

    private static String rounds(List<Double> xs) {
        StringBuilder b = new StringBuilder();
        for (double x : xs) {
            b.append(b.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%,.0f", x));
        }
        return b.toString();
    }
}
