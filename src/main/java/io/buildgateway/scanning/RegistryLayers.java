package io.buildgateway.scanning;

import io.buildgateway.hostpool.BuiltImage;
import io.buildgateway.shared.Digest;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads some of an image's layers from its copy in the registry instead of from {@code docker save} (which streams
 * every layer, the base's too): the layers whose audit (or extracted copy) the gateway does not hold yet. Trusts
 * nothing the registry says without a check anchored on the image id the build host's daemon reported
 * (docs/security.md, "Reading the image's own layers from the registry"):
 * <ol>
 *   <li>the manifest's bytes hash to the digest the daemon's push reported;</li>
 *   <li>its configuration's digest is the image id (the SHA-256 of the configuration's bytes, checked on the bytes
 *       read), so the configuration is the built image's;</li>
 *   <li>the configuration's {@code rootfs.diff_ids} are the image's layers as the daemon's inspection listed them,
 *       one manifest layer for each;</li>
 *   <li>each layer blob read hashes to its descriptor's digest, and its decompressed tar to the diff id at its
 *       place.</li>
 * </ol>
 * A check that fails is a {@link Mismatch}: the registry's copy, which the gateway would name, is not the image the
 * checks read. A layer the gateway cannot decompress ({@link Unsupported}) or a registry that cannot be read is an
 * ordinary {@link IOException}: the caller reads the image from the daemon instead. Pure but for the reads.
 */
final class RegistryLayers {

    static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    private static final Set<String> GZIP = Set.of("application/vnd.docker.image.rootfs.diff.tar.gzip",
            "application/vnd.oci.image.layer.v1.tar+gzip");
    private static final Set<String> PLAIN = Set.of("application/vnd.docker.image.rootfs.diff.tar",
            "application/vnd.oci.image.layer.v1.tar");

    /** The image's copy in the registry, as far as this class reads it. */
    interface Source {
        /** The digest the push reported for the manifest. */
        String manifestDigest();

        /** The manifest's bytes as served. */
        byte[] manifest() throws IOException;

        /** A blob's bytes as served (the configuration). */
        byte[] blob(String digest) throws IOException;

        /** A blob as a stream (a layer). */
        void stream(String digest, BuiltImage.StreamReader reader) throws IOException;
    }

    /** The registry's copy is not the image the daemon reported: evidence, not a reason to read it elsewhere. */
    static final class Mismatch extends IOException {
        Mismatch(String message) {
            super(message);
        }
    }

    /** The copy uses a form this class does not read (a manifest list, a zstd layer): read from the daemon. */
    static final class Unsupported extends IOException {
        Unsupported(String message) {
            super(message);
        }
    }

    /** The layers read ({@code read}, by diff id) and the blob bytes that came from the registry for them. */
    record Result(Map<String, LayerAudit.Read> read, long blobBytes) {
    }

    /** A layer of the manifest: its blob's digest and media type, and the diff id at its place. */
    record Layer(String blobDigest, String mediaType, String diffId) {
    }

    private final JsonMapper json;

    RegistryLayers(JsonMapper json) {
        this.json = json;
    }

