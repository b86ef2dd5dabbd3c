package io.buildgateway.auth;

import io.buildgateway.shared.TeamName;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Maps the claims of a verified identity-provider token to a gateway principal: the name from
 * {@code username-claim} (else {@code sub}), roles from the values of {@code groups-claim} and {@code roles-claim}
 * through {@code role-map}, teams from the groups through {@code team-prefix} and {@code team-map}. A pure function
 * of the claims and the configuration.
 *
 * <p>A claim name is first looked up as it is (identity providers use URIs with dots as claim names); when absent
 * it is read as a dotted path into nested objects ({@code realm_access.roles}). A claim that holds a single string
 * counts as a list of one (ADFS sends one group that way). A leading {@code /} of a value (Keycloak's full group
 * path) is ignored.
 */
final class OidcClaims {

    static final String PREFIX = "oidc:";

    /**
     * A principal (status 200), or why the token does not make one: 401 when it names no usable user, 403 when it
     * maps to no role (then {@code principal} is the caller without roles, for the audit trail's actor).
     */
    record Mapping(GatewayPrincipal principal, int status, String failure) {

        static Mapping ok(GatewayPrincipal principal) {
            return new Mapping(principal, 200, null);
        }

        static Mapping refused(int status, String failure) {
            return new Mapping(null, status, failure);
        }
    }

    private final AuthProperties.Oidc config;

    OidcClaims(AuthProperties.Oidc config) {
        this.config = config;
    }

    Mapping map(Map<String, Object> claims) {
        String user = name(claims);
        if (user == null) {
            return Mapping.refused(401, "the token names no user: claim '" + config.usernameClaim()
                    + "' (or 'sub') is missing, too long or not printable");
        }
        List<String> groups = values(claims, config.groupsClaim());
        List<String> roleValues = new ArrayList<>(groups);
        if (config.rolesClaim() != null && !config.rolesClaim().isBlank()) {
            roleValues.addAll(values(claims, config.rolesClaim()));
        }
        Set<Role> roles = EnumSet.noneOf(Role.class);
        for (String value : roleValues) {
            Set<Role> mapped = config.roleMap().get(value);
            if (mapped != null) {
                roles.addAll(mapped);
            }
        }
        String name = PREFIX + user;
        if (roles.isEmpty()) {
            return new Mapping(new GatewayPrincipal(null, name, Set.of(), Set.of()), 403, "authenticated as " + name
                    + " by the identity provider, but none of the token's groups or roles maps to a gateway role "
                    + "(gateway.auth.oidc.role-map)");
        }
        Set<String> teams = new TreeSet<>();
        String prefix = config.teamPrefix();
        for (String group : groups) {
            if (prefix != null && !prefix.isEmpty() && group.startsWith(prefix)
                    && TeamName.isValid(group.substring(prefix.length()))) {
                teams.add(group.substring(prefix.length()));
            }
            Set<String> mapped = config.teamMap().get(group);
            if (mapped != null) {
                teams.addAll(mapped);
            }
        }
        return Mapping.ok(new GatewayPrincipal(null, name, roles, teams));
    }

    private String name(Map<String, Object> claims) {
        for (String claim : List.of(config.usernameClaim(), "sub")) {
            if (claim(claims, claim) instanceof String s && !s.isBlank()) {
                if (s.length() > 150 || s.chars().anyMatch(Character::isISOControl)) {
                    return null;
                }
                return s;
            }
        }
        return null;
    }

    /** The string values of a claim: a list of strings, or one string; anything else is no value. */
    static List<String> values(Map<String, Object> claims, String name) {
        Object value = claim(claims, name);
        Collection<?> items = value instanceof Collection<?> c ? c : value instanceof String s ? List.of(s) : List.of();
        Set<String> out = new LinkedHashSet<>();
        for (Object item : items) {
            if (item instanceof String s && !s.isBlank()) {
                out.add(s.startsWith("/") ? s.substring(1) : s);
            }
        }
        return List.copyOf(out);
    }

    static Object claim(Map<String, Object> claims, String name) {
        if (name == null || name.isBlank()) {
            return null;
        }
        if (claims.containsKey(name)) {
            return claims.get(name);
        }
        Object current = claims;
        for (String part : name.split("\\.")) {
            if (!(current instanceof Map<?, ?> map)) {
                return null;
            }
            current = map.get(part);
        }
        return current;
    }
}
