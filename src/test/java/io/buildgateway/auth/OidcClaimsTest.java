package io.buildgateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Claims to principal: names, nested claims, single-string claims, role and team rules. */
class OidcClaimsTest {

    private static OidcClaims claims(String usernameClaim, String groupsClaim, String rolesClaim,
            Map<String, Set<Role>> roleMap, String teamPrefix, Map<String, Set<String>> teamMap) {
        return new OidcClaims(new AuthProperties.Oidc("https://idp.example/realms/corp", null, List.of("gw"), null,
                usernameClaim, groupsClaim, rolesClaim, roleMap, teamPrefix, teamMap, Duration.ofSeconds(60),
                Duration.ofSeconds(5)));
    }

    @Test
    void keycloakRealmRolesAndFullGroupPaths() {
        OidcClaims keycloak = claims(null, null, "realm_access.roles",
                Map.of("gateway-security", Set.of(Role.SECURITY, Role.AUDITOR)), "team-", Map.of());

        OidcClaims.Mapping m = keycloak.map(Map.of("sub", "f3a1", "preferred_username", "erin",
                "groups", List.of("/team-payments", "/team-Invalid Name", "/other"),
                "realm_access", Map.of("roles", List.of("gateway-security", "offline_access"))));

        assertThat(m.status()).isEqualTo(200);
        assertThat(m.principal().name()).isEqualTo("oidc:erin");
        assertThat(m.principal().roles()).containsExactlyInAnyOrder(Role.SECURITY, Role.AUDITOR);
        assertThat(m.principal().teams()).containsExactly("payments");
    }

    @Test
    void adfsUpnAndASingleGroupAsAString() {
        OidcClaims adfs = claims("upn", "group", null, Map.of("GW-Builders", Set.of(Role.BUILDER)), null,
                Map.of("GW-Builders", Set.of("lending", "risk")));

        OidcClaims.Mapping m = adfs.map(Map.of("sub", "x", "upn", "dave@corp.example", "group", "GW-Builders"));

        assertThat(m.principal().name()).isEqualTo("oidc:dave@corp.example");
        assertThat(m.principal().roles()).containsExactly(Role.BUILDER);
        assertThat(m.principal().teams()).containsExactlyInAnyOrder("lending", "risk");
    }

    @Test
    void aClaimNameWithDotsIsReadAsItIsBeforeAsAPath() {
        String uri = "http://schemas.xmlsoap.org/claims/Group";
        OidcClaims uriClaims = claims(null, uri, null, Map.of("builders", Set.of(Role.BUILDER)), null, Map.of());

        assertThat(uriClaims.map(Map.of("sub", "s1", uri, List.of("builders"))).principal().roles())
                .containsExactly(Role.BUILDER);
    }

    @Test
    void fallsBackToSubAndRefusesTokensWithoutAUsableName() {
        OidcClaims c = claims(null, null, null, Map.of("b", Set.of(Role.BUILDER)), null, Map.of());

        assertThat(c.map(Map.of("sub", "248289761001", "groups", List.of("b"))).principal().name())
                .isEqualTo("oidc:248289761001");
        assertThat(c.map(Map.of("groups", List.of("b"))).status()).isEqualTo(401);
        assertThat(c.map(Map.of("sub", "a\nb", "groups", List.of("b"))).status()).isEqualTo(401);
        assertThat(c.map(Map.of("sub", "x".repeat(151), "groups", List.of("b"))).status()).isEqualTo(401);
    }

    @Test
    void noMappedRoleIsForbiddenEvenWithTeams() {
        OidcClaims c = claims(null, null, null, Map.of("b", Set.of(Role.BUILDER)), "team-", Map.of());

        OidcClaims.Mapping m = c.map(Map.of("sub", "s", "preferred_username", "frank",
                "groups", List.of("team-payments", 42, Map.of("x", 1))));

        assertThat(m.status()).isEqualTo(403);
        assertThat(m.failure()).contains("oidc:frank");
    }

    @Test
    void rolesClaimValuesDoNotMakeTeams() {
        OidcClaims c = claims(null, null, "roles", Map.of("team-payments", Set.of(Role.BUILDER)), "team-", Map.of());

        OidcClaims.Mapping m = c.map(Map.of("sub", "s", "roles", List.of("team-payments")));

        assertThat(m.principal().roles()).containsExactly(Role.BUILDER);
        assertThat(m.principal().teams()).isEmpty();
    }
}
