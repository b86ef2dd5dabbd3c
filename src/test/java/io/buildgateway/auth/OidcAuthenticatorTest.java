package io.buildgateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The JWT path against a real (tiny) identity provider over HTTP: real RSA signatures, a real JWKS fetch, Spring
 * Security's decoder; each refusal with its own reason.
 */
class OidcAuthenticatorTest {

    static final TestIdentityProvider IDP = TestIdentityProvider.start();

    @AfterAll
    static void stop() {
        IDP.close();
    }

    static AuthProperties.Oidc config(String issuer, String jwks) {
        return new AuthProperties.Oidc(issuer, jwks, List.of(TestIdentityProvider.AUDIENCE), List.of("RS256"),
                "preferred_username", "groups", "realm_access.roles",
                Map.of("gateway-builders", Set.of(Role.BUILDER), "gateway-admins", Set.of(Role.ADMIN)), "team-",
                Map.of(), Duration.ofSeconds(30), Duration.ofSeconds(2));
    }

    private final OidcAuthenticator authenticator =
            new OidcAuthenticator(config(IDP.issuer(), IDP.jwksUri()), Clock.systemUTC());

    @Test
    void acceptsASignedTokenAndMapsGroupsToRolesAndTeams() {
        OidcAuthenticator.Outcome o = authenticator.authenticate(
                IDP.token("alice", List.of("gateway-builders", "team-payments", "unrelated")));

        assertThat(o.status()).as(o.reason()).isEqualTo(200);
        assertThat(o.principal().name()).isEqualTo("oidc:alice");
        assertThat(o.principal().roles()).containsExactly(Role.BUILDER);
        assertThat(o.principal().teams()).containsExactly("payments");
        assertThat(o.principal().tokenId()).isNull();
    }

    @Test
    void refusesATokenOfAnotherIssuer() {
        OidcAuthenticator.Outcome o = authenticator.authenticate(IDP.token(c -> c.issuer("https://evil.example/realms/x")
                .claim("preferred_username", "mallory").claim("groups", List.of("gateway-admins"))));

        assertThat(o.status()).isEqualTo(401);
        assertThat(o.reason()).contains("not issued by the configured identity provider");
        assertThat(o.principal()).isNull();
    }

    @Test
    void refusesAnExpiredTokenBeyondTheClockSkew() {
        Instant past = Instant.now().minus(Duration.ofMinutes(10));
        OidcAuthenticator.Outcome o = authenticator.authenticate(IDP.token(c -> c.issueTime(Date.from(past))
                .expirationTime(Date.from(past.plus(Duration.ofMinutes(5))))
                .claim("preferred_username", "alice").claim("groups", List.of("gateway-builders"))));

        assertThat(o.status()).isEqualTo(401);
        assertThat(o.reason()).startsWith("the token expired at");
    }

    @Test
    void acceptsATokenThatExpiredWithinTheClockSkew() {
        Instant now = Instant.now();
        OidcAuthenticator.Outcome o = authenticator.authenticate(IDP.token(c -> c
                .issueTime(Date.from(now.minus(Duration.ofMinutes(6))))
                .expirationTime(Date.from(now.minusSeconds(10)))
                .claim("preferred_username", "alice").claim("groups", List.of("gateway-builders"))));

        assertThat(o.status()).as(o.reason()).isEqualTo(200);
    }

    @Test
    void refusesATokenWithoutExpiryOrNotYetValid() {
        assertThat(authenticator.authenticate(IDP.token(c -> c.expirationTime(null)
                .claim("groups", List.of("gateway-builders")))).reason()).contains("no expiry");
        assertThat(authenticator.authenticate(IDP.token(c -> c
                .notBeforeTime(Date.from(Instant.now().plus(Duration.ofMinutes(3))))
                .claim("groups", List.of("gateway-builders")))).reason()).contains("not valid before");
    }

    @Test
    void refusesATokenMeantForAnotherApplication() {
        OidcAuthenticator.Outcome o = authenticator.authenticate(IDP.token(c -> c.audience("payroll")
                .claim("groups", List.of("gateway-builders"))));

        assertThat(o.status()).isEqualTo(401);
        assertThat(o.reason()).contains("not meant for the gateway");
    }

    @Test
    void refusesATokenSignedWithAnUnpublishedKey() {
        OidcAuthenticator.Outcome o = authenticator.authenticate(IDP.forged("alice", List.of("gateway-admins")));

        assertThat(o.status()).isEqualTo(401);
        assertThat(o.reason()).contains("signature");
    }

    @Test
    void refusesAnUnsignedTokenAndATamperedOne() {
        String valid = IDP.token("alice", List.of("gateway-builders"));
        String[] parts = valid.split("\\.");
        String none = Base64.getUrlEncoder().withoutPadding()
                .encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes()) + "." + parts[1] + ".";
        String payload = new String(Base64.getUrlDecoder().decode(parts[1]))
                .replace("gateway-builders", "gateway-admins");
        String tampered = parts[0] + "." + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(payload.getBytes()) + "." + parts[2];

