package io.buildgateway.audit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.postgresql.PGStatement;

/**
 * Reads the chain in sequence order in constant memory. PostgreSQL's driver fetches a result {@link #FETCH_SIZE}
 * rows at a time only when the statement has a fetch size, is forward-only and runs with autocommit off (inside a
 * transaction); otherwise it reads the whole result into memory first. {@link #inSnapshot} sets that up on a
 * connection of its own, in one REPEATABLE READ snapshot, so that the chain and the checkpoints it is compared with
 * are read as of the same moment.
 */
final class ChainReader {

    static final int FETCH_SIZE = 5000;
    static final String COLUMNS = "seq, at, actor, action, target, outcome, source_ip, request_id, details, hash,"
            + " prev_hash";

    private ChainReader() {
    }

    @FunctionalInterface
    interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    /** Runs the work in a read-only REPEATABLE READ transaction (autocommit off) on a connection of its own. */
    static <T> T inSnapshot(DataSource dataSource, Work<T> work) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            c.setReadOnly(true);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }

    /** Every event after {@code afterSeq}, in sequence order; returns how many. */
    static long forEach(Connection c, long afterSeq, Consumer<AuditEvent> each) throws SQLException {
        return forEachRow(c, afterSeq, rs -> each.accept(event(rs)));
    }

    @FunctionalInterface
    interface RowHandler {
        void row(ResultSet rs) throws SQLException;
    }

    /** As {@link #forEach} with the raw result set (the streaming test looks at the driver's buffer through it). */
    static long forEachRow(Connection c, long afterSeq, RowHandler each) throws SQLException {
        long n = 0;
        try (PreparedStatement ps = c.prepareStatement("select " + COLUMNS + " from audit_event where seq > ?"
                + " order by seq", ResultSet.TYPE_FORWARD_ONLY, ResultSet.CONCUR_READ_ONLY)) {
            ps.setFetchSize(FETCH_SIZE);
            if (ps.isWrapperFor(PGStatement.class)) {
                // binary results from the first execution: timestamps and numbers are decoded, not parsed from text
                ps.unwrap(PGStatement.class).setPrepareThreshold(-1);
            }
            ps.setLong(1, afterSeq);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    each.row(rs);
                    n++;
                }
            }
        }
        return n;
    }

    /** The event of the current row of a result selecting {@link #COLUMNS}, in that order. */
    static AuditEvent event(ResultSet rs) throws SQLException {
        return new AuditEvent(rs.getLong(1), rs.getObject(2, OffsetDateTime.class).toInstant(), rs.getString(3),
                rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8),
                rs.getString(9), rs.getString(10), rs.getString(11));
    }
}
