package io.buildgateway.scanning;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.auth.Role;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.web.RequestInfos;
import jakarta.servlet.http.HttpServletRequest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.security.access.prepost.PreAuthorize;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The scan results of images ({@code /api/v1/images/{digest}/sbom}, {@code …/scans}) and the advisory import. An
 * image is named by its registry manifest digest or by its image id; both are {@code sha256:<hex>}.
 */
@RestController
@RequestMapping("/api/v1")
class ImageController {

    static final String CYCLONEDX = "application/vnd.cyclonedx+json";

    private final ScanStore store;
    private final Advisories advisories;
    private final JsonMapper json;

    ImageController(ScanStore store, Advisories advisories, JsonMapper json) {
        this.store = store;
        this.advisories = advisories;
        this.json = json;
    }

    @GetMapping(path = "/images/{digest}/sbom", produces = {CYCLONEDX, MediaType.APPLICATION_JSON_VALUE})
    @PreAuthorize("isAuthenticated()")
    ResponseEntity<String> sbom(@PathVariable String digest) {
        ScanStore.Scan scan = readable(digest);
        return ResponseEntity.ok().contentType(MediaType.parseMediaType(CYCLONEDX)).body(store.sbom(scan.buildId()));
    }

    @GetMapping(path = "/images/{digest}/scans", produces = MediaType.APPLICATION_JSON_VALUE)
    @PreAuthorize("isAuthenticated()")
    Map<String, Object> scans(@PathVariable String digest) {
        ScanStore.Scan scan = readable(digest);
        List<ScanStore.StoredVulnerability> vulns = store.vulnerabilities(scan.buildId());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("imageId", scan.imageId());
        out.put("imageDigest", scan.imageDigest());
        out.put("buildId", scan.buildId());
        out.put("repository", scan.repository());
        out.put("tag", scan.tag());
        out.put("team", scan.team());
        out.put("scannedAt", scan.scannedAt());
        out.put("passed", scan.passed());
        out.put("pushed", scan.imageDigest() != null);
        out.put("policyDigest", scan.policyDigest());
        out.put("distro", scan.distro());
        Map<String, Object> base = new LinkedHashMap<>();
        base.put("ref", scan.baseImage());
        base.put("imageId", scan.baseImageId());
        base.put("layers", scan.baseLayers());
        out.put("base", base);
        out.put("configuration", Map.of("summary", json.readTree(scan.config()),
                "findings", json.readTree(scan.findings())));
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (String s : List.of("critical", "high", "medium", "low", "unknown")) {
            counts.put(s, 0);
        }
        vulns.forEach(v -> counts.merge(v.severity(), 1, Integer::sum));
        Map<String, Object> vulnerability = new LinkedHashMap<>();
        vulnerability.put("counts", counts);
        vulnerability.put("fixable", vulns.stream().filter(v -> v.fixed() != null).count());
        vulnerability.put("items", vulns);
        out.put("vulnerabilities", vulnerability);
        Map<String, Object> compliance = new LinkedHashMap<>();
        compliance.put("status", scan.complianceStatus());
        compliance.put("rules", json.readTree(scan.complianceRules()));
        compliance.put("message", scan.complianceMessage());
        compliance.put("arf", store.arfContents(scan.buildId()).stream()
                .map(c -> Map.of("content", c, "href", "/api/v1/images/" + digest + "/scans/compliance/arf?content="
                        + c)).toList());
        compliance.put("composedWith", store.composedWith(scan.buildId()).map(json::readTree).orElse(null));
        out.put("compliance", compliance);
        out.put("timings", json.readTree(scan.timings()));
        return out;
    }

    @GetMapping(path = "/images/{digest}/scans/compliance/arf")
    @PreAuthorize("isAuthenticated()")
    ResponseEntity<byte[]> arf(@PathVariable String digest,
            @org.springframework.web.bind.annotation.RequestParam(required = false) String content) {
        ScanStore.Scan scan = readable(digest);
        byte[] arf = store.arf(scan.buildId(), content).orElseThrow(() -> Problem.notFound("an ARF result for "
                + digest + (content == null ? "" : " and content " + content) + " (compliance "
                + scan.complianceStatus() + ")"));
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_XML).body(arf);
    }

    @PostMapping(path = "/advisories", consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = MediaType.APPLICATION_JSON_VALUE)
    @PreAuthorize("hasRole('SECURITY') or hasRole('ADMIN')")
    Advisories.ImportResult importAdvisories(@RequestBody JsonNode body, HttpServletRequest request) {
        return advisories.importDocuments(body, RequestInfos.of(request));
    }

    /** The latest scan of the image, if the caller may read the image's team. */
    private ScanStore.Scan readable(String digest) {
        if (!io.buildgateway.shared.Digest.isValid(digest)) {
            throw Problem.badRequest("invalid-digest", "an image is named by sha256:<64 hex digits>, not '"
                    + Problem.quote(digest) + "'");
        }
        ScanStore.Scan scan = store.find(digest).orElseThrow(() -> Problem.notFound("image " + digest));
        GatewayPrincipal principal = GatewayPrincipal.require();
        if (!principal.canRead(scan.team()) && !principal.has(Role.DEPLOYER)) {
            throw Problem.forbidden("image " + digest + " belongs to another team"); // which one is not said
        }
        return scan;
    }
}
