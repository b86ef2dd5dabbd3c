package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.buildgateway.policy.ImagePolicy;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Fuzz targets for what reads a built image's tars: the layer audit ({@code docker save}) and the root filesystem
 * reader ({@code docker export}, extracted for OpenSCAP). Both read the builder's bytes. Properties: the audit returns
 * layers or refuses with an IOException (the scanner's "layers could not be read"), and every path it keeps or
 * reports is absolute; the reader extracts or refuses with an IOException, and whatever it did, nothing exists outside
 * the extraction folder and no file inside it is a hard link to a file outside. Seeds beside this class.
 */
class LayerFuzzTest {

    private static final ScanBudget.Limits LIMITS = new ScanBudget.Limits(4 << 20, 2000, 64 * 1024, 256 * 1024, 3);

    @FuzzTest(maxDuration = "60s")
    void layerAuditReadsOrRefuses(byte[] save) {
        LayerAudit audit = new LayerAudit(ImagePolicy.DEFAULT, new ScanBudget(LIMITS, null, Clock.systemUTC()));
        Map<String, LayerAudit.Layer> layers;
        try {
            layers = audit.read(new ByteArrayInputStream(save));
        } catch (IOException refused) {
            return;
        }
        layers.forEach((id, layer) -> {
            assertThat(id).matches("sha256:[0-9a-f]{64}");
            layer.observations().forEach(o -> {
                assertThat(o.path()).startsWith("/");
                assertThat(o.kind()).isNotBlank();
            });
            assertThat(layer.files().keySet()).allSatisfy(p -> assertThat(p).startsWith("/"));
            layer.files().values().forEach(b -> assertThat(b.length).isLessThanOrEqualTo(64 * 1024));
        });
        LayerAudit.Flattened flat = LayerAudit.flatten(List.copyOf(layers.keySet()), layers);
        Packages.all(flat.files(), flat.javaPackages());
    }

    /** The layer audit on a single layer tar (most of what the save stream carries). */
    @FuzzTest(maxDuration = "60s")
    void oneLayerReadsOrRefuses(byte[] layer) {
        LayerAudit audit = new LayerAudit(ImagePolicy.DEFAULT, new ScanBudget(LIMITS, null, Clock.systemUTC()));
        try {
            LayerAudit.Layer read = audit.readLayer(new ByteArrayInputStream(layer));
            assertThat(read.removed()).allSatisfy(p -> assertThat(p).startsWith("/"));
            assertThat(read.opaqueDirs()).allSatisfy(p -> assertThat(p).startsWith("/"));
        } catch (IOException refused) {
            // the documented refusal
        }
    }

    @FuzzTest(maxDuration = "60s")
    void rootfsReaderNeverWritesOutsideItsFolder(byte[] export) throws IOException {
        Path sandbox = Files.createTempDirectory("rootfs-fuzz");
        try {
            Path root = Files.createDirectory(sandbox.resolve("root"));
            Path outside = Files.writeString(sandbox.resolve("outside"), "host file\n");
            Files.createDirectory(sandbox.resolve("etc"));
            try {
                new RootfsReader().read(new ByteArrayInputStream(export), root,
                        new ScanBudget(LIMITS, null, Clock.systemUTC()));
            } catch (IOException refused) {
                // the documented refusal; the property below holds either way
            }
            try (Stream<Path> all = Files.list(sandbox)) {
                assertThat(all.map(p -> p.getFileName().toString()).sorted().toList())
                        .containsExactly("etc", "outside", "root");
            }
            try (Stream<Path> etc = Files.list(sandbox.resolve("etc"))) {
                assertThat(etc.toList()).isEmpty();
            }
            assertThat(Files.readString(outside)).isEqualTo("host file\n");
            assertThat((int) Files.getAttribute(outside, "unix:nlink")).as("hard links to a file outside")
                    .isEqualTo(1);
        } finally {
            removeAll(sandbox);
        }
    }

    /** Removes the folder, making its directories writable first (the image may have made them read-only). */
    static void removeAll(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.toList()) {
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.setAttribute(p, "unix:mode", 0700, LinkOption.NOFOLLOW_LINKS);
                }
            }
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
