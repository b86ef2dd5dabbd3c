package io.buildgateway.dockerapi;

import io.buildgateway.auth.GatewayAuthentication;
import io.buildgateway.shared.Problem;
import jakarta.servlet.DispatcherType;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.web.SecurityFilterChain;

/**
 * The security chain of the Docker Engine API's port, ahead of the API's: the same authentication (bearer token in
 * the CLI's {@code HttpHeaders}, or a mapped client certificate) for {@code /version}, {@code /info} and
 * {@code /build}; {@code /_ping} (the CLI's first request, which tells nothing but the API version) and the refusal
 * of everything else need none; 401/403 in the daemon's error shape, audited.
 */
@Configuration
class DockerApiSecurity {

    @Bean
    @Order(Ordered.HIGHEST_PRECEDENCE)
    SecurityFilterChain dockerApi(HttpSecurity http, GatewayAuthentication authentication, DockerApiServer server,
            DockerErrors errors) throws Exception {
        http.securityMatcher(server::serves);
        authentication.authenticate(http);
        String needs = "the Build Gateway needs " + authentication.needs()
                + ": put {\"HttpHeaders\": {\"Authorization\": \"Bearer <token>\"}} in the Docker CLI's config.json"
                + " (docs/docker-cli.md)";
        http.csrf(c -> c.disable())
                .httpBasic(b -> b.disable())
                .formLogin(f -> f.disable())
                .logout(l -> l.disable())
                .requestCache(c -> c.disable())
                .anonymous(a -> { })
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .authorizeHttpRequests(a -> a
                        .dispatcherTypeMatchers(DispatcherType.ASYNC, DispatcherType.ERROR).permitAll()
                        .requestMatchers(r -> DockerApiFilter.needsCredential(r.getRequestURI())
                                || !server.onOwnPort(r)).authenticated()
                        // /_ping, and refusals of what is not served (DockerApiFilter answers them, audited)
                        .anyRequest().permitAll())
                .exceptionHandling(e -> e
                        .authenticationEntryPoint((request, response, ex) -> {
                            Object reason = GatewayAuthentication.failure(request);
                            errors.write(new Problem(401, "unauthenticated", "Unauthorized",
                                    reason != null ? "the Build Gateway refused the credential: " + reason : needs),
                                    request, response);
                        })
                        .accessDeniedHandler((request, response, ex) -> errors.write(
                                Problem.forbidden("your credential's roles do not allow " + request.getMethod() + " "
                                        + request.getRequestURI()), request, response)));
        return http.build();
    }
}
