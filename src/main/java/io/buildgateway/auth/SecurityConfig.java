package io.buildgateway.auth;

import io.buildgateway.shared.Problem;
import io.buildgateway.shared.web.ProblemResponses;
import jakarta.servlet.DispatcherType;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.security.config.annotation.method.configuration.EnableMethodSecurity;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.config.observation.SecurityObservationSettings;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.core.userdetails.UsernameNotFoundException;
import org.springframework.security.web.SecurityFilterChain;

/**
 * Stateless bearer-token security. Only the health endpoints and the API document (/v3/api-docs, the Swagger UI)
 * are anonymous; Prometheus needs ADMIN or the scrape
 * token; everything else needs a token, and roles are checked on each endpoint ({@code @PreAuthorize}). 401 and 403
 * are problem+json and audited.
 */
@Configuration
@EnableMethodSecurity
class SecurityConfig {

    /**
     * No Micrometer observation per security filter, authentication and authorization: with them on, each request
     * opened some twenty observations (a timer and a long-task timer each) before reaching its endpoint, which a
     * profile of the load bench put among the request threads' largest costs (issue #17). The request's own
     * {@code http.server.requests} timer stays; denials are counted where it matters, in the audit trail.
     */
    @Bean
    SecurityObservationSettings noSecurityObservations() {
        return SecurityObservationSettings.noObservations();
    }

    /** No user store: Boot would otherwise create a default user and log its generated password. */
    @Bean
    UserDetailsService noUsers() {
        return username -> {
            throw new UsernameNotFoundException("no users");
        };
    }

    @Bean
    SecurityFilterChain api(HttpSecurity http, GatewayAuthentication authentication, ProblemResponses problems)
            throws Exception {
        String needs = "this endpoint needs " + authentication.needs();
        authentication.authenticate(http);
        http.csrf(c -> c.disable())
                .httpBasic(b -> b.disable())
                .formLogin(f -> f.disable())
                .logout(l -> l.disable())
                .requestCache(c -> c.disable())
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .authorizeHttpRequests(a -> a
                        // The continuation of an already authorised request (streamed logs) and error rendering.
                        .dispatcherTypeMatchers(DispatcherType.ASYNC, DispatcherType.ERROR).permitAll()
                        .requestMatchers("/actuator/health", "/actuator/health/**").permitAll()
                        .requestMatchers("/actuator/prometheus")
                        .hasAnyAuthority(Role.ADMIN.authority(), BearerTokenFilter.SCRAPE_AUTHORITY)
                        .requestMatchers("/actuator/**").hasAuthority(Role.ADMIN.authority())
                        .requestMatchers("/error").permitAll()
                        // The API document and its UI: what the API is, never data; the operations still need a token.
                        .requestMatchers(HttpMethod.GET, "/v3/api-docs", "/v3/api-docs/**", "/v3/api-docs.yaml",
                                "/swagger-ui.html", "/swagger-ui/**").permitAll()
                        // Its body may be 64 MB (JsonBodyLimit) and is read into a tree before a method's
                        // @PreAuthorize runs: the role is checked before the body is read (a review's finding,
                        // 2026-12-06: any token could make a replica parse 64 MB of "[{},{},…]").
                        .requestMatchers(HttpMethod.POST, "/api/v1/advisories")
                        .hasAnyAuthority(Role.SECURITY.authority(), Role.ADMIN.authority())
                        .anyRequest().authenticated())
                .exceptionHandling(e -> e
                        .authenticationEntryPoint((request, response, ex) -> {
                            Object reason = request.getAttribute(BearerTokenFilter.FAILURE);
                            Problem problem = new Problem(401, "unauthenticated", "Unauthorized",
                                    reason != null ? reason.toString()
                                            : needs);
                            response.setHeader("WWW-Authenticate", "Bearer realm=\"build-gateway\"");
                            problems.write(problem, request, response);
                        })
                        .accessDeniedHandler((request, response, ex) -> problems.write(
                                Problem.forbidden("your token's roles do not allow " + request.getMethod() + " "
                                        + request.getRequestURI()), request, response)));
        return http.build();
    }
}
