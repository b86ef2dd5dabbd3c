package io.buildgateway.auth;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.RequestInfo;
import io.buildgateway.shared.TeamName;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/** Teams: the owners of image repositories ({@code <team>/<name>}). */
@Service
public class Teams {

    private final TeamRepository teams;
    private final ApplicationEventPublisher events;
    private final Clock clock;

    Teams(TeamRepository teams, ApplicationEventPublisher events, Clock clock) {
        this.teams = teams;
        this.events = events;
        this.clock = clock;
    }

    public record TeamView(String name, String description, Instant createdAt) {
    }

    @Transactional
    public TeamView create(String name, String description, RequestInfo request) {
        if (!TeamName.isValid(name)) {
            throw Problem.badRequest("invalid-body", "name must match [a-z0-9]+([._-][a-z0-9]+)*, at most 63 characters")
                    .with("errors", List.of(Map.of("field", "name", "message", "invalid team name")));
        }
        if (description != null && description.length() > 1000) {
            throw Problem.badRequest("invalid-body", "description is at most 1000 characters")
                    .with("errors", List.of(Map.of("field", "description", "message", "too long")));
        }
        TeamView created = insert(name, description, request);
        if (created == null) {
            throw new Problem(409, "conflict", "Conflict", "team '" + name + "' already exists");
        }
        return created;
    }

    /** Creates the team if it is missing (a token naming a new team implies it). */
    @Transactional
    public void ensure(String name, RequestInfo request) {
        if (!teams.existsById(name)) {
            insert(name, null, request);
        }
    }

    /** The team inserted with its team.created event, or null when it exists (created meanwhile, maybe). */
    private TeamView insert(String name, String description, RequestInfo request) {
        java.time.Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        if (teams.insertIfAbsent(name, description, now) == 0) {
            return null;
        }
        Map<String, Object> details = new HashMap<>();
        details.put("description", description);
        events.publishEvent(new AuditRecord("team.created", "team/" + name, Outcome.SUCCESS, details, request));
        return new TeamView(name, description, now);
    }

    @Transactional(readOnly = true)
    public List<TeamView> list() {
        return teams.findAllByOrderByNameAsc().stream().map(Teams::view).toList();
    }

    private static TeamView view(Team t) {
        return new TeamView(t.name(), t.description(), t.createdAt());
    }
}
