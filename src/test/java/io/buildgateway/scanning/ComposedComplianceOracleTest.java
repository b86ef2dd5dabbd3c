package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.buildgateway.scanning.LayerCacheTest.E;
import io.buildgateway.scanning.compliance.ComplianceCache;
import io.buildgateway.scanning.compliance.ComplianceResult;
import io.buildgateway.scanning.compliance.OpenScap;
import io.buildgateway.scanning.compliance.RuleResult;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The oracle of composed OpenSCAP evaluation (docs/scanning.md, "Composed over the base's evaluation"): with the real
 * oscap and the shipped content, for each derived image the verdict per rule composed over its base's stored
 * evaluation equals the full evaluation's on the merged root filesystem — and the composed path was taken where the
 * base passed every composable rule, and not where it failed one. The layers are real layer tars stored in a
 * {@link LayerCache}; the merged tree is the {@link RootfsView} a scan lays out. Skipped only when oscap is not
 * installed ({@code make test} installs it first).
 */
class ComposedComplianceOracleTest {

    private static final Path SHIPPED = Path.of("config/compliance");
    private static final String RULE = "xccdf_io.buildgateway_rule_";

    private Path tmp;
    private LayerCache cache;
    private ComplianceCache results;
    private OpenScap oscap;
    private ComposedCompliance composer;

    /** A base that passes the baseline: account databases, os-release through a link, sticky /tmp, an allowed su. */
    private static final E[] BASE = {
        E.dir("etc/"), E.file("etc/passwd", 0644, "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n"),
        E.file("etc/group", 0644, "root:x:0:\n"), E.file("etc/shadow", 0640, "root:*:19000:0:99999:7:::\n"),
        E.symlink("etc/os-release", "../usr/lib/os-release"), E.dir("usr/"), E.dir("usr/lib/"),
        E.file("usr/lib/os-release", 0644, "ID=test\n"), E.dir("usr/bin/"), E.file("usr/bin/su", 04755, "ELF"),
        E.file("usr/bin/tool", 0755, "ELF"), E.symlink("bin", "usr/bin"), new E("tmp/", '5', 01777, null, null),
        E.dir("opt/"), E.dir("opt/app/"), E.file("opt/app/run", 0755, "#!/bin/sh\n"),
    };

    @BeforeEach
    void setUp() throws IOException {
        oscap = new OpenScap("oscap", SHIPPED, null, Duration.ofSeconds(60));
        assumeTrue(oscap.available(), "oscap is not installed");
        tmp = Files.createTempDirectory("composed-oracle-");
        cache = new LayerCache(tmp.resolve("layers"), Long.MAX_VALUE);
        results = new ComplianceCache(tmp.resolve("results"), 100);
        composer = new ComposedCompliance(oscap, results, cache);
    }

    @AfterEach
    void tearDown() {
        if (tmp != null) {
            LayerCache.deleteTree(tmp);
        }
    }

    @Test
    void aDerivedLayerAddingAWorldWritableFileFailsComposedAsInFull() throws Exception {
        Judged j = judge(BASE, layer(E.dir("srv/"), E.file("srv/shared", 0666, "x")));
        j.assertComposedEqualsFull();
        assertThat(j.full()).containsEntry(RULE + "no-world-writable", "fail");
    }

    @Test
    void aDerivedLayerChmoddingABaseFile4755FailsComposedAsInFull() throws Exception {
        Judged j = judge(BASE, layer(E.dir("usr/"), E.dir("usr/bin/"), E.file("usr/bin/tool", 04755, "ELF")));
        j.assertComposedEqualsFull();
        assertThat(j.full()).containsEntry(RULE + "no-unexpected-setuid-setgid", "fail");
    }

    @Test
    void aWhiteoutDeletingOsReleaseFailsComposedAsInFull() throws Exception {
        Judged j = judge(BASE, layer(E.dir("etc/"), E.file("etc/.wh.os-release", 0644, "")));
        j.assertComposedEqualsFull();
        assertThat(j.full()).containsEntry(RULE + "required-files", "fail");
    }

    @Test
    void anOpaqueTmpWithoutTheStickyBitFailsComposedAsInFull() throws Exception {
        Judged j = judge(BASE, layer(new E("tmp/", '5', 0777, null, null), E.file("tmp/.wh..wh..opq", 0644, ""),
                E.file("tmp/x", 0644, "x")));
        j.assertComposedEqualsFull();
        assertThat(j.full()).containsEntry(RULE + "no-world-writable", "fail");
    }

    @Test
    void aSecondUid0UserFailsComposedAsInFull() throws Exception {
        Judged j = judge(BASE, layer(E.dir("etc/"), E.file("etc/passwd", 0644,
                "root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/:/bin/sh\n")));
        j.assertComposedEqualsFull();
        assertThat(j.full()).containsEntry(RULE + "only-root-has-uid-0", "fail");
    }

    @Test
    void aCleanDerivedImagePassesComposedAsInFull() throws Exception {
        Judged j = judge(BASE, layer(E.dir("srv/"), E.dir("srv/app/"), E.file("srv/app/main", 0755, "ELF"),
                E.dir("opt/"), E.file("opt/app/.wh.run", 0644, "")));
        j.assertComposedEqualsFull();
        assertThat(j.full().values()).containsOnly("pass");
        assertThat(j.composedResult().status()).isEqualTo(ComplianceResult.Status.PASSED);
        // the delta run's ARF is kept, and the base's is pointed to
        assertThat(j.composedResult().arfs()).extracting(ComplianceResult.Arf::content)
                .containsExactly("gateway-baseline-xccdf.xml", "base:gateway-baseline-xccdf.xml");
    }

