package io.buildgateway.policy;

import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The ShellCheck pass over RUN scripts (on when the policy's {@code shellcheck.enabled} is true, or for
 * {@code POST /api/v1/lint?shellcheck=true}).
 *
 * @param binary the shellcheck executable, a path or a name looked up on PATH (Debian's package: /usr/bin/shellcheck)
 * @param timeout how long one run over all the scripts of a Dockerfile may take; longer is an error finding
 */
@Validated
@ConfigurationProperties("gateway.policy.shellcheck")
public record ShellCheckProperties(
        @NotNull @DefaultValue("shellcheck") String binary,
        @NotNull @DefaultValue("20s") Duration timeout) {
}
