package io.buildgateway.intake;

import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Limits of the context intake.
 *
 * @param storeDir the content-addressed store (archives named by their sha256)
 * @param maxContextSize the largest archive accepted as sent (compressed or not): over it, 413
 * @param maxUncompressedSize the most bytes the entries may add up to once decompressed (compression bombs)
 * @param maxEntries the most entries an archive may hold
 * @param maxEntrySize the largest single file
 * @param maxPathLength the longest entry name
 * @param maxDockerfileSize the largest Dockerfile read for the policy
 */
@Validated
@ConfigurationProperties("gateway.intake")
public record IntakeProperties(
        @NotNull Path storeDir,
        @NotNull @DefaultValue("4GB") DataSize maxContextSize,
        @NotNull @DefaultValue("8GB") DataSize maxUncompressedSize,
        @Min(1) @DefaultValue("100000") int maxEntries,
        @NotNull @DefaultValue("4GB") DataSize maxEntrySize,
        @Min(16) @DefaultValue("4096") int maxPathLength,
        @NotNull @DefaultValue("1MB") DataSize maxDockerfileSize) {
}
