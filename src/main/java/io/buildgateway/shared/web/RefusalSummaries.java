package io.buildgateway.shared.web;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.RequestInfo;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Refusals that change nothing and that a flood repeats ({@link Problem#summarisedInAudit()}: a team at its queue
 * quota, and since 2026-12-06 the 503 of an unreachable registry and the 507 of a full context store, which every CI
 * runner retries through an outage) are counted here and written to the audit trail as one {@code http.refused-summary} event per second and
 * kind (method, path, problem type, team), with each caller's and each source address's count, instead of one
 * {@code http.refused} event each (issue #17: a CI burst's hundreds of 429s were each a hash-chain append, in line with
 * the accepted submissions' {@code build.queued} events, and a row per retry). Nothing is dropped: every refusal is in
 * exactly one summary's {@code count}; the callers and sources beyond {@link #MAX_NAMED} per summary are added up
 * under {@code "(others)"}. A summary that cannot be written (the database away) is kept and written with the next.
 */
@Component
public class RefusalSummaries {

    private static final Logger log = LoggerFactory.getLogger(RefusalSummaries.class);
    /** Callers and sources named one by one per summary; the rest are added up. */
    static final int MAX_NAMED = 100;
    static final String OTHERS = "(others)";

    private final ApplicationEventPublisher events;
    private final Clock clock;
    private Map<Key, Summary> open = new LinkedHashMap<>();

    RefusalSummaries(ApplicationEventPublisher events, Clock clock) {
        this.events = events;
        this.clock = clock;
    }

    record Key(String method, String path, int status, String problem, String team) {
    }

    /** What one summary holds until it is written. */
    static final class Summary {
        final Instant start;
        Instant end;
        long count;
        String lastDetail;
        final Map<String, Long> byActor = new LinkedHashMap<>();
        final Map<String, Long> bySource = new LinkedHashMap<>();

        Summary(Instant start) {
            this.start = start;
            this.end = start;
        }

        void add(long n, String actor, String source, String detail, Instant at) {
            count += n;
            lastDetail = detail;
            end = at.isAfter(end) ? at : end;
            named(byActor, actor, n);
            named(bySource, source, n);
        }

        private static void named(Map<String, Long> counts, String name, long n) {
            String key = counts.containsKey(name) || counts.size() < MAX_NAMED ? name : OTHERS;
            counts.merge(key, n, Long::sum);
        }
    }

    /** Counts one refusal. */
    public void count(Problem problem, String method, String path, RequestInfo request) {
        Object team = problem.properties().get("team");
        Key key = new Key(method, path, problem.status(), problem.typeName(), team == null ? null : team.toString());
        Instant now = clock.instant();
        synchronized (this) {
            open.computeIfAbsent(key, k -> new Summary(now)).add(1, actor(request),
                    Objects.toString(request.sourceIp(), "-"), problem.detail(), now);
        }
    }

    /**
     * The caller as {@code byActor} counts it: a gateway token by its id, with its name for people
     * ({@code "ci (token:<id>)"}: token names need not be unique, and no token's name starts with a name the trail
     * uses for other callers), anyone else by name.
     */
    static String actor(RequestInfo request) {
        String name = Objects.toString(request.actor(), "-");
        return request.tokenId() == null ? name : name + " (token:" + request.tokenId() + ")";
    }

    @Scheduled(fixedDelayString = "${gateway.web.refusal-summary.interval:1s}")
    void flush() {
        Map<Key, Summary> taken;
        synchronized (this) {
            if (open.isEmpty()) {
                return;
            }
            taken = open;
            open = new LinkedHashMap<>();
        }
        List<Map.Entry<Key, Summary>> unwritten = new ArrayList<>();
        for (Map.Entry<Key, Summary> e : taken.entrySet()) {
            Key k = e.getKey();
            Summary s = e.getValue();
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("method", k.method());
            details.put("status", k.status());
            details.put("problem", k.problem());
            if (k.team() != null) {
                details.put("team", k.team());
            }
            details.put("windowStart", s.start.toString());
            details.put("windowEnd", s.end.toString());
            details.put("count", s.count);
            details.put("byActor", s.byActor);
            details.put("bySource", s.bySource);
            details.put("lastDetail", s.lastDetail);
            try {
                // A deliberate 5xx (the registry or the context store unavailable) failed; a 4xx was rejected.
                events.publishEvent(new AuditRecord("http.refused-summary", k.path(), k.status() >= 500
                        ? AuditRecord.Outcome.FAILED : AuditRecord.Outcome.REJECTED, details, RequestInfo.system()));
            } catch (RuntimeException ex) {
                log.error("could not audit the summary of {} refused {} {} ({}); kept for the next try", s.count,
                        k.method(), k.path(), k.problem(), ex);
                unwritten.add(e);
            }
        }
        if (!unwritten.isEmpty()) {
            synchronized (this) {
                for (Map.Entry<Key, Summary> e : unwritten) {
                    Summary kept = e.getValue();
                    Summary newer = open.put(e.getKey(), kept);
                    if (newer != null) {
                        kept.count += newer.count;
                        kept.end = newer.end;
                        kept.lastDetail = newer.lastDetail;
                        newer.byActor.forEach((a, n) -> Summary.named(kept.byActor, a, n));
                        newer.bySource.forEach((a, n) -> Summary.named(kept.bySource, a, n));
                    }
                }
            }
        }
    }

    /**
     * Before the beans go (the audit trail and its database are still there): what is counted is written. What the web
     * server refuses while it drains, after this, is written by {@link RefusalsAtStop}.
     */
    @EventListener(ContextClosedEvent.class)
    void flushAtClose() {
        flush();
    }
}
