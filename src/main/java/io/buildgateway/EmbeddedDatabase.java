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
import java.util.List;
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
 *
 * <p>zonky initialises the cluster with {@code initdb -A trust}: any local account may connect as any role. With
 * {@code gateway.database.embedded-passwords=true} (what {@code make run} sets; the tests keep trust, their own
 * clients connect as they like) both roles get random passwords, kept in {@code gateway.data-dir/postgres-credentials}
 * (0600, made once), {@code pg_hba.conf} asks every connection for a SCRAM password, and the gateway and Flyway
 * connect with them. zonky's readiness check connects with the same connect settings, which carry the owner's
 * password (a lost credentials file therefore shows as zonky giving up waiting for the server).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnExpression("'${spring.datasource.url:}'.isEmpty()")
class EmbeddedDatabase {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);

    @Bean(destroyMethod = "close")
    EmbeddedPostgres embeddedPostgres(@Value("${gateway.data-dir}") Path dataDir,
            @Value("${gateway.database.embedded-port:0}") int port,
            @Value("${gateway.database.embedded-passwords:false}") boolean passwords) throws IOException {
        Path data = dataDir.toAbsolutePath().resolve("postgres");
        Files.createDirectories(data.getParent());
        Path logFile = dataDir.toAbsolutePath().resolve("postgres.log");
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                .setDataDirectory(data)
                .setCleanDataDirectory(false)
                .setServerConfig("max_connections", "100")
                .setOutputRedirector(Redirect.appendTo(logFile.toFile()))
                .setErrorRedirector(Redirect.appendTo(logFile.toFile()))
                // Stopped by this bean's destroy method, after every bean that uses the database: zonky's own JVM
                // shutdown hook stopped PostgreSQL at SIGTERM while Spring's hook was still draining requests and
                // stopping beans, so the drain's writes and the shutdown's audit checkpoint failed ("Connection is not
                // available", seen in CI on 2026-12-07) and each test JVM's exit waited out their timeouts.
                .setRegisterShutdownHook(false);
        if (port > 0) {
            builder.setPort(port);
        }
        Credentials credentials = passwords ? Credentials.of(dataDir) : null;
        if (credentials != null) {
            // Every connection zonky opens for us (getPostgresDatabase) carries the owner's password.
            builder.setConnectConfig("password", credentials.owner());
        }
        EmbeddedPostgres postgres;
        java.time.Instant before = java.time.Instant.now();
        try {
            postgres = builder.start();
        } catch (IOException | RuntimeException e) {
            // zonky starts the server (pg_ctl) before it waits for it to answer, and keeps nothing when the wait
            // fails (a slow machine, credentials that no longer match): without its JVM hook, nobody would stop it.
            // Only a server this start began: another's on the same data (zonky's lock refused us) keeps running.
            stopLeftover(data, before);
            throw e;
        }
        stopAtExitIfLeft(postgres, data, exitGrace);
        if (credentials != null) {
            try {
                requirePasswords(postgres, data, credentials);
            } catch (SQLException | IOException | RuntimeException e) {
                postgres.close();
                throw new IOException("the embedded PostgreSQL could not be set to require passwords", e);
            }
        }
        log.info("embedded PostgreSQL started on port {} with data in {}{}", postgres.getPort(), data,
                credentials != null ? ", passwords required" : "");
        return postgres;
    }

    /**
     * How long the last-resort hook waits for the bean's own stop at the JVM's exit ({@link #stopAtExitIfLeft}): past
     * Spring's graceful drain (one shutdown phase) and the beans' stop, so that it never stops the database under them.
     */
    private java.time.Duration exitGrace = java.time.Duration.ofSeconds(45);

    @org.springframework.beans.factory.annotation.Autowired
    void shutdownPhase(@Value("${spring.lifecycle.timeout-per-shutdown-phase:30s}") java.time.Duration phase) {
        this.exitGrace = phase.plusSeconds(15);
    }

    /**
     * The last resort at the JVM's exit: waits up to {@code grace} for the server to be stopped by its
     * bean (Spring's own hook closes the context, every user of the database first), then stops it, so that a
     * process whose context was never closed (a start that failed later, a hook cut short) leaves no server behind.
     */
    private static void stopAtExitIfLeft(EmbeddedPostgres postgres, Path data, java.time.Duration grace) {
        Path pid = data.resolve("postmaster.pid");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            long until = System.nanoTime() + grace.toNanos();
            try {
                while (Files.exists(pid) && System.nanoTime() < until) {
                    Thread.sleep(100);
                }
                postgres.close();
            } catch (IOException | InterruptedException | RuntimeException e) {
                log.warn("stopping the embedded PostgreSQL at exit: {}", e.toString());
            }
        }, "embedded-postgres-last-resort"));
    }

    /**
     * Stops a server left running on {@code data} by a start that failed: the postmaster named in its pid file, if
     * that process is a postgres server of this data folder (a stale pid file may name another process now) that
     * started after {@code startedAfter} (a server another process runs on the same data is not this start's).
     */
    static void stopLeftover(Path data, java.time.Instant startedAfter) {
        try {
            List<String> lines = Files.readAllLines(data.resolve("postmaster.pid"));
            long pid = Long.parseLong(lines.get(0).strip());
            java.time.Instant after = startedAfter.minusSeconds(1); // the start time's resolution is a clock tick
            ProcessHandle.of(pid).filter(p -> p.info().arguments().map(a -> String.join(" ", a)
                    .contains(data.toString())).orElse(false))
                    .filter(p -> p.info().startInstant().map(t -> t.isAfter(after)).orElse(false)).ifPresent(p -> {
                        p.destroy(); // SIGTERM: the server's smart shutdown, with no client left
                        try {
                            p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
                        } catch (Exception e) {
                            p.destroyForcibly();
                        }
                    });
        } catch (IOException | RuntimeException e) {
            // no pid file (the server never started) or an unreadable one: nothing to stop
        }
    }

    /** The two roles' passwords: read from the data folder, or made once (random, 0600). */
    record Credentials(String owner, String app) {

        static Credentials of(Path dataDir) throws IOException {
            Path file = dataDir.toAbsolutePath().resolve("postgres-credentials");
            if (!Files.exists(file)) {
                java.security.SecureRandom random = new java.security.SecureRandom();
                Path tmp = Files.createTempFile(file.getParent(), ".postgres-credentials", ".tmp",
                        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
                Files.writeString(tmp, secret(random) + "\n" + secret(random) + "\n");
                try {
                    Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                } catch (java.nio.file.FileAlreadyExistsException raced) {
                    Files.deleteIfExists(tmp);
                }
            }
            java.util.List<String> lines = Files.readAllLines(file);
            if (lines.size() < 2 || lines.get(0).isBlank() || lines.get(1).isBlank()) {
                throw new IOException(file + " must hold two lines, the owner's and the application's password");
            }
            return new Credentials(lines.get(0).strip(), lines.get(1).strip());
        }

        private static String secret(java.security.SecureRandom random) {
            byte[] b = new byte[24];
            random.nextBytes(b);
            return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b);
        }

        @Override
        public String toString() {
            return "Credentials[owner=***, app=***]";
        }
    }

    /**
     * Sets the owner's password, then has every connection (local socket and TCP) authenticate with SCRAM. The
     * passwords are base64url, so they need no quoting in SQL. Idempotent.
     */
    private static void requirePasswords(EmbeddedPostgres postgres, Path data, Credentials credentials)
            throws SQLException, IOException {
        try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("set password_encryption = 'scram-sha-256'");
            s.execute("alter role " + OWNER + " password '" + credentials.owner() + "'");
            Files.writeString(data.resolve("pg_hba.conf"), "# written by the gateway"
                    + " (gateway.database.embedded-passwords): every connection needs a password\n"
                    + "local all all scram-sha-256\n"
                    + "host all all 127.0.0.1/32 scram-sha-256\n"
                    + "host all all ::1/128 scram-sha-256\n");
            s.execute("select pg_reload_conf()");
        }
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
            @Value("${gateway.database.embedded-least-privilege:true}") boolean leastPrivilege,
            @Value("${gateway.data-dir}") Path dataDir,
            @Value("${gateway.database.embedded-passwords:false}") boolean passwords) throws SQLException, IOException {
        Credentials credentials = passwords ? Credentials.of(dataDir) : null;
        String user = OWNER;
        if (leastPrivilege) {
            createAppLogin(postgres, credentials);
            user = APP_LOGIN;
        }
        HikariDataSource ds = new HikariDataSource();
        ds.setJdbcUrl(postgres.getJdbcUrl(user, "postgres"));
        ds.setUsername(user);
        if (credentials != null) {
            ds.setPassword(user.equals(OWNER) ? credentials.owner() : credentials.app());
        }
        ds.setMaximumPoolSize(20);
        ds.setPoolName("embedded");
        return ds;
    }

    /** Flyway migrates as the owner, whatever the application connects as. */
    @Bean
    FlywayConfigurationCustomizer embeddedFlywayOwner(EmbeddedPostgres postgres, @Value("${gateway.data-dir}") Path dataDir,
            @Value("${gateway.database.embedded-passwords:false}") boolean passwords) throws IOException {
        String password = passwords ? Credentials.of(dataDir).owner() : "";
        return configuration -> configuration.dataSource(postgres.getJdbcUrl(OWNER, "postgres"), OWNER, password);
    }

    /**
     * The login role the application uses, in the group role the migrations grant to (created here too, guarded as
     * in the migration, because membership can only be granted once the group exists). Idempotent.
     */
    private static void createAppLogin(EmbeddedPostgres postgres, Credentials credentials) throws SQLException {
        try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("do $$ begin"
                    + " if not exists (select from pg_roles where rolname = 'build_gateway_app') then"
                    + "   create role build_gateway_app nologin; end if;"
                    + " if not exists (select from pg_roles where rolname = '" + APP_LOGIN + "') then"
                    + "   create role " + APP_LOGIN + " login; end if;"
                    + " end $$");
            s.execute("grant build_gateway_app to " + APP_LOGIN);
            if (credentials != null) {
                s.execute("set password_encryption = 'scram-sha-256'");
                s.execute("alter role " + APP_LOGIN + " password '" + credentials.app() + "'");
            }
        }
    }
}
