package io.buildgateway.audit;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

/**
 * What leaves the gateway for the SIEM, as pure functions: an event as one JSON line (the API's fields, keys sorted,
 * {@code details} the stored canonical object verbatim) and an RFC 5424 syslog message framed by octet counting
 * (RFC 6587 section 3.4.1, also the framing of syslog over TLS, RFC 5425).
 */
final class SyslogFormat {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    static final String NILVALUE = "-";

    private SyslogFormat() {
    }

    /** The event as one line of JSON (no newline). */
    static String jsonLine(AuditEvent e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seq", e.seq());
        m.put("at", e.at().toString());
        m.put("actor", e.actor());
        m.put("action", e.action());
        m.put("target", e.target());
        m.put("outcome", e.outcome());
        m.put("sourceIp", e.sourceIp());
        m.put("requestId", e.requestId());
        m.put("details", isJsonObject(e.details()) ? new CanonicalJson.Raw(e.details()) : e.details());
        m.put("hash", e.hash());
        m.put("prevHash", e.prevHash());
        return CanonicalJson.write(m);
    }

    /** Stored details are canonical JSON objects; a row changed behind the gateway's back may hold anything. */
    static boolean isJsonObject(String text) {
        if (text == null || text.isEmpty() || text.charAt(0) != '{' || text.indexOf('\n') >= 0) {
            return false;
        }
        try {
            return JSON.readTree(text).isObject();
        } catch (JacksonException e) {
            return false;
        }
    }

    /**
     * RFC 5424 severity of an event: informational for a success, notice for a rejection, warning for a denial or a
     * failure.
     */
    static int severity(String outcome) {
        if ("SUCCESS".equals(outcome)) {
            return 6;
        }
        return "REJECTED".equals(outcome) ? 5 : 4;
    }

    /**
     * {@code <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG}: no structured data, the MSG is the JSON line
     * (UTF-8 without a BOM, so RFC 5424's MSG-ANY).
     */
    static String message(int facility, int severity, Instant time, String hostname, String appName, String procId,
            String msgId, String msg) {
        return "<" + (facility * 8 + severity) + ">1 " + time + " " + field(hostname, 255) + " " + field(appName, 48)
                + " " + field(procId, 128) + " " + field(msgId, 32) + " " + NILVALUE + " " + msg;
    }

    /** RFC 6587 octet counting: {@code MSG-LEN SP SYSLOG-MSG}, the length in octets. */
    static byte[] frame(String message) {
        byte[] body = message.getBytes(StandardCharsets.UTF_8);
        byte[] prefix = (body.length + " ").getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[prefix.length + body.length];
        System.arraycopy(prefix, 0, out, 0, prefix.length);
        System.arraycopy(body, 0, out, prefix.length, body.length);
        return out;
    }

    /** A header field: printable US-ASCII without spaces, bounded; empty becomes the NILVALUE. */
    static String field(String value, int max) {
        if (value == null || value.isEmpty()) {
            return NILVALUE;
        }
        StringBuilder b = new StringBuilder(Math.min(value.length(), max));
        for (int i = 0; i < value.length() && b.length() < max; i++) {
            char c = value.charAt(i);
            b.append(c > 32 && c < 127 ? c : '_');
        }
        return b.toString();
    }
}
