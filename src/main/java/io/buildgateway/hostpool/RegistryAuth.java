package io.buildgateway.hostpool;

import com.github.dockerjava.api.model.AuthConfig;
import com.github.dockerjava.api.model.AuthConfigurations;
import java.time.Clock;
import java.util.List;

/**
 * The credentials a build host's daemon gets from the gateway (docs/security.md): with registry tokens configured, a
 * token per build that pulls only the granted repositories, and one minted right before each push for the repository
 * pushed to; without, the gateway's own registry credentials.
 */
final class RegistryAuth {

    private final HostPoolProperties properties;
    /** Null when gateway.hostpool.registry.tokens is not set. */
    private final RegistryTokens tokens;

    RegistryAuth(HostPoolProperties properties, Clock clock) {
        this.properties = properties;
        HostPoolProperties.Tokens tokenConfig = properties.registry().tokens();
        this.tokens = tokenConfig == null ? null : new RegistryTokens(tokenConfig, clock);
    }

    boolean tokens() {
        return tokens != null;
    }

    /** The repository prefixes every build may pull from (besides its team's own repositories). */
    static List<String> pullablePrefixes(HostPoolProperties properties) {
        HostPoolProperties.Tokens config = properties.registry().tokens();
        return config == null ? List.of("base/") : config.pullablePrefixes();
    }

    /**
     * The daemon's credentials for the build's pulls: with tokens, one that pulls the granted repositories only,
     * valid for the build's timeout (a late stage may pull late); without, the gateway's own credentials.
     */
    AuthConfigurations buildAuth(BuildJob job, Confinement.Plan plan) {
        AuthConfigurations configs = new AuthConfigurations();
        HostPoolProperties.Registry registry = properties.registry();
        if (tokens != null) {
            configs.addConfig(new AuthConfig().withRegistryAddress(registry.address())
                    .withRegistrytoken(pullToken(job, plan)));
        } else if (registry.username() != null && !registry.username().isBlank()) {
            configs.addConfig(passwordAuth());
        }
        return configs;
    }

    /** The build's pull token (BuildKit's pulls before the build); null without tokens. */
    String pullToken(BuildJob job, Confinement.Plan plan) {
        return tokens == null ? null : tokens.mint("build/" + job.buildId(), Confinement.pullGrants(plan),
                properties.build().timeout().plusMinutes(1));
    }

    /**
     * The daemon's credentials for the push, minted right before it: push and pull on {@code repository} (the build's
     * own, or its quarantine),
     * pull on the granted repositories (so the registry can mount their layers instead of receiving them again).
     */
    AuthConfig pushAuth(BuildJob job, Confinement.Plan plan, String repository) {
        if (tokens == null) {
            return passwordAuth();
        }
        return new AuthConfig().withRegistryAddress(properties.registry().address())
                .withRegistrytoken(tokens.mint("build/" + job.buildId(), Confinement.pushGrants(repository, plan),
                        properties.registry().tokens().pushTtl()));
    }

    private AuthConfig passwordAuth() {
        HostPoolProperties.Registry registry = properties.registry();
        AuthConfig auth = new AuthConfig().withRegistryAddress(registry.address());
        if (registry.username() != null && !registry.username().isBlank()) {
            auth.withUsername(registry.username()).withPassword(registry.password());
        }
        return auth;
    }
}
