package io.buildgateway.auth;

import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Authentication settings. The bootstrap admin secret comes from {@code GATEWAY_BOOTSTRAP_TOKEN}; it has no default
 * and is kept out of {@link #toString()}.
 *
 * @param bootstrapToken secret of an ADMIN token created at start-up when absent
 * @param scrapeToken optional secret that may read {@code /actuator/prometheus} only
 * @param maxTokenLifetime the longest a token may live; also the expiry of tokens created without one
 */
@Validated
@ConfigurationProperties("gateway.auth")
public record AuthProperties(
        String bootstrapToken,
        String scrapeToken,
        @NotNull @DefaultValue("365d") Duration maxTokenLifetime) {

    @Override
    public String toString() {
        return "AuthProperties[bootstrapToken=" + (bootstrapToken == null || bootstrapToken.isBlank() ? "unset" : "***")
                + ", scrapeToken=" + (scrapeToken == null || scrapeToken.isBlank() ? "unset" : "***")
                + ", maxTokenLifetime=" + maxTokenLifetime + "]";
    }
}
