package io.buildgateway.shared.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.RequestInfo;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.springframework.boot.web.server.GracefulShutdownCallback;
import org.springframework.boot.web.server.GracefulShutdownResult;
import org.springframework.boot.web.server.WebServer;
import org.springframework.boot.web.server.context.WebServerGracefulShutdownLifecycle;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.support.GenericApplicationContext;
import org.springframework.mock.web.MockHttpServletRequest;
import tools.jackson.databind.json.JsonMapper;

/**
 * A refusal answered while the web server drains (Boot's own graceful-shutdown lifecycle, at its own phase, stopped by
 * Spring's DefaultLifecycleProcessor as the context closes) is written to the audit trail: the summaries' and the rate
 * limit's flush at the context's close runs before it, and {@link RefusalsAtStop} after it.
 */
class RefusalsAtStopTest {

    private final List<AuditRecord> published = new CopyOnWriteArrayList<>();
    private final ApplicationEventPublisher events = event -> {
        if (event instanceof AuditRecord r) {
            published.add(r);
        }
    };
    private final RefusalSummaries summaries = new RefusalSummaries(events, Clock.systemUTC());
    private final RefusalRateLimitFilter rateLimit = new RefusalRateLimitFilter(new RefusalLimitProperties(1,
            Duration.ofHours(1), 100, Duration.ofSeconds(1)),
            new ProblemResponses(JsonMapper.builder().build(), events, null, summaries), events, Clock.systemUTC());

    /** A web server whose graceful drain answers one more request, refused and counted, before it completes. */
    private final class DrainingWebServer implements WebServer {

        volatile boolean stopped;

        @Override
        public void start() {
        }

        @Override
        public void stop() {
            stopped = true;
        }

        @Override
        public int getPort() {
            return 0;
        }

        @Override
        public void shutDownGracefully(GracefulShutdownCallback callback) {
            summaries.count(new Problem(429, "team-queue-full", "Too many requests", "at its quota")
                    .with("team", "late").summarisedInAudit(), "POST", "/api/v1/builds",
                    new RequestInfo("ci", "10.0.0.7", "r-late"));
            MockHttpServletRequest request = new MockHttpServletRequest("GET", "/api/v1/builds");
            request.setRemoteAddr("10.0.0.8");
            rateLimit.auditIndividually(request);
            rateLimit.auditIndividually(request);
            callback.shutdownComplete(GracefulShutdownResult.IDLE);
        }
    }

    @Test
    void aRefusalCountedWhileTheWebServerDrainsIsWrittenAfterItStops() {
        DrainingWebServer server = new DrainingWebServer();
        try (GenericApplicationContext context = new GenericApplicationContext()) {
            // The beans as the application has them: the close-time listeners and the lifecycle at its phase.
            context.registerBean(RefusalSummaries.class, () -> summaries);
            context.registerBean(RefusalRateLimitFilter.class, () -> rateLimit);
            context.registerBean(WebServerGracefulShutdownLifecycle.class,
                    () -> new WebServerGracefulShutdownLifecycle(server));
            context.registerBean(RefusalsAtStop.class, () -> new RefusalsAtStop(summaries, rateLimit));
            context.registerBean(org.springframework.context.event.EventListenerMethodProcessor.class);
            context.registerBean(org.springframework.context.event.DefaultEventListenerFactory.class);
            context.refresh();
            assertThat(published).isEmpty();
        }

        assertThat(published).as("the drain's refusals, written after the web server stopped")
                .extracting(AuditRecord::action)
                .containsExactlyInAnyOrder("http.refused-summary", "request.rate-limited");
        assertThat(published).filteredOn(r -> r.action().equals("http.refused-summary")).singleElement()
                .satisfies(r -> assertThat(new java.util.HashMap<String, Object>(r.details())).containsEntry("team", "late").containsEntry("count", 1L));
        assertThat(published).filteredOn(r -> r.action().equals("request.rate-limited")).singleElement()
                .satisfies(r -> assertThat(new java.util.HashMap<String, Object>(r.details())).containsEntry("source", "10.0.0.8")
                        .containsEntry("count", 1L));
    }

    /**
     * Lower phases stop later: after the graceful drain and after the web server's own stop, whose lifecycle is not
     * public (its phase read from Boot's class itself, so a Boot that moves it fails here).
     */
    @Test
    void itStopsAfterTheWebServersDrainAndStop() throws ReflectiveOperationException {
        Class<?> startStop = Class.forName(
                "org.springframework.boot.web.server.servlet.context.WebServerStartStopLifecycle");
        java.lang.reflect.Constructor<?> constructor = startStop.getDeclaredConstructors()[0];
        constructor.setAccessible(true);
        int webServerStop = ((org.springframework.context.SmartLifecycle) constructor.newInstance(null, null))
                .getPhase();
        assertThat(webServerStop).isLessThan(WebServerGracefulShutdownLifecycle.SMART_LIFECYCLE_PHASE);
        assertThat(RefusalsAtStop.PHASE).isLessThan(webServerStop);
    }
}
