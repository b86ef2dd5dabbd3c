package io.buildgateway.audit;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** One event of the trail as stored and served. {@code details} is the canonical JSON text. */
public record AuditEvent(long seq, Instant at, String actor, String action, String target, String outcome,
        String sourceIp, String requestId, String details, String hash, String prevHash) {

    /** The fields that the hash covers, in their canonical JSON form (everything but the hashes). */
    String canonical() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seq", seq);
        m.put("at", at.toString());
        m.put("actor", actor);
        m.put("action", action);
        m.put("target", target);
        m.put("outcome", outcome);
        m.put("sourceIp", sourceIp);
        m.put("requestId", requestId);
        m.put("details", details);
        return CanonicalJson.write(m);
    }
}
