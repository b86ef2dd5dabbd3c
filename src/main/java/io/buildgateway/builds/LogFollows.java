package io.buildgateway.builds;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.shared.DatabaseUnavailable;
import io.buildgateway.shared.Problem;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.ResponseBodyEmitter;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code GET /builds/{id}/logs?follow=true}. Each open follow has a thread of this pool (never the servlet
 * container's, never Spring's shared task executor, so following cannot starve other requests), sends what the
 * build writes as it comes, a heartbeat after {@code gateway.builds.follow.heartbeat} without output, and ends when
 * the build is final (its own timeout bounds a running build); the response has no async timeout of its own. One
 * caller holds at most {@code max-per-caller} follows (more: 429), all callers at most {@code max-total} (more: 503),
 * both with {@code Retry-After}. A client that goes away is noticed at the next write or heartbeat.
 */
@Component
public class LogFollows {

    static final MediaType TEXT = new MediaType("text", "plain", StandardCharsets.UTF_8);
    static final MediaType NDJSON = MediaType.parseMediaType("application/x-ndjson");
    private static final Logger log = LoggerFactory.getLogger(LogFollows.class);

    private final BuildProperties.Follow settings;
    private final BuildLogs logs;
    private final BuildSubmissions submissions;
    private final JsonMapper json;
    private final ThreadPoolExecutor pool;
    private final CallerSlots slots;
    private final AtomicInteger open = new AtomicInteger();

