package io.buildgateway.policy;

import jakarta.validation.constraints.NotEmpty;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * The built-in gate's configuration.
 *
 * @param approvedBasePrefixes image references every FROM (and every other image the build could pull) must start
 *     with, for example {@code 127.0.0.1:5000/base/}
 */
@Validated
@ConfigurationProperties("gateway.policy")
public record PolicyProperties(@NotEmpty List<String> approvedBasePrefixes) {
}
