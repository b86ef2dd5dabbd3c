package io.buildgateway.provenance;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Provenance settings.
 *
 * @param builderId the SLSA {@code builder.id}: a URI naming this gateway deployment (its trust boundary), which
 *        verification policies pin; set it to the gateway's own URL
 * @param attach whether provenance is also stored in the registry as the image's cosign attestation
 * @param retryInterval how often attestations that could not be stored yet are tried again
 * @param maxBackoff the longest wait between two tries of one attestation (the wait doubles from retryInterval)
 * @param attachGrace an attestation still not in the registry this long after signing makes the health
 *        {@code provenance} DOWN
 */
@Validated
@ConfigurationProperties("gateway.provenance")
public record ProvenanceProperties(
        @NotBlank @DefaultValue("urn:buildgateway:builder:local") String builderId,
        @DefaultValue("true") boolean attach,
        @NotNull @DefaultValue("30s") Duration retryInterval,
        @NotNull @DefaultValue("15m") Duration maxBackoff,
        @NotNull @DefaultValue("10m") Duration attachGrace) {
}
