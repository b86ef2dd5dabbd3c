package io.buildgateway.provenance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.signing.GatewayKey;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

class DsseTest {

    // The public half of signing.GatewayKeyTest's key; the signature was made outside Java, over the PAE written by
    // printf 'DSSEv1 %d %s %d %s' …, with: openssl dgst -sha256 -sign key.pem pae.bin | base64 -w0
    private static final String PUBLIC = """
            -----BEGIN PUBLIC KEY-----
            MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEJtk+S6YoHpedhbmrnaaKo10XCfgr
            bhL6rs7ARO5GC0jhA2+QxAtmSXkPBqTX+dS0KgGaK1oeO1lk5TfahDIB3g==
            -----END PUBLIC KEY-----
            """;
    private static final String OPENSSL_PAYLOAD = "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEiLCJzdWJq"
            + "ZWN0IjpbXSwicHJlZGljYXRlVHlwZSI6Imh0dHBzOi8vc2xzYS5kZXYvcHJvdmVuYW5jZS92MSIsInByZWRpY2F0ZSI6e319";
    private static final String OPENSSL_SIG = "MEUCIQCRdPUc1DI0LIFIvByFMuwYk/Vx6Wo+5vBBDvJoQagQmAIgQx32idf6y7Z2a3gS"
            + "ZJ3cKNBAoeGTkDBtVRaRemgIBQo=";

    private static final byte[] STATEMENT = ("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":"
            + "\"r/x\",\"digest\":{\"sha256\":\"" + "ab".repeat(32) + "\"}}],\"predicateType\":"
            + "\"https://slsa.dev/provenance/v1\",\"predicate\":{\"buildDefinition\":{}}}")
            .getBytes(StandardCharsets.UTF_8);

