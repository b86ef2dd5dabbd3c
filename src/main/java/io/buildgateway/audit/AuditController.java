package io.buildgateway.audit;

import io.buildgateway.shared.Problem;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.springframework.security.access.prepost.PreAuthorize;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.util.RawValue;

/**
 * {@code GET /api/v1/audit} (the trail, filtered and paged) and {@code GET /api/v1/audit/verify}, for auditors and
 * admins (API.md, docs/audit.md). Reading the trail changes nothing and is not itself audited; a refusal is (403).
 */
@RestController
@RequestMapping("/api/v1/audit")
@PreAuthorize("hasRole('AUDITOR') or hasRole('ADMIN')")
class AuditController {

    static final int MAX_LIMIT = 500;

    private final AuditTrail trail;
    private final AuditVerification verification;

    AuditController(AuditTrail trail, AuditVerification verification) {
        this.trail = trail;
        this.verification = verification;
    }

    /**
     * An event as served: {@code details} is the stored canonical JSON object, written as it is stored, so that the
     * bytes a client receives are the bytes the hash covers.
     */
    record Item(long seq, Instant at, String actor, String action, String target, String outcome, String sourceIp,
            String requestId, Object details, String hash, String prevHash) {

        static Item of(AuditEvent e) {
            Object details = SyslogFormat.isJsonObject(e.details()) ? new RawValue(e.details()) : e.details();
            return new Item(e.seq(), e.at(), e.actor(), e.action(), e.target(), e.outcome(), e.sourceIp(),
                    e.requestId(), details, e.hash(), e.prevHash());
        }
    }

    record Page(List<Item> items, String nextCursor) {
    }

    @GetMapping
    Page list(@RequestParam(required = false) String since, @RequestParam(required = false) String until,
            @RequestParam(required = false) String actor, @RequestParam(required = false) String action,
            @RequestParam(required = false) String target, @RequestParam(defaultValue = "desc") String order,
            @RequestParam(defaultValue = "50") int limit, @RequestParam(required = false) String cursor) {
        Instant from = instant("since", since);
        Instant to = instant("until", until);
        if (from != null && to != null && !from.isBefore(to)) {
            throw invalid("until", "until must be after since");
        }
        boolean newestFirst = switch (order.trim()) {
            case "desc" -> true;
            case "asc" -> false;
            default -> throw invalid("order", "order must be 'asc' (oldest first) or 'desc' (newest first)");
        };
        if (limit < 1 || limit > MAX_LIMIT) {
            throw invalid("limit", "limit must be between 1 and " + MAX_LIMIT);
        }
        Long beyond = cursor == null || cursor.isBlank() ? null : Cursor.parse(cursor, newestFirst);
        AuditTrail.Query query = new AuditTrail.Query(from, to, text("actor", actor, 200), text("action", action, 100),
                text("target", target, 1024));
        List<AuditEvent> found = trail.find(query, newestFirst, beyond, limit + 1);
        List<Item> items = found.stream().limit(limit).map(Item::of).toList();
        String next = found.size() > limit ? new Cursor(newestFirst, items.get(limit - 1).seq()).encode() : null;
        return new Page(items, next);
    }

    @GetMapping("/verify")
    Verification verify() {
        return verification.verify();
    }

    private static Instant instant(String field, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        Instant parsed;
        try {
            parsed = Instant.parse(value.trim());
        } catch (DateTimeParseException e) {
            throw invalid(field, field + " must be an ISO-8601 instant such as 2026-01-31T00:00:00Z");
        }
        if (!io.buildgateway.shared.Instants.storable(parsed)) {
            throw invalid(field, field + " must be an instant between the years 1 and 9999");
        }
        return parsed;
    }

    /** Blank means "no filter"; a value longer than its column can never match and is refused. */
    private static String text(String field, String value, int max) {
        if (value == null || value.isBlank()) {
            return null;
        }
        if (value.length() > max || value.chars().anyMatch(c -> c < 0x20)) {
            throw invalid(field, field + " must be at most " + max + " characters without control characters");
        }
        return value;
    }

    private static Problem invalid(String field, String message) {
        return Problem.badRequest("invalid-parameter", message)
                .with("errors", List.of(Map.of("field", field, "message", message)));
    }

    /** Opaque page cursor: the order and the last item's seq. */
    record Cursor(boolean newestFirst, long seq) {
        String encode() {
            return Base64.getUrlEncoder().withoutPadding().encodeToString(
                    ((newestFirst ? "desc" : "asc") + "|" + seq).getBytes(StandardCharsets.UTF_8));
        }

        static Long parse(String value, boolean newestFirst) {
            Cursor c;
            try {
                String[] parts = new String(Base64.getUrlDecoder().decode(value.trim()), StandardCharsets.UTF_8)
                        .split("\\|");
                if (parts.length != 2 || !parts[0].matches("asc|desc")) {
                    throw new IllegalArgumentException();
                }
                c = new Cursor(parts[0].equals("desc"), Long.parseLong(parts[1]));
            } catch (RuntimeException e) {
                throw invalid("cursor", "cursor is not a cursor this gateway returned");
            }
            if (c.newestFirst != newestFirst) {
                throw invalid("cursor", "cursor belongs to a listing in the other order");
            }
            return c.seq;
        }
    }
}
