package io.buildgateway.provenance;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.buildgateway.signing.GatewayKey;
import java.security.PublicKey;
import java.util.Base64;

/**
 * Fuzz target for DSSE envelopes as a verifier reads them (an attestation fetched from the registry is whatever the
 * registry serves). Properties: {@code Envelope.parse} returns or refuses with {@code VerificationException}; a
 * parsed envelope writes back to JSON that parses to the same envelope; verification returns or refuses with
 * {@code VerificationException}, and when it returns, the payload and type are exactly what the key signed (no
 * envelope the fuzzer makes from the signed seed verifies with anything else). The seed is DsseTest's envelope
 * signed by openssl with signing.GatewayKeyTest's key.
 */
class DsseFuzzTest {

    private static final PublicKey KEY = GatewayKey.publicKeyFromPem("""
            -----BEGIN PUBLIC KEY-----
            MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEJtk+S6YoHpedhbmrnaaKo10XCfgr
            bhL6rs7ARO5GC0jhA2+QxAtmSXkPBqTX+dS0KgGaK1oeO1lk5TfahDIB3g==
            -----END PUBLIC KEY-----
            """);
    private static final byte[] SIGNED = Base64.getDecoder().decode(
            "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEiLCJzdWJq"
            + "ZWN0IjpbXSwicHJlZGljYXRlVHlwZSI6Imh0dHBzOi8vc2xzYS5kZXYvcHJvdmVuYW5jZS92MSIsInByZWRpY2F0ZSI6e319");

    @FuzzTest(maxDuration = "60s")
    void envelopesParseOrAreRefusedAndOnlyTheSignedPayloadVerifies(byte[] json) {
        Dsse.Envelope envelope;
        try {
            envelope = Dsse.Envelope.parse(json);
        } catch (Dsse.VerificationException refused) {
            assertThat(refused.getMessage()).startsWith("not a DSSE envelope");
            return;
        }
        assertThat(Dsse.Envelope.parse(envelope.toJson())).isEqualTo(envelope);
        byte[] payload;
        try {
            payload = Dsse.verify(KEY, envelope, Dsse.IN_TOTO);
        } catch (Dsse.VerificationException refused) {
            assertThat(refused.getMessage()).isNotBlank();
            return;
        }
        assertThat(envelope.payloadType()).isEqualTo(Dsse.IN_TOTO);
        assertThat(payload).isEqualTo(SIGNED);
    }
}
