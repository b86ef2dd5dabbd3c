package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.policy.ImagePolicy;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.util.unit.DataSize;

/**
 * The scan's limits on synthetic layer tars and exports, without a daemon: each limit stops the reading where it is
 * reached (the rest of the stream is never read), with a reason that names the limit's key; the deadline and a
 * stop in the other stream do the same.
 */
class ScanBudgetTest {

    private static final Instant T0 = Instant.parse("2026-12-02T04:00:00Z");

    @TempDir
    Path tmp;

    private static ScanBudget budget(long imageBytes, long files, long metadata, long metadataTotal, int nesting) {
        return new ScanBudget(new ScanBudget.Limits(imageBytes, files, metadata, metadataTotal, nesting), null,
                Clock.fixed(T0, ZoneOffset.UTC));
    }

    private static ScanBudget files(long max) {
        return budget(Long.MAX_VALUE, max, Long.MAX_VALUE, Long.MAX_VALUE, 3);
    }

    /** A stream that remembers how many bytes were taken from it. */
    private static final class Counting extends ByteArrayInputStream {
        Counting(byte[] bytes) {
            super(bytes);
        }

        int taken() {
            return pos;
        }
    }

    /** A layer of one binary file. */
    private static byte[] binaryLayer(String name, byte[] content) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            TarArchiveEntry e = new TarArchiveEntry(name);
            e.setSize(content.length);
            tar.putArchiveEntry(e);
            tar.write(content);
            tar.closeArchiveEntry();
        }
        return out.toByteArray();
    }

    /** {@code n} small files in one layer. */
    private static byte[] manyFiles(int n) throws IOException {
        List<Object> entries = new ArrayList<>();
        entries.addAll(List.of("many/", 0755, "x"));
        entries.set(2, null);
        for (int i = 0; i < n; i++) {
            entries.addAll(List.of("many/f" + i, 0644, "content " + i));
        }
        return LayerAuditTest.layer(entries.toArray());
    }

    @Test
    void moreFilesThanTheLimitStopTheLayerAuditBeforeTheEndOfTheStream() throws Exception {
        byte[] save = LayerAuditTest.save(manyFiles(50), manyFiles(50));
        Counting in = new Counting(save);
        ScanBudget budget = files(60);

        assertThatThrownBy(() -> new LayerAudit(ImagePolicy.DEFAULT, budget).read(in))
                .isInstanceOf(ScanBudget.Exceeded.class)
                .hasMessage("image has more than 60 files (limit gateway.scanning.max-files)");
        assertThat(in.taken()).isLessThan(save.length * 3 / 4);
        assertThat(budget.stopped()).isEqualTo("image has more than 60 files (limit gateway.scanning.max-files)");
    }

    @Test
    void theSameImageWithinTheLimitIsReadInFull() throws Exception {
        byte[] save = LayerAuditTest.save(manyFiles(50), manyFiles(50));
        Map<String, LayerAudit.Layer> layers = new LayerAudit(ImagePolicy.DEFAULT, files(102)).read(
                new ByteArrayInputStream(save));
        assertThat(layers).hasSize(1); // the two layers are the same bytes, so one diff id
    }

    @Test
    void aLargerImageThanTheLimitStopsReadingAtTheLimit() throws Exception {
        byte[] big = new byte[300_000];
        new java.util.Random(1).nextBytes(big);
        byte[] layer = binaryLayer("opt/blob", big);
        byte[] save = LayerAuditTest.save(layer);
        Counting in = new Counting(save);
        ScanBudget budget = budget(100 * 1024, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, 3);

        assertThatThrownBy(() -> new LayerAudit(ImagePolicy.DEFAULT, budget).read(in))
                .isInstanceOf(ScanBudget.Exceeded.class)
                .hasMessage("image is larger than 100 KB (limit gateway.scanning.max-image-size)");
        assertThat(in.taken()).isLessThan(100 * 1024 + 64 * 1024);
    }

    @Test
    void aPackageDatabaseLargerThanTheMetadataLimitIsNotReadIntoMemory() throws Exception {
        String status = "Package: x\nVersion: 1\nDescription: " + "y".repeat(5000) + "\n\n";
        byte[] layer = LayerAuditTest.layer("var/lib/dpkg/status", 0644, status);
        ScanBudget budget = budget(Long.MAX_VALUE, Long.MAX_VALUE, 4096, 1 << 20, 3);

        assertThatThrownBy(() -> new LayerAudit(ImagePolicy.DEFAULT, budget).readLayer(new ByteArrayInputStream(layer)))
                .isInstanceOf(ScanBudget.Exceeded.class)
                .hasMessage("package metadata file /var/lib/dpkg/status is larger than 4 KB "
                        + "(limit gateway.scanning.max-metadata-bytes)");
    }

    @Test
    void aMetadataFileWhoseHeaderUnderstatesItsSizeIsStillBounded() throws Exception {
        ScanBudget budget = budget(Long.MAX_VALUE, Long.MAX_VALUE, 10, 100, 3);
        assertThatThrownBy(() -> budget.metadata("/etc/os-release", -1,
                new ByteArrayInputStream("ID=debian\nVERSION_ID=12\n".getBytes(StandardCharsets.UTF_8))))
                .isInstanceOf(ScanBudget.Exceeded.class)
                .hasMessageContaining("/etc/os-release is larger than 10 bytes");
        assertThat(budget(Long.MAX_VALUE, Long.MAX_VALUE, 100, 100, 3).metadata("/etc/os-release", -1,
                new ByteArrayInputStream("ID=debian\n".getBytes(StandardCharsets.UTF_8)))).hasSize(10);
    }

    @Test
    void manySmallManifestsStopAtTheTotalMetadataLimit() throws Exception {
        List<Object> entries = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            entries.addAll(List.of("app/node_modules/p" + i + "/package.json", 0644,
                    "{\"name\":\"p" + i + "\",\"version\":\"1.0.0\",\"description\":\"" + "d".repeat(400) + "\"}"));
        }
        byte[] layer = LayerAuditTest.layer(entries.toArray());
        ScanBudget budget = budget(Long.MAX_VALUE, Long.MAX_VALUE, 1024, 4096, 3);

        assertThatThrownBy(() -> new LayerAudit(ImagePolicy.DEFAULT, budget).readLayer(new ByteArrayInputStream(layer)))
                .isInstanceOf(ScanBudget.Exceeded.class)
                .hasMessage("image's package metadata is larger than 4 KB in total "
                        + "(limit gateway.scanning.max-metadata-total)");
    }

    @Test
    void archivesNestedDeeperThanTheLimitStopTheScanAndWithinItAreRead() throws Exception {
        byte[] innermost = PackagesTest.jar(Map.of("META-INF/maven/org.deep/deep/pom.properties",
                "groupId=org.deep\nartifactId=deep\nversion=3\n"));
        byte[] middle = PackagesTest.jar(Map.of(), "lib/deep-3.jar", innermost);
        byte[] outer = PackagesTest.jar(Map.of(), "BOOT-INF/lib/middle-1.jar", middle);

        assertThatThrownBy(() -> Packages.fromArchive("/app/app.jar", new ByteArrayInputStream(outer),
                budget(Long.MAX_VALUE, Long.MAX_VALUE, 1024, 4096, 1)))
                .isInstanceOf(ScanBudget.Exceeded.class)
                .hasMessage("archive /app/app.jar!/BOOT-INF/lib/middle-1.jar!/lib/deep-3.jar is nested more than 1 "
                        + "level(s) deep (limit gateway.scanning.max-nesting)");

        assertThat(Packages.fromArchive("/app/app.jar", new ByteArrayInputStream(outer),
                budget(Long.MAX_VALUE, Long.MAX_VALUE, 1024, 4096, 2)))
                .extracting(Packages.Package::purl).containsExactly("pkg:maven/org.deep/deep@3");
    }

    @Test
    void aPomPropertiesOverTheMetadataLimitInsideAJarStopsTheScan() throws Exception {
        byte[] jar = PackagesTest.jar(Map.of("META-INF/maven/g/a/pom.properties",
                "groupId=g\nartifactId=a\nversion=1\n#" + "x".repeat(3000) + "\n"));
        byte[] layer = binaryLayer("app/a.jar", jar);

        assertThatThrownBy(() -> new LayerAudit(ImagePolicy.DEFAULT, budget(Long.MAX_VALUE, Long.MAX_VALUE, 1024,
                4096, 3)).readLayer(new ByteArrayInputStream(layer)))
                .isInstanceOf(ScanBudget.Exceeded.class)
                .hasMessageContaining("/app/a.jar!/META-INF/maven/g/a/pom.properties is larger than 1 KB");
    }

    /** A clock the test moves. */
    private static final class Hands extends Clock {
        Instant now = T0;

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void theDeadlinePassingStopsTheReadingMidStream() throws Exception {
        Hands clock = new Hands();
        ScanBudget budget = new ScanBudget(ScanBudget.Limits.NONE, T0.plusSeconds(60), clock);
        byte[] save = LayerAuditTest.save(manyFiles(200));
        // The daemon is slow: by the time a quarter of the stream has arrived, the deadline has passed.
        InputStream slow = new ByteArrayInputStream(save) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                if (pos > save.length / 4) {
                    clock.now = T0.plusSeconds(61);
                }
                return super.read(b, off, Math.min(len, 512));
            }
        };

        assertThat(budget.remaining()).isEqualTo(Duration.ofSeconds(60));
        assertThatThrownBy(() -> new LayerAudit(ImagePolicy.DEFAULT, budget).read(slow))
                .isInstanceOf(ScanBudget.Exceeded.class)
                .hasMessage("scan did not finish before the build's deadline");
        assertThat(budget.remaining()).isEqualTo(Duration.ZERO);
    }

    @Test
    void expiringClosesTheOpenStreamsAndStopsEveryLaterRead() throws Exception {
        ScanBudget budget = new ScanBudget(ScanBudget.Limits.NONE, T0.plusSeconds(60), Clock.fixed(T0, ZoneOffset.UTC));
        boolean[] closed = {false};
        InputStream daemon = new ByteArrayInputStream(new byte[1024]) {
            @Override
            public void close() {
                closed[0] = true;
            }
        };
        InputStream guarded = budget.save(daemon);
        assertThat(guarded.read(new byte[10])).isEqualTo(10);

        budget.expire();

        assertThat(closed[0]).isTrue();
        assertThatThrownBy(() -> guarded.read(new byte[10])).isInstanceOf(ScanBudget.Exceeded.class)
                .hasMessage(ScanBudget.DEADLINE);
    }

    @Test
    void extractionStopsAtTheFileLimitAndWhenTheOtherStreamStopped() throws Exception {
        byte[] export = manyFiles(40);
        Path root = Files.createDirectories(tmp.resolve("rootfs"));
        assertThatThrownBy(() -> new RootfsReader().read(new ByteArrayInputStream(export), root, files(10)))
                .isInstanceOf(ScanBudget.Exceeded.class)
                .hasMessage("image's filesystem has more than 10 files (limit gateway.scanning.max-files)");
        try (Stream<Path> written = Files.walk(root)) {
            assertThat(written.filter(Files::isRegularFile).count()).isLessThan(10);
        }

        // The layer audit reached a limit first: the extraction running beside it stops at its next read.
        ScanBudget shared = files(1000);
        shared.stop("image has more than 1000 files (limit gateway.scanning.max-files)");
        Path other = Files.createDirectories(tmp.resolve("other"));
        assertThatThrownBy(() -> new RootfsReader().read(new ByteArrayInputStream(export), other, shared))
                .isInstanceOf(ScanBudget.Exceeded.class).hasMessageContaining("more than 1000 files");
        try (Stream<Path> written = Files.list(other)) {
            assertThat(written.count()).isZero();
        }
    }

    @Test
    void anExportLargerThanTheLimitStopsTheExtraction() throws Exception {
        byte[] export = binaryLayer("big", new byte[1 << 20]);
        Path root = Files.createDirectories(tmp.resolve("rootfs"));
        assertThatThrownBy(() -> new RootfsReader().read(new ByteArrayInputStream(export), root,
                budget(256 * 1024, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, 3)))
                .isInstanceOf(ScanBudget.Exceeded.class)
                .hasMessage("image's filesystem is larger than 256 KB (limit gateway.scanning.max-image-size)");
        assertThat(!Files.exists(root.resolve("big")) || Files.size(root.resolve("big")) < 1 << 20).isTrue();
    }

    @Test
    void thePropertiesRefuseATotalBelowTheSingleFileLimitAndNonPositiveSizes() {
        assertThatThrownBy(() -> properties(DataSize.ofGigabytes(4), DataSize.ofMegabytes(32),
                DataSize.ofMegabytes(16))).hasMessageContaining("max-metadata-total");
        assertThatThrownBy(() -> properties(DataSize.ofBytes(0), DataSize.ofMegabytes(32),
                DataSize.ofMegabytes(128))).hasMessageContaining("max-image-size must be positive");
        ScanBudget.Limits limits = ScanBudget.Limits.of(properties(DataSize.ofGigabytes(4), DataSize.ofMegabytes(32),
                DataSize.ofMegabytes(128)));
        assertThat(limits.maxImageBytes()).isEqualTo(4L << 30);
        assertThat(limits.maxMetadataTotal()).isEqualTo(128L << 20);
        assertThat(ScanBudget.size(4L << 30)).isEqualTo("4 GB");
        assertThat(ScanBudget.size(1000)).isEqualTo("1000 bytes");
    }

    private static ScanningProperties properties(DataSize image, DataSize metadata, DataSize total) {
        return new ScanningProperties(Path.of("/tmp/scans"), Path.of("config/compliance"), "", "oscap",
                Duration.ofMinutes(2), Duration.ofSeconds(30), Duration.ofSeconds(60), false, image, 500_000, metadata,
                total, 3, DataSize.ofGigabytes(10), 10_000, Duration.ofSeconds(8), Duration.ofHours(1),
                DataSize.ofMegabytes(64), true, Duration.ofSeconds(5));
    }
}
