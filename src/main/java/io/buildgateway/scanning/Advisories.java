package io.buildgateway.scanning;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.RequestInfo;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * OSV advisory import. Idempotent: an advisory whose {@code modified} time is not newer than the stored one changes
 * nothing; a newer one replaces it; a withdrawn one stops matching. Every change re-evaluates the stored SBOMs that
 * hold a package it names, so images become (or stop being) vulnerable without a rebuild. A document that is not
 * valid OSV refuses the whole import, which then changes nothing.
 */
@Service
public class Advisories {

    private final ScanStore store;
    private final JsonMapper json;
    private final ApplicationEventPublisher events;
    private final Clock clock;

    Advisories(ScanStore store, JsonMapper json, ApplicationEventPublisher events, Clock clock) {
        this.store = store;
        this.json = json;
        this.events = events;
        this.clock = clock;
    }

    /** What an import did, per advisory and in total. */
    public record ImportResult(int received, int imported, int updated, int unchanged, int withdrawn,
            int affectedImages, List<Outcome> advisories) {
        public record Outcome(String id, String status, int affectedImages) {
        }
    }

    @Transactional
    public ImportResult importDocuments(JsonNode body, RequestInfo request) {
        List<JsonNode> documents = new ArrayList<>();
        if (body.isArray()) {
            body.forEach(documents::add);
        } else if (body.isObject()) {
            documents.add(body);
        } else {
            throw Problem.badRequest("invalid-advisory", "the body must be an OSV advisory or an array of them");
        }
        if (documents.isEmpty()) {
            throw Problem.badRequest("invalid-advisory", "the body holds no advisories");
        }
        store.holdAdvisories(true); // scans recording meanwhile wait, then match what this import saved
        List<Osv> parsed = new ArrayList<>();
        for (int i = 0; i < documents.size(); i++) {
            try {
                parsed.add(Osv.parse(documents.get(i), i));
            } catch (Osv.InvalidAdvisory e) {
                throw Problem.badRequest("invalid-advisory", e.getMessage());
            }
        }
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        int imported = 0;
        int updated = 0;
        int unchanged = 0;
        int withdrawn = 0;
        Set<UUID> affected = new HashSet<>();
        List<ImportResult.Outcome> outcomes = new ArrayList<>();
        for (int i = 0; i < parsed.size(); i++) {
            Osv osv = parsed.get(i);
            var state = store.advisoryState(osv.id());
            if (state.isPresent() && !osv.modified().isAfter(state.get().modified())) {
                unchanged++;
                outcomes.add(new ImportResult.Outcome(osv.id(), "unchanged", 0));
                continue;
            }
            store.saveAdvisory(osv, json.writeValueAsString(documents.get(i)), now);
            String status;
            if (osv.withdrawn() != null) {
                withdrawn++;
                status = "withdrawn";
            } else if (state.isPresent()) {
                updated++;
                status = "updated";
            } else {
                imported++;
                status = "imported";
            }
            Map<UUID, List<VulnerabilityMatcher.Vulnerability>> matches = rematch(osv);
            int images = store.replaceMatches(osv.id(), matches, now);
            matches.forEach((build, v) -> {
                if (!v.isEmpty()) {
                    affected.add(build);
                }
            });
            outcomes.add(new ImportResult.Outcome(osv.id(), status, images));
        }
        if (!affected.isEmpty()) {
            events.publishEvent(new AdvisoriesMatched(outcomes.stream().filter(o -> o.affectedImages() > 0)
                    .map(ImportResult.Outcome::id).toList(), Set.copyOf(affected)));
        }
        ImportResult result = new ImportResult(parsed.size(), imported, updated, unchanged, withdrawn, affected.size(),
                outcomes);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("received", result.received());
        details.put("imported", imported);
        details.put("updated", updated);
        details.put("unchanged", unchanged);
        details.put("withdrawn", withdrawn);
        details.put("affectedImages", affected.size());
        details.put("ids", outcomes.stream().filter(o -> !o.status().equals("unchanged")).limit(100)
                .map(ImportResult.Outcome::id).toList());
        events.publishEvent(new AuditRecord("advisories.imported", "advisories", AuditRecord.Outcome.SUCCESS,
                details, request));
        return result;
    }

    /** Matches one advisory against every stored package it names. */
    private Map<UUID, List<VulnerabilityMatcher.Vulnerability>> rematch(Osv osv) {
        Set<String> names = new HashSet<>();
        osv.affected().forEach(a -> names.add(VulnerabilityMatcher.normalName(a.ecosystem(), a.name())));
        VulnerabilityMatcher matcher = new VulnerabilityMatcher(List.of(osv));
        Map<UUID, List<VulnerabilityMatcher.Vulnerability>> out = new LinkedHashMap<>();
        store.packagesNamed(names).forEach((build, packages) -> out.put(build, matcher.match(packages)));
        return out;
    }

    /** The stored advisories that could affect these packages, ready to match. */
    VulnerabilityMatcher matcherFor(List<Packages.Package> packages) {
        Set<String> names = new HashSet<>();
        packages.forEach(p -> names.add(p.advisoryName()));
        List<Osv> advisories = new ArrayList<>();
        int i = 0;
        for (String doc : store.advisoryDocumentsFor(names)) {
            advisories.add(Osv.parse(json.readTree(doc), i++));
        }
        return new VulnerabilityMatcher(advisories);
    }
}
