package io.buildgateway.audit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AuditFieldBoundsTest {

    @Test
    void aFieldWithinItsColumnIsKeptAsItIs() {
        assertThat(AuditTrail.bounded("/api/v1/builds", 1024)).isEqualTo("/api/v1/builds");
        assertThat(AuditTrail.bounded("x".repeat(64), 64)).isEqualTo("x".repeat(64));
        assertThat(AuditTrail.bounded(null, 64)).isNull();
    }

    @Test
    void aLongerFieldIsCutToItsColumnAndSaysHowLongItWas() {
        String path = "/api/v1/builds/" + "a".repeat(5000);
        String cut = AuditTrail.bounded(path, 1024);
        assertThat(cut).hasSize(1024).startsWith("/api/v1/builds/aaa").endsWith("\u2026[" + path.length()
                + " chars in all]");
    }

    @Test
    void theCutNeverSplitsASurrogatePair() {
        String whales = "\uD83D\uDC33".repeat(100); // 200 chars, 100 code points
        for (int max = 30; max < 60; max++) {
            String cut = AuditTrail.bounded(whales, max);
            assertThat(cut.length()).isLessThanOrEqualTo(max);
            String kept = cut.substring(0, cut.indexOf('\u2026'));
            assertThat(kept.length() % 2).as("max %d", max).isZero();
            assertThat(kept.codePoints().allMatch(cp -> cp == 0x1F433)).isTrue();
        }
    }

    @Test
    void aNulBecomesTheReplacementCharacter() {
        assertThat(AuditTrail.bounded("a\0b", 64)).isEqualTo("a\uFFFDb");
    }
}