        assertThat(authenticator.authenticate(none).status()).isEqualTo(401);
        assertThat(authenticator.authenticate(tampered).status()).isEqualTo(401);
        assertThat(authenticator.authenticate(tampered).reason()).contains("signature");
        assertThat(authenticator.authenticate("eyJhbGciOi.bm90IGpzb24.c2ln").reason()).contains("not a well-formed");
        Instant now = Instant.now();
        assertThat(authenticator.authenticate(IDP.token(c -> c.issueTime(Date.from(now))
                .expirationTime(Date.from(now.minusSeconds(1))).claim("groups", List.of("gateway-builders"))))
                .reason()).contains("inconsistent");
    }

    @Test
    void aValidIdentityWithoutAMappedRoleIsForbidden() {
        OidcAuthenticator.Outcome o = authenticator.authenticate(IDP.token("bob", List.of("team-payments")));

        assertThat(o.status()).isEqualTo(403);
        assertThat(o.reason()).contains("oidc:bob").contains("role-map");
        assertThat(o.principal().name()).isEqualTo("oidc:bob");
        assertThat(o.principal().roles()).isEmpty();
    }

    @Test
    void findsTheKeysThroughDiscoveryWhenNoJwkSetUriIsConfigured() {
        OidcAuthenticator discovering = new OidcAuthenticator(config(IDP.issuer(), null), Clock.systemUTC());

        OidcAuthenticator.Outcome o = discovering.authenticate(IDP.token("carol", List.of("gateway-admins")));

        assertThat(o.status()).as(o.reason()).isEqualTo(200);
        assertThat(o.principal().roles()).containsExactly(Role.ADMIN);
    }

    @Test
    void anUnreachableIdentityProviderIs503AndRecovers() {
        OidcAuthenticator fresh = new OidcAuthenticator(config(IDP.issuer(), IDP.jwksUri()), Clock.systemUTC());
        IDP.down(true);
        try {
            OidcAuthenticator.Outcome o = fresh.authenticate(IDP.token("alice", List.of("gateway-builders")));
            assertThat(o.status()).isEqualTo(503);
            assertThat(o.reason()).contains("cannot be fetched");
        } finally {
            IDP.down(false);
        }
        OidcAuthenticator.Outcome later = fresh.authenticate(IDP.token("alice", List.of("gateway-builders")));
        assertThat(later.status()).as(later.reason()).isEqualTo(200);
    }

    @Test
    void fetchesTheKeysOnceNotPerRequest() {
        OidcAuthenticator fresh = new OidcAuthenticator(config(IDP.issuer(), IDP.jwksUri()), Clock.systemUTC());
        int before = IDP.jwksRequests();

        for (int i = 0; i < 20; i++) {
            assertThat(fresh.authenticate(IDP.token("user" + i, List.of("gateway-builders"))).status()).isEqualTo(200);
        }

        assertThat(IDP.jwksRequests() - before).isEqualTo(1);
    }

    @Test
    void tokensWithUnknownKeyIdsDoNotMakeTheGatewayHammerTheProvider() {
        OidcAuthenticator fresh = new OidcAuthenticator(config(IDP.issuer(), IDP.jwksUri()), Clock.systemUTC());
        assertThat(fresh.authenticate(IDP.token("alice", List.of("gateway-builders"))).status()).isEqualTo(200);
        int before = IDP.jwksRequests();

        for (int i = 0; i < 20; i++) {
            assertThat(fresh.authenticate(IDP.unknownKey("kid-" + i)).status()).isEqualTo(401);
        }

        assertThat(IDP.jwksRequests() - before).isLessThanOrEqualTo(1);
    }

    @Test
    void anOutageOfTheProviderAfterTheKeysWereReadDoesNotStopValidTokens() {
        OidcAuthenticator fresh = new OidcAuthenticator(config(IDP.issuer(), IDP.jwksUri()), Clock.systemUTC());
        assertThat(fresh.authenticate(IDP.token("alice", List.of("gateway-builders"))).status()).isEqualTo(200);
        IDP.down(true);
        try {
            assertThat(fresh.authenticate(IDP.token("bob", List.of("gateway-builders"))).status()).isEqualTo(200);
        } finally {
            IDP.down(false);
        }
    }

    @Test
    void discoveryRetriesAfterTheProviderComesBack() {
        OidcAuthenticator discovering = new OidcAuthenticator(config(IDP.issuer(), null), Clock.systemUTC());
        IDP.down(true);
        try {
            assertThat(discovering.authenticate(IDP.token("alice", List.of("gateway-builders"))).status())
                    .isEqualTo(503);
        } finally {
            IDP.down(false);
        }
        OidcAuthenticator.Outcome o = discovering.authenticate(IDP.token("alice", List.of("gateway-builders")));
        assertThat(o.status()).as(o.reason()).isEqualTo(200);
    }

    @Test
    void recognisesJwtShapedCredentialsOnly() {
        assertThat(OidcAuthenticator.looksLikeJwt(IDP.token("alice", List.of()))).isTrue();
        assertThat(OidcAuthenticator.looksLikeJwt("bgw_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")).isFalse();
        assertThat(OidcAuthenticator.looksLikeJwt("it-admin-1f1b7e0e-8c1b-4c9e-9d7e-0c7f6a1f0b55")).isFalse();
        assertThat(OidcAuthenticator.looksLikeJwt("eyJ.a.b.c.d")).isFalse();
    }
}
