package io.buildgateway.auth;

import io.buildgateway.shared.Problem;
import io.buildgateway.shared.web.Pages;
import io.buildgateway.shared.web.RequestInfos;
import jakarta.servlet.http.HttpServletRequest;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.springframework.http.ResponseEntity;
import org.springframework.security.access.prepost.PreAuthorize;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

@RestController
@RequestMapping("/api/v1")
@PreAuthorize("hasRole('ADMIN')")
class TokenController {

    private final Tokens tokens;
    private final Teams teams;

    TokenController(Tokens tokens, Teams teams) {
        this.tokens = tokens;
        this.teams = teams;
    }

    record TokenRequest(String name, Set<Role> roles, Set<String> teams, Instant expiresAt) {
    }

    record TokenCreated(UUID id, String name, Set<Role> roles, Set<String> teams, Instant expiresAt, String token) {
        @Override
        public String toString() {
            return "TokenCreated[id=" + id + ", name=" + name + ", token=***]";
        }
    }

    record TeamRequest(String name, String description) {
    }

    /** Both optional: the old secret's grace period (ISO-8601, e.g. PT1H) and the new secret's expiry. */
    record RotateRequest(Duration gracePeriod, Instant expiresAt) {
    }

    record TokenRotated(UUID id, String name, Set<Role> roles, Set<String> teams, Instant expiresAt, String token,
            Instant previousSecretRetiresAt) {
        @Override
        public String toString() {
            return "TokenRotated[id=" + id + ", name=" + name + ", token=***]";
        }
    }

    @PostMapping("/tokens")
    ResponseEntity<TokenCreated> create(@RequestBody TokenRequest request) {
        Tokens.IssuedToken issued = tokens.issue(request.name(), request.roles(), request.teams(), request.expiresAt(),
                RequestInfos.current());
        var v = issued.view();
        return ResponseEntity.created(URI.create("/api/v1/tokens/" + v.id()))
                .body(new TokenCreated(v.id(), v.name(), v.roles(), v.teams(), v.expiresAt(), issued.secret()));
    }

    /** API.md's roles: an AUDITOR reads everything but token secrets (this list has none). */
    @GetMapping("/tokens")
    @PreAuthorize("hasRole('ADMIN') or hasRole('AUDITOR')")
    Pages.Page<Tokens.TokenView> list(@RequestParam(required = false) String limit,
            @RequestParam(required = false) String cursor) {
        return Pages.of(tokens.list(), t -> t.id().toString(), limit, cursor);
    }

    /** ADMIN, or the token itself (method-level rule replaces the class-level ADMIN rule); checked in Tokens. */
    @PostMapping("/tokens/{id}/rotate")
    @PreAuthorize("isAuthenticated()")
    TokenRotated rotate(@PathVariable UUID id, @RequestBody(required = false) RotateRequest request,
            HttpServletRequest http) {
        RotateRequest body = request == null ? new RotateRequest(null, null) : request;
        Tokens.RotatedToken rotated = tokens.rotate(id, body.gracePeriod(), body.expiresAt(),
                GatewayPrincipal.require(), http.getAttribute(BearerTokenFilter.PREVIOUS_SECRET) != null,
                RequestInfos.current());
        var v = rotated.view();
        return new TokenRotated(v.id(), v.name(), v.roles(), v.teams(), v.expiresAt(), rotated.secret(),
                v.previousSecretRetiresAt());
    }

    @GetMapping("/tokens/expiring")
    @PreAuthorize("hasRole('ADMIN') or hasRole('AUDITOR')")
    List<Tokens.TokenView> expiring(@RequestParam(defaultValue = "P14D") String within) {
        Duration period;
        try {
            period = Duration.parse(within);
        } catch (DateTimeParseException e) {
            throw Problem.badRequest("invalid-parameter", "within must be an ISO-8601 duration such as P14D or PT12H")
                    .with("errors", List.of(Map.of("field", "within", "message", "not an ISO-8601 duration")));
        }
        if (period.isNegative() || period.compareTo(Duration.ofDays(3660)) > 0) {
            throw Problem.badRequest("invalid-parameter", "within must be between PT0S and P3660D")
                    .with("errors", List.of(Map.of("field", "within", "message", "out of range")));
        }
        return tokens.expiring(period);
    }

    @DeleteMapping("/tokens/{id}")
    ResponseEntity<Void> revoke(@PathVariable UUID id) {
        tokens.revoke(id, RequestInfos.current());
        return ResponseEntity.noContent().build();
    }

    @PostMapping("/teams")
    ResponseEntity<Teams.TeamView> createTeam(@RequestBody TeamRequest request) {
        Teams.TeamView team = teams.create(request.name(), request.description(), RequestInfos.current());
        return ResponseEntity.created(URI.create("/api/v1/teams/" + team.name())).body(team);
    }

    /** API.md's roles: SECURITY reads everything but tokens, an AUDITOR everything but token secrets. */
    @GetMapping("/teams")
    @PreAuthorize("hasRole('ADMIN') or hasRole('SECURITY') or hasRole('AUDITOR')")
    Pages.Page<Teams.TeamView> teams(@RequestParam(required = false) String limit,
            @RequestParam(required = false) String cursor) {
        return Pages.of(teams.list(), Teams.TeamView::name, limit, cursor);
    }
}
