package io.buildgateway.shared;

import java.net.ConnectException;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import org.slf4j.LoggerFactory;

/**
 * Whether a failure means "the database cannot be reached right now" (stopped, restarting, the network to it cut)
 * rather than a fault of the request or of the gateway. The web layer answers those 503 with {@code Retry-After}
 * instead of 500, and the build dispatcher retries recording an outcome instead of dropping it (docs/operations.md,
 * "Faults and recovery").
 *
 * <p>Decided on the cause chain: Hikari's timeout waiting for a connection ({@link SQLTransientConnectionException}),
 * a refused TCP connection, and PostgreSQL's SQLSTATEs of class 08 (connection exception) and 57P01–57P03 (the
 * server shutting down or starting up). Spring's and Hibernate's wrappers are looked through by cause, so this does
 * not depend on which layer translated the exception.
 */
public final class DatabaseUnavailable {

    /** How long a client should wait before trying again: about one restart of PostgreSQL. */
    public static final long RETRY_AFTER_SECONDS = 5;

    private DatabaseUnavailable() {
    }

    /**
     * The answer to a request that failed this way: 503 {@code database-unavailable}, with {@code retryAfterSeconds}
     * (rendered as the {@code Retry-After} header too). Nothing of the request was recorded.
     */
    public static Problem problem() {
        return new Problem(503, "database-unavailable", "Service unavailable",
                "the gateway's database cannot be reached right now; nothing of this request was recorded; retry"
                        + " after the time in Retry-After")
                .with("retryAfterSeconds", RETRY_AFTER_SECONDS);
    }

    public static boolean is(Throwable failure) {
        int depth = 0;
        for (Throwable t = failure; t != null && depth < 20; t = t.getCause(), depth++) {
            if (t instanceof SQLTransientConnectionException || t instanceof SQLRecoverableException) {
                return true;
            }
            if (t instanceof SQLException sql && isConnectionState(sql.getSQLState())) {
                return true;
            }
            if (t instanceof ConnectException) {
                return true;
            }
            // PostgreSQL stopped in the middle of a transaction: its rollback fails on the dead connection, and that
            // failure replaces the one that caused it ("Application exception overridden by rollback exception").
            // HikariCP's closed connection says so without an SQLState; bench/chaos.sh saw it answered 500.
            if (t instanceof SQLException sql && sql.getSQLState() == null
                    && "Connection is closed".equals(sql.getMessage())) {
                return true;
            }
            // Spring's translations, by name, so that shared needs neither spring-jdbc nor Hibernate on its API.
            String name = t.getClass().getName();
            if (name.equals("org.springframework.jdbc.CannotGetJdbcConnectionException")
                    || name.equals("org.springframework.transaction.CannotCreateTransactionException")
                    || name.equals("org.hibernate.exception.JDBCConnectionException")) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    /**
     * Runs {@code action} (a transaction) and, while it fails because the database cannot be reached, runs it again
     * after 0.5 s, 1 s, 2 s, ... (at most 5 s apart) for up to {@code patience}; then, or on any other failure,
     * throws. A transaction that failed this way committed nothing, so running it again records it once.
     */
    public static void retrying(Runnable action, Duration patience, String what) {
        long giveUp = System.nanoTime() + patience.toNanos();
        long backoff = 500;
        boolean said = false;
        while (true) {
            try {
                action.run();
                return;
            } catch (RuntimeException e) {
                if (!is(e) || System.nanoTime() > giveUp) {
                    throw e;
                }
                if (!said) {
                    LoggerFactory.getLogger(DatabaseUnavailable.class).warn(
                            "{}: the database cannot be reached; retrying for up to {}", what, patience);
                    said = true;
                }
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
                backoff = Math.min(backoff * 2, 5_000);
            }
        }
    }

    static boolean isConnectionState(String state) {
        return state != null && (state.startsWith("08") || state.equals("57P01") || state.equals("57P02")
                || state.equals("57P03"));
    }
}
