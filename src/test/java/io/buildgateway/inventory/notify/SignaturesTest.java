package io.buildgateway.inventory.notify;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SignaturesTest {

    private static final String SECRET = "whsec_test_0123456789abcdef";

    /** Computed outside Java: printf '<ts>.<body>' | openssl dgst -sha256 -hmac "$SECRET" (and Python's hmac). */
    @Test
    void signsTimestampDotBodyWithHmacSha256() {
        assertThat(Signatures.sign(SECRET, 1_700_000_000L, "{\"id\":\"n-1\",\"event\":\"image.rebuild-needed\"}"))
                .isEqualTo("sha256=0c6dc2b9673975005f8f8e5dca8f7760bbe2b2255fd3663a252552061fdabf1f");
        assertThat(Signatures.sign(SECRET, 1_700_000_000L, ""))
                .isEqualTo("sha256=814e706027d44b6013448b27b12c76ad281f72d11fcf05d71e1ef85b69465064");
    }

    @Test
    void signsTheBodyAsUtf8() {
        assertThat(Signatures.sign(SECRET, 1_700_000_000L, "{\"team\":\"payments\",\"note\":\"café\"}"))
                .isEqualTo("sha256=4b409d6054ebabafc05f548b417d88cbc3d56efc22aa585c134662507f090d60");
    }

    @Test
    void aReplayedBodyWithAnotherTimestampNeedsAnotherSignature() {
        String body = "{\"id\":\"n-1\"}";
        assertThat(Signatures.sign(SECRET, 1_700_000_000L, body))
                .isNotEqualTo(Signatures.sign(SECRET, 1_700_000_001L, body))
                .isNotEqualTo(Signatures.sign(SECRET + "x", 1_700_000_000L, body));
    }
}
