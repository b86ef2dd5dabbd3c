package io.buildgateway.auth;

import io.buildgateway.shared.TeamName;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.security.auth.x500.X500Principal;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.security.oauth2.jose.jws.SignatureAlgorithm;
import org.springframework.validation.annotation.Validated;

/**
 * Authentication settings (docs/identity.md). The bootstrap admin secret comes from {@code GATEWAY_BOOTSTRAP_TOKEN};
 * it has no default and is kept out of {@link #toString()}.
 *
 * @param bootstrapToken secret of an ADMIN token created at start-up when absent
 * @param scrapeToken optional secret that may read {@code /actuator/prometheus} only
 * @param maxTokenLifetime the longest a token may live, per role; also the expiry of tokens created without one
 * @param rotationGracePeriod how long a rotated token's old secret keeps working when the request names no period
 * @param maxRotationGracePeriod the longest grace period a rotation may ask for
 * @param lastUsedResolution a token's last-used time is written at most once per this period (no write per request)
 * @param tokenCheckTtl how long a replica keeps a token's row after reading it for a request ({@code TokenCheckCache}):
 *        a revocation or rotation made on another replica takes effect here at most this much later (on this replica:
 *        at once; expiry: exactly); 0 reads the row on every request
 * @param tokenCheckCacheEntries the most token rows a replica keeps (a full cache is emptied)
 * @param oidc JWTs of the company's identity provider; off unless {@code issuer-uri} is set
 * @param mtls client certificates of machine clients, by subject; used when the server asks for client certificates
 */
