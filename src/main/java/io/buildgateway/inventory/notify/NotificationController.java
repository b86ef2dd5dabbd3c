package io.buildgateway.inventory.notify;

import io.buildgateway.shared.Problem;
import io.buildgateway.shared.TeamName;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.security.access.prepost.PreAuthorize;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /api/v1/notifications}: the delivery log, for admins and the security team (docs/notifications.md). */
@RestController
@RequestMapping("/api/v1")
class NotificationController {

    private final DeliveryStore store;

    NotificationController(DeliveryStore store) {
        this.store = store;
    }

    record Page(List<DeliveryView> items, String nextCursor) {
    }

    @GetMapping("/notifications")
    @PreAuthorize("hasRole('ADMIN') or hasRole('SECURITY')")
    Page list(@RequestParam(required = false) String status, @RequestParam(required = false) String team,
            @RequestParam(defaultValue = "50") int limit, @RequestParam(required = false) String cursor) {
        // Blank means "no filter", as for the builds' enum parameter.
        DeliveryStatus wanted = status == null || status.isBlank() ? null : DeliveryStatus.parameter(status.trim());
        String owner = team == null || team.isBlank() ? null : team.trim();
        if (owner != null && !TeamName.isValid(owner)) {
            throw invalid("team", "team must be a team name ([a-z0-9]+([._-][a-z0-9]+)*)");
        }
        if (limit < 1 || limit > 500) {
            throw invalid("limit", "limit must be between 1 and 500");
        }
        Cursor after = cursor == null || cursor.isBlank() ? null : Cursor.parse(cursor);
        List<DeliveryView> found = store.page(wanted, owner, limit, after == null ? null : after.createdAt(),
                after == null ? null : after.id());
        List<DeliveryView> items = found.stream().limit(limit).toList();
        String next = found.size() > limit ? new Cursor(items.get(limit - 1).createdAt(), items.get(limit - 1).id())
                .encode() : null;
        return new Page(items, next);
    }

    private static Problem invalid(String field, String message) {
        return Problem.badRequest("invalid-parameter", message)
                .with("errors", List.of(Map.of("field", field, "message", message)));
    }

    /** Opaque page cursor: the last item's creation time and id. */
    record Cursor(Instant createdAt, UUID id) {
        String encode() {
            return Base64.getUrlEncoder().withoutPadding().encodeToString(
                    (createdAt + "|" + id).getBytes(StandardCharsets.UTF_8));
        }

        static Cursor parse(String value) {
            try {
                String[] parts = new String(Base64.getUrlDecoder().decode(value), StandardCharsets.UTF_8).split("\\|");
                return new Cursor(io.buildgateway.shared.Instants.requireStorable(Instant.parse(parts[0])),
                        UUID.fromString(parts[1]));
            } catch (RuntimeException e) {
                throw invalid("cursor", "cursor is not a cursor this gateway returned");
            }
        }
    }
}
