package io.buildgateway.auth;

import io.buildgateway.shared.web.RequestInfos;
import java.net.URI;
import java.time.Instant;
import java.util.List;
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

    @PostMapping("/tokens")
    ResponseEntity<TokenCreated> create(@RequestBody TokenRequest request) {
        Tokens.IssuedToken issued = tokens.issue(request.name(), request.roles(), request.teams(), request.expiresAt(),
                RequestInfos.current());
        var v = issued.view();
        return ResponseEntity.created(URI.create("/api/v1/tokens/" + v.id()))
                .body(new TokenCreated(v.id(), v.name(), v.roles(), v.teams(), v.expiresAt(), issued.secret()));
    }

    @GetMapping("/tokens")
    List<Tokens.TokenView> list() {
        return tokens.list();
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

    @GetMapping("/teams")
    List<Teams.TeamView> teams() {
        return teams.list();
    }
}
