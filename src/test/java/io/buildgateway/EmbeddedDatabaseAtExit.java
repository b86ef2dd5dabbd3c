package io.buildgateway;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import javax.sql.DataSource;

/**
 * A JVM that exits as the gateway does at SIGTERM (EmbeddedDatabaseShutdownIT): its embedded PostgreSQL started as the
 * gateway starts it, and a shutdown hook that, as Spring's does while it drains requests and stops beans, uses the
 * database for a few seconds and only then closes it (the bean's destroy method). Prints one line per query and
 * {@code closed} at the end.
 */
public final class EmbeddedDatabaseAtExit {

    private EmbeddedDatabaseAtExit() {
    }

    public static void main(String[] args) throws Exception {
        EmbeddedDatabase config = new EmbeddedDatabase();
        EmbeddedPostgres postgres = config.embeddedPostgres(Path.of(args[0]), 0, false);
        DataSource ds = postgres.getPostgresDatabase();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                long until = System.nanoTime() + 4_000_000_000L;
                while (System.nanoTime() < until) {
                    try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
                        s.execute("select 1");
                        System.out.println("query at exit: ok");
                    } catch (Exception e) {
                        System.out.println("query at exit: failed " + e.getMessage());
                    }
                    Thread.sleep(200);
                }
                postgres.close();
                System.out.println("closed");
            } catch (Exception e) {
                System.out.println("hook failed: " + e);
            }
        }));
        System.out.println("started");
        System.exit(0);
    }
}
