package io.buildgateway.scanning.compliance;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ComplianceCacheTest {

    private Path dir;

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory("compliance-cache-test-");
    }

    @AfterEach
    void tearDown() throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static final String A = "sha256:" + "a".repeat(64);
    private static final String B = "sha256:" + "b".repeat(64);

    private static ComplianceResult failed() {
        return new ComplianceResult(ComplianceResult.Status.FAILED,
                List.of(new RuleResult("bench", "rule-1", "Only root has uid 0", "high", "fail"),
                        new RuleResult("bench", "rule-2", "No empty passwords", "medium", "pass")),
                List.of(new ComplianceResult.Arf("gateway-baseline-xccdf.xml",
                        "<arf/>".getBytes(StandardCharsets.UTF_8))), "1 of 2 rules failed: rule-1 (high)");
    }

    @Test
    void aResultComesBackAsItWasKeptUnderTheSameChainAndConfiguration() throws IOException {
        ComplianceCache cache = new ComplianceCache(dir, 10);
        String key = ComplianceCache.key(List.of(A, B), "sha256:config");
        cache.put(key, failed());
        ComplianceResult back = cache.get(key).orElseThrow();
        assertThat(back.status()).isEqualTo(ComplianceResult.Status.FAILED);
        assertThat(back.rules()).isEqualTo(failed().rules());
        assertThat(back.message()).isEqualTo(failed().message());
        assertThat(back.arfs()).hasSize(1);
        assertThat(new String(back.arfs().get(0).xml(), StandardCharsets.UTF_8)).isEqualTo("<arf/>");
    }

    @Test
    void theKeyDependsOnEveryLayerTheirOrderAndTheConfiguration() {
        String key = ComplianceCache.key(List.of(A, B), "sha256:config");
        assertThat(ComplianceCache.key(List.of(A, B), "sha256:config")).isEqualTo(key);
        assertThat(ComplianceCache.key(List.of(B, A), "sha256:config")).isNotEqualTo(key);
        assertThat(ComplianceCache.key(List.of(A), "sha256:config")).isNotEqualTo(key);
        assertThat(ComplianceCache.key(List.of(A, B), "sha256:other")).isNotEqualTo(key);
    }

    @Test
    void errorsAndNotRunAreNeverKept() throws IOException {
        ComplianceCache cache = new ComplianceCache(dir, 10);
        cache.put("k1", new ComplianceResult(ComplianceResult.Status.ERROR, List.of(), List.of(), "oscap died"));
        cache.put("k2", ComplianceResult.notRun("no oscap"));
        assertThat(cache.get("k1")).isEmpty();
        assertThat(cache.get("k2")).isEmpty();
    }

    @Test
    void theOldestResultsGoBeyondTheBoundAndACorruptFileIsAMiss() throws IOException {
        ComplianceCache cache = new ComplianceCache(dir, 2);
        cache.put("k1", failed());
        Files.setLastModifiedTime(dir.resolve("k1"), java.nio.file.attribute.FileTime.fromMillis(1_000));
        cache.put("k2", failed());
        cache.put("k3", failed());
        assertThat(cache.get("k1")).isEmpty();
        assertThat(cache.get("k3")).isPresent();
        Files.write(dir.resolve("k3"), new byte[] {0, 0, 0, 1, 0, 7, 'N', 'O', 'P', 'E'});
        assertThat(cache.get("k3")).isEmpty();
    }
}
