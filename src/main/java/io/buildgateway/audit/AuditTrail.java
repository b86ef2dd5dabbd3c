package io.buildgateway.audit;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.GroupCommit;
import io.buildgateway.shared.RequestInfo;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.event.EventListener;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Appends audit events in the publisher's transaction (or its own, when there is none). Appends are serialised by a
 * transaction-scoped PostgreSQL advisory lock, so several gateway replicas extend one chain and never fork it.
 */
@Service
public class AuditTrail {

    private static final Logger log = LoggerFactory.getLogger("audit");
    /**
     * The transaction-scoped advisory lock that serialises appends (and checkpoints' reading of the head). The same
     * number is written into the {@code audit_append} function (V7).
     */
    static final long CHAIN_LOCK = 0x6267775f61756469L; // "bgw_audi"
    /** The transaction's appended events, logged (and the hooks run) at its commit ({@link #appended}). */
    private static final Object PENDING = new Object();

    private final JdbcTemplate jdbc;
    private final Clock clock;
    private final List<Runnable> afterCommit = new CopyOnWriteArrayList<>();

    private final GroupCommit<AuditRecord, AuditEvent> alone;

    AuditTrail(JdbcTemplate jdbc, Clock clock) {
        this.jdbc = jdbc;
        this.clock = clock;
        TransactionTemplate own = new TransactionTemplate(new DataSourceTransactionManager(jdbc.getDataSource()));
        this.alone = new GroupCommit<>(batch -> own.execute(status -> appendAll(batch)), this::appendHere);
    }

    @EventListener
    @Transactional(propagation = Propagation.SUPPORTS)
    public void on(AuditRecord record) {
        append(record);
    }

    /** A batch in the publisher's transaction: one statement ({@link #appendAll}); outside one, each on its own. */
    @EventListener
    @Transactional(propagation = Propagation.SUPPORTS)
    public void on(AuditRecord.Batch batch) {
        if (batch.records().isEmpty()) {
            return;
        }
        if (!TransactionSynchronizationManager.isActualTransactionActive()) {
            batch.records().forEach(this::append);
            return;
        }
        appendAll(batch.records());
    }

    /**
     * Appends the event in the current transaction, or, outside one, as a statement that commits itself. The database
     * function {@code audit_append} (V7) takes the chain's lock, reads the head and inserts the event with its hash in
     * one round trip; the hash it computed is checked here against {@link AuditChain#hash}, so a disagreement (an
     * encoding difference, say) rolls the transaction back instead of writing an event that would not verify. An
     * event on its own (a refused request, a host's health) thus costs one round trip, and the server releases the
     * chain's lock at its commit without waiting for the gateway: no round trip is made while other appends wait.
     * Events on their own that arrive together share one transaction and one commit ({@link GroupCommit}): each
     * caller still returns only once its event is durable, but concurrent callers pay one disk flush between them.
     */
    @Transactional(propagation = Propagation.SUPPORTS)
    public AuditEvent append(AuditRecord record) {
        if (!TransactionSynchronizationManager.isActualTransactionActive()) {
            return alone.append(record);
        }
        return appendHere(record);
    }

    private AuditEvent appendHere(AuditRecord record) {
        AuditEvent unsigned = unsigned(record);
        String[] canonical = unsigned.canonicalAroundSeq();
        AuditEvent appended = jdbc.queryForObject("select o_seq, o_hash, o_prev_hash"
                + " from audit_append(?,?,?,?,?,?,?,?,?,?)", (rs, i) -> appended(unsigned, rs.getLong(1),
                        rs.getString(2), rs.getString(3)),
                OffsetDateTime.ofInstant(unsigned.at(), ZoneOffset.UTC), unsigned.actor(), unsigned.action(),
                unsigned.target(), unsigned.outcome(), unsigned.sourceIp(), unsigned.requestId(), unsigned.details(),
                canonical[0], canonical[1]);
        checked(appended);
        appended(List.of(appended));
        return appended;
    }

    /** The record as an event not yet in the chain: its time now, to the microsecond the database keeps. */
    private AuditEvent unsigned(AuditRecord record) {
        Instant at = clock.instant().truncatedTo(ChronoUnit.MICROS);
        var r = record.request();
        return new AuditEvent(0, at, bounded(r.actor(), 200), bounded(record.action(), 100),
                bounded(record.target(), 1024), record.outcome().name(), bounded(r.sourceIp(), 64),
                bounded(r.requestId(), 128), CanonicalJson.write(details(record)), null, null);
    }