@Validated
@ConfigurationProperties("gateway.auth")
public record AuthProperties(
        String bootstrapToken,
        String scrapeToken,
        @NotNull @DefaultValue("365d") TokenLifetimes maxTokenLifetime,
        @NotNull @DefaultValue("24h") Duration rotationGracePeriod,
        @NotNull @DefaultValue("7d") Duration maxRotationGracePeriod,
        @NotNull @DefaultValue("60s") Duration lastUsedResolution,
        @NotNull @DefaultValue("2s") Duration tokenCheckTtl,
        @Min(1) @DefaultValue("10000") int tokenCheckCacheEntries,
        @Valid @NotNull @DefaultValue Oidc oidc,
        @Valid @NotNull @DefaultValue Mtls mtls) {

    /** The longest {@code token-check-ttl} accepted: how late a revocation on another replica may take effect. */
    static final Duration MAX_TOKEN_CHECK_TTL = Duration.ofSeconds(30);

    public AuthProperties {
        if (tokenCheckTtl != null && (tokenCheckTtl.isNegative() || tokenCheckTtl.compareTo(MAX_TOKEN_CHECK_TTL) > 0)) {
            throw new IllegalArgumentException("gateway.auth.token-check-ttl must be between 0 and "
                    + MAX_TOKEN_CHECK_TTL + " (a revocation on another replica takes effect that much later)");
        }
        if (rotationGracePeriod != null && maxRotationGracePeriod != null
                && (rotationGracePeriod.isNegative() || rotationGracePeriod.compareTo(maxRotationGracePeriod) > 0)) {
            throw new IllegalArgumentException("gateway.auth.rotation-grace-period must be between 0 and "
                    + "gateway.auth.max-rotation-grace-period (" + maxRotationGracePeriod + ")");
        }
    }

    /**
     * The company's OpenID Connect provider (Keycloak, ADFS, ...). The gateway is a resource server: it never sees a
     * password, it verifies the JWT's signature against the provider's published keys and maps its claims.
     *
     * @param issuerUri the exact {@code iss} of the provider's tokens; unset = JWTs are not accepted
     * @param jwkSetUri where the provider publishes its signing keys; unset = discovered from
     *        {@code <issuer-uri>/.well-known/openid-configuration} on first use
     * @param audiences the token's {@code aud} must contain one of these (required: a token minted for another
     *        application of the company must not open the gateway)
     * @param jwsAlgorithms accepted signature algorithms
     * @param usernameClaim the claim naming the person; the principal is {@code oidc:<value>} ({@code sub} when absent)
     * @param groupsClaim claim with the caller's groups (dotted path for nested claims, e.g. {@code realm_access.roles});
     *        mapped to roles by {@code role-map} and to teams by {@code team-prefix} and {@code team-map}
     * @param rolesClaim optional second claim whose values are mapped to roles by {@code role-map} (not to teams)
     * @param roleMap group or role value → gateway roles
     * @param teamPrefix a group {@code <prefix><team>} makes the caller a member of {@code <team>}
     * @param teamMap group → teams, for groups whose names do not follow the prefix rule
     * @param clockSkew tolerance for {@code exp} and {@code nbf}
     * @param jwksTimeout connect and read timeout when fetching the keys
     */
    public record Oidc(
            String issuerUri,
            String jwkSetUri,
            @DefaultValue List<String> audiences,
            @DefaultValue("RS256") List<String> jwsAlgorithms,
            @DefaultValue("preferred_username") String usernameClaim,
            @DefaultValue("groups") String groupsClaim,
            String rolesClaim,
            @DefaultValue Map<String, Set<Role>> roleMap,
            String teamPrefix,
            @DefaultValue Map<String, Set<String>> teamMap,
            @DefaultValue("60s") Duration clockSkew,
            @DefaultValue("5s") Duration jwksTimeout) {

        public Oidc {
            audiences = audiences == null ? List.of() : List.copyOf(audiences);
            jwsAlgorithms = jwsAlgorithms == null || jwsAlgorithms.isEmpty() ? List.of("RS256") : List.copyOf(jwsAlgorithms);
            roleMap = roleMap == null ? Map.of() : Map.copyOf(roleMap);
            teamMap = teamMap == null ? Map.of() : Map.copyOf(teamMap);
            usernameClaim = blank(usernameClaim) ? "preferred_username" : usernameClaim;
            groupsClaim = blank(groupsClaim) ? "groups" : groupsClaim;
            clockSkew = clockSkew == null ? Duration.ofSeconds(60) : clockSkew;
            jwksTimeout = jwksTimeout == null ? Duration.ofSeconds(5) : jwksTimeout;
            if (!blank(issuerUri)) {
                if (audiences.isEmpty()) {
                    throw new IllegalArgumentException("gateway.auth.oidc.audiences must name at least one audience "
                            + "when gateway.auth.oidc.issuer-uri is set");
                }
                for (String alg : jwsAlgorithms) {
                    if (SignatureAlgorithm.from(alg) == null) {
                        throw new IllegalArgumentException("gateway.auth.oidc.jws-algorithms: unknown algorithm '"
                                + alg + "' (RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512)");
                    }
                }
                teamMap.forEach((group, teams) -> teams.forEach(t -> {
                    if (!TeamName.isValid(t)) {
                        throw new IllegalArgumentException("gateway.auth.oidc.team-map: '" + t + "' (for group '"
                                + group + "') is not a valid team name");
                    }
                }));
                if (clockSkew.isNegative() || clockSkew.compareTo(Duration.ofMinutes(5)) > 0) {
                    throw new IllegalArgumentException("gateway.auth.oidc.clock-skew must be between 0 and 5 minutes");
                }
            }
        }

        public boolean enabled() {
            return !blank(issuerUri);
        }
    }

    /**
     * Machine clients (CI agents) that authenticate with a client certificate. TLS itself is the server's
     * ({@code server.ssl.*} with {@code client-auth: want}); this maps a verified certificate's subject to a principal.
     *
     * @param clients the certificates the gateway knows, by subject distinguished name
     */
    public record Mtls(@DefaultValue List<Client> clients) {

        public Mtls {
            clients = clients == null ? List.of() : List.copyOf(clients);
            Set<X500Principal> subjects = new HashSet<>();
            Set<String> names = new HashSet<>();
            for (Client c : clients) {
                if (!subjects.add(c.principal())) {
                    throw new IllegalArgumentException("gateway.auth.mtls.clients: subject '" + c.subject()
                            + "' is listed twice");
                }
                if (!names.add(c.name())) {
                    throw new IllegalArgumentException("gateway.auth.mtls.clients: name '" + c.name()
                            + "' is used twice");
                }
            }
        }

        /**
         * @param subject the certificate's subject DN, e.g. {@code CN=ci-payments,OU=CI,O=Example}; compared as X.500
         *        names (attribute order as in the certificate; case and spacing do not matter)
         * @param name the principal's name after {@code mtls:}; the subject's CN when unset
         * @param roles the roles of this client (at least one)
         * @param teams the teams of this client
         */
        public record Client(String subject, String name, Set<Role> roles, Set<String> teams) {

            public Client {
                if (blank(subject)) {
                    throw new IllegalArgumentException("gateway.auth.mtls.clients: every client needs a subject");
                }
                X500Principal principal;
                try {
                    principal = new X500Principal(subject);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("gateway.auth.mtls.clients: '" + subject
                            + "' is not a distinguished name (e.g. CN=ci-payments,O=Example)");
                }
                if (roles == null || roles.isEmpty()) {
                    throw new IllegalArgumentException("gateway.auth.mtls.clients: '" + subject
                            + "' needs at least one role");
                }
                teams = teams == null ? Set.of() : Set.copyOf(teams);
                for (String t : teams) {
                    if (!TeamName.isValid(t)) {
                        throw new IllegalArgumentException("gateway.auth.mtls.clients: '" + t
                                + "' is not a valid team name");
                    }
                }
                roles = Set.copyOf(roles);
                if (blank(name)) {
                    name = ClientCertificates.commonName(principal);
                    if (name == null) {
                        throw new IllegalArgumentException("gateway.auth.mtls.clients: '" + subject
                                + "' has no CN; give the client a name");
                    }
                }
                if (name.length() > 100 || name.chars().anyMatch(Character::isISOControl)) {
                    throw new IllegalArgumentException("gateway.auth.mtls.clients: name '" + name
                            + "' must be 1 to 100 printable characters");
                }
            }

            X500Principal principal() {
                return new X500Principal(subject);
            }
        }
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    @Override
    public String toString() {
        return "AuthProperties[bootstrapToken=" + (blank(bootstrapToken) ? "unset" : "***")
                + ", scrapeToken=" + (blank(scrapeToken) ? "unset" : "***")
                + ", maxTokenLifetime=" + maxTokenLifetime + ", rotationGracePeriod=" + rotationGracePeriod
                + ", maxRotationGracePeriod=" + maxRotationGracePeriod + ", lastUsedResolution=" + lastUsedResolution
                + ", tokenCheckTtl=" + tokenCheckTtl + ", tokenCheckCacheEntries=" + tokenCheckCacheEntries
                + ", oidc=" + oidc + ", mtls=" + mtls + "]";
    }
}
