package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.policy.ImagePolicy;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LayerAuditCacheTest {

    private static final String POLICY = LayerAuditCache.policyKey(ImagePolicy.DEFAULT);

    /** A layer whose kept files hold {@code bytes} bytes. */
    private static LayerAuditCache.Entry entry(int bytes) {
        LayerAudit.Layer layer = new LayerAudit.Layer(List.of(), Map.of("/f", new byte[bytes]), Map.of(), List.of(),
                List.of());
        return new LayerAuditCache.Entry(layer, 1, bytes, bytes);
    }

    private static String id(int n) {
        return "sha256:" + String.format("%064x", n);
    }

    @Test
    void staysWithinItsBoundDroppingTheLeastRecentlyUsed() {
        long one = LayerAuditCache.weight(entry(10_000).layer());
        LayerAuditCache cache = new LayerAuditCache(3 * one);
        cache.put(id(1), POLICY, entry(10_000));
        cache.put(id(2), POLICY, entry(10_000));
        cache.put(id(3), POLICY, entry(10_000));
        assertThat(cache.get(id(1), POLICY)).isPresent(); // 1 used: 2 is now the least recently used
        cache.put(id(4), POLICY, entry(10_000));

        assertThat(cache.entries()).isEqualTo(3);
        assertThat(cache.bytes()).isLessThanOrEqualTo(3 * one);
        assertThat(cache.has(id(2), POLICY)).isFalse();
        assertThat(cache.has(id(1), POLICY)).isTrue();
        assertThat(cache.has(id(4), POLICY)).isTrue();
    }

    @Test
    void anEntryLargerThanTheBoundIsNotKeptAndZeroKeepsNothing() {
        LayerAuditCache small = new LayerAuditCache(1000);
        small.put(id(1), POLICY, entry(5000));
        assertThat(small.entries()).isZero();
        LayerAuditCache none = new LayerAuditCache(0);
        none.put(id(1), POLICY, entry(0));
        assertThat(none.has(id(1), POLICY)).isFalse();
        assertThatThrownBy(() -> new LayerAuditCache(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aLayerAuditedUnderAnotherPolicyIsNotReused() {
        LayerAuditCache cache = new LayerAuditCache(1 << 20);
        cache.put(id(1), POLICY, entry(10));
        ImagePolicy protectsMore = new ImagePolicy(List.of(new ImagePolicy.ProtectedPath("/opt/app/**", true, true)),
                List.of(), Set.of(), ImagePolicy.DEFAULT.vulnerabilities());
        ImagePolicy allowsSetuid = new ImagePolicy(ImagePolicy.DEFAULT.protectedPaths(),
                List.of(com.google.re2j.Pattern.compile("/usr/bin/ping")), Set.of(), ImagePolicy.DEFAULT.vulnerabilities());
        ImagePolicy otherPorts = new ImagePolicy(ImagePolicy.DEFAULT.protectedPaths(),
                ImagePolicy.DEFAULT.setuidAllowed(), Set.of(80), ImagePolicy.DEFAULT.vulnerabilities());

        assertThat(cache.get(id(1), LayerAuditCache.policyKey(protectsMore))).isEmpty();
        assertThat(cache.get(id(1), LayerAuditCache.policyKey(allowsSetuid))).isEmpty();
        // what the audit does not read does not matter to it
        assertThat(LayerAuditCache.policyKey(otherPorts)).isEqualTo(POLICY);
        assertThat(cache.get(id(1), POLICY)).isPresent();
    }

    @Test
    void aReusedLayerCountsAgainstTheScansLimitsAsIfRead() throws Exception {
        ScanBudget budget = new ScanBudget(new ScanBudget.Limits(1000, 10, 100, 100, 3), null,
                java.time.Clock.systemUTC());
        budget.reusedLayer(6, 50, 500);
        assertThatThrownBy(() -> budget.reusedLayer(6, 0, 0)).isInstanceOf(ScanBudget.Exceeded.class)
                .hasMessageContaining("gateway.scanning.max-files");
        ScanBudget bytes = new ScanBudget(new ScanBudget.Limits(1000, 10, 100, 100, 3), null,
                java.time.Clock.systemUTC());
        bytes.reusedLayer(1, 0, 600);
        assertThatThrownBy(() -> bytes.reusedLayer(1, 0, 600)).isInstanceOf(ScanBudget.Exceeded.class)
                .hasMessageContaining("gateway.scanning.max-image-size");
        ScanBudget metadata = new ScanBudget(new ScanBudget.Limits(1000, 10, 100, 100, 3), null,
                java.time.Clock.systemUTC());
        metadata.reusedLayer(1, 60, 0);
        assertThatThrownBy(() -> metadata.reusedLayer(1, 60, 0)).isInstanceOf(ScanBudget.Exceeded.class)
                .hasMessageContaining("gateway.scanning.max-metadata-total");
    }
}
