package io.buildgateway.auth;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import org.springframework.boot.context.properties.bind.Name;

/**
 * The longest a gateway token may live, per role ({@code gateway.auth.max-token-lifetime}). Either one duration for
 * every role ({@code max-token-lifetime: 365d}, as before) or a default with per-role limits
 * ({@code max-token-lifetime: {default: 365d, ADMIN: 30d, BUILDER: 90d}}). A token with several roles gets the
 * strictest of them. A role without a limit of its own gets the default.
 */
public record TokenLifetimes(@Name("default") Duration fallback, Duration builder, Duration deployer,
        Duration security, Duration auditor, Duration admin) {

    public static final Duration DEFAULT = Duration.ofDays(365);

    public TokenLifetimes {
        fallback = fallback == null ? DEFAULT : fallback;
        for (Duration d : new Duration[] {fallback, builder, deployer, security, auditor, admin}) {
            if (d != null && (d.isNegative() || d.isZero())) {
                throw new IllegalArgumentException("gateway.auth.max-token-lifetime: every lifetime must be positive");
            }
        }
    }

    /** The same limit for every role. */
    public static TokenLifetimes of(Duration all) {
        return new TokenLifetimes(all, null, null, null, null, null);
    }

    public Duration of(Role role) {
        Duration own = switch (role) {
            case BUILDER -> builder;
            case DEPLOYER -> deployer;
            case SECURITY -> security;
            case AUDITOR -> auditor;
            case ADMIN -> admin;
        };
        return own == null ? fallback : own;
    }

    /** The strictest limit of the given roles (the default when there are none). */
    public Duration forRoles(Set<Role> roles) {
        return roles.stream().map(this::of).min(Duration::compareTo).orElse(fallback);
    }

    Map<Role, Duration> asMap() {
        Map<Role, Duration> map = new EnumMap<>(Role.class);
        for (Role r : Role.values()) {
            map.put(r, of(r));
        }
        return map;
    }

    @Override
    public String toString() {
        return asMap().toString();
    }
}
