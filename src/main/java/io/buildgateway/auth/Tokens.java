package io.buildgateway.auth;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.RequestInfo;
import io.buildgateway.shared.TeamName;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/**
 * Gateway tokens: issued as random 256-bit secrets shown once, stored as SHA-256 only, checked on every request so
 * that expiry and revocation take effect on the next call.
 */
@Service
public class Tokens {

    public static final String SECRET_PREFIX = "bgw_";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final ApiTokenRepository tokens;
    private final Teams teams;
    private final AuthProperties properties;
    private final ApplicationEventPublisher events;
    private final Clock clock;

    Tokens(ApiTokenRepository tokens, Teams teams, AuthProperties properties, ApplicationEventPublisher events,
            Clock clock) {
        this.tokens = tokens;
        this.teams = teams;
        this.properties = properties;
        this.events = events;
        this.clock = clock;
    }

    /** What a token looks like to an admin: everything but the secret. */
    public record TokenView(UUID id, String name, Set<Role> roles, Set<String> teams, Instant createdAt,
            String createdBy, Instant expiresAt, Instant revokedAt, Instant lastUsedAt) {
    }

    /** The one response that carries the secret. */
    public record IssuedToken(TokenView view, String secret) {
        @Override
        public String toString() {
            return "IssuedToken[" + view + ", secret=***]";
        }
    }

    /** Why authentication failed, for the 401 detail. */
    public enum Failure { UNKNOWN, EXPIRED, REVOKED }

    public record Authentication(GatewayPrincipal principal, Failure failure) {
    }

    @Transactional
    public IssuedToken issue(String name, Set<Role> roles, Set<String> teamNames, Instant expiresAt,
            RequestInfo request) {
        Instant now = clock.instant();
        if (name == null || name.isBlank() || name.length() > 100 || name.chars().anyMatch(Character::isISOControl)) {
            throw Problem.badRequest("invalid-body", "name must be 1 to 100 printable characters")
                    .with("errors", List.of(Map.of("field", "name", "message", "must be 1 to 100 printable characters")));
        }
        if (roles == null || roles.isEmpty()) {
            throw Problem.badRequest("invalid-body", "a token needs at least one role")
                    .with("errors", List.of(Map.of("field", "roles", "message", "must not be empty")));
        }
        Set<String> teamSet = new TreeSet<>(teamNames == null ? Set.of() : teamNames);
        for (String team : teamSet) {
            if (!TeamName.isValid(team)) {
                throw Problem.badRequest("invalid-body", "team '" + team + "' is not a valid team name")
                        .with("errors", List.of(Map.of("field", "teams", "message", "invalid team name")));
            }
        }
        Instant latest = now.plus(properties.maxTokenLifetime());
        Instant expiry = expiresAt == null ? latest : expiresAt;
        if (!expiry.isAfter(now)) {
            throw Problem.badRequest("invalid-body", "expiresAt must be in the future")
                    .with("errors", List.of(Map.of("field", "expiresAt", "message", "must be in the future")));
        }
        if (expiry.isAfter(latest)) {
            throw Problem.badRequest("invalid-body", "expiresAt is beyond the maximum token lifetime of "
                    + properties.maxTokenLifetime().toDays() + " days")
                    .with("errors", List.of(Map.of("field", "expiresAt", "message", "beyond the maximum lifetime")));
        }
        for (String team : teamSet) {
            teams.ensure(team, request);
        }
        return create(name, EnumSet.copyOf(roles), teamSet, expiry, request);
    }

    private IssuedToken create(String name, Set<Role> roles, Set<String> teamSet, Instant expiry, RequestInfo request) {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        String secret = SECRET_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        return new IssuedToken(store(name, secret, roles, teamSet, expiry, request), secret);
    }

    private TokenView store(String name, String secret, Set<Role> roles, Set<String> teamSet, Instant expiry,
            RequestInfo request) {
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        ApiToken token = new ApiToken(UUID.randomUUID(), name, hash(secret), roles, teamSet, now, request.actor(),
                expiry == null ? null : expiry.truncatedTo(ChronoUnit.MICROS));
        tokens.save(token);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("name", name);
        details.put("roles", roles.stream().map(Enum::name).sorted().toList());
        details.put("teams", List.copyOf(teamSet));
        details.put("expiresAt", expiry == null ? null : expiry.toString());
        events.publishEvent(new AuditRecord("token.issued", "token/" + token.id(), Outcome.SUCCESS, details, request));
        return view(token);
    }

    /** Creates the bootstrap ADMIN token from a configured secret unless a token with that secret exists. */
    @Transactional
    public boolean ensureBootstrap(String secret) {
        if (tokens.findBySecretHash(hash(secret)).isPresent()) {
            return false;
        }
        store("bootstrap-admin", secret, EnumSet.of(Role.ADMIN), Set.of(), null, RequestInfo.system());
        return true;
    }

    @Transactional(readOnly = true)
    public List<TokenView> list() {
        return tokens.findAllByOrderByCreatedAtDesc().stream().map(Tokens::view).toList();
    }

    @Transactional
    public void revoke(UUID id, RequestInfo request) {
        ApiToken token = tokens.findById(id).orElseThrow(() -> Problem.notFound("token " + id));
        boolean already = token.revokedAt() != null;
        token.revoke(clock.instant());
        events.publishEvent(new AuditRecord("token.revoked", "token/" + id, Outcome.SUCCESS,
                Map.of("name", token.name(), "alreadyRevoked", already), request));
    }

    /** Checks a presented secret. Records the last use at most once a minute per token. */
    @Transactional
    public Authentication authenticate(String secret) {
        Optional<ApiToken> found = tokens.findBySecretHash(hash(secret));
        if (found.isEmpty()) {
            return new Authentication(null, Failure.UNKNOWN);
        }
        ApiToken token = found.get();
        Instant now = clock.instant();
        if (token.revokedAt() != null) {
            return new Authentication(null, Failure.REVOKED);
        }
        if (!token.activeAt(now)) {
            return new Authentication(null, Failure.EXPIRED);
        }
        if (token.lastUsedAt() == null || token.lastUsedAt().isBefore(now.minusSeconds(60))) {
            tokens.touch(token.id(), now);
        }
        return new Authentication(new GatewayPrincipal(token.id(), token.name(), token.roles(), token.teams()), null);
    }

    static String hash(String secret) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }

    private static TokenView view(ApiToken t) {
        return new TokenView(t.id(), t.name(), t.roles(), t.teams(), t.createdAt(), t.createdBy(), t.expiresAt(),
                t.revokedAt(), t.lastUsedAt());
    }
}
