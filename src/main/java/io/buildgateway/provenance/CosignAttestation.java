package io.buildgateway.provenance;

import io.buildgateway.shared.Digest;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * Where cosign, the Sigstore policy-controller and Kyverno look for an image's attestations without a transparency
 * log: the tag {@code sha256-<hex of the image digest>.att} in the image's repository, an OCI image manifest whose
 * every layer is one DSSE envelope ({@code application/vnd.dsse.envelope.v1+json}, annotated with its
 * {@code predicateType}). Attestations already there (by cosign or an earlier build of the same bytes) are kept; an
 * envelope already there is not added twice. The config blob is the one cosign writes (an empty image whose diff ids
 * are the layers). Pure: the caller moves the bytes.
 */
final class CosignAttestation {

    static final String MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";
    static final String CONFIG_TYPE = "application/vnd.oci.image.config.v1+json";
    static final String LAYER_TYPE = "application/vnd.dsse.envelope.v1+json";
    private static final String ZERO_TIME = "0001-01-01T00:00:00Z";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private CosignAttestation() {
    }

    static String tag(Digest image) {
        return "sha256-" + image.hex() + ".att";
    }

    /** The blobs and manifest to store, or empty when the existing manifest already holds the envelope. */
    record Update(byte[] config, byte[] manifest) {
    }

    /**
     * @param existing the manifest now under the tag, if any
     * @param envelopeDigest the digest of the envelope's JSON bytes (the new layer)
     */
    static Optional<Update> adding(Optional<byte[]> existing, String envelopeDigest, long envelopeSize,
            String predicateType) {
        List<Map<String, Object>> layers = new ArrayList<>();
        if (existing.isPresent()) {
            Map<String, Object> manifest = JSON.readValue(existing.get(), new TypeReference<Map<String, Object>>() { });
            Object old = manifest.get("layers");
            if (old instanceof List<?> list) {
                for (Object layer : list) {
                    if (layer instanceof Map<?, ?> m) {
                        if (envelopeDigest.equals(m.get("digest"))) {
                            return Optional.empty();
                        }
                        @SuppressWarnings("unchecked")
                        Map<String, Object> kept = new LinkedHashMap<>((Map<String, Object>) m);
                        layers.add(kept);
                    }
                }
            }
        }
        Map<String, Object> layer = new LinkedHashMap<>();
        layer.put("mediaType", LAYER_TYPE);
        layer.put("size", envelopeSize);
        layer.put("digest", envelopeDigest);
        layer.put("annotations", Map.of("predicateType", predicateType));
        layers.add(layer);

        List<String> diffIds = layers.stream().map(l -> String.valueOf(l.get("digest"))).toList();
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("architecture", "");
        config.put("created", ZERO_TIME);
        config.put("history", diffIds.stream().map(d -> Map.of("created", ZERO_TIME)).toList());
        config.put("os", "");
        config.put("rootfs", Map.of("type", "layers", "diff_ids", diffIds));
        config.put("config", Map.of());
        byte[] configBytes = JSON.writeValueAsBytes(config);

        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("schemaVersion", 2);
        manifest.put("mediaType", MANIFEST_TYPE);
        Map<String, Object> configDescriptor = new LinkedHashMap<>();
        configDescriptor.put("mediaType", CONFIG_TYPE);
        configDescriptor.put("size", configBytes.length);
        configDescriptor.put("digest", sha256(configBytes));
        manifest.put("config", configDescriptor);
        manifest.put("layers", layers);
        return Optional.of(new Update(configBytes, JSON.writeValueAsBytes(manifest)));
    }

    static String sha256(byte[] content) {
        try {
            return Digest.sha256(MessageDigest.getInstance("SHA-256").digest(content)).value();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
