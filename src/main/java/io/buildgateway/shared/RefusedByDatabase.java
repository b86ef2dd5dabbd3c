package io.buildgateway.shared;

import java.sql.SQLException;

/**
 * A failure the database reports about the values a request carried, rather than a fault of the gateway: the web
 * layer's last resort answers it as a 4xx instead of a 500 (the request's fault, and nothing of it was committed:
 * the statement failed, and its transaction with it). Each endpoint validates its input first; this catches what a
 * check missed, and is logged so the missing check is found.
 * <ul>
 *   <li>SQLSTATE class 22, data exception (a value too long for its column, a time out of range, a character the
 *       database refuses such as U+0000, a number out of range): 400 {@code invalid-value}.</li>
 *   <li>SQLSTATE 23505, unique violation (two requests creating the same name or key at the same moment, each having
 *       seen it free): 409 {@code conflict}; the same request sent again is answered against the row that won.</li>
 * </ul>
 * Decided on the cause chain, so it does not depend on which layer (Spring, Hibernate, the driver) wrapped it.
 */
public final class RefusedByDatabase {

    private RefusedByDatabase() {
    }

    /** The SQLSTATE of the first SQLException in the cause chain that has one, or null. */
    public static String sqlState(Throwable failure) {
        int depth = 0;
        for (Throwable t = failure; t != null && depth < 20; t = t.getCause(), depth++) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                return sql.getSQLState();
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return null;
    }

    /** The problem to answer for this failure, or null when it is not one of the two. */
    public static Problem of(Throwable failure) {
        String state = sqlState(failure);
        if (state == null) {
            return null;
        }
        if (state.startsWith("22")) {
            return Problem.badRequest("invalid-value", "a value in the request cannot be stored: it is too long, out"
                    + " of range, or holds a character that cannot be stored (such as U+0000); nothing of this request"
                    + " was recorded");
        }
        if (state.equals("23505")) {
            return new Problem(409, "conflict", "Conflict", "another request created the same record at the same"
                    + " moment; nothing of this request was recorded; send it again to be answered against the record"
                    + " that was created");
        }
        return null;
    }

    /**
     * What the web layer answers for a failure that is the database's, not a bug: unreachable, 503 with
     * {@code Retry-After} ({@link DatabaseUnavailable}); a value it refused, {@link #of}. Logged to {@code log} at WARN
     * (the refused value by its SQLSTATE only: the database's message can quote it). Null for any other failure.
     */
    public static Problem answer(Throwable e, String method, String uri, org.slf4j.Logger log) {
        if (DatabaseUnavailable.is(e)) {
            log.warn("database unavailable on {} {}: {}", method, uri, e.toString());
            return DatabaseUnavailable.problem();
        }
        Problem refused = of(e);
        if (refused != null) {
            // The request's values, refused by the database: a check that should have caught them first is missing.
            log.warn("the database refused a value of {} {} (SQLSTATE {}): answered {} {}", method, uri, sqlState(e),
                    refused.status(), refused.typeName());
        }
        return refused;
    }
}
