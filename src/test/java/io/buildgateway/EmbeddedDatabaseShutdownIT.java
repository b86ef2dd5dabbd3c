package io.buildgateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code make run}'s embedded PostgreSQL outlives the beans that use it at exit: the JVM's exit runs every shutdown
 * hook at once, and zonky's own hook stopped the database while Spring's was still draining requests and stopping
 * beans (CI, 2026-12-07: the shutdown's audit checkpoint failed "Connection is not available"). In a JVM of its own
 * ({@link EmbeddedDatabaseAtExit}), queries made by another hook during the first seconds of the exit all succeed, and
 * the database is stopped when that hook closes it, not left running.
 */
class EmbeddedDatabaseShutdownIT {

    @TempDir
    Path dataDir;

    @Test
    void theDatabaseServesTheExitUntilItsOwnerClosesIt() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path out = dataDir.resolve("out.txt");
        Process p = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                EmbeddedDatabaseAtExit.class.getName(), dataDir.resolve("data").toString())
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertThat(p.waitFor(2, TimeUnit.MINUTES)).as("the JVM exited").isTrue();
        String printed = Files.readString(out, StandardCharsets.UTF_8);
        assertThat(printed).contains("started", "query at exit: ok", "closed").doesNotContain("query at exit: failed");
        assertThat(new File(dataDir.resolve("data").resolve("postgres").toFile(), "postmaster.pid"))
                .as("PostgreSQL stopped").doesNotExist();
    }

    /**
     * A start that fails after zonky started the server (here: the credentials file no longer matches the cluster's
     * passwords, so zonky's readiness check never connects) leaves no server running: zonky keeps nothing to close
     * and its own hook is off, so the gateway stops what the pid file names (a review's find).
     */
    @Test
    void aStartThatFailsAfterTheServerStartedLeavesNoServer() throws Exception {
        EmbeddedDatabase config = new EmbeddedDatabase();
        config.embeddedPostgres(dataDir, 0, true).close();
        Files.writeString(dataDir.resolve("postgres-credentials"), "not-the-owners-password-at-all\n"
                + "not-the-apps-password-at-all\n");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> config.embeddedPostgres(dataDir, 0, true))
                .isInstanceOf(Exception.class);
        Path data = dataDir.toAbsolutePath().resolve("postgres");
        assertThat(data.resolve("postmaster.pid")).as("PostgreSQL stopped").doesNotExist();
        assertThat(ProcessHandle.allProcesses().filter(p -> p.info().arguments().map(a -> String.join(" ", a)
                .contains(data.toString())).orElse(false)).count()).as("no server of this data folder").isZero();
    }

    /**
     * A second start on a data folder whose server runs (a second {@code make run} on the same data) fails on zonky's
     * lock and stops nothing: the running server is not that start's (a second review's find).
     */
    @Test
    void aStartRefusedByAnotherServerOnTheSameDataLeavesThatServerRunning() throws Exception {
        EmbeddedDatabase config = new EmbeddedDatabase();
        try (io.zonky.test.db.postgres.embedded.EmbeddedPostgres running = config.embeddedPostgres(dataDir, 0,
                false)) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> config.embeddedPostgres(dataDir, 0, false))
                    .isInstanceOf(Exception.class);
            try (java.sql.Connection c = running.getPostgresDatabase().getConnection()) {
                assertThat(c.isValid(5)).as("the running server still answers").isTrue();
            }
        }
    }
}
