package io.buildgateway.audit;

import io.buildgateway.shared.AuditRecord;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.event.EventListener;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;

/**
 * Appends audit events in the publisher's transaction (or its own, when there is none). Appends are serialised by a
 * transaction-scoped PostgreSQL advisory lock, so several gateway replicas extend one chain and never fork it.
 */
@Service
public class AuditTrail {

    private static final Logger log = LoggerFactory.getLogger("audit");
    private static final long CHAIN_LOCK = 0x6267775f61756469L; // "bgw_audi"

    private final JdbcTemplate jdbc;
    private final Clock clock;

    AuditTrail(JdbcTemplate jdbc, Clock clock) {
        this.jdbc = jdbc;
        this.clock = clock;
    }

    @EventListener
    @Transactional(propagation = Propagation.REQUIRED)
    public void on(AuditRecord record) {
        append(record);
    }

    @Transactional(propagation = Propagation.REQUIRED)
    public AuditEvent append(AuditRecord record) {
        jdbc.queryForObject("select pg_advisory_xact_lock(?)", Object.class, CHAIN_LOCK);
        List<Object[]> last = jdbc.query("select seq, hash from audit_event order by seq desc limit 1",
                (rs, i) -> new Object[] {rs.getLong(1), rs.getString(2)});
        long seq = last.isEmpty() ? 1 : (Long) last.get(0)[0] + 1;
        String prev = last.isEmpty() ? AuditChain.GENESIS : (String) last.get(0)[1];
        Instant at = clock.instant().truncatedTo(ChronoUnit.MICROS);
        var r = record.request();
        AuditEvent unsigned = new AuditEvent(seq, at, r.actor(), record.action(), record.target(),
                record.outcome().name(), r.sourceIp(), r.requestId(), CanonicalJson.write(record.details()), null,
                prev);
        String hash = AuditChain.hash(prev, unsigned);
        jdbc.update("insert into audit_event (seq, at, actor, action, target, outcome, source_ip, request_id, details,"
                        + " prev_hash, hash) values (?,?,?,?,?,?,?,?,?,?,?)",
                seq, Timestamp.from(at), unsigned.actor(), unsigned.action(), unsigned.target(), unsigned.outcome(),
                unsigned.sourceIp(), unsigned.requestId(), unsigned.details(), prev, hash);
        log.info("audit seq={} actor={} action={} target={} outcome={}", seq, unsigned.actor(), unsigned.action(),
                unsigned.target(), unsigned.outcome());
        return new AuditEvent(seq, at, unsigned.actor(), unsigned.action(), unsigned.target(), unsigned.outcome(),
                unsigned.sourceIp(), unsigned.requestId(), unsigned.details(), hash, prev);
    }

    /** A filtered page of events, oldest first from {@code afterSeq}. */
    @Transactional(readOnly = true)
    public List<AuditEvent> find(Instant since, Instant until, String actor, String action, String target,
            long afterSeq, int limit) {
        StringBuilder sql = new StringBuilder("select * from audit_event where seq > ?");
        List<Object> args = new ArrayList<>();
        args.add(afterSeq);
        if (since != null) {
            sql.append(" and at >= ?");
            args.add(Timestamp.from(since));
        }
        if (until != null) {
            sql.append(" and at < ?");
            args.add(Timestamp.from(until));
        }
        if (actor != null) {
            sql.append(" and actor = ?");
            args.add(actor);
        }
        if (action != null) {
            sql.append(" and action = ?");
            args.add(action);
        }
        if (target != null) {
            sql.append(" and target = ?");
            args.add(target);
        }
        sql.append(" order by seq limit ?");
        args.add(limit);
        return jdbc.query(sql.toString(), ROW, args.toArray());
    }

    /** Streams the whole chain through a verifier in constant memory. */
    @Transactional(readOnly = true)
    public AuditChain.Verifier verify() {
        AuditChain.Verifier verifier = new AuditChain.Verifier();
        JdbcTemplate streaming = new JdbcTemplate(jdbc.getDataSource());
        streaming.setFetchSize(5000);
        streaming.query("select * from audit_event order by seq", rs -> {
            verifier.accept(ROW.mapRow(rs, 0));
        });
        return verifier;
    }

    static final RowMapper<AuditEvent> ROW = (rs, i) -> new AuditEvent(rs.getLong("seq"),
            rs.getTimestamp("at").toInstant(), rs.getString("actor"), rs.getString("action"), rs.getString("target"),
            rs.getString("outcome"), rs.getString("source_ip"), rs.getString("request_id"), rs.getString("details"),
            rs.getString("hash"), rs.getString("prev_hash"));
}
