package io.buildgateway.shared;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A failure that carries its HTTP meaning: status, a stable type, a human title and detail, and domain properties
 * (for example {@code buildId} and {@code findings}). Modules throw it; the web layer renders RFC 9457
 * {@code application/problem+json}. It never carries a cause's message, so nothing internal reaches a client.
 */
public class Problem extends RuntimeException {

    public static final String TYPE_BASE = "https://build-gateway.dev/problems/";

    private final int status;
    private final String type;
    private final String title;
    private final Map<String, Object> properties = new LinkedHashMap<>();
    private boolean summarised;
    private boolean auditedRefusal;

    public Problem(int status, String type, String title, String detail) {
        super(detail, null, false, false);
        this.status = status;
        this.type = type;
        this.title = title;
    }

    /**
     * A value of the request as a problem's detail quotes it back: at most 80 code points (a cut never splits a
     * surrogate pair, which a JSON writer would refuse), control characters as '?', "…" when cut.
     */
    public static String quote(String value) {
        StringBuilder b = new StringBuilder();
        value.codePoints().limit(80).forEach(c -> b.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return value.codePointCount(0, value.length()) > 80 ? b + "…" : b.toString();
    }

    public static Problem badRequest(String type, String detail) {
        return new Problem(400, type, "Bad request", detail);
    }

    public static Problem notFound(String what) {
        return new Problem(404, "not-found", "Not found", what + " does not exist");
    }

    public static Problem forbidden(String detail) {
        return new Problem(403, "forbidden", "Forbidden", detail);
    }

    /**
     * Marks a refusal that changes nothing and that a flood repeats by the thousand (a team at its queue quota; every
     * {@link #auditedAsRefusal()} 5xx): the audit trail records such refusals as one {@code http.refused-summary}
     * event per second and kind, with each caller's count, instead of one event each (docs/audit.md).
     */
    public Problem summarisedInAudit() {
        this.summarised = true;
        return this;
    }

    /**
     * Marks a 5xx the gateway answers on purpose, refusing a request that recorded nothing because a part it needs is
     * unavailable (the registry, the identity provider, ShellCheck, the context store's space): audited as a refusal
     * (outcome FAILED) like a 4xx, but not counted towards the source's refusal limit, and counted in the per-second
     * summary ({@link #summarisedInAudit()}): every CI runner retries through such an outage. Not for
     * {@code database-unavailable} (the trail is in that database) nor for an unexpected failure.
     */
    public Problem auditedAsRefusal() {
        this.auditedRefusal = true;
        this.summarised = true;
        return this;
    }

    /** Whether {@link #auditedAsRefusal()} was asked. */
    public boolean isAuditedAsRefusal() {
        return auditedRefusal;
    }

    /** The {@code retryAfterSeconds} property, the {@code Retry-After} header of every rendering; empty without. */
    public java.util.OptionalLong retryAfterSeconds() {
        return properties.get("retryAfterSeconds") instanceof Number seconds
                ? java.util.OptionalLong.of(seconds.longValue()) : java.util.OptionalLong.empty();
    }

    /** Whether it is counted in the per-second summary ({@link #summarisedInAudit()}, {@link #auditedAsRefusal()}). */
    public boolean isSummarisedInAudit() {
        return summarised;
    }

    public Problem with(String key, Object value) {
        properties.put(key, value);
        return this;
    }

    public int status() {
        return status;
    }

    public URI type() {
        return URI.create(TYPE_BASE + type);
    }

    public String typeName() {
        return type;
    }

    public String title() {
        return title;
    }

    public String detail() {
        return getMessage();
    }

    public Map<String, Object> properties() {
        return properties;
    }
}
