package io.buildgateway.provenance;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/**
 * DOWN while a signed provenance has waited longer than {@code gateway.provenance.attach-grace} to reach the
 * registry: images are then in the registry without an attestation an admission controller can find. Not part of
 * readiness (builds still succeed and their provenance is served by the API meanwhile).
 */
@Component("provenanceHealthIndicator")
class ProvenanceHealth implements HealthIndicator {

    private final Attestations attestations;
    private final ProvenanceProperties properties;

    ProvenanceHealth(Attestations attestations, ProvenanceProperties properties) {
        this.attestations = attestations;
        this.properties = properties;
    }

    @Override
    public Health health() {
        if (!properties.attach()) {
            return Health.up().withDetail("attach", false).build();
        }
        Attestations.Backlog backlog = attestations.backlog();
        Health.Builder builder = backlog.overdue() > 0 ? Health.down() : Health.up();
        builder.withDetail("unattached", attestations.unattached()).withDetail("overdue", backlog.overdue());
        if (backlog.oldest() != null) {
            builder.withDetail("oldestOverdueSignedAt", backlog.oldest().toString());
        }
        return builder.build();
    }
}
