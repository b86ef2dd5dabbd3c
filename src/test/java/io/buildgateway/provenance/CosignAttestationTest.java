package io.buildgateway.provenance;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.shared.Digest;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class CosignAttestationTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String A = "sha256:" + "a".repeat(64);
    private static final String B = "sha256:" + "b".repeat(64);

    @Test
    void theTagIsCosignsAttestationTag() {
        assertThat(CosignAttestation.tag(Digest.parse("sha256:" + "0f".repeat(32))))
                .isEqualTo("sha256-" + "0f".repeat(32) + ".att");
    }

    @Test
    void aFirstAttestationIsAnOciManifestWithOneDsseLayer() {
        CosignAttestation.Update u = CosignAttestation.adding(Optional.empty(), A, 1234,
                ProvenanceStatement.PREDICATE_TYPE).orElseThrow();
        JsonNode m = JSON.readTree(u.manifest());
        assertThat(m.path("schemaVersion").asInt()).isEqualTo(2);
        assertThat(m.path("mediaType").asString()).isEqualTo("application/vnd.oci.image.manifest.v1+json");
        assertThat(m.path("config").path("mediaType").asString()).isEqualTo("application/vnd.oci.image.config.v1+json");
        assertThat(m.path("config").path("digest").asString()).isEqualTo(CosignAttestation.sha256(u.config()));
        assertThat(m.path("config").path("size").asInt()).isEqualTo(u.config().length);
        JsonNode layer = m.path("layers").get(0);
        assertThat(layer.path("mediaType").asString()).isEqualTo("application/vnd.dsse.envelope.v1+json");
        assertThat(layer.path("digest").asString()).isEqualTo(A);
        assertThat(layer.path("size").asLong()).isEqualTo(1234);
        assertThat(layer.path("annotations").path("predicateType").asString())
                .isEqualTo("https://slsa.dev/provenance/v1");
        assertThat(JSON.readTree(u.config()).path("rootfs").path("diff_ids").get(0).asString()).isEqualTo(A);
    }

    @Test
    void attestationsAlreadyThereAreKeptAndNoneIsAddedTwice() {
        byte[] first = CosignAttestation.adding(Optional.empty(), A, 10, "https://example.com/other").orElseThrow()
                .manifest();
        CosignAttestation.Update second = CosignAttestation.adding(Optional.of(first), B, 20,
                ProvenanceStatement.PREDICATE_TYPE).orElseThrow();
        JsonNode layers = JSON.readTree(second.manifest()).path("layers");
        assertThat(layers).hasSize(2);
        assertThat(layers.get(0).path("annotations").path("predicateType").asString())
                .isEqualTo("https://example.com/other");
        assertThat(layers.get(1).path("digest").asString()).isEqualTo(B);
        assertThat(JSON.readTree(second.config()).path("rootfs").path("diff_ids")).hasSize(2);

        assertThat(CosignAttestation.adding(Optional.of(second.manifest()), B, 20,
                ProvenanceStatement.PREDICATE_TYPE)).isEmpty();
    }
}
