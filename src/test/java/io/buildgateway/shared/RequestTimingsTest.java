package io.buildgateway.shared;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class RequestTimingsTest {

    private final Logger logger = (Logger) LoggerFactory.getLogger(RequestTimings.LOGGER);
    private final Level before = logger.getLevel();
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();

    @AfterEach
    void restore() {
        logger.setLevel(before);
        logger.detachAppender(lines);
        RequestTimings.detach();
    }

    @Test
    void offByDefaultNothingIsOpenedMarkedOrLogged() {
        logger.setLevel(Level.INFO);
        lines.start();
        logger.addAppender(lines);

        assertThat(RequestTimings.enabled()).isFalse();
        assertThat(RequestTimings.open()).isFalse();
        assertThat(RequestTimings.start()).isZero();
        RequestTimings.end("auth", 0);
        RequestTimings.end("upload", System.nanoTime()); // a start taken regardless: still nothing open
        RequestTimings.close("GET", "/api/v1/builds/x", 200, null);

        assertThat(RequestTimings.detach()).isNull();
        assertThat(lines.list).isEmpty();
    }

    @Test
    void atDebugOneLinePerRequestWithTotalAndPhasesInTheOrderFirstMarkedRepeatsAddingUp() {
        logger.setLevel(Level.DEBUG);
        lines.start();
        logger.addAppender(lines);

        assertThat(RequestTimings.open()).isTrue();
        long auth = RequestTimings.start();
        assertThat(auth).isNotZero();
        RequestTimings.end("auth", auth);
        RequestTimings.end("quota", RequestTimings.start());
        RequestTimings.end("auth", RequestTimings.start());
        RequestTimings.close("POST", "/api/v1/builds", 202, null);

        assertThat(lines.list).hasSize(1);
        String line = lines.list.get(0).getFormattedMessage();
        assertThat(line).matches("timing POST /api/v1/builds 202 total=\\d+\\.\\d auth=\\d+\\.\\d quota=\\d+\\.\\d");
        // closed: the thread's next request starts from nothing
        assertThat(RequestTimings.start()).isZero();
    }

    @Test
    void aNoteFollowsThePhases() {
        logger.setLevel(Level.DEBUG);
        lines.start();
        logger.addAppender(lines);

        RequestTimings.open();
        RequestTimings.close("GET", "/api/v1/builds/1/logs", 200, "async");

        assertThat(lines.list.get(0).getFormattedMessage()).matches("timing GET /api/v1/builds/1/logs 200 total=\\S+ async");
    }
}
