package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.web.ProblemResponses;
import io.buildgateway.shared.web.RefusalSummaries;
import io.buildgateway.shared.web.TestRefusals;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.util.unit.DataSize;
import tools.jackson.databind.json.JsonMapper;

class LogFollowsTest {

    private final LogFollows follows = new LogFollows(new BuildProperties(Path.of("unused"), 100, 20,
            Duration.ofSeconds(30), Duration.ofMillis(500), Duration.ofSeconds(60), DataSize.ofMegabytes(10), 64, 0.5,
            Duration.ofDays(30), new BuildProperties.Follow(2, 5, Duration.ofSeconds(15), Duration.ofMillis(250),
                    Duration.ofHours(12), Duration.ofSeconds(5)), java.time.Duration.ofSeconds(15), 0.5, true,
            Duration.ofMinutes(5)),
            null, null, JsonMapper.builder().build(), new SimpleMeterRegistry());

    @Test
    void oneCallerHoldsAtMostItsShareAndAllCallersAtMostTheTotal() {
        follows.admit("token/a");
        follows.admit("token/a");
        assertThatThrownBy(() -> follows.admit("token/a")).isInstanceOfSatisfying(Problem.class, p -> {
            assertThat(p.status()).isEqualTo(429);
            assertThat(p.typeName()).isEqualTo("too-many-follows");
            assertThat(p.properties()).containsEntry("retryAfterSeconds", 5L);
        });
        follows.admit("token/b");
        follows.admit("token/b");
        follows.admit("principal/oidc:carol");
        assertThatThrownBy(() -> follows.admit("principal/oidc:dave")).isInstanceOfSatisfying(Problem.class, p -> {
            assertThat(p.status()).isEqualTo(503);
            assertThat(p.typeName()).isEqualTo("follows-busy");
        });
        // the 503 is not audited here: the web layer summarises it as the other deliberate 503s (below)

        // A closed follow frees its slot, for its caller and for everyone.
        follows.release("token/a");
        follows.admit("principal/oidc:dave");
        assertThatThrownBy(() -> follows.admit("token/a")).isInstanceOf(Problem.class);
        follows.release("token/b");
        follows.admit("token/a");
        follows.stop();
    }

    @Test
    void heartbeatsAndLinesAreRenderedSoThatClientsCanTellThemApart() {
        byte[] text = LogFollows.render(List.of(new BuildLogs.Line(BuildLogs.Source.GATEWAY, "Queued: x"),
                new BuildLogs.Line(BuildLogs.Source.STEP, "")), false, JsonMapper.builder().build());
        // an empty step line is "| ", never an empty line (an empty line is a heartbeat)
        assertThat(new String(text)).isEqualTo("Queued: x\n| \n");
        follows.stop();
    }

    /**
     * The 503 goes the way every refusal goes, {@link ProblemResponses#audit}: summarised per second with the path
     * asked for, the method and the detail (it was written by hand with target {@code logs/follow} and neither).
     */
    @Test
    void theFollowsBusyRefusalIsAuditedAsASummaryOfTheRequestedPath() {
        for (int i = 0; i < 5; i++) {
            follows.admit("token/" + i);
        }
        Problem busy = null;
        try {
            follows.admit("token/x");
        } catch (Problem p) {
            busy = p;
        }
        assertThat(busy).isNotNull();
        List<Object> written = new ArrayList<>();
        RefusalSummaries summaries = TestRefusals.summaries(written::add);
        ProblemResponses problems = new ProblemResponses(JsonMapper.builder().build(), written::add, null, summaries);
        MockHttpServletRequest request = new MockHttpServletRequest("GET", "/api/v1/builds/b1/logs");
        request.setRemoteAddr("10.0.0.7");

        problems.audit(busy, request);
        TestRefusals.flush(summaries);

        assertThat(written).singleElement().isInstanceOfSatisfying(AuditRecord.class, r -> {
            assertThat(r.action()).isEqualTo("http.refused-summary");
            assertThat(r.target()).isEqualTo("/api/v1/builds/b1/logs");
            assertThat(r.outcome()).isEqualTo(AuditRecord.Outcome.FAILED);
            assertThat(new java.util.HashMap<String, Object>(r.details()))
                    .containsEntry("method", "GET").containsEntry("status", 503)
                    .containsEntry("problem", "follows-busy").containsEntry("count", 1L)
                    .containsEntry("bySource", java.util.Map.of("10.0.0.7", 1L));
            assertThat((String) r.details().get("lastDetail")).contains("log follows open");
        });
        follows.stop();
    }
}
