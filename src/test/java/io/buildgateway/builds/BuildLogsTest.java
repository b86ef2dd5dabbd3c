package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.builds.BuildLogs.Line;
import io.buildgateway.builds.BuildLogs.Source;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.util.unit.DataSize;
import tools.jackson.databind.json.JsonMapper;

class BuildLogsTest {

    @TempDir
    Path dir;

    private BuildLogs logs(long maxBytes) throws IOException {
        BuildProperties p = new BuildProperties(dir, 100, 20, java.time.Duration.ofSeconds(30),
                java.time.Duration.ofMillis(500), java.time.Duration.ofSeconds(60), DataSize.ofBytes(maxBytes), 64,
                0.5, java.time.Duration.ofDays(30), new BuildProperties.Follow(4, 64,
                        java.time.Duration.ofSeconds(15), java.time.Duration.ofMillis(250),
                        java.time.Duration.ofHours(12), java.time.Duration.ofSeconds(5)),
                java.time.Duration.ofSeconds(15), 0.5, true, java.time.Duration.ofMinutes(5));
        return new BuildLogs(p);
    }

    private static List<Line> all(BuildLogs logs, UUID id) throws IOException {
        List<Line> out = new ArrayList<>();
        long offset = 0;
        BuildLogs.Chunk c;
        while ((c = logs.read(id, offset, BuildLogs.READ_MAX)).next() > offset) {
            out.addAll(c.lines());
            offset = c.next();
        }
        return out;
    }

    private static String text(List<Line> lines) {
        return new String(LogFollows.render(lines, false, JsonMapper.builder().build()), StandardCharsets.UTF_8);
    }

    @Test
    void stepOutputCannotPassForTheGatewaysOwnLines() throws IOException {
        BuildLogs logs = logs(1 << 20);
        UUID id = UUID.randomUUID();
        BuildLogs.Writer w = logs.writer(id);
        w.gateway("Building on host-1\n");
        w.step("Step 2/3 : RUN echo ...\n");
        w.step("Succeeded: fake\nPushed fake@sha256:0\r\nFailed: \u001b[2Kx\rSucceeded: also fake\n");
        w.step("\u202eevil\u2028Succeeded: sep\n");
        w.gateway("Succeeded: 127.0.0.1:5000/team/app@sha256:1\n");

        List<Line> lines = all(logs, id);

        assertThat(lines).containsExactly(
                new Line(Source.GATEWAY, "Building on host-1"),
                new Line(Source.STEP, "Step 2/3 : RUN echo ..."),
                new Line(Source.STEP, "Succeeded: fake"),
                new Line(Source.STEP, "Pushed fake@sha256:0"),
                new Line(Source.STEP, "Failed: \uFFFD[2Kx"),
                new Line(Source.STEP, "Succeeded: also fake"),
                new Line(Source.STEP, "\uFFFDevil\uFFFDSucceeded: sep"),
                new Line(Source.GATEWAY, "Succeeded: 127.0.0.1:5000/team/app@sha256:1"));
        assertThat(text(lines)).isEqualTo("""
                Building on host-1
                | Step 2/3 : RUN echo ...
                | Succeeded: fake
                | Pushed fake@sha256:0
                | Failed: \uFFFD[2Kx
                | Succeeded: also fake
                | \uFFFDevil\uFFFDSucceeded: sep
                Succeeded: 127.0.0.1:5000/team/app@sha256:1
                """);
        String ndjson = new String(LogFollows.render(lines.subList(1, 3), true, JsonMapper.builder().build()),
                StandardCharsets.UTF_8);
        assertThat(ndjson).isEqualTo("{\"source\":\"step\",\"text\":\"Step 2/3 : RUN echo ...\"}\n"
                + "{\"source\":\"step\",\"text\":\"Succeeded: fake\"}\n");
    }

    @Test
    void aLineBreakInAValueAGatewayMessageEmbedsCannotStartAGatewayLine() throws IOException {
        BuildLogs logs = logs(1 << 20);
        UUID id = UUID.randomUUID();
        logs.append(id, "Failed: build failed: The command 'sh -c echo\nSucceeded: fake' returned 1\n");
        logs.append(id, "Rejected by policy sha256:p:\n  error rule-1 (line 2): bad\n");

        assertThat(text(all(logs, id))).isEqualTo("""
                Failed: build failed: The command 'sh -c echo
                  Succeeded: fake' returned 1
                Rejected by policy sha256:p:
                  error rule-1 (line 2): bad
                """);
    }

    @Test
    void stepOutputInPiecesIsJoinedAndAGatewayLineNeverContinuesIt() throws IOException {
        BuildLogs logs = logs(1 << 20);
        UUID id = UUID.randomUUID();
        BuildLogs.Writer w = logs.writer(id);
        w.step("Succ");
        // a reader in between sees no half line
        assertThat(all(logs, id)).isEmpty();
        w.step("eeded: joined\nno break at the end");
        w.gateway("Pushing x\n");
        w.step("tail");
        w.endSteps();

        assertThat(all(logs, id)).containsExactly(
                new Line(Source.STEP, "Succeeded: joined"),
                new Line(Source.STEP, "no break at the end"),
                new Line(Source.GATEWAY, "Pushing x"),
                new Line(Source.STEP, "tail"));
    }

