package io.buildgateway.auth;

import static io.buildgateway.shared.Columns.instant;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.RequestInfo;
import io.buildgateway.shared.TeamName;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
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
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Gateway tokens: issued as random 256-bit secrets shown once, stored as SHA-256 only, checked on every request so
 * that expiry and revocation take effect on the next call. Lifecycle (docs/identity.md): a maximum lifetime per
 * role, rotation to a new secret with a grace period for the old one, the last-used time (written at most once per
 * {@code gateway.auth.last-used-resolution}), and the list of tokens about to expire.
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
    private final JdbcTemplate jdbc;
    private final TokenCheckCache cache;

    Tokens(ApiTokenRepository tokens, Teams teams, AuthProperties properties, ApplicationEventPublisher events,
            Clock clock, JdbcTemplate jdbc) {
        this.jdbc = jdbc;
        this.cache = new TokenCheckCache(properties.tokenCheckTtl(), properties.tokenCheckCacheEntries(),
                System::nanoTime);
        this.tokens = tokens;
        this.teams = teams;
        this.properties = properties;
        this.events = events;
        this.clock = clock;
    }

    /** What a token looks like to an admin: everything but the secret. */
    public record TokenView(UUID id, String name, Set<Role> roles, Set<String> teams, Instant createdAt,
            String createdBy, Instant expiresAt, Instant revokedAt, Instant lastUsedAt, Instant rotatedAt,
            Instant previousSecretRetiresAt, Instant previousSecretLastUsedAt) {
    }

    /** The one response that carries the secret. */
    public record IssuedToken(TokenView view, String secret) {
        @Override
        public String toString() {
            return "IssuedToken[" + view + ", secret=***]";
        }
    }

    /** Why authentication failed, for the 401 detail. */
    public enum Failure { UNKNOWN, EXPIRED, REVOKED, RETIRED }

    /**
     * A principal, or why not. {@code previousSecret}: the caller used a rotated token's previous secret within its
     * grace period; {@code retiredAt}: when that secret stopped working (with {@link Failure#RETIRED}).
     */
    public record Authentication(GatewayPrincipal principal, Failure failure, boolean previousSecret,
            Instant retiredAt, UUID tokenId, String tokenName) {

        static Authentication failed(Failure failure) {
            return new Authentication(null, failure, false, null, null, null);
        }

        /** A known token that did not authenticate (revoked, expired, a retired secret): which one, for the trail. */
        static Authentication failed(Failure failure, TokenCheck token, boolean previousSecret, Instant retiredAt) {
            return new Authentication(null, failure, previousSecret, retiredAt, token.id(), token.name());
        }
    }

    /** The answer to a rotation: the token with its new secret, shown this once. */
    public record RotatedToken(TokenView view, String secret) {
        @Override
        public String toString() {
            return "RotatedToken[" + view + ", secret=***]";
        }
    }

    @Transactional
    public IssuedToken issue(String name, Set<Role> roles, Set<String> teamNames, Instant expiresAt,
            RequestInfo request) {
        Instant now = clock.instant();
        // Printable ASCII only: the name is the actor of the token's events, and a zero-width space, a no-break space
        // or a look-alike letter would make a name read as a reserved one ("system\u200B", Cyrillic "ѕystem").
        if (name == null || name.isBlank() || name.length() > 100 || name.chars().anyMatch(c -> c < 0x20 || c > 0x7E)) {
            throw Problem.badRequest("invalid-body", "name must be 1 to 100 printable ASCII characters")
                    .with("errors", List.of(Map.of("field", "name", "message",
                            "must be 1 to 100 printable ASCII characters")));
        }
        String reserved = reservedNameRule(name);
        if (reserved != null) {
            throw Problem.badRequest("invalid-body", "name '" + name.strip() + "' is reserved: " + reserved)
                    .with("errors", List.of(Map.of("field", "name", "message", reserved)));
        }
        if (roles == null || roles.isEmpty()) {
            throw Problem.badRequest("invalid-body", "a token needs at least one role")
                    .with("errors", List.of(Map.of("field", "roles", "message", "must not be empty")));
        }
        // JSON's [null] reaches here as a set holding null: refused, not a NullPointerException (a 500).
        if (roles.stream().anyMatch(java.util.Objects::isNull)) { // not contains(null): Set.of would throw
            throw Problem.badRequest("invalid-body", "roles must not hold null")
                    .with("errors", List.of(Map.of("field", "roles", "message", "must not hold null")));
        }
        if (teamNames != null && teamNames.stream().anyMatch(java.util.Objects::isNull)) {
            throw Problem.badRequest("invalid-body", "teams must not hold null")
                    .with("errors", List.of(Map.of("field", "teams", "message", "must not hold null")));
        }
        Set<String> teamSet = new TreeSet<>(teamNames == null ? Set.of() : teamNames);
        for (String team : teamSet) {
            if (!TeamName.isValid(team)) {
                throw Problem.badRequest("invalid-body", "team '" + team + "' is not a valid team name")
                        .with("errors", List.of(Map.of("field", "teams", "message", "invalid team name")));
            }
        }
        Instant expiry = expiry(EnumSet.copyOf(roles), expiresAt, now);
        for (String team : teamSet) {
            teams.ensure(team, request);
        }
        return create(name, EnumSet.copyOf(roles), teamSet, expiry, request);
    }

    /**
     * Names the trail already uses for other callers: the gateway's own work ({@code system}, the automatic
     * rebuilds' {@code gateway}), callers without a credential, the bootstrap token, the internal principals, the
     * summaries' bucket. A token is the actor of its events by name, so a token of such a name would act as them.
     */
    static final Set<String> RESERVED_NAMES = Set.of(RequestInfo.SYSTEM, "anonymous", "gateway", "bootstrap-admin",
            "warm-up", "prometheus-scraper", "rebuild", "(others)");
    /** The prefixes of identity-provider and client-certificate principals, and of how the trail may name tokens. */
    static final List<String> RESERVED_PREFIXES = List.of(OidcClaims.PREFIX, "mtls:", "token:");

    /** Why a token may not have this name (compared ignoring case and surrounding white space), or null. */
    static String reservedNameRule(String name) {
        String n = name.strip().toLowerCase(java.util.Locale.ROOT);
        if (RESERVED_NAMES.contains(n)) {
            return "names used by the gateway itself or by other kinds of caller are reserved ("
                    + String.join(", ", new TreeSet<>(RESERVED_NAMES)) + ")";
        }
        for (String prefix : RESERVED_PREFIXES) {
            if (n.startsWith(prefix)) {
                return "names starting with " + String.join(", ", RESERVED_PREFIXES)
                        + " are reserved for identity-provider, client-certificate and token principals";
            }
        }
        return null;
    }

    /** The requested expiry, or the maximum for these roles when none is asked for; 400 beyond the maximum. */
    private Instant expiry(Set<Role> roles, Instant requested, Instant now) {
        Duration max = properties.maxTokenLifetime().forRoles(roles);
        Instant latest = now.plus(max);
        Instant expiry = requested == null ? latest : requested;
        if (!expiry.isAfter(now)) {
            throw Problem.badRequest("invalid-body", "expiresAt must be in the future")
                    .with("errors", List.of(Map.of("field", "expiresAt", "message", "must be in the future")));
        }
        if (expiry.isAfter(latest)) {
            throw Problem.badRequest("invalid-body", "expiresAt is beyond the maximum token lifetime of "
                    + describe(max) + " for a token with roles " + new TreeSet<>(roles))
                    .with("maxLifetime", max.toString())
                    .with("errors", List.of(Map.of("field", "expiresAt", "message", "beyond the maximum lifetime")));
        }
        return expiry;
    }

    private static String describe(Duration d) {
        return d.toSeconds() % 86_400 == 0 ? d.toDays() + " days" : d.toString();
    }

    private static String newSecret() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return SECRET_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    private IssuedToken create(String name, Set<Role> roles, Set<String> teamSet, Instant expiry, RequestInfo request) {
        String secret = newSecret();
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
        // Replicas started together on a new database would both find nothing and both insert, and the second's
        // unique secret hash would stop it from starting: the check and the insert are serialised across replicas.
        jdbc.queryForObject("select pg_advisory_xact_lock(?) is not null", Boolean.class, BOOTSTRAP_LOCK);
        if (tokens.findByAnySecretHash(hash(secret)).isPresent()) {
            return false;
        }
        store(BOOTSTRAP_NAME, secret, EnumSet.of(Role.ADMIN), Set.of(), null, RequestInfo.system());
        return true;
    }

    private static final String BOOTSTRAP_NAME = "bootstrap-admin";
    /** The transaction-scoped advisory lock of {@link #ensureBootstrap} (an arbitrary constant of this class). */
    private static final long BOOTSTRAP_LOCK = 0x6277_746f_6b65_6e31L;

    @Transactional(readOnly = true)
    public List<TokenView> list() {
        return tokens.findAllByOrderByCreatedAtDesc().stream().map(Tokens::view).toList();
    }

    @Transactional
    public void revoke(UUID id, RequestInfo request) {
        ApiToken token = tokens.findByIdForUpdate(id).orElseThrow(() -> Problem.notFound("token " + id));
        boolean already = token.revokedAt() != null;
        token.revoke(clock.instant());
        forgetNowAndAfterCommit(id);
        events.publishEvent(new AuditRecord("token.revoked", "token/" + id, Outcome.SUCCESS,
                Map.of("name", token.name(), "alreadyRevoked", already), request));
    }

    /**
     * Rotates a token's secret: the new secret is returned once; the old one keeps working for the grace period
     * (default {@code gateway.auth.rotation-grace-period}), never beyond the token's old expiry. An ADMIN rotating a
     * token may set a new expiry under the same rules as a new token (none given: the expiry stays); a token
     * rotating itself, with its current secret, keeps its expiry (it may shorten it, never extend it). The bootstrap token's secret lives in the environment and is not rotated here.
     */
    @Transactional
    public RotatedToken rotate(UUID id, Duration gracePeriod, Instant expiresAt, GatewayPrincipal caller,
            boolean callerUsedPreviousSecret, RequestInfo request) {
        boolean self = id.equals(caller.tokenId());
        if (!caller.has(Role.ADMIN)) {
            if (!self) {
                throw Problem.forbidden("only an ADMIN or the token itself may rotate token " + id);
            }
            if (callerUsedPreviousSecret) {
                throw Problem.forbidden("a token rotates itself with its current secret, not with a retiring one");
            }
        }
        // Locked: a revocation committing meanwhile is seen here (409), not overwritten by this rotation's update.
        ApiToken token = tokens.findByIdForUpdate(id).orElseThrow(() -> Problem.notFound("token " + id));
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        if (token.revokedAt() != null) {
            throw new Problem(409, "conflict", "Conflict", "token " + id + " is revoked; issue a new token");
        }
        if (!token.activeAt(now)) {
            throw new Problem(409, "conflict", "Conflict", "token " + id + " has expired; issue a new token");
        }
        if (BOOTSTRAP_NAME.equals(token.name()) && RequestInfo.SYSTEM.equals(token.createdBy())) {
            throw new Problem(409, "conflict", "Conflict", "the bootstrap token's secret is GATEWAY_BOOTSTRAP_TOKEN: "
                    + "change it there, or issue an ADMIN token and revoke the bootstrap token");
        }
        Duration grace = gracePeriod == null ? properties.rotationGracePeriod() : gracePeriod;
        if (grace.isNegative() || grace.compareTo(properties.maxRotationGracePeriod()) > 0) {
            throw Problem.badRequest("invalid-body", "gracePeriod must be between PT0S and "
                    + properties.maxRotationGracePeriod())
                    .with("errors", List.of(Map.of("field", "gracePeriod", "message", "out of range")));
        }
        Instant expiry = self || expiresAt == null ? selfRotationExpiry(token, expiresAt, now)
                : expiry(token.roles(), expiresAt, now).truncatedTo(ChronoUnit.MICROS);
        Instant retires = now.plus(grace);
        if (token.expiresAt() != null && token.expiresAt().isBefore(retires)) {
            retires = token.expiresAt();
        }
        boolean droppedPrevious = token.previousSecretHash() != null && token.previousSecretRetiresAt() != null
                && token.previousSecretRetiresAt().isAfter(now);
        Instant previousExpiry = token.expiresAt();
        String secret = newSecret();
        token.rotate(hash(secret), now, retires, expiry);
        forgetNowAndAfterCommit(id);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("name", token.name());
        details.put("by", self ? "self" : "admin");
        details.put("gracePeriod", grace.toString());
        details.put("previousSecretRetiresAt", retires.toString());
        details.put("expiresAt", expiry.toString());
        details.put("previousExpiresAt", previousExpiry == null ? null : previousExpiry.toString());
        details.put("droppedEarlierSecret", droppedPrevious);
        events.publishEvent(new AuditRecord("token.rotated", "token/" + id, Outcome.SUCCESS, details, request));
        return new RotatedToken(view(token), secret);
    }

    /**
     * A rotation that names no expiry keeps the token's expiry. A token rotating itself keeps the expiry it has: a stolen secret must not be able to keep itself alive by
     * rotating again and again. It may ask for an earlier expiry, never a later one (400); only an ADMIN's rotation
     * (of another token) sets a new expiry within the per-role maximum. This holds for ADMIN tokens rotating
     * themselves as well: an admin who needs a longer-lived token issues a new one, which is audited as such.
     */
    private static Instant selfRotationExpiry(ApiToken token, Instant requested, Instant now) {
        Instant current = token.expiresAt();
        if (requested == null) {
            return current;
        }
        if (!requested.isAfter(now)) {
            throw Problem.badRequest("invalid-body", "expiresAt must be in the future")
                    .with("errors", List.of(Map.of("field", "expiresAt", "message", "must be in the future")));
        }
        if (current != null && requested.isAfter(current)) {
            throw Problem.badRequest("invalid-body", "a token rotating itself keeps its expiry (" + current
                    + "); it may shorten it, not extend it. An ADMIN may set a later expiry")
                    .with("expiresAt", current.toString())
                    .with("errors", List.of(Map.of("field", "expiresAt",
                            "message", "beyond the token's current expiry")));
        }
        return requested.truncatedTo(ChronoUnit.MICROS);
    }

    /** Live tokens that expire within the given period from now, soonest first. */
    @Transactional(readOnly = true)
    public List<TokenView> expiring(Duration within) {
        Instant now = clock.instant();
        return tokens.findExpiring(now, now.plus(within)).stream().map(Tokens::view).toList();
    }

    /**
     * Checks a presented secret: a token's current secret, or its previous one within the grace period after a
     * rotation. Records the last use at most once per {@code gateway.auth.last-used-resolution} per token, so that
     * a busy token does not cost a write per request.
     *
     * <p>Every request passes here (issue #17, latency), so the row is one statement on a connection in auto-commit
     * mode (no transaction, only the columns the check needs), and a row found is kept for
     * {@code gateway.auth.token-check-ttl} ({@link TokenCheckCache}: expiry and a retired secret are still decided
     * from the clock on every request; a revocation or rotation on this replica takes effect on the next request, one
     * on another replica at most that long after). The last-use writes, when due, are statements of their own; they
     * never decide anything.
     */
    public Authentication authenticate(String secret) {
        String hash = hash(secret);
        TokenCheck token = cache.get(hash);
        if (token == null) {
            long readAt = cache.now();
            List<TokenCheck> found = jdbc.query(TokenCheck.SELECT, TokenCheck::read, hash, hash);
            if (found.isEmpty()) {
                return Authentication.failed(Failure.UNKNOWN);
            }
            token = found.get(0);
            cache.put(hash, token, readAt);
        }
        Instant now = clock.instant();
        if (token.revokedAt() != null) {
            return Authentication.failed(Failure.REVOKED, token, false, null);
        }
        if (token.expiresAt() != null && !now.isBefore(token.expiresAt())) {
            return Authentication.failed(Failure.EXPIRED, token, false, null);
        }
        boolean previous = !hash.equals(token.secretHash());
        if (previous && (token.previousSecretRetiresAt() == null || !now.isBefore(token.previousSecretRetiresAt()))) {
            return Authentication.failed(Failure.RETIRED, token, true, token.previousSecretRetiresAt());
        }
        Instant notAfter = now.minus(properties.lastUsedResolution());
        boolean lastUseDue = token.lastUsedAt() == null || token.lastUsedAt().isBefore(notAfter);
        boolean previousUseDue = previous && (token.previousSecretLastUsedAt() == null
                || token.previousSecretLastUsedAt().isBefore(notAfter));
        if (lastUseDue) {
            jdbc.update("update api_token set last_used_at = ? where id = ?"
                    + " and (last_used_at is null or last_used_at < ?)", utc(now), token.id(), utc(notAfter));
        }
        if (previousUseDue) {
            jdbc.update("update api_token set previous_secret_last_used_at = ? where id = ?"
                    + " and (previous_secret_last_used_at is null or previous_secret_last_used_at < ?)", utc(now),
                    token.id(), utc(notAfter));
        }
        if (lastUseDue || previousUseDue) {
            // the kept row learns what was written, so the requests within the resolution do not write it again
            cache.usedAt(hash, token, lastUseDue ? now : token.lastUsedAt(),
                    previousUseDue ? now : token.previousSecretLastUsedAt());
        }
        return new Authentication(new GatewayPrincipal(token.id(), token.name(), token.roleSet(), token.teamSet()),
                null, previous, null, null, null);
    }

    /** A revocation or rotation on this replica: its rows are dropped now and once the change is committed. */
    private void forgetNowAndAfterCommit(UUID id) {
        cache.forget(id);
        if (TransactionSynchronizationManager.isSynchronizationActive()) {
            TransactionSynchronizationManager.registerSynchronization(
                    new TransactionSynchronization() {
                        @Override
                        public void afterCompletion(int status) {
                            cache.forget(id);
                        }
                    });
        }
    }

    private static OffsetDateTime utc(Instant at) {
        return at.truncatedTo(ChronoUnit.MICROS).atOffset(ZoneOffset.UTC);
    }

    /**
     * What {@link #authenticate(String)} reads of a token: one row by either secret's hash (both columns unique).
     * Kept by {@link TokenCheckCache}, so the roles and teams are parsed once per read, not once per request.
     */
    record TokenCheck(UUID id, String name, String secretHash, String roles, String teams, Instant expiresAt,
            Instant revokedAt, Instant lastUsedAt, Instant previousSecretRetiresAt, Instant previousSecretLastUsedAt,
            Set<Role> roleSet, Set<String> teamSet) {

        static final String SELECT = "select id, name, secret_hash, roles, teams, expires_at, revoked_at, last_used_at,"
                + " previous_secret_retires_at, previous_secret_last_used_at from api_token"
                + " where secret_hash = ? or previous_secret_hash = ?";

        TokenCheck(UUID id, String name, String secretHash, String roles, String teams, Instant expiresAt,
                Instant revokedAt, Instant lastUsedAt, Instant previousSecretRetiresAt,
                Instant previousSecretLastUsedAt) {
            this(id, name, secretHash, roles, teams, expiresAt, revokedAt, lastUsedAt, previousSecretRetiresAt,
                    previousSecretLastUsedAt, Set.copyOf(ApiToken.roles(roles)), Set.copyOf(ApiToken.teams(teams)));
        }

        static TokenCheck read(ResultSet rs, int row) throws SQLException {
            return new TokenCheck(rs.getObject("id", UUID.class), rs.getString("name"), rs.getString("secret_hash"),
                    rs.getString("roles"), rs.getString("teams"), instant(rs, "expires_at"),
                    instant(rs, "revoked_at"), instant(rs, "last_used_at"), instant(rs, "previous_secret_retires_at"),
                    instant(rs, "previous_secret_last_used_at"));
        }

        TokenCheck withLastUse(Instant lastUsed, Instant previousLastUsed) {
            return new TokenCheck(id, name, secretHash, roles, teams, expiresAt, revokedAt, lastUsed,
                    previousSecretRetiresAt, previousLastUsed, roleSet, teamSet);
        }
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
                t.revokedAt(), t.lastUsedAt(), t.rotatedAt(), t.previousSecretRetiresAt(),
                t.previousSecretLastUsedAt());
    }
}
