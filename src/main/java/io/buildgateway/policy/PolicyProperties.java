package io.buildgateway.policy;

import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Where the policy lives and how often it is checked for changes.
 *
 * @param dir the folder of policy files ({@code *.yaml}, read in name order)
 * @param reloadInterval how often the files are checked; a changed, valid policy takes effect at the second check
 *     that reads the same files (a file caught mid-write is never loaded)
 * @param approvedBasePrefixes approved image prefixes added to the policy's own, for environments whose registry
 *     address differs from the one in the files (the test and benchmark environments); they are part of the digest
 */
@Validated
@ConfigurationProperties("gateway.policy")
public record PolicyProperties(
        @NotNull @DefaultValue("config/policy") Path dir,
        @NotNull @DefaultValue("5s") Duration reloadInterval,
        @DefaultValue List<String> approvedBasePrefixes) {
}
