package io.buildgateway.scanning;

import static io.buildgateway.scanning.LayerAuditTest.diffId;
import static io.buildgateway.scanning.LayerAuditTest.layer;
import static io.buildgateway.scanning.LayerAuditTest.save;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.hostpool.BuiltImage;
import io.buildgateway.policy.ImagePolicy;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.json.JsonMapper;

/** The checks that anchor a registry read on the daemon's image id, and that it reads what the save stream would. */
class RegistryLayersTest {

    private static final String GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    private final RegistryLayers registry = new RegistryLayers(JsonMapper.builder().build());

    private final byte[] base;
    private final byte[] own;

    RegistryLayersTest() throws IOException {
        base = layer("etc/", 0755, null, "etc/passwd", 0644, "root:x:0:0::/root:/bin/sh\n",
                "etc/os-release", 0644, "ID=debian\nVERSION_ID=\"12\"\n");
        own = layer("usr/local/bin/tool", 04755, "x", "srv/", 0777, null, "root/.ssh/id_rsa", 0600,
                "-----BEGIN RSA PRIVATE KEY-----\n", "etc/passwd", 0644,
                "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n");
    }

    /** An image in memory as a registry holds it: blobs by digest, a manifest, a configuration. */
    private static final class Image implements RegistryLayers.Source {
        final Map<String, byte[]> blobs = new HashMap<>();
        String manifestDigest;
        byte[] manifest;
        String configDigest;
        List<String> diffIds;

        Image(List<byte[]> tars, List<String> mediaTypes, List<byte[]> blobsAsPushed) throws Exception {
            StringBuilder ids = new StringBuilder();
            StringBuilder layers = new StringBuilder();
            diffIds = new java.util.ArrayList<>();
            for (int i = 0; i < tars.size(); i++) {
                String id = diffId(tars.get(i));
                diffIds.add(id);
                byte[] blob = blobsAsPushed.get(i);
                String digest = RegistryLayers.sha256(blob);
                blobs.put(digest, blob);
                ids.append(i == 0 ? "" : ",").append('"').append(id).append('"');
                layers.append(i == 0 ? "" : ",").append("{\"mediaType\":\"").append(mediaTypes.get(i))
                        .append("\",\"size\":").append(blob.length).append(",\"digest\":\"").append(digest)
                        .append("\"}");
            }
            byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
                    + "\"diff_ids\":[" + ids + "]}}").getBytes(StandardCharsets.UTF_8);
            configDigest = RegistryLayers.sha256(config);
            blobs.put(configDigest, config);
            manifest = ("{\"schemaVersion\":2,\"mediaType\":\"" + RegistryLayers.DOCKER_MANIFEST
                    + "\",\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\""
                    + configDigest + "\"},\"layers\":[" + layers + "]}").getBytes(StandardCharsets.UTF_8);
            manifestDigest = RegistryLayers.sha256(manifest);
        }

        @Override
        public String manifestDigest() {
            return manifestDigest;
        }

        @Override
        public byte[] manifest() {
            return manifest;
        }

        @Override
        public byte[] blob(String digest) throws IOException {
            byte[] b = blobs.get(digest);
            if (b == null) {
                throw new IOException("no blob " + digest);
            }
            return b;
        }