    /**
     * The record's details, with the id of the token its request authenticated with ({@link
     * RequestInfo#ACTOR_TOKEN_ID}): a token's name is the actor, and names are neither unique nor proof of identity.
     */
    static Map<String, ?> details(AuditRecord record) {
        String tokenId = record.request().tokenId();
        if (tokenId == null || record.details().containsKey(RequestInfo.ACTOR_TOKEN_ID)) {
            return record.details();
        }
        Map<String, Object> details = new LinkedHashMap<>(record.details());
        details.put(RequestInfo.ACTOR_TOKEN_ID, tokenId);
        return details;
    }

    /**
     * A field cut to its column's size (V1), saying how long it was: a refused request's path can be longer than the
     * target column, and an append that failed on it left the refusal unrecorded and the request answered 500. The
     * cut never splits a surrogate pair. A NUL, which PostgreSQL refuses in text, becomes U+FFFD.
     */
    static String bounded(String value, int max) {
        if (value == null) {
            return null;
        }
        String clean = value.indexOf('\0') < 0 ? value : value.replace('\0', '\uFFFD');
        if (clean.length() <= max) {
            return clean;
        }
        String suffix = "\u2026[" + clean.length() + " chars in all]";
        int keep = max - suffix.length();
        if (keep > 0 && Character.isHighSurrogate(clean.charAt(keep - 1))) {
            keep--;
        }
        return clean.substring(0, Math.max(keep, 0)) + suffix;
    }

    /** The event as {@code audit_append} put it in the chain. */
    private static AuditEvent appended(AuditEvent unsigned, long seq, String hash, String prevHash) {
        return new AuditEvent(seq, unsigned.at(), unsigned.actor(), unsigned.action(), unsigned.target(),
                unsigned.outcome(), unsigned.sourceIp(), unsigned.requestId(), unsigned.details(), hash, prevHash);
    }

    /**
     * Checks the hash the database computed against {@link AuditChain#hash}: inside a transaction a disagreement
     * rolls it back; alone, the event committed already and verify will name it.
     */
    private static void checked(AuditEvent appended) {
        String expected = AuditChain.hash(appended.prevHash(), appended);
        if (!expected.equals(appended.hash())) {
            throw new IllegalStateException("audit event " + appended.seq() + ": the database computed hash "
                    + appended.hash() + ", the gateway " + expected);
        }
    }

