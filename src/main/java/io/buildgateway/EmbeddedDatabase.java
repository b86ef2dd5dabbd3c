package io.buildgateway;

import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.boot.flyway.autoconfigure.FlywayConfigurationCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The embedded default: when {@code spring.datasource.url} (SPRING_DATASOURCE_URL) is unset, the gateway starts a
 * real PostgreSQL 17 from Maven-packaged binaries with its data under {@code gateway.data-dir/postgres}, kept across
 * restarts. Production sets SPRING_DATASOURCE_URL and this configuration steps aside.
 *
 * <p>As in production (docs/operations.md), the gateway runs with least privilege: Flyway migrates as the owner
 * ({@code postgres}), the application connects as the login role {@code build_gateway}, a member of the group role
 * {@code build_gateway_app} that the migrations grant DML on the gateway's tables but only SELECT and INSERT on the
 * audit trail. {@code gateway.database.embedded-least-privilege=false} connects the application as the owner.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnExpression("'${spring.datasource.url:}'.isEmpty()")
class EmbeddedDatabase {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);

    @Bean(destroyMethod = "close")
    EmbeddedPostgres embeddedPostgres(@Value("${gateway.data-dir}") Path dataDir,
            @Value("${gateway.database.embedded-port:0}") int port) throws IOException {
        Path data = dataDir.toAbsolutePath().resolve("postgres");
        Files.createDirectories(data.getParent());
        Path logFile = dataDir.toAbsolutePath().resolve("postgres.log");
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                .setDataDirectory(data)
                .setCleanDataDirectory(false)
                .setServerConfig("max_connections", "100")
                .setOutputRedirector(Redirect.appendTo(logFile.toFile()))
                .setErrorRedirector(Redirect.appendTo(logFile.toFile()));
        if (port > 0) {
            builder.setPort(port);
        }
        EmbeddedPostgres postgres = builder.start();
        log.info("embedded PostgreSQL started on port {} with data in {}", postgres.getPort(), data);
        return postgres;
    }

    static final String OWNER = "postgres";
    static final String APP_LOGIN = "build_gateway";

    /**
     * Bound to {@code spring.datasource.hikari.*} like the pool Spring Boot builds in production, so the same
     * settings decide how the gateway rides out a database restart (docs/operations.md, "PostgreSQL restarted").
     */
    @Bean
    @org.springframework.boot.context.properties.ConfigurationProperties("spring.datasource.hikari")
    DataSource dataSource(EmbeddedPostgres postgres,
            @Value("${gateway.database.embedded-least-privilege:true}") boolean leastPrivilege) throws SQLException {
        String user = OWNER;
        if (leastPrivilege) {
            createAppLogin(postgres);
            user = APP_LOGIN;
        }
        HikariDataSource ds = new HikariDataSource();
        ds.setJdbcUrl(postgres.getJdbcUrl(user, "postgres"));
        ds.setUsername(user);
        ds.setMaximumPoolSize(20);
        ds.setPoolName("embedded");
        return ds;
    }

    /** Flyway migrates as the owner, whatever the application connects as. */
    @Bean
    FlywayConfigurationCustomizer embeddedFlywayOwner(EmbeddedPostgres postgres) {
        return configuration -> configuration.dataSource(postgres.getJdbcUrl(OWNER, "postgres"), OWNER, "");
    }

    /**
     * The login role the application uses, in the group role the migrations grant to (created here too, guarded as
     * in the migration, because membership can only be granted once the group exists). Idempotent.
     */
    private static void createAppLogin(EmbeddedPostgres postgres) throws SQLException {
        try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("do $$ begin"
                    + " if not exists (select from pg_roles where rolname = 'build_gateway_app') then"
                    + "   create role build_gateway_app nologin; end if;"
                    + " if not exists (select from pg_roles where rolname = '" + APP_LOGIN + "') then"
                    + "   create role " + APP_LOGIN + " login; end if;"
                    + " end $$");
            s.execute("grant build_gateway_app to " + APP_LOGIN);
        }
    }
}
