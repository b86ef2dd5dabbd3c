package io.buildgateway.inventory.notify;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/**
 * The {@code notification_delivery} table (db/migration/V4). Each row is its own queue entry; every state change
 * after a claim is conditional on the row still being the claimed attempt ({@code status = 'pending' and attempts =
 * n}), so a replica whose lease ran out cannot overwrite the outcome of the replica that took over.
 */
@Repository
class DeliveryStore {

    private static final String COLUMNS = "id, notification_id, team, channel, endpoint, target, event, subject, body,"
            + " attempts, created_at";

    private final JdbcClient db;

    DeliveryStore(JdbcClient db) {
        this.db = db;
    }

    void insert(Delivery d, Instant dueAt) {
        db.sql("insert into notification_delivery (" + COLUMNS + ", status, next_attempt_at)"
                        + " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)")
                .params(d.id(), d.notificationId(), d.team(), d.channel().value(), d.endpoint(), d.target(), d.event(),
                        d.subject(), d.body(), d.attempts(), ts(d.createdAt()), ts(dueAt))
                .update();
    }

    /**
     * Claims up to {@code limit} due deliveries for one attempt each: counts the attempt and moves the row's due
     * time to the end of the lease, in one statement. {@code SKIP LOCKED} lets replicas claim side by side without
     * waiting for or double-claiming each other's rows.
     */
    List<Delivery> claimDue(Instant now, int limit, Instant leaseUntil) {
        return db.sql("update notification_delivery set attempts = attempts + 1, last_attempt_at = ?,"
                        + " next_attempt_at = ? where id in (select id from notification_delivery"
                        + " where status = 'pending' and next_attempt_at <= ? order by next_attempt_at, id limit ?"
                        + " for update skip locked) returning " + COLUMNS)
                .params(ts(now), ts(leaseUntil), ts(now), limit)
                .query(DeliveryStore::delivery)
                .list();
    }

    boolean delivered(Delivery d, Instant at, Integer statusCode) {
        return db.sql("update notification_delivery set status = 'delivered', delivered_at = ?, next_attempt_at = null,"
                        + " last_status_code = ?, last_error = null where id = ? and status = 'pending'"
                        + " and attempts = ?")
                .params(ts(at), statusCode, d.id(), d.attempts()).update() == 1;
    }

    boolean retryAt(Delivery d, Instant next, Integer statusCode, String error) {
        return db.sql("update notification_delivery set next_attempt_at = ?, last_status_code = ?, last_error = ?"
                        + " where id = ? and status = 'pending' and attempts = ?")
                .params(ts(next), statusCode, error, d.id(), d.attempts()).update() == 1;
    }

    boolean failed(Delivery d, Integer statusCode, String error) {
        return db.sql("update notification_delivery set status = 'failed', next_attempt_at = null,"
                        + " last_status_code = ?, last_error = ? where id = ? and status = 'pending' and attempts = ?")
                .params(statusCode, error, d.id(), d.attempts()).update() == 1;
    }

    /** Newest first, after the cursor's (createdAt, id) when given; fetches one extra row to tell if more follow. */
    List<DeliveryView> page(DeliveryStatus status, String team, int limit, Instant afterCreatedAt, UUID afterId) {
        StringBuilder sql = new StringBuilder("select id, team, channel, target, event, status, attempts, last_error,"
                + " created_at, next_attempt_at, delivered_at from notification_delivery where true");
        List<Object> args = new ArrayList<>();
        if (status != null) {
            sql.append(" and status = ?");
            args.add(status.value());
        }
        if (team != null) {
            sql.append(" and team = ?");
            args.add(team);
        }
        if (afterCreatedAt != null) {
            sql.append(" and (created_at, id) < (?, ?)");
            args.add(ts(afterCreatedAt));
            args.add(afterId);
        }
        sql.append(" order by created_at desc, id desc limit ?");
        args.add(limit + 1);
        return db.sql(sql.toString()).params(args).query((rs, n) -> new DeliveryView(rs.getObject(1, UUID.class),
                rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(6), rs.getInt(7),
                rs.getString(8), instant(rs, 9), instant(rs, 10), instant(rs, 11))).list();
    }

    /** True for the first caller of the day across all replicas (inside the caller's transaction). */
    boolean claimDigestDay(LocalDate day, Instant now) {
        return db.sql("insert into notification_digest_run (day, started_at) values (?, ?) on conflict do nothing")
                .params(day, ts(now)).update() == 1;
    }

    private static Delivery delivery(ResultSet rs, int n) throws SQLException {
        return new Delivery(rs.getObject("id", UUID.class), rs.getObject("notification_id", UUID.class),
                rs.getString("team"), Channel.of(rs.getString("channel")), rs.getString("endpoint"),
                rs.getString("target"), rs.getString("event"), rs.getString("subject"), rs.getString("body"),
                rs.getInt("attempts"), instant(rs, "created_at"));
    }

    private static Instant instant(ResultSet rs, int column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }

    private static Timestamp ts(Instant instant) {
        return instant == null ? null : Timestamp.from(instant);
    }
}
