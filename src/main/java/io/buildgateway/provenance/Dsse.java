package io.buildgateway.provenance;

import io.buildgateway.signing.GatewayKey;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Dead Simple Signing Envelope v1 (github.com/secure-systems-lab/dsse, envelope.md and protocol.md): the signature
 * is over the pre-authentication encoding {@code PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP
 * body}, with lengths as ASCII decimal byte counts, so neither the type nor the payload can be swapped without
 * breaking it. Signing and verifying are pure functions of their inputs.
 */
public final class Dsse {

    /** The payload type of an in-toto Statement. */
    public static final String IN_TOTO = "application/vnd.in-toto+json";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private Dsse() {
    }

    /** An envelope as JSON has it: the payload and signatures base64 (standard alphabet, padded). */
    public record Envelope(String payloadType, String payload, List<Signature> signatures) {

        public Envelope {
            signatures = List.copyOf(signatures);
        }

        public byte[] payloadBytes() {
            return Base64.getDecoder().decode(payload);
        }

        /** The envelope as compact JSON, in the field order of the DSSE spec. */
        public byte[] toJson() {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("payloadType", payloadType);
            out.put("payload", payload);
            out.put("signatures", signatures.stream().map(s -> {
                Map<String, String> sig = new LinkedHashMap<>();
                sig.put("keyid", s.keyid());
                sig.put("sig", s.sig());
                return sig;
            }).toList());
            return JSON.writeValueAsBytes(out);
        }

        /**
         * Reads an envelope's JSON.
         *
         * @throws VerificationException when it is not a DSSE envelope
         */
        public static Envelope parse(byte[] json) {
            try {
                JsonNode n = JSON.readTree(json);
                if (!n.path("payloadType").isString() || !n.path("payload").isString()
                        || !n.path("signatures").isArray()) {
                    throw new VerificationException("not a DSSE envelope: payloadType, payload and signatures are"
                            + " required");
                }
                List<Signature> sigs = new ArrayList<>();
                for (JsonNode s : n.path("signatures")) {
                    sigs.add(new Signature(s.path("keyid").asString(""), s.path("sig").asString("")));
                }
                return new Envelope(n.path("payloadType").asString(), n.path("payload").asString(), sigs);
            } catch (tools.jackson.core.JacksonException e) {
                throw new VerificationException("not a DSSE envelope: the JSON does not parse");
            }
        }
    }

    public record Signature(String keyid, String sig) {
    }

    /** The pre-authentication encoding of DSSE v1. */
    public static byte[] pae(String payloadType, byte[] payload) {
        byte[] type = payloadType.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream(payload.length + type.length + 32);
        out.writeBytes(("DSSEv1 " + type.length + " ").getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(type);
        out.writeBytes((" " + payload.length + " ").getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(payload);
        return out.toByteArray();
    }

    /** Signs the payload with the gateway's key; the signature's keyid is the key's id. */
    public static Envelope sign(GatewayKey key, String payloadType, byte[] payload) {
        byte[] sig = key.sign(pae(payloadType, payload));
        return new Envelope(payloadType, Base64.getEncoder().encodeToString(payload),
                List.of(new Signature(key.keyId(), Base64.getEncoder().encodeToString(sig))));
    }

    /**
     * Verifies that a signature of the envelope by {@code key} covers its type and payload, and returns the payload.
     *
     * @throws VerificationException naming what did not match
     */
    public static byte[] verify(PublicKey key, Envelope envelope, String expectedPayloadType) {
        if (!expectedPayloadType.equals(envelope.payloadType())) {
            throw new VerificationException("payloadType", expectedPayloadType, envelope.payloadType());
        }
        byte[] payload;
        try {
            payload = envelope.payloadBytes();
        } catch (IllegalArgumentException e) {
            throw new VerificationException("the payload is not base64");
        }
        byte[] pae = pae(envelope.payloadType(), payload);
        String keyId = GatewayKey.keyId(key);
        if (envelope.signatures().isEmpty()) {
            throw new VerificationException("the envelope has no signature");
        }
        for (Signature s : envelope.signatures()) {
            if (!s.keyid().isEmpty() && !s.keyid().equals(keyId)) {
                continue;
            }
            byte[] sig;
            try {
                sig = Base64.getDecoder().decode(s.sig());
            } catch (IllegalArgumentException e) {
                continue;
            }
            if (GatewayKey.verify(key, pae, sig)) {
                return payload;
            }
        }
        throw new VerificationException("signature by key " + keyId, "a valid signature over PAE(payloadType,"
                + " payload)", "none of the envelope's " + envelope.signatures().size() + " signature(s) verifies");
    }

    /** A signature or envelope that does not verify, with what was expected and what was found. */
    public static final class VerificationException extends RuntimeException {

        VerificationException(String message) {
            super(message);
        }

        VerificationException(String what, String expected, String actual) {
            super(what + ": expected " + expected + ", got " + actual);
        }
    }
}
