package io.buildgateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code make run}'s embedded PostgreSQL with {@code gateway.database.embedded-passwords=true}: zonky's cluster
 * trusts every local connection, so without passwords any account of the machine could connect as the owner and
 * rewrite the audit trail. Here a client without the password is refused for both roles (over TCP, the way zonky's
 * cluster is reached; pg_hba.conf asks the same of its socket), before and after a restart, while the gateway's own
 * pool connects; and the passwords are in a file only its owner reads.
 */
class EmbeddedDatabasePasswordsIT {

    @TempDir
    Path dataDir;

    private static void connectsWithout(int port, String user) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://localhost:" + port + "/postgres?user="
                + user)) {
            c.createStatement().execute("select 1");
        }
    }

    private static String currentUser(DataSource ds) throws SQLException {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement();
                ResultSet r = s.executeQuery("select current_user")) {
            r.next();
            return r.getString(1);
        }
    }

    @Test
    void everyRoleNeedsItsPasswordAndTheGatewayHasThem() throws Exception {
        EmbeddedDatabase config = new EmbeddedDatabase();
        try (EmbeddedPostgres postgres = config.embeddedPostgres(dataDir, 0, true)) {
            DataSource ds = config.dataSource(postgres, true, dataDir, true);
            try {
                assertThat(currentUser(ds)).isEqualTo("build_gateway");
            } finally {
                ((AutoCloseable) ds).close();
            }
            for (String user : List.of("postgres", "build_gateway")) {
                assertThatThrownBy(() -> connectsWithout(postgres.getPort(), user)).as(user)
                        .isInstanceOf(SQLException.class).hasMessageContaining("password");
            }
            List<String> credentials = Files.readAllLines(dataDir.resolve("postgres-credentials"));
            assertThat(credentials).hasSize(2).allSatisfy(p -> assertThat(p).hasSizeGreaterThan(20));
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(
                    dataDir.resolve("postgres-credentials")))).isEqualTo("rw-------");
            try (Connection owner = DriverManager.getConnection("jdbc:postgresql://localhost:" + postgres.getPort()
                    + "/postgres", "postgres", credentials.get(0))) {
                assertThat(owner.isValid(5)).isTrue();
            }
        }
        // Started again on the same data: the same passwords, still required.
        try (EmbeddedPostgres again = config.embeddedPostgres(dataDir, 0, true)) {
            DataSource ds = config.dataSource(again, true, dataDir, true);
            try {
                assertThat(currentUser(ds)).isEqualTo("build_gateway");
            } finally {
                ((AutoCloseable) ds).close();
            }
            assertThatThrownBy(() -> connectsWithout(again.getPort(), "postgres"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("password");
        }
    }

    /** The default (the tests' gateways): trust as zonky sets it up, so the control that the refusal above is ours. */
    @Test
    void withoutTheSettingTheClusterTrustsLocalClients() throws Exception {
        EmbeddedDatabase config = new EmbeddedDatabase();
        try (EmbeddedPostgres postgres = config.embeddedPostgres(dataDir, 0, false)) {
            connectsWithout(postgres.getPort(), "postgres");
            assertThat(Files.exists(dataDir.resolve("postgres-credentials"))).isFalse();
        }
    }
}