        @Override
        public void stream(String digest, BuiltImage.StreamReader reader) throws IOException {
            reader.read(new ByteArrayInputStream(blob(digest)));
        }
    }

    private static byte[] gzip(byte[] tar) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(tar);
        }
        return out.toByteArray();
    }

    private Image pushed() throws Exception {
        return new Image(List.of(base, own), List.of(GZIP, GZIP), List.of(gzip(base), gzip(own)));
    }

    private RegistryLayers.Result readOwn(Image image, LayerCache.Capture capture) throws IOException {
        List<RegistryLayers.Layer> layers = registry.layers(image, image.configDigest, image.diffIds);
        return registry.read(image, layers, List.of(1), new LayerAudit(ImagePolicy.DEFAULT),
                ScanBudget.unlimited(), capture);
    }

    @Test
    void readsOnlyTheWantedLayerAndFindsWhatTheSaveStreamFinds() throws Exception {
        Image image = pushed();
        RegistryLayers.Result result = readOwn(image, null);

        assertThat(result.read()).containsOnlyKeys(diffId(own));
        assertThat(result.blobBytes()).isEqualTo(gzip(own).length);
        LayerAudit.Read read = result.read().get(diffId(own));
        assertThat(read.tarBytes()).isEqualTo(own.length);
        LayerAudit.Layer fromSave = new LayerAudit(ImagePolicy.DEFAULT).read(new ByteArrayInputStream(save(base, own)))
                .get(diffId(own));
        assertThat(read.layer().observations()).isNotEmpty().isEqualTo(fromSave.observations());
        assertThat(read.layer().files().keySet()).isEqualTo(fromSave.files().keySet());
        assertThat(read.layer().files().get("/etc/passwd")).isEqualTo(fromSave.files().get("/etc/passwd"));
        assertThat(read.layer().removed()).isEqualTo(fromSave.removed());
    }

    @Test
    void anUncompressedLayerIsReadAsIs() throws Exception {
        Image image = new Image(List.of(base, own), List.of(GZIP, "application/vnd.oci.image.layer.v1.tar"),
                List.of(gzip(base), own));
        assertThat(readOwn(image, null).read()).containsOnlyKeys(diffId(own));
    }

    @Test
    void aZstdLayerIsNotReadHereAndTheCallerReadsTheSaveStream() throws Exception {
        Image image = new Image(List.of(base, own), List.of(GZIP, "application/vnd.oci.image.layer.v1.tar+zstd"),
                List.of(gzip(base), gzip(own)));
        assertThatThrownBy(() -> readOwn(image, null)).isInstanceOf(RegistryLayers.Unsupported.class)
                .isNotInstanceOf(RegistryLayers.Mismatch.class);
    }

    @Test
    void aBlobWhoseBytesAreNotItsDigestIsRejected() throws Exception {
        Image image = pushed();
        String ownBlob = RegistryLayers.sha256(gzip(own));
        image.blobs.put(ownBlob, gzip(layer("usr/local/bin/tool", 0755, "x")));
        assertThatThrownBy(() -> readOwn(image, null)).isInstanceOf(RegistryLayers.Mismatch.class)
                .hasMessageContaining("with other bytes");
    }

    @Test
    void aBlobThatIsItsDigestButHoldsAnotherLayerIsRejected() throws Exception {
        // the manifest names, for the image's own layer, a blob whose digest is right but which holds another tar:
        // only the decompressed bytes' digest against the configuration's diff id shows it
        byte[] other = layer("usr/local/bin/tool", 0755, "x");
        Image honest = pushed();
        Image swapped = new Image(List.of(base, own), List.of(GZIP, GZIP), List.of(gzip(base), gzip(other)));
        assertThat(swapped.diffIds).isEqualTo(honest.diffIds);
        assertThatThrownBy(() -> readOwn(swapped, null)).isInstanceOf(RegistryLayers.Mismatch.class)
                .hasMessageContaining("holds layer " + diffId(other));
    }

    @Test
    void aCopyWhoseConfigurationIsNotTheImageIdIsRejectedBeforeAnyLayerIsRead() throws Exception {
        Image image = pushed();
        assertThatThrownBy(() -> registry.layers(image, "sha256:" + "0".repeat(64), image.diffIds))
                .isInstanceOf(RegistryLayers.Mismatch.class).hasMessageContaining("not the built image");
    }

    @Test
    void aConfigurationWhoseBytesAreNotItsDigestIsRejected() throws Exception {
        Image image = pushed();
        image.blobs.put(image.configDigest, "{\"rootfs\":{\"diff_ids\":[]}}".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> registry.layers(image, image.configDigest, image.diffIds))
                .isInstanceOf(RegistryLayers.Mismatch.class).hasMessageContaining("configuration");
    }

    @Test
    void aCopyWhoseLayersAreNotTheDaemonsIsRejected() throws Exception {
        Image image = pushed();
        assertThatThrownBy(() -> registry.layers(image, image.configDigest, List.of(image.diffIds.get(0))))
                .isInstanceOf(RegistryLayers.Mismatch.class).hasMessageContaining("lists layers");
    }

    @Test
    void aManifestWhoseBytesAreNotTheReportedDigestIsRejected() throws Exception {
        Image image = pushed();
        image.manifest = (new String(image.manifest, StandardCharsets.UTF_8) + " ").getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> registry.layers(image, image.configDigest, image.diffIds))
                .isInstanceOf(RegistryLayers.Mismatch.class).hasMessageContaining("manifest");
    }

    @Test
    void theLayerReadIsCapturedForTheLayerCacheUnderItsDiffId(@TempDir Path dir) throws Exception {
        LayerCache cache = new LayerCache(dir.resolve("cache"), 1L << 30);
        Image image = pushed();
        try (LayerCache.Capture capture = cache.capture(dir.resolve("scratch"), false)) {
            readOwn(image, capture);
            capture.store(ScanBudget.unlimited());
        }
        assertThat(cache.has(diffId(own))).isTrue();
        assertThat(cache.has(diffId(base))).isFalse();
    }

    @Test
    void aRejectedLayerIsNotCaptured(@TempDir Path dir) throws Exception {
        LayerCache cache = new LayerCache(dir.resolve("cache"), 1L << 30);
        byte[] other = layer("usr/local/bin/tool", 0755, "x");
        Image swapped = new Image(List.of(base, own), List.of(GZIP, GZIP), List.of(gzip(base), gzip(other)));
        try (LayerCache.Capture capture = cache.capture(dir.resolve("scratch"), false)) {
            assertThatThrownBy(() -> readOwn(swapped, capture)).isInstanceOf(RegistryLayers.Mismatch.class);
            capture.store(ScanBudget.unlimited());
        }
        assertThat(cache.has(diffId(other))).isFalse();
        assertThat(cache.has(diffId(own))).isFalse();
    }
}
