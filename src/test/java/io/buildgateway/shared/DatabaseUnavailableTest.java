package io.buildgateway.shared;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ConnectException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import org.hibernate.TransactionException;
import org.junit.jupiter.api.Test;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.jdbc.CannotGetJdbcConnectionException;
import org.springframework.orm.jpa.JpaSystemException;
import org.springframework.transaction.CannotCreateTransactionException;

class DatabaseUnavailableTest {

    @Test
    void connectionFailuresAreRecognisedThroughTheirWrappers() {
        assertThat(DatabaseUnavailable.is(new CannotCreateTransactionException("x",
                new SQLTransientConnectionException("embedded - Connection is not available")))).isTrue();
        assertThat(DatabaseUnavailable.is(new CannotGetJdbcConnectionException("x",
                new SQLException("Connection to localhost:5432 refused", "08001")))).isTrue();
        assertThat(DatabaseUnavailable.is(new RuntimeException(new SQLException(
                "terminating connection due to administrator command", "57P01")))).isTrue();
        assertThat(DatabaseUnavailable.is(new RuntimeException(new ConnectException("Connection refused"))))
                .isTrue();
        // the rollback of a transaction whose connection PostgreSQL cut (HikariCP: no SQLState), as bench/chaos.sh
        // got it while PostgreSQL stopped under load
        assertThat(DatabaseUnavailable.is(new JpaSystemException(
                new TransactionException("Unable to rollback against JDBC Connection",
                        new SQLException("Connection is closed"))))).isTrue();
    }

    @Test
    void otherFailuresAreNot() {
        assertThat(DatabaseUnavailable.is(new DataIntegrityViolationException("x",
                new SQLException("duplicate key value violates unique constraint", "23505")))).isFalse();
        assertThat(DatabaseUnavailable.is(new SQLException("syntax error", "42601"))).isFalse();
        assertThat(DatabaseUnavailable.is(new IllegalStateException("boom"))).isFalse();
        assertThat(DatabaseUnavailable.is(new SQLException("Connection is closed", "42000"))).isFalse();
        assertThat(DatabaseUnavailable.is(new SQLException("closed"))).isFalse();
    }
}