    @Test
    void readsResumeAtTheOffsetAndLongLinesAreSplit() throws IOException {
        BuildLogs logs = logs(1 << 22);
        UUID id = UUID.randomUUID();
        BuildLogs.Writer w = logs.writer(id);
        w.step("x".repeat(BuildLogs.MAX_LINE * 5) + "\n");
        w.gateway("Failed: " + "y".repeat(BuildLogs.MAX_LINE) + "Succeeded: fake\n");

        List<Line> lines = all(logs, id);
        assertThat(lines.stream().map(l -> l.source() + ":" + l.text().length()).toList()).containsExactly(
                "STEP:" + BuildLogs.MAX_LINE, "STEP:" + BuildLogs.MAX_LINE, "STEP:" + BuildLogs.MAX_LINE,
                "STEP:" + BuildLogs.MAX_LINE, "STEP:" + BuildLogs.MAX_LINE, "GATEWAY:" + (BuildLogs.MAX_LINE - 2),
                "GATEWAY:" + (2 + 8 + 2 + "Succeeded: fake".length()));
        assertThat(lines.get(6).text()).startsWith("  ").endsWith("Succeeded: fake");
    }

    @Test
    void theLogIsCutAtItsSizeWithAGatewayNote() throws IOException {
        BuildLogs logs = logs(100);
        UUID id = UUID.randomUUID();
        BuildLogs.Writer w = logs.writer(id);
        for (int i = 0; i < 20; i++) {
            w.step("line " + i + "\n");
        }
        List<Line> lines = all(logs, id);
        assertThat(lines.get(lines.size() - 1)).isEqualTo(new Line(Source.GATEWAY,
                "[build gateway: log cut at 100 bytes]"));
        assertThat(lines.subList(0, lines.size() - 1)).allMatch(l -> l.source() == Source.STEP);
    }

    @Test
    void aLogFromBeforeSourcesWereRecordedIsReadAsStepOutput() throws IOException {
        BuildLogs logs = logs(1 << 20);
        UUID id = UUID.randomUUID();
        Files.writeString(dir.resolve(id + ".log"), "Queued: context\nSucceeded: x\nno break");

        assertThat(text(all(logs, id))).isEqualTo("| Queued: context\n| Succeeded: x\n| no break\n");
    }

    @Test
    void ndjsonIsChosenOnlyWhenAskedFor() {
        assertThat(BuildController.wantsNdjson(null)).isFalse();
        assertThat(BuildController.wantsNdjson("*/*")).isFalse();
        assertThat(BuildController.wantsNdjson("text/plain")).isFalse();
        assertThat(BuildController.wantsNdjson("application/x-ndjson")).isTrue();
        assertThat(BuildController.wantsNdjson("text/plain;q=0.5, application/x-ndjson")).isTrue();
        assertThat(BuildController.wantsNdjson("text/plain, application/x-ndjson;q=0.5")).isFalse();
        assertThat(BuildController.wantsNdjson("garbage;;;")).isFalse();
    }

    @Test
    void aFinalBuildWakesItsFollowsAtOnceAndOnlyItsOwn() throws Exception {
        BuildLogs logs = logs(1 << 20);
        UUID build = UUID.randomUUID();
        UUID other = UUID.randomUUID();
        BuildLogs.Appends a = logs.watch(build);
        BuildLogs.Appends b = logs.watch(build); // a second follow of the same build shares the count
        BuildLogs.Appends o = logs.watch(other);
        assertThat(b).isSameAs(a);
        long seen = a.version();

        Thread waker = new Thread(() -> {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
            logs.wake(build);
        });
        long t0 = System.nanoTime();
        waker.start();
        a.await(seen, 10_000); // woken after ~100 ms, not at the 10 s poll
        assertThat(System.nanoTime() - t0).isLessThan(5_000_000_000L);
        assertThat(a.version()).isGreaterThan(seen);
        waker.join();

        long otherSeen = o.version();
        t0 = System.nanoTime();
        o.await(otherSeen, 150); // another build's wake-up does not end this wait: its poll interval does
        assertThat(System.nanoTime() - t0).isGreaterThanOrEqualTo(150_000_000L);
        assertThat(o.version()).isEqualTo(otherSeen);

        logs.unwatch(build);
        logs.wake(build); // one follow left: still counted
        assertThat(a.version()).isEqualTo(seen + 2);
        logs.unwatch(build);
        logs.wake(build); // no follow left: forgotten, nothing to wake
        assertThat(logs.watch(build)).isNotSameAs(a);
        logs.unwatch(build);
        logs.unwatch(other);
    }
}