    @Test
    void aFileWrittenAndDeletedByLaterLayersAndASetuidFileThroughTheBinLinkComposeAsInFull() throws Exception {
        // written by one own layer, deleted by the next: absent; a setuid program written through /bin -> usr/bin
        Judged j = judge(BASE, layer(E.dir("srv/"), E.file("srv/gone", 0666, "x")),
                layer(E.dir("srv/"), E.file("srv/.wh.gone", 0644, ""), E.dir("bin/"),
                        E.file("bin/sneaky", 04755, "ELF")));
        j.assertComposedEqualsFull();
        assertThat(j.full()).containsEntry(RULE + "no-unexpected-setuid-setgid", "fail")
                .containsEntry(RULE + "no-world-writable", "pass");
    }

    @Test
    void aBaseThatFailsARuleIsEvaluatedInFull() throws Exception {
        List<E> failing = new ArrayList<>(List.of(BASE));
        failing.add(E.file("opt/app/log", 0666, "x"));
        Judged j = judge(failing.toArray(E[]::new), layer(E.dir("srv/"), E.file("srv/app", 0644, "ok")));
        assertThat(j.base()).containsEntry(RULE + "no-world-writable", "fail");
        assertThat(j.composedResult().composedWith()).as("a failed base is not composed over").isNull();
        assertThat(j.composed()).isEqualTo(j.full());
        assertThat(j.full()).containsEntry(RULE + "no-world-writable", "fail");
    }

    /** Per rule: the base's evaluation, the composed result and the full evaluation of the merged tree. */
    private record Judged(Map<String, String> base, ComplianceResult composedResult, Map<String, String> full) {
        Map<String, String> composed() {
            return rules(composedResult);
        }

        void assertComposedEqualsFull() {
            assertThat(base.values()).as("the base passes every rule").containsOnly("pass");
            assertThat(composedResult.composedWith()).as("the composed path was taken").isNotNull();
            assertThat(composed()).isEqualTo(full);
            assertThat(full).hasSize(5);
        }
    }

    private Judged judge(E[] base, byte[]... own) throws Exception {
        List<String> baseChain = List.of(store(LayerCacheTest.tar(base)));
        List<String> chain = new ArrayList<>(baseChain);
        for (byte[] layer : own) {
            chain.add(store(layer));
        }
        ComplianceResult baseResult = composer.evaluateChain(baseChain, Files.createTempDirectory(tmp, "base-"),
                null, "base");
        Path work = Files.createTempDirectory(tmp, "derived-");
        Path rootfs = Files.createDirectories(work.resolve("rootfs"));
        new RootfsView().build(cache, chain, rootfs, ScanBudget.unlimited());
        ComposedCompliance.Outcome composed = composer.evaluate(chain, rootfs, work, ScanBudget.unlimited(),
                "derived", note -> { });
        ComplianceResult full = oscap.evaluate(rootfs);
        assertThat(full.status()).isIn(ComplianceResult.Status.PASSED, ComplianceResult.Status.FAILED);
        // The same evaluation over the partial merged view a scan lays out when it composes (PartialRootfs): the
        // same verdict per rule, and the whole view asked for only when something is evaluated in full.
        Path again = Files.createTempDirectory(tmp, "derived-partial-");
        boolean[] fullAsked = new boolean[1];
        ComposedCompliance.Views views = new ComposedCompliance.Views() {
            @Override
            public Path full() {
                fullAsked[0] = true;
                return rootfs;
            }

            @Override
            public Path partial(int baseLayers, java.util.Set<String> named) throws IOException {
                Path dir = Files.createDirectories(again.resolve("rootfs-partial"));
                PartialRootfs.Layout laid = PartialRootfs.build(cache, chain, chain.subList(baseLayers,
                        chain.size()), named, dir, ScanBudget.unlimited());
                assertThat(laid.settled()).isTrue();
                return dir;
            }
        };
        ComposedCompliance.Outcome partial = composer.evaluate(chain, composer.plan(chain), views, again,
                ScanBudget.unlimited(), "derived", note -> { });
        assertThat(rules(partial.result())).isEqualTo(rules(composed.result()));
        assertThat(partial.result().status()).isEqualTo(composed.result().status());
        assertThat(fullAsked[0]).as("the whole view was needed").isEqualTo(composed.result().composedWith() == null);
        return new Judged(rules(baseResult), composed.result(), rules(full));
    }

    private static Map<String, String> rules(ComplianceResult r) {
        Map<String, String> out = new TreeMap<>();
        for (RuleResult rule : r.rules()) {
            out.put(rule.ruleId(), rule.result());
        }
        return out;
    }

    private static byte[] layer(E... entries) throws IOException {
        return LayerCacheTest.tar(entries);
    }

    private String store(byte[] layer) throws Exception {
        String id = LayerCacheTest.diffId(layer);
        if (!cache.has(id)) {
            cache.store(id, "fp-" + id, layer.length, new ByteArrayInputStream(layer), ScanBudget.unlimited());
        }
        return id;
    }
}
