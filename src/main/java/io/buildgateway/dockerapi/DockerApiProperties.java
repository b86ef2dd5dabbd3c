package io.buildgateway.dockerapi;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.boot.web.server.Ssl;
import org.springframework.validation.annotation.Validated;

/**
 * {@code gateway.docker-api.*}: the Docker Engine API port (docs/docker-cli.md). Off unless enabled.
 *
 * @param enabled whether the port is opened at all
 * @param port the port ({@code 0}: any free one, for tests); Docker's habit is 2376 with TLS, 2375 without
 * @param address the address to bind (empty: every address)
 * @param sslBundle a {@code spring.ssl.bundle.*} name: TLS on this port with that key and trust store (empty: plain
 *     HTTP, for loopback only)
 * @param clientAuth whether the TLS handshake asks for a client certificate ({@code want}: certificate or bearer
 *     token; {@code need}: every caller shows a certificate of the CA, and a token, when sent, still decides who it is); mapped as {@code gateway.auth.mtls} maps them
 * @param platform the one platform the build hosts build; {@code --platform} with another is refused
 * @param maxThreads request threads of this port (a build's stream holds one until the build ends), apart from
 *     the API's
 * @param pollInterval how often a build's stream looks for new log lines and the build's status
 */
@ConfigurationProperties("gateway.docker-api")
@Validated
public record DockerApiProperties(
        @DefaultValue("false") boolean enabled,
        @DefaultValue("2376") @Min(0) @Max(65535) int port,
        String address,
        String sslBundle,
        @NotNull @DefaultValue("want") Ssl.ClientAuth clientAuth,
        @NotBlank @DefaultValue("linux/amd64") String platform,
        @Min(1) @Max(1000) @DefaultValue("32") int maxThreads,
        @NotNull @DefaultValue("250ms") Duration pollInterval) {
}
