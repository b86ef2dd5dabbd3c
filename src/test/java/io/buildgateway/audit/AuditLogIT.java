package io.buildgateway.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.RequestInfo;
import io.buildgateway.support.IntegrationTest;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The "audit" log line of an event is written once the event is durable, so a seq in the log always names the event
 * the chain holds at that seq: an event appended in a transaction that rolls back is not logged as appended, and the
 * seq it had goes to the next event.
 */
class AuditLogIT extends IntegrationTest {

    @Autowired
    AuditTrail trail;
    @Autowired
    TransactionTemplate tx;
    @Autowired
    JdbcTemplate jdbc;

    private final Logger logger = (Logger) LoggerFactory.getLogger("audit");
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    private Level before;

    @BeforeEach
    void capture() {
        before = logger.getLevel();
        logger.setLevel(Level.DEBUG);
        lines.start();
        logger.addAppender(lines);
    }

    @AfterEach
    void restore() {
        logger.detachAppender(lines);
        logger.setLevel(before);
    }

    private List<String> linesAbout(String target) {
        return lines.list.stream().map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains(target)).toList();
    }

    private static final Pattern LINE = Pattern.compile("audit seq=(\\d+) actor=.* action=.* target=(.*)"
            + " outcome=[A-Z]+", Pattern.DOTALL);

    private static AuditRecord record(String action, String target) {
        return new AuditRecord(action, target, Outcome.SUCCESS, Map.of("k", "v"), RequestInfo.system());
    }

    @Test
    void anEventInATransactionIsLoggedAtItsCommitNotAtItsAppend() {
        String target = "test/" + UUID.randomUUID();
        long seq = tx.execute(s -> {
            AuditEvent e = trail.append(record("test.log-at-commit", target));
            assertThat(linesAbout(target)).as("logged before its transaction committed").isEmpty();
            return e.seq();
        });
        assertThat(linesAbout(target)).containsExactly("audit seq=" + seq + " actor=system action=test.log-at-commit"
                + " target=" + target + " outcome=SUCCESS");
    }

    @Test
    void aRolledBackEventIsNotLoggedAsAppendedAndItsSeqNamesOnlyTheEventTheChainKeeps() {
        String lost = "test/" + UUID.randomUUID();
        long[] lostSeq = {0};
        assertThatThrownBy(() -> tx.executeWithoutResult(s -> {
            lostSeq[0] = trail.append(record("test.rolled-back", lost)).seq();
            throw new IllegalStateException("the change failed after its event was appended");
        })).isInstanceOf(IllegalStateException.class);
        assertThat(jdbc.queryForObject("select count(*) from audit_event where target = ?", Long.class, lost))
                .isZero();
        assertThat(linesAbout(lost)).containsExactly("audit seq=" + lostSeq[0] + " action=test.rolled-back target="
                + lost + " rolled back with its transaction (not in the chain)");

        String kept = "test/" + UUID.randomUUID();
        long keptSeq = trail.append(record("test.kept", kept)).seq(); // on its own: it commits itself
        assertThat(linesAbout(kept)).containsExactly("audit seq=" + keptSeq + " actor=system action=test.kept"
                + " target=" + kept + " outcome=SUCCESS");
        // Every event logged as appended meanwhile (the context's own included) is the one the chain holds at its seq.
        List<String> appended = lines.list.stream().filter(l -> l.getLevel() == Level.INFO)
                .map(ILoggingEvent::getFormattedMessage).toList();
        assertThat(appended).isNotEmpty();
        for (String line : appended) {
            Matcher m = LINE.matcher(line);
            assertThat(m.matches()).as(line).isTrue();
            assertThat(jdbc.queryForObject("select target from audit_event where seq = ?", String.class,
                    Long.parseLong(m.group(1)))).as(line).isEqualTo(m.group(2));
        }
    }
}
