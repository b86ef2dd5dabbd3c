package io.buildgateway.audit;

import io.buildgateway.signing.GatewayKey;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A signed statement "the chain's head was event {@code seq} with hash {@code hash} at {@code at}". The signed bytes
 * ({@code payload}) are the UTF-8 of the canonical JSON object {@code {"at","hash","keyId","seq","type"}}; the
 * signature is the gateway key's ECDSA P-256 SHA-256 signature in ASN.1 DER, base64. Everything else about a
 * checkpoint (the file line's outer fields, the table's columns) is a copy for people and SQL; verification trusts the
 * payload only. Format and an offline check with openssl: docs/audit.md.
 */
public record Checkpoint(long seq, String hash, Instant at, String keyId, String payload, String signature) {

    public static final String TYPE = "build-gateway.audit-checkpoint/v1";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** Signs the head. */
    static Checkpoint sign(long seq, String hash, Instant at, GatewayKey key) {
        Instant time = at.truncatedTo(ChronoUnit.MICROS);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", TYPE);
        m.put("seq", seq);
        m.put("hash", hash);
        m.put("at", time.toString());
        m.put("keyId", key.keyId());
        String payload = CanonicalJson.write(m);
        String signature = Base64.getEncoder().encodeToString(key.sign(payload.getBytes(StandardCharsets.UTF_8)));
        return new Checkpoint(seq, hash, time, key.keyId(), payload, signature);
    }

    /**
     * A checkpoint from its signed payload and signature: the fields are read from the payload.
     *
     * @throws IllegalArgumentException when the payload is not a checkpoint payload
     */
    static Checkpoint of(String payload, String signature) {
        try {
            JsonNode p = JSON.readTree(payload);
            if (!p.isObject() || !TYPE.equals(p.path("type").asString(null)) || !p.path("seq").isIntegralNumber()
                    || !p.path("hash").isString() || !p.path("at").isString() || !p.path("keyId").isString()) {
                throw new IllegalArgumentException("not a " + TYPE + " payload");
            }
            return new Checkpoint(p.get("seq").asLong(), p.get("hash").asString(),
                    Instant.parse(p.get("at").asString()),
                    p.get("keyId").asString(), payload, signature);
        } catch (JacksonException | DateTimeParseException e) {
            throw new IllegalArgumentException("not a " + TYPE + " payload", e);
        }
    }

    /**
     * A line of the checkpoint file (or a syslog checkpoint message).
     *
     * @throws IllegalArgumentException when it is not one
     */
    static Checkpoint parseLine(String line) {
        try {
            JsonNode n = JSON.readTree(line);
            if (!n.path("payload").isString() || !n.path("signature").isString()) {
                throw new IllegalArgumentException("a checkpoint line needs 'payload' and 'signature'");
            }
            return of(n.get("payload").asString(), n.get("signature").asString());
        } catch (JacksonException e) {
            throw new IllegalArgumentException("not JSON", e);
        }
    }

    /** The JSON line for the checkpoint file, the log and syslog: readable fields, the payload, the signature. */
    String line() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", TYPE);
        m.put("seq", seq);
        m.put("hash", hash);
        m.put("at", at.toString());
        m.put("keyId", keyId);
        m.put("payload", payload);
        m.put("signature", signature);
        return CanonicalJson.write(m);
    }

    /** Whether {@code key} signed exactly this payload. */
    boolean signedBy(PublicKey key) {
        if (!GatewayKey.keyId(key).equals(keyId)) {
            return false;
        }
        byte[] sig;
        try {
            sig = Base64.getDecoder().decode(signature);
        } catch (IllegalArgumentException e) {
            return false;
        }
        return GatewayKey.verify(key, payload.getBytes(StandardCharsets.UTF_8), sig);
    }
}
