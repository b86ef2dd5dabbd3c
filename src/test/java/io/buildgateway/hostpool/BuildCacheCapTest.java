package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.springframework.util.unit.DataSize;

/**
 * A prune of a host's build cache is a removal the gateway makes on its own: when its {@code host.cache-pruned} event
 * cannot be written (the database away) it is logged at ERROR with its details (docs/audit.md, removals), not thrown
 * to the cache thread's default handler. A stand-in daemon answers the two calls a prune makes.
 */
class BuildCacheCapTest {

    private final Logger logger = (Logger) LoggerFactory.getLogger(BuildHosts.class);
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    private HttpServer daemon;

    @BeforeEach
    void start() throws Exception {
        lines.start();
        logger.addAppender(lines);
        AtomicBoolean pruned = new AtomicBoolean();
        daemon = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        daemon.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            String body;
            if (path.endsWith("/system/df")) {
                long size = pruned.get() ? 1_000 : 5_000;
                body = "{\"BuildCache\":[{\"ID\":\"a\",\"Size\":" + size + ",\"Shared\":false,\"InUse\":false}]}";
            } else if (path.endsWith("/build/prune")) {
                pruned.set(true);
                body = "{\"SpaceReclaimed\":4000}";
            } else {
                body = "{}";
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        daemon.start();
    }

    @AfterEach
    void stop() {
        logger.detachAppender(lines);
        daemon.stop(0);
    }

    @Test
    void aPruneWhoseEventCannotBeWrittenIsLoggedAtErrorWithItsDetails() {
        HostPoolProperties.Host host = new HostPoolProperties.Host("host1",
                "tcp://127.0.0.1:" + daemon.getAddress().getPort(), 2, null, null, null, DataSize.ofBytes(2_000),
                null);
        try (DockerClients clients = new DockerClients(TestHostPools.properties(host))) {
            BuildCacheCap cap = new BuildCacheCap(clients, new SimpleMeterRegistry(), event -> {
                throw new IllegalStateException("database away");
            }, Runnable::run);

            cap.enforceCap(host, "b1");
        }

        assertThat(lines.list).anySatisfy(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.ERROR);
            assertThat(e.getFormattedMessage()).contains("host.cache-pruned").contains("host1")
                    .contains("bytesBefore=5000").contains("reclaimed=4000").contains("database away");
        });
    }
}
