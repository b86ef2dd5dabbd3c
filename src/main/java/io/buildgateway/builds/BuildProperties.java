package io.buildgateway.builds;

import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * The build queue and its workers.
 *
 * @param logsDir where build output is kept, one file per build
 * @param maxQueued queued builds beyond which submissions get 429
 * @param retryAfter the {@code Retry-After} a 429 suggests
 * @param dispatchInterval how often the queue is polled (submissions also wake it at once)
 * @param lease how long a claimed build stays owned without a heartbeat before it is recovered
 * @param maxLogSize build output beyond this is cut, with a note
 * @param maxBuildArgs the most build args and labels a request may carry, each
 * @param rebuildShare the share of the pool's capacity that rebuilds may hold at once (at least one slot);
 *        developers' queued builds are always claimed before rebuilds
 * @param contextRetention how long every build's context is kept; after that, only contexts still needed (queued or
 *        running builds, the latest successful build of each repository and tag) are
 */
@Validated
@ConfigurationProperties("gateway.builds")
public record BuildProperties(
        @NotNull Path logsDir,
        @Min(1) @DefaultValue("100") int maxQueued,
        @NotNull @DefaultValue("30s") Duration retryAfter,
        @NotNull @DefaultValue("500ms") Duration dispatchInterval,
        @NotNull @DefaultValue("60s") Duration lease,
        @NotNull @DefaultValue("10MB") DataSize maxLogSize,
        @Min(0) @DefaultValue("64") int maxBuildArgs,
        @jakarta.validation.constraints.DecimalMin("0.0") @jakarta.validation.constraints.DecimalMax("1.0")
        @DefaultValue("0.5") double rebuildShare,
        @NotNull @DefaultValue("30d") Duration contextRetention) {
}