    LogFollows(BuildProperties properties, BuildLogs logs, BuildSubmissions submissions, JsonMapper json,
            MeterRegistry meters) {
        this.settings = properties.follow();
        this.slots = new CallerSlots(settings.maxPerCaller(), settings.maxTotal());
        this.logs = logs;
        this.submissions = submissions;
        this.json = json;
        AtomicInteger n = new AtomicInteger();
        // As many threads as follows may be open; admission (below) keeps the queue empty in practice.
        this.pool = new ThreadPoolExecutor(settings.maxTotal(), settings.maxTotal(), 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "log-follow-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.pool.allowCoreThreadTimeOut(true);
        Gauge.builder("gateway.builds.log.follows", open, AtomicInteger::get)
                .description("open log follows").register(meters);
    }

    /** Who a follow counts against: the token, or the identity-provider / certificate principal. */
    public static String caller(GatewayPrincipal principal) {
        return principal.tokenId() != null ? "token/" + principal.tokenId() : "principal/" + principal.name();
    }

    /** Opens a follow of a build the caller may read, or refuses it (429 per caller, 503 for all). */
    ResponseBodyEmitter open(String caller, UUID build, boolean ndjson) {
        admit(caller);
        ResponseBodyEmitter emitter = new ResponseBodyEmitter(0L); // 0: no async timeout; the build's end ends it
        AtomicBoolean gone = new AtomicBoolean();
        emitter.onCompletion(() -> gone.set(true));
        emitter.onTimeout(() -> gone.set(true));
        emitter.onError(e -> gone.set(true));
        try {
            pool.execute(() -> {
                open.incrementAndGet();
                try {
                    follow(build, ndjson, emitter, gone);
                } finally {
                    open.decrementAndGet();
                    release(caller);
                }
            });
        } catch (RuntimeException e) {
            release(caller);
            throw e;
        }
        return emitter;
    }

    /**
     * Counts one follow of the caller, or refuses it (429 per caller, 503 for all); the Docker API's build streams
     * (a build's log followed on a request thread) count too. A counted follow must be {@link #release released}.
     */
    public void admit(String caller) {
        slots.take(caller, mine -> new Problem(429, "too-many-follows", "Too many requests", "you already follow "
                + mine + " build logs, the most one caller may (gateway.builds.follow.max-per-caller); close one or "
                + "read without follow")
                .with("maxPerCaller", settings.maxPerCaller())
                .with("retryAfterSeconds", Math.max(1, settings.retryAfter().toSeconds())),
                // The gateway's own state, answered on purpose: audited as the other deliberate 503s are, in the
                // per-second http.refused-summary of the path asked for (ProblemResponses), not counted against the
                // source's refusal limit.
                total -> new Problem(503, "follows-busy", "Service unavailable", "the gateway has " + total
                        + " log follows open, its limit; retry later or read without follow")
                        .with("retryAfterSeconds", Math.max(1, settings.retryAfter().toSeconds()))
                        .auditedAsRefusal());
    }

    public void release(String caller) {
        slots.give(caller);
    }

    private void follow(UUID build, boolean ndjson, ResponseBodyEmitter emitter, AtomicBoolean gone) {
        MediaType type = ndjson ? NDJSON : TEXT;
        byte[] heartbeat = (ndjson ? "{\"heartbeat\":true}\n" : "\n").getBytes(StandardCharsets.UTF_8);
        long offset = 0;
        long started = System.nanoTime();
        long lastWrite = started;
        Long unavailableSince = null;
        BuildLogs.Appends appends = logs.watch(build);
        try {
            while (!gone.get()) {
                long seen = appends.version(); // before the status is read: a wake-up after it ends the wait below
                boolean finalBefore = false;
                try {
                    finalBefore = submissions.status(build).isFinal();
                    BuildLogs.Chunk chunk;
                    while ((chunk = logs.read(build, offset, BuildLogs.READ_MAX)).next() > offset) {
                        if (!chunk.lines().isEmpty()) {
                            emitter.send(render(chunk.lines(), ndjson, json), type);
                            lastWrite = System.nanoTime();
                        }
                        offset = chunk.next();
                    }
                    unavailableSince = null;
                } catch (RuntimeException e) {
                    // The database away (restarting, failing over): the follow waits for it, with heartbeats, instead
                    // of ending the stream with an error (bench/chaos.sh saw each open follow logged as a 500).
                    if (!DatabaseUnavailable.is(e)) {
                        throw e;
                    }
                    long now = System.nanoTime();
                    unavailableSince = unavailableSince == null ? now : unavailableSince;
                    if (now - unavailableSince > DATABASE_PATIENCE.toNanos()) {
                        log.warn("following the log of build {}: the database has been away for {}; the follow"
                                + " ends", build, DATABASE_PATIENCE);
                        emitter.send(render(List.of(new BuildLogs.Line(BuildLogs.Source.GATEWAY, "log follow ended:"
                                + " the gateway's database cannot be reached; read the log again once it is back")),
                                ndjson, json), type);
                        break;
                    }
                }
                if (finalBefore) {
                    break;
                }
                long now = System.nanoTime();
                if (now - started > settings.maxDuration().toNanos()) {
                    break;
                }
                if (now - lastWrite >= settings.heartbeat().toNanos()) {
                    emitter.send(heartbeat, type);
                    lastWrite = now;
                }
                appends.await(seen, settings.pollInterval().toMillis());
            }
            emitter.complete();
        } catch (IOException | IllegalStateException e) {
            // the client went away (or the response was completed by the container): nothing to finish
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            emitter.complete();
        } catch (RuntimeException e) {
            log.warn("following the log of build {} failed", build, e);
            emitter.completeWithError(e);
        } finally {
            logs.unwatch(build);
        }
    }

    /**
     * text/plain: the gateway's lines as they are, each line of the build's steps after {@code "| "} (no gateway line
     * starts so, and no stored line holds a line break or control character, so step output cannot forge one).
     * NDJSON: {@code {"source":"gateway"|"step","text":"..."}} per line.
     */
    static byte[] render(List<BuildLogs.Line> lines, boolean ndjson, JsonMapper json) {
        StringBuilder out = new StringBuilder();
        for (BuildLogs.Line line : lines) {
            if (ndjson) {
                Map<String, String> item = new LinkedHashMap<>();
                item.put("source", line.source().json());
                item.put("text", line.text());
                out.append(json.writeValueAsString(item)).append('\n');
            } else {
                out.append(line.source() == BuildLogs.Source.STEP ? STEP_PREFIX : "").append(line.text()).append('\n');
            }
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    static final String STEP_PREFIX = "| ";

    /** How long a follow waits for an unreachable database before it ends with a line saying so. */
    static final java.time.Duration DATABASE_PATIENCE = java.time.Duration.ofSeconds(60);

    @PreDestroy
    void stop() {
        pool.shutdownNow();
    }
}
