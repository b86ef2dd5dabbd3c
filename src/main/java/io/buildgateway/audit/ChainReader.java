package io.buildgateway.audit;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.PGStatement;
import org.postgresql.copy.PGCopyInputStream;

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
        return inSnapshot(dataSource, null, work);
    }

    /**
     * As {@link #inSnapshot(DataSource, Work)}, in the snapshot another transaction exported with
     * {@code pg_export_snapshot()} when {@code snapshot} is given (so several connections read the same state).
     */
    static <T> T inSnapshot(DataSource dataSource, String snapshot, Work<T> work) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            c.setReadOnly(true);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try {
                if (snapshot != null) {
                    try (PreparedStatement ps = c.prepareStatement("set transaction snapshot '"
                            + snapshot.replace("'", "''") + "'")) {
                        ps.execute();
                    }
                }
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
        return forEachRow(c, afterSeq, Long.MAX_VALUE, each);
    }

    /** The events with {@code afterSeq < seq <= upTo}, in sequence order. */
    static long forEachRow(Connection c, long afterSeq, long upTo, RowHandler each) throws SQLException {
        long n = 0;
        try (PreparedStatement ps = c.prepareStatement("select " + COLUMNS + " from audit_event where seq > ?"
                + " and seq <= ? order by seq", ResultSet.TYPE_FORWARD_ONLY, ResultSet.CONCUR_READ_ONLY)) {
            ps.setFetchSize(FETCH_SIZE);
            if (ps.isWrapperFor(PGStatement.class)) {
                // binary results from the first execution: timestamps and numbers are decoded, not parsed from text
                ps.unwrap(PGStatement.class).setPrepareThreshold(-1);
            }
            ps.setLong(1, afterSeq);
            ps.setLong(2, upTo);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    each.row(rs);
                    n++;
                }
            }
        }
        return n;
    }

    /**
     * The events with {@code afterSeq < seq <= upTo} as bytes, in sequence order; returns how many. Read with
     * {@code COPY … TO STDOUT (FORMAT binary)}: the server streams the rows without waiting for the client to ask for
     * the next batch (a cursor's fetches are round trips during which the server idles), and the binary tuple format
     * hands over each text column's UTF-8 bytes and the timestamp's 8 bytes as they are stored. Runs in the
     * connection's transaction, so in its snapshot.
     */
    static long forEachRaw(Connection c, long afterSeq, long upTo, Consumer<RawEvent> each) throws SQLException {
        String copy = "copy (select " + COLUMNS + " from audit_event where seq > " + afterSeq + " and seq <= " + upTo
                + " order by seq) to stdout (format binary)";
        long n = 0;
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(
                new PGCopyInputStream(c.unwrap(PGConnection.class), copy), 1 << 16))) {
            byte[] signature = new byte[11];
            in.readFully(signature);
            in.readInt(); // flags
            in.skipNBytes(in.readInt()); // header extension
            while (true) {
                short fields = in.readShort();
                if (fields == -1) {
                    break;
                }
                if (fields != 11) {
                    throw new SQLException("unexpected COPY tuple of " + fields + " fields");
                }
                byte[][] f = new byte[11][];
                for (int i = 0; i < 11; i++) {
                    int len = in.readInt();
                    if (len >= 0) {
                        f[i] = new byte[len];
                        in.readFully(f[i]);
                    }
                }
                each.accept(new RawEvent(bigEndian(f[0]), bigEndian(f[1]) + PG_EPOCH_MICROS, f[2], f[3], f[4], f[5],
                        f[6], f[7], f[8], f[9], f[10]));
                n++;
            }
        } catch (IOException e) {
            throw new SQLException("reading the audit chain failed: " + e.getMessage(), e);
        }
        return n;
    }

    private static long bigEndian(byte[] b) {
        long v = 0;
        for (byte x : b) {
            v = (v << 8) | (x & 0xff);
        }
        return v;
    }

    /** 2000-01-01T00:00:00Z, PostgreSQL's epoch, in microseconds since the Unix epoch. */
    private static final long PG_EPOCH_MICROS = 946_684_800_000_000L;

    /**
     * The current row as bytes. Text columns are their UTF-8 bytes in either transfer format; {@code at} is decoded
     * from its binary form (8 bytes: microseconds since 2000) and parsed only if the driver sent text.
     */
    static RawEvent raw(ResultSet rs) throws SQLException {
        byte[] at = rs.getBytes(2);
        long micros;
        if (at != null && at.length == 8) {
            long v = 0;
            for (byte b : at) {
                v = (v << 8) | (b & 0xff);
            }
            micros = v + PG_EPOCH_MICROS;
        } else {
            Instant i = rs.getObject(2, OffsetDateTime.class).toInstant();
            micros = i.getEpochSecond() * 1_000_000L + i.getNano() / 1000;
        }
        return new RawEvent(rs.getLong(1), micros, rs.getBytes(3), rs.getBytes(4), rs.getBytes(5), rs.getBytes(6),
                rs.getBytes(7), rs.getBytes(8), rs.getBytes(9), rs.getBytes(10), rs.getBytes(11));
    }

    /** The event of the current row of a result selecting {@link #COLUMNS}, in that order. */
    static AuditEvent event(ResultSet rs) throws SQLException {
        return new AuditEvent(rs.getLong(1), rs.getObject(2, OffsetDateTime.class).toInstant(), rs.getString(3),
                rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8),
                rs.getString(9), rs.getString(10), rs.getString(11));
    }
}