    @Test
    void paeIsTheEncodingOfTheDsseSpec() {
        // The example of DSSE protocol.md.
        assertThat(new String(Dsse.pae("http://example.com/HelloWorld", "hello world".getBytes(StandardCharsets.UTF_8)),
                StandardCharsets.UTF_8)).isEqualTo("DSSEv1 29 http://example.com/HelloWorld 11 hello world");
        // Lengths count bytes, not characters.
        assertThat(Dsse.pae("t", "é".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo("DSSEv1 1 t 2 é".getBytes(StandardCharsets.UTF_8));
        assertThat(new String(Dsse.pae("", new byte[0]), StandardCharsets.UTF_8)).isEqualTo("DSSEv1 0  0 ");
    }

    @Test
    void anEnvelopeSignedByTheGatewayVerifiesWithItsPublicKeyAfterAJsonRoundTrip() {
        GatewayKey key = GatewayKey.generate();
        Dsse.Envelope envelope = Dsse.sign(key, Dsse.IN_TOTO, STATEMENT);
        assertThat(envelope.signatures()).singleElement().extracting(Dsse.Signature::keyid).isEqualTo(key.keyId());
        String json = new String(envelope.toJson(), StandardCharsets.UTF_8);
        assertThat(json).startsWith("{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"");

        Dsse.Envelope read = Dsse.Envelope.parse(json.getBytes(StandardCharsets.UTF_8));
        PublicKey publicKey = GatewayKey.publicKeyFromPem(key.publicKeyPem());
        assertThat(Dsse.verify(publicKey, read, Dsse.IN_TOTO)).isEqualTo(STATEMENT);
    }

    @Test
    void anEnvelopeSignedWithOpensslVerifies() {
        Dsse.Envelope envelope = new Dsse.Envelope(Dsse.IN_TOTO, OPENSSL_PAYLOAD,
                List.of(new Dsse.Signature("", OPENSSL_SIG)));
        byte[] payload = Dsse.verify(GatewayKey.publicKeyFromPem(PUBLIC), envelope, Dsse.IN_TOTO);
        assertThat(new String(payload, StandardCharsets.UTF_8)).startsWith("{\"_type\":\"https://in-toto.io/Statement/v1\"");
    }

    @Test
    void changingAnyOneByteOfThePayloadBreaksTheSignature() {
        GatewayKey key = GatewayKey.generate();
        Dsse.Envelope envelope = Dsse.sign(key, Dsse.IN_TOTO, STATEMENT);
        for (int i = 0; i < STATEMENT.length; i++) {
            byte[] changed = STATEMENT.clone();
            changed[i] ^= 0x01;
            Dsse.Envelope tampered = new Dsse.Envelope(envelope.payloadType(),
                    Base64.getEncoder().encodeToString(changed), envelope.signatures());
            int at = i;
            assertThatThrownBy(() -> Dsse.verify(key.publicKey(), tampered, Dsse.IN_TOTO))
                    .as("payload byte %d changed", at).isInstanceOf(Dsse.VerificationException.class)
                    .hasMessageContaining("none of the envelope's 1 signature(s) verifies");
        }
    }

    @Test
    void changingAnyOneByteOfTheSignatureBreaksIt() {
        GatewayKey key = GatewayKey.generate();
        Dsse.Envelope envelope = Dsse.sign(key, Dsse.IN_TOTO, STATEMENT);
        byte[] sig = Base64.getDecoder().decode(envelope.signatures().get(0).sig());
        for (int i = 0; i < sig.length; i++) {
            byte[] changed = sig.clone();
            changed[i] ^= 0x01;
            Dsse.Envelope tampered = new Dsse.Envelope(envelope.payloadType(), envelope.payload(),
                    List.of(new Dsse.Signature(key.keyId(), Base64.getEncoder().encodeToString(changed))));
            int at = i;
            assertThatThrownBy(() -> Dsse.verify(key.publicKey(), tampered, Dsse.IN_TOTO))
                    .as("signature byte %d changed", at).isInstanceOf(Dsse.VerificationException.class);
        }
    }

    @Test
    void theSignatureCoversThePayloadType() {
        GatewayKey key = GatewayKey.generate();
        Dsse.Envelope envelope = Dsse.sign(key, Dsse.IN_TOTO, STATEMENT);
        Dsse.Envelope retyped = new Dsse.Envelope("application/vnd.in-toto+jsoN", envelope.payload(),
                envelope.signatures());
        // Expecting the forged type, the signature is still over the real one.
        assertThatThrownBy(() -> Dsse.verify(key.publicKey(), retyped, "application/vnd.in-toto+jsoN"))
                .isInstanceOf(Dsse.VerificationException.class);
        assertThatThrownBy(() -> Dsse.verify(key.publicKey(), retyped, Dsse.IN_TOTO))
                .hasMessageContaining("payloadType: expected application/vnd.in-toto+json");
    }

    @Test
    void anotherKeyDoesNotVerify() {
        Dsse.Envelope envelope = Dsse.sign(GatewayKey.generate(), Dsse.IN_TOTO, STATEMENT);
        assertThatThrownBy(() -> Dsse.verify(GatewayKey.generate().publicKey(), envelope, Dsse.IN_TOTO))
                .isInstanceOf(Dsse.VerificationException.class);
        Dsse.Envelope anonymous = new Dsse.Envelope(envelope.payloadType(), envelope.payload(),
                List.of(new Dsse.Signature("", envelope.signatures().get(0).sig())));
        assertThatThrownBy(() -> Dsse.verify(GatewayKey.generate().publicKey(), anonymous, Dsse.IN_TOTO))
                .isInstanceOf(Dsse.VerificationException.class);
    }

    @Test
    void malformedEnvelopesAreRefusedWithAReason() {
        assertThatThrownBy(() -> Dsse.Envelope.parse("{".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(Dsse.VerificationException.class).hasMessageContaining("does not parse");
        assertThatThrownBy(() -> Dsse.Envelope.parse("{\"payload\":\"\"}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(Dsse.VerificationException.class).hasMessageContaining("required");
        Dsse.Envelope unsigned = new Dsse.Envelope(Dsse.IN_TOTO, "e30=", List.of());
        assertThatThrownBy(() -> Dsse.verify(GatewayKey.generate().publicKey(), unsigned, Dsse.IN_TOTO))
                .hasMessageContaining("no signature");
        Dsse.Envelope notBase64 = new Dsse.Envelope(Dsse.IN_TOTO, "%%%", List.of(new Dsse.Signature("", "AA==")));
        assertThatThrownBy(() -> Dsse.verify(GatewayKey.generate().publicKey(), notBase64, Dsse.IN_TOTO))
                .hasMessageContaining("not base64");
    }
}
