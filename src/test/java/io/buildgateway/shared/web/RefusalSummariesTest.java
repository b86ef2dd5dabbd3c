package io.buildgateway.shared.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.RequestInfo;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.context.ApplicationEventPublisher;

class RefusalSummariesTest {

    private final List<AuditRecord> published = new CopyOnWriteArrayList<>();
    private final AtomicInteger failPublishing = new AtomicInteger();
    private final ApplicationEventPublisher events = event -> {
        if (failPublishing.getAndDecrement() > 0) {
            throw new IllegalStateException("database away");
        }
        published.add((AuditRecord) event);
    };
    private final RefusalSummaries summaries = new RefusalSummaries(events, Clock.systemUTC());

    private static Problem quota(String team) {
        return new Problem(429, "team-queue-full", "Too many requests", "team '" + team + "' is at its quota")
                .with("team", team).summarisedInAudit();
    }

    private static Map<String, Object> details(AuditRecord r) {
        return new HashMap<>(r.details());
    }

    @Test
    void everyRefusalIsCountedInOneSummaryPerKindWithItsCallers() {
        for (int i = 0; i < 150; i++) {
            summaries.count(quota("flood"), "POST", "/api/v1/builds", new RequestInfo("ci-" + i, "10.0.0." + (i % 3),
                    "r" + i));
        }
        summaries.count(quota("flood"), "POST", "/api/v1/builds", new RequestInfo("ci-0", "10.0.0.0", "again"));
        summaries.count(quota("quiet"), "POST", "/api/v1/builds", new RequestInfo("q", "10.0.1.1", "q1"));
        summaries.count(quota("flood"), "POST", "/build", new RequestInfo("docker", null, "d1"));
        assertThat(published).as("nothing written one by one").isEmpty();

        summaries.flush();

        assertThat(published).hasSize(3);
        AuditRecord flood = published.get(0);
        assertThat(flood.action()).isEqualTo("http.refused-summary");
        assertThat(flood.target()).isEqualTo("/api/v1/builds");
        assertThat(flood.outcome()).isEqualTo(AuditRecord.Outcome.REJECTED);
        assertThat(flood.request()).isEqualTo(RequestInfo.system());
        Map<String, Object> d = details(flood);
        assertThat(d).containsEntry("count", 151L).containsEntry("team", "flood").containsEntry("status", 429)
                .containsEntry("problem", "team-queue-full").containsEntry("method", "POST")
                .containsKeys("windowStart", "windowEnd", "lastDetail");
        @SuppressWarnings("unchecked")
        Map<String, Long> byActor = (Map<String, Long>) d.get("byActor");
        assertThat(byActor).hasSize(RefusalSummaries.MAX_NAMED + 1).containsEntry("ci-0", 2L)
                .containsEntry(RefusalSummaries.OTHERS, 50L);
        assertThat(byActor.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(151L);
        @SuppressWarnings("unchecked")
        Map<String, Long> bySource = (Map<String, Long>) d.get("bySource");
        assertThat(bySource).containsEntry("10.0.0.0", 51L).containsEntry("10.0.0.1", 50L)
                .containsEntry("10.0.0.2", 50L);
        assertThat(details(published.get(1))).containsEntry("team", "quiet").containsEntry("count", 1L);
        assertThat(published.get(2).target()).isEqualTo("/build");
        assertThat(details(published.get(2)).get("bySource")).isEqualTo(Map.of("-", 1L));

        summaries.flush();
        assertThat(published).as("nothing counted since: nothing written").hasSize(3);
    }

    @Test
    void anOutagesDeliberate5xxAreSummarisedAsFailedApartFromTheRejections() {
        Problem unreachable = new io.buildgateway.shared.RegistryUnavailable("the triggers of 'base/busybox'");
        assertThat(unreachable.isSummarisedInAudit()).isTrue();
        assertThat(unreachable.isAuditedAsRefusal()).isTrue();
        for (int i = 0; i < 3; i++) {
            summaries.count(unreachable, "POST", "/api/v1/builds", new RequestInfo("ci-" + i, "10.0.0.1", "r" + i));
        }
        summaries.count(quota("flood"), "POST", "/api/v1/builds", new RequestInfo("ci-0", "10.0.0.1", "q"));

        summaries.flush();

        assertThat(published).hasSize(2);
        assertThat(published.get(0).outcome()).isEqualTo(AuditRecord.Outcome.FAILED);
        assertThat(details(published.get(0))).containsEntry("count", 3L).containsEntry("status", 503)
                .containsEntry("problem", "registry-unavailable").doesNotContainKey("team");
        assertThat((String) details(published.get(0)).get("lastDetail")).contains("'base/busybox'");
        assertThat(published.get(1).outcome()).isEqualTo(AuditRecord.Outcome.REJECTED);
        assertThat(details(published.get(1))).containsEntry("count", 1L).containsEntry("status", 429);
    }

    @Test
    void aSummaryThatCouldNotBeWrittenIsKeptAndJoinsTheNext() {
        summaries.count(quota("flood"), "POST", "/api/v1/builds", new RequestInfo("a", "10.0.0.1", "1"));
        summaries.count(quota("flood"), "POST", "/api/v1/builds", new RequestInfo("b", "10.0.0.1", "2"));
        failPublishing.set(1);
        summaries.flush();
        assertThat(published).isEmpty();

        summaries.count(quota("flood"), "POST", "/api/v1/builds", new RequestInfo("c", "10.0.0.2", "3"));
        summaries.flush();

        assertThat(published).hasSize(1);
        Map<String, Object> d = details(published.get(0));
        assertThat(d).containsEntry("count", 3L);
        assertThat(d.get("byActor")).isEqualTo(Map.of("a", 1L, "b", 1L, "c", 1L));
        assertThat(d.get("bySource")).isEqualTo(Map.of("10.0.0.1", 2L, "10.0.0.2", 1L));
    }

    @Test
    void twoTokensOfOneNameAreCountedApartByTheirIds() {
        summaries.count(quota("flood"), "POST", "/api/v1/builds", new RequestInfo("ci", "10.0.0.1", "1", "id-1"));
        summaries.count(quota("flood"), "POST", "/api/v1/builds", new RequestInfo("ci", "10.0.0.1", "2", "id-2"));
        summaries.count(quota("flood"), "POST", "/api/v1/builds", new RequestInfo("ci", "10.0.0.1", "3", "id-2"));
        summaries.count(quota("flood"), "POST", "/api/v1/builds", new RequestInfo("oidc:ci", "10.0.0.1", "4"));

        summaries.flush();

        assertThat(published).hasSize(1);
        assertThat(details(published.get(0)).get("byActor")).isEqualTo(Map.of("ci (token:id-1)", 1L,
                "ci (token:id-2)", 2L, "oidc:ci", 1L));
    }
}