    /**
     * Checks the manifest and configuration against the image ({@code imageId}, {@code diffIds}: the daemon's
     * inspection) and returns the manifest's layers, one per diff id.
     */
    List<Layer> layers(Source source, String imageId, List<String> diffIds) throws IOException {
        byte[] manifest = source.manifest();
        String served = sha256(manifest);
        if (!served.equals(source.manifestDigest())) {
            throw new Mismatch("the registry served manifest " + source.manifestDigest() + " with other bytes ("
                    + served + ")");
        }
        JsonNode m = json.readTree(manifest);
        String mediaType = m.path("mediaType").asString("");
        if (m.path("schemaVersion").asInt(0) != 2 || !(mediaType.isEmpty() || mediaType.equals(DOCKER_MANIFEST)
                || mediaType.equals(OCI_MANIFEST)) || !m.path("config").isObject() || !m.path("layers").isArray()) {
            throw new Unsupported("the registry's copy is not an image manifest (" + (mediaType.isEmpty()
                    ? "schema " + m.path("schemaVersion").asInt(0) : mediaType) + ")");
        }
        String configDigest = m.path("config").path("digest").asString("");
        if (!configDigest.equals(imageId) && !source.manifestDigest().equals(imageId)) {
            throw new Mismatch("the registry's copy has configuration " + configDigest + ", not the built image "
                    + imageId);
        }
        byte[] config;
        try {
            config = source.blob(configDigest);
        } catch (IOException e) {
            throw new IOException("reading the configuration " + configDigest + ": " + e.getMessage(), e);
        }
        String configRead = sha256(config);
        if (!configRead.equals(configDigest)) {
            throw new Mismatch("the registry served configuration " + configDigest + " with other bytes ("
                    + configRead + ")");
        }
        List<String> listed = new ArrayList<>();
        json.readTree(config).path("rootfs").path("diff_ids").forEach(d -> listed.add(d.asString("")));
        if (!listed.equals(diffIds)) {
            throw new Mismatch("the registry's copy lists layers " + listed + ", the built image " + diffIds);
        }
        JsonNode layers = m.path("layers");
        if (layers.size() != diffIds.size()) {
            throw new Mismatch("the registry's manifest has " + layers.size() + " layers for " + diffIds.size()
                    + " diff ids");
        }
        List<Layer> out = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            out.add(new Layer(layers.get(i).path("digest").asString(""), layers.get(i).path("mediaType")
                    .asString(""), diffIds.get(i)));
        }
        return out;
    }

    /**
     * Reads the layers at {@code wanted} (indices into {@code layers}), each through {@code audit} and, when given,
     * {@code captureOrNull}, as the save stream's layers are read, and checks each against its blob digest and diff
     * id.
     */
    Result read(Source source, List<Layer> layers, List<Integer> wanted, LayerAudit audit, ScanBudget budget,
            LayerCache.Capture captureOrNull) throws IOException {
        for (int i : wanted) {
            decompressor(layers.get(i)); // every layer readable before any is read
        }
        Map<String, LayerAudit.Read> read = new LinkedHashMap<>();
        long[] blobBytes = {0};
        for (int i : wanted) {
            Layer layer = layers.get(i);
            if (read.containsKey(layer.diffId())) {
                continue;
            }
            Decompressor decompressor = decompressor(layer);
            source.stream(layer.blobDigest(), body -> {
                MessageDigest blobSha = sha256();
                DigestInputStream blob = new DigestInputStream(new java.io.FilterInputStream(body) {
                    @Override
                    public int read() throws IOException {
                        int b = super.read();
                        blobBytes[0] += b < 0 ? 0 : 1;
                        return b;
                    }

                    @Override
                    public int read(byte[] b, int off, int len) throws IOException {
                        int n = super.read(b, off, len);
                        blobBytes[0] += Math.max(n, 0);
                        return n;
                    }
                }, blobSha);
                InputStream tar = budget.registryLayer(decompressor.open(blob));
                BufferedInputStream buffered = new BufferedInputStream(tar, 64 * 1024);
                InputStream layerTar = captureOrNull == null ? buffered : captureOrNull.layer(buffered);
                LayerAudit.Read one = audit.readOne(layerTar);
                blob.transferTo(OutputStream.nullOutputStream()); // what follows the compressed stream's end
                String blobRead = Digest.sha256(blobSha.digest()).value();
                if (!blobRead.equals(layer.blobDigest())) {
                    throw new Mismatch("the registry served layer blob " + layer.blobDigest() + " with other bytes ("
                            + blobRead + ")");
                }
                if (!one.diffId().equals(layer.diffId())) {
                    throw new Mismatch("layer blob " + layer.blobDigest() + " holds layer " + one.diffId()
                            + ", where the built image has " + layer.diffId());
                }
                if (captureOrNull != null) {
                    captureOrNull.read(one.diffId());
                }
                read.put(one.diffId(), one);
            });
            if (!read.containsKey(layer.diffId())) {
                throw new IOException("layer blob " + layer.blobDigest() + " was not read");
            }
        }
        return new Result(read, blobBytes[0]);
    }

    @FunctionalInterface
    private interface Decompressor {
        InputStream open(InputStream blob) throws IOException;
    }

    private static Decompressor decompressor(Layer layer) throws Unsupported {
        if (GZIP.contains(layer.mediaType())) {
            return in -> new GZIPInputStream(in, 64 * 1024);
        }
        if (PLAIN.contains(layer.mediaType())) {
            return in -> in;
        }
        throw new Unsupported("layer " + layer.blobDigest() + " has media type " + layer.mediaType()
                + ", which the gateway does not decompress");
    }

    static String sha256(byte[] bytes) {
        return Digest.sha256(sha256().digest(bytes)).value();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
