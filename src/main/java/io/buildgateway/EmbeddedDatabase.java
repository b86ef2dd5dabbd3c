package io.buildgateway;

import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The embedded default: when {@code spring.datasource.url} (SPRING_DATASOURCE_URL) is unset, the gateway starts a
 * real PostgreSQL 17 from Maven-packaged binaries with its data under {@code gateway.data-dir/postgres}, kept across
 * restarts. Production sets SPRING_DATASOURCE_URL and this configuration steps aside.
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

    @Bean
    DataSource dataSource(EmbeddedPostgres postgres) {
        HikariDataSource ds = new HikariDataSource();
        ds.setJdbcUrl(postgres.getJdbcUrl("postgres", "postgres"));
        ds.setUsername("postgres");
        ds.setMaximumPoolSize(20);
        ds.setPoolName("embedded");
        return ds;
    }
}
