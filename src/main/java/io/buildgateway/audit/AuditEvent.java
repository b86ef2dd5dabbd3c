package io.buildgateway.audit;

import java.time.Instant;

/** One event of the trail as stored and served. {@code details} is the canonical JSON text. */
public record AuditEvent(long seq, Instant at, String actor, String action, String target, String outcome,
        String sourceIp, String requestId, String details, String hash, String prevHash) {

    /**
     * The fields that the hash covers, in their canonical JSON form (everything but the hashes): an object with the
     * keys in code-point order, written directly rather than through a sorted map because it is computed for every
     * event of a verification.
     */
    String canonical() {
        String[] around = canonicalAroundSeq();
        return around[0] + seq + around[1];
    }

    /** The canonical form without the seq's digits: the text before them and the text after them. */
    String[] canonicalAroundSeq() {
        StringBuilder out = new StringBuilder(256 + (details == null ? 0 : details.length()));
        out.append("{\"action\":");
        string(action, out);
        out.append(",\"actor\":");
        string(actor, out);
        out.append(",\"at\":");
        string(at == null ? null : at.toString(), out);
        out.append(",\"details\":");
        string(details, out);
        out.append(",\"outcome\":");
        string(outcome, out);
        out.append(",\"requestId\":");
        string(requestId, out);
        out.append(",\"seq\":");
        String head = out.toString();
        out.setLength(0);
        out.append(",\"sourceIp\":");
        string(sourceIp, out);
        out.append(",\"target\":");
        string(target, out);
        return new String[] {head, out.append('}').toString()};
    }

    private static void string(String s, StringBuilder out) {
        if (s == null) {
            out.append("null");
        } else {
            CanonicalJson.string(s, out);
        }
    }
}