    /**
     * What follows appended events once they are durable: their log lines and the after-commit hooks (the export's
     * wake-up); at once for a statement that committed itself, at the commit of the transaction that appended them
     * otherwise, with one synchronization per transaction. An event whose transaction rolls back is not in the chain,
     * and its sequence number goes to the next event; logging it at the append named one seq twice in the log, for
     * two different events (issue #17: seen while a submission's transaction could roll back after its append). Such
     * events are logged at debug as rolled back, and the hooks do not run.
     */
    private void appended(List<AuditEvent> appended) {
        if (!TransactionSynchronizationManager.isActualTransactionActive()) {
            appended.forEach(AuditTrail::logCommitted);
            afterCommit.forEach(Runnable::run); // the statement committed itself
            return;
        }
        if (!TransactionSynchronizationManager.isSynchronizationActive()) {
            appended.forEach(AuditTrail::logCommitted); // no commit to wait for here (not the gateway's own managers)
            return;
        }
        @SuppressWarnings("unchecked")
        List<AuditEvent> pending = (List<AuditEvent>) TransactionSynchronizationManager.getResource(PENDING);
        if (pending == null) {
            List<AuditEvent> events = new ArrayList<>();
            pending = events;
            TransactionSynchronizationManager.bindResource(PENDING, events);
            TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
                @Override
                public void afterCompletion(int status) {
                    TransactionSynchronizationManager.unbindResourceIfPossible(PENDING);
                    if (status == STATUS_COMMITTED) {
                        events.forEach(AuditTrail::logCommitted);
                        afterCommit.forEach(Runnable::run);
                    } else if (log.isDebugEnabled()) {
                        events.forEach(e -> log.debug("audit seq={} action={} target={} rolled back with its"
                                + " transaction (not in the chain)", e.seq(), e.action(), e.target()));
                    }
                }
            });
        }
        pending.addAll(appended);
    }

    private static void logCommitted(AuditEvent e) {
        log.info("audit seq={} actor={} action={} target={} outcome={}", e.seq(), e.actor(), e.action(), e.target(),
                e.outcome());
    }

    /**
     * Appends {@code records} in the current transaction, in their order, with <b>one</b> statement: every element of
     * the arrays goes through {@code audit_append} (V7) as a lateral call, row by row in array order. The chain's lock
     * is taken by the first and held to the commit; a batch of refused requests therefore holds it for one round trip
     * and its commit instead of one round trip per event (issue #17: a flood's 429s, written together by
     * {@link GroupCommit}, kept accepted submissions and the dispatcher's claims waiting for the lock). Each returned
     * hash is checked as in {@link #appendHere}; the events come back by their position in the batch.
     */
    List<AuditEvent> appendAll(List<AuditRecord> records) {
        if (records.size() == 1) {
            return List.of(appendHere(records.get(0)));
        }
        int n = records.size();
        List<AuditEvent> unsigned = new ArrayList<>(n);
        String[][] columns = new String[10][n];
        for (int i = 0; i < n; i++) {
            AuditEvent e = unsigned(records.get(i));
            String[] canonical = e.canonicalAroundSeq();
            unsigned.add(e);
            columns[0][i] = e.at().toString(); // ISO-8601 in UTC with all of its (microsecond) digits
            columns[1][i] = e.actor();
            columns[2][i] = e.action();
            columns[3][i] = e.target();
            columns[4][i] = e.outcome();
            columns[5][i] = e.sourceIp();
            columns[6][i] = e.requestId();
            columns[7][i] = e.details();
            columns[8][i] = canonical[0];
            columns[9][i] = canonical[1];
        }
        AuditEvent[] appended = new AuditEvent[n];
        jdbc.execute((Connection con) -> {
            try (PreparedStatement st = con.prepareStatement(APPEND_ALL)) {
                for (int c = 0; c < columns.length; c++) {
                    st.setArray(c + 1, con.createArrayOf("text", columns[c]));
                }
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        int i = rs.getInt(1) - 1;
                        appended[i] = appended(unsigned.get(i), rs.getLong(2), rs.getString(3), rs.getString(4));
                    }
                }
            }
            return null;
        });
        List<AuditEvent> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            AuditEvent a = appended[i];
            if (a == null) {
                throw new IllegalStateException("audit batch: no event appended for position " + (i + 1) + " of " + n);
            }
            checked(a);
            out.add(a);
        }
        appended(out);
        return out;
    }

    /** One batch through {@code audit_append}: a lateral call per array element, in the arrays' order. */
    private static final String APPEND_ALL = "select t.n, r.o_seq, r.o_hash, r.o_prev_hash"
            + " from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[],"
            + " ?::text[], ?::text[]) with ordinality"
            + " as t(at, actor, action, target, outcome, source_ip, request_id, details, head, tail, n)"
            + " cross join lateral audit_append(t.at::timestamptz, t.actor::varchar, t.action::varchar,"
            + " t.target::varchar, t.outcome::varchar, t.source_ip::varchar, t.request_id::varchar, t.details,"
            + " t.head, t.tail) r"
            + " order by t.n";

    /** Runs after every commit of a transaction that appended events (the export's wake-up). */
    void afterCommit(Runnable hook) {
        afterCommit.add(hook);
    }

    /** Filters of {@code GET /api/v1/audit}; null means "any". {@code until} is exclusive. */
    public record Query(Instant since, Instant until, String actor, String action, String target) {
    }

    /**
     * Up to {@code limit} events matching the query, in sequence order (newest first when {@code newestFirst}),
     * strictly beyond {@code beyondSeq} in that order when it is given.
     */
    @Transactional(readOnly = true)
    public List<AuditEvent> find(Query q, boolean newestFirst, Long beyondSeq, int limit) {
        StringBuilder sql = new StringBuilder("select " + ChainReader.COLUMNS + " from audit_event where true");
        List<Object> args = new ArrayList<>();
        if (beyondSeq != null) {
            sql.append(newestFirst ? " and seq < ?" : " and seq > ?");
            args.add(beyondSeq);
        }
        if (q.since() != null) {
            sql.append(" and at >= ?");
            args.add(Timestamp.from(q.since()));
        }
        if (q.until() != null) {
            sql.append(" and at < ?");
            args.add(Timestamp.from(q.until()));
        }
        if (q.actor() != null) {
            sql.append(" and actor = ?");
            args.add(q.actor());
        }
        if (q.action() != null) {
            sql.append(" and action = ?");
            args.add(q.action());
        }
        if (q.target() != null) {
            sql.append(" and target = ?");
            args.add(q.target());
        }
        sql.append(newestFirst ? " order by seq desc" : " order by seq").append(" limit ?");
        args.add(limit);
        return jdbc.query(sql.toString(), (rs, i) -> ChainReader.event(rs), args.toArray());
    }
}
