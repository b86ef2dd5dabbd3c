package io.buildgateway.builds;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.egress.EgressRecord;
import io.buildgateway.egress.EgressRecords;
import java.util.UUID;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * What a build fetched through the egress proxy (docs/egress.md), readable by whoever may read the build: the same
 * check as {@code GET /api/v1/builds/{id}} (404 for no such build, 403 for another team's).
 */
@RestController
@RequestMapping("/api/v1/builds/{id}")
class FetchController {

    private final BuildSubmissions submissions;
    private final EgressRecords records;

    FetchController(BuildSubmissions submissions, EgressRecords records) {
        this.submissions = submissions;
        this.records = records;
    }

    /** A build's fetches, tunnels and refusals, each in the order they happened. */
    record Fetches(UUID buildId, java.util.List<EgressRecord.Fetch> fetches, java.util.List<EgressRecord.Tunnel> tunnels,
            java.util.List<EgressRecord.Refusal> refusals) {
    }

    @GetMapping("/fetches")
    Fetches fetches(@PathVariable UUID id) {
        submissions.get(id, GatewayPrincipal.require());
        EgressRecord r = records.of(id);
        return new Fetches(id, r.fetches(), r.tunnels(), r.refusals());
    }

    /** This build's fetches against another's: both must be readable by the caller. */
    @GetMapping("/fetches/diff")
    EgressRecords.Diff diff(@PathVariable UUID id, @RequestParam UUID against) {
        GatewayPrincipal principal = GatewayPrincipal.require();
        submissions.get(id, principal);
        submissions.get(against, principal);
        return EgressRecords.diff(id, records.of(id), against, records.of(against));
    }
}
