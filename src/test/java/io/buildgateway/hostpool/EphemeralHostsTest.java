package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.buildgateway.shared.AuditRecord;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * An ephemeral host whose audit event cannot be written (the database away) is neither left running nor hidden: a
 * started host whose {@code host.ephemeral-started} fails is torn down, a hand-out whose
 * {@code host.ephemeral-acquired} fails gives its host back (destroyed), and a teardown whose
 * {@code host.ephemeral-destroyed} fails is logged at ERROR with the event's details (docs/audit.md, removals). The
 * provider is a fake (no Pod, no dockerd): it records what it started and destroyed.
 */
class EphemeralHostsTest {

    private final Logger logger = (Logger) LoggerFactory.getLogger(EphemeralHosts.class);
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    private final List<AuditRecord> audited = new CopyOnWriteArrayList<>();
    /** Actions whose append throws, as with the database away. */
    private final Set<String> failing = ConcurrentHashMap.newKeySet();
    private final List<String> started = new CopyOnWriteArrayList<>();
    private final List<String> destroyed = new CopyOnWriteArrayList<>();
    private FakeHosts hosts;

    @BeforeEach
    void capture() {
        lines.start();
        logger.addAppender(lines);
    }

    @AfterEach
    void close() {
        logger.detachAppender(lines);
        if (hosts != null) {
            hosts.close();
        }
    }

    private final class FakeHosts extends EphemeralHosts {
        FakeHosts(int warm) {
            super(new HostPoolProperties.Ephemeral(true, HostPoolProperties.Provider.LOCAL, "eph", 4, warm,
                    Duration.ofSeconds(30), null, null), host -> "daemon-of-" + host.name(), record -> {
                        if (failing.contains(record.action())) {
                            throw new IllegalStateException("database away");
                        }
                        audited.add(record);
                    });
        }

        @Override
        protected Started start(String id, Duration timeout) {
            started.add(id);
            return new Started(new HostPoolProperties.Host(id, "tcp://127.0.0.1:1", 1, null, null, null, null, null),
                    Map.of("pod", "pod-" + id));
        }

        @Override
        protected List<String> destroy(String id) {
            destroyed.add(id);
            return List.of();
        }

        @Override
        protected List<String> orphans() {
            return List.of();
        }

        @Override
        protected String kind() {
            return "fake";
        }
    }

    private List<String> actions() {
        return audited.stream().map(AuditRecord::action).toList();
    }

    /**
     * Waits (at most 10 s) until {@code done}: a teardown's event (or its ERROR line) comes after the host is out of
     * the live set that {@code drain} waits for, on the teardown's own thread.
     */
    private static void await(java.util.function.BooleanSupplier done) throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!done.getAsBoolean() && System.nanoTime() < until) {
            Thread.sleep(10);
        }
    }

    private boolean logged(String text) {
        return lines.list.stream().anyMatch(e -> e.getFormattedMessage().contains(text));
    }

    @Test
    void aWarmHostWhoseStartCannotBeAuditedIsTornDownNotLeftRunning() throws InterruptedException {
        failing.add("host.ephemeral-started");
        hosts = new FakeHosts(1);
        hosts.begin();

        assertThat(hosts.drain(Duration.ofSeconds(10))).as("every started host destroyed").isTrue();
        assertThat(started).isNotEmpty();
        assertThat(destroyed).containsAll(started);
        assertThat(hosts.live()).isEmpty();
        await(() -> actions().contains("host.ephemeral-destroyed"));
        assertThat(actions()).doesNotContain("host.ephemeral-started").contains("host.ephemeral-destroyed");
        assertThat(lines.list).anySatisfy(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.ERROR);
            assertThat(e.getFormattedMessage()).contains("host.ephemeral-started").contains(started.get(0))
                    .contains("daemon-of-" + started.get(0));
        });
    }

    @Test
    void aHostStartedForABuildWhoseStartCannotBeAuditedIsTornDownAndNotGiven() {
        failing.add("host.ephemeral-started");
        hosts = new FakeHosts(0);

        assertThatThrownBy(() -> hosts.acquire("eph", "b1")).isInstanceOf(BuildHostProvider.Unavailable.class);

        assertThat(hosts.drain(Duration.ofSeconds(10))).isTrue();
        assertThat(started).hasSize(1);
        assertThat(destroyed).containsExactlyElementsOf(started);
    }

    @Test
    void aHandOutThatCannotBeAuditedGivesItsHostBack() throws InterruptedException {
        failing.add("host.ephemeral-acquired");
        hosts = new FakeHosts(0);

        assertThatThrownBy(() -> hosts.acquire("eph", "b1")).isInstanceOf(BuildHostProvider.Unavailable.class);

        assertThat(hosts.drain(Duration.ofSeconds(10))).as("the lease was released").isTrue();
        assertThat(started).hasSize(1);
        assertThat(destroyed).containsExactlyElementsOf(started);
        await(() -> actions().contains("host.ephemeral-destroyed"));
        assertThat(actions()).containsExactly("host.ephemeral-started", "host.ephemeral-destroyed");
        assertThat(lines.list).anySatisfy(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.ERROR);
            assertThat(e.getFormattedMessage()).contains("host.ephemeral-acquired").contains("b1");
        });
    }

    @Test
    void aTeardownWhoseEventCannotBeWrittenIsLoggedAtErrorWithItsDetails() throws Exception {
        hosts = new FakeHosts(0);
        BuildHostProvider.Lease lease = hosts.acquire("eph", "b1");
        failing.add("host.ephemeral-destroyed");

        hosts.release(lease);

        assertThat(hosts.drain(Duration.ofSeconds(10))).isTrue();
        assertThat(destroyed).containsExactly(lease.instance());
        await(() -> logged("host.ephemeral-destroyed"));
        assertThat(actions()).containsExactly("host.ephemeral-started", "host.ephemeral-acquired");
        assertThat(lines.list).anySatisfy(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.ERROR);
            assertThat(e.getFormattedMessage()).contains("host.ephemeral-destroyed")
                    .contains("host/eph/" + lease.instance()).contains("build ended").contains(lease.daemonId())
                    .contains("database away");
        });
    }
}
