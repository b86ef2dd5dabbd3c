package io.buildgateway.auth;

import io.buildgateway.shared.TokenBearer;
import java.security.Principal;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;

/** The authenticated caller: the token (or identity) name, its roles and its teams. */
public record GatewayPrincipal(UUID tokenId, String name, Set<Role> roles, Set<String> teams)
        implements Principal, TokenBearer {

    public GatewayPrincipal {
        roles = Set.copyOf(roles);
        teams = Set.copyOf(teams);
    }

    @Override
    public String getName() {
        return name;
    }

    public boolean has(Role role) {
        return roles.contains(role);
    }

    /** SECURITY, AUDITOR and ADMIN read everything; others read only their teams' resources. */
    public boolean readsAllTeams() {
        return has(Role.SECURITY) || has(Role.AUDITOR) || has(Role.ADMIN);
    }

    public boolean canRead(String team) {
        return readsAllTeams() || teams.contains(team);
    }

    /**
     * Builds (records, logs, fetches) are read by SECURITY, AUDITOR and ADMIN, and by a BUILDER of the build's team:
     * API.md's table gives a DEPLOYER images to read, not builds, whatever teams its token holds.
     */
    public boolean canReadBuildsOf(String team) {
        return readsAllTeams() || canBuildFor(team);
    }

    /** Whether the token may read any build at all ({@link #canReadBuildsOf} of some team). */
    public boolean readsBuilds() {
        return readsAllTeams() || has(Role.BUILDER) && !teams.isEmpty();
    }

    public boolean canBuildFor(String team) {
        return has(Role.BUILDER) && teams.contains(team);
    }

    /** The principal of the current request, if it authenticated with a gateway credential. */
    public static Optional<GatewayPrincipal> current() {
        Authentication authentication = SecurityContextHolder.getContext().getAuthentication();
        if (authentication != null && authentication.getPrincipal() instanceof GatewayPrincipal principal) {
            return Optional.of(principal);
        }
        return Optional.empty();
    }

    public static GatewayPrincipal require() {
        return current().orElseThrow(() -> new IllegalStateException("no authenticated gateway principal"));
    }
}
