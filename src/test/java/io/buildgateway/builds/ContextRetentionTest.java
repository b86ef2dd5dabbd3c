package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.buildgateway.intake.IntakeProperties;
import io.buildgateway.shared.HostClock;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.AbstractPlatformTransactionManager;
import org.springframework.transaction.support.DefaultTransactionStatus;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.util.unit.DataSize;

/**
 * The context files are deleted before their {@code context.pruned} event is written: when it cannot be written (the
 * database away past the retry), the deletion must still be somewhere, so every deleted digest is logged at ERROR
 * (the event names the first 100 only; the log names them all).
 */
class ContextRetentionTest {

    private final Logger logger = (Logger) LoggerFactory.getLogger(ContextRetention.class);
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();

    @BeforeEach
    void capture() {
        lines.start();
        logger.addAppender(lines);
    }

    @AfterEach
    void release() {
        logger.detachAppender(lines);
    }

    /** Transactions that begin and commit nothing: the event publisher below is what fails. */
    private static final class NoTransactions extends AbstractPlatformTransactionManager {
        @Override
        protected Object doGetTransaction() {
            return new Object();
        }

        @Override
        protected void doBegin(Object transaction, TransactionDefinition definition) {
        }

        @Override
        protected void doCommit(DefaultTransactionStatus status) {
        }

        @Override
        protected void doRollback(DefaultTransactionStatus status) {
        }
    }

    @Test
    void deletedContextsWhoseEventCannotBeWrittenAreLoggedAtErrorEveryOne() {
        BuildProperties properties = new BuildProperties(Path.of("unused"), 100, 20, Duration.ofSeconds(30),
                Duration.ofMillis(500), Duration.ofSeconds(60), DataSize.ofMegabytes(10), 64, 0.5, Duration.ofDays(30),
                new BuildProperties.Follow(2, 5, Duration.ofSeconds(15), Duration.ofMillis(250), Duration.ofHours(12),
                        Duration.ofSeconds(5)), Duration.ofSeconds(15), 0.5, true, Duration.ofMinutes(5));
        ContextRetention retention = new ContextRetention(null, new IntakeProperties(Path.of("unused-store"),
                DataSize.ofGigabytes(1), DataSize.ofGigabytes(1), 10, DataSize.ofGigabytes(1), 4096,
                DataSize.ofMegabytes(1)), properties, event -> {
                    throw new IllegalStateException("database away");
                }, new TransactionTemplate(new NoTransactions()), Clock.systemUTC(), new HostClock(Clock.systemUTC()));
        List<String> deleted = IntStream.range(0, 150)
                .mapToObj(i -> "sha256:" + String.format("%064x", i)).toList();

        assertThatThrownBy(() -> retention.audit(deleted, 12_345)).hasMessageContaining("database away");

        assertThat(lines.list).anySatisfy(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.ERROR);
            assertThat(e.getFormattedMessage()).contains("context.pruned").contains("150").contains("12345");
        });
        // every digest, in lines of at most 100 (a log pipeline keeps them whole)
        String errors = lines.list.stream().filter(e -> e.getLevel() == Level.ERROR)
                .map(e -> e.getFormattedMessage()).reduce("", (a, b) -> a + "\n" + b);
        deleted.forEach(d -> assertThat(errors).contains(d));
        assertThat(lines.list).filteredOn(e -> e.getLevel() == Level.ERROR).allSatisfy(e -> assertThat(
                e.getFormattedMessage().split("sha256:", -1).length - 1).isLessThanOrEqualTo(100));
    }
}
