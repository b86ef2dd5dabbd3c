package io.buildgateway.inventory;

import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The inventory's settings.
 *
 * @param registryUrl the registry the approved bases live in, as a URL ({@code http://127.0.0.1:5000})
 * @param baseWatchInterval how often the approved base tags are checked for a new digest
 * @param watchedBases base references watched even before any image uses them
 */
@Validated
@ConfigurationProperties("gateway.inventory")
public record InventoryProperties(
        @NotNull String registryUrl,
        @NotNull @DefaultValue("5m") Duration baseWatchInterval,
        @DefaultValue("") List<String> watchedBases) {
}
