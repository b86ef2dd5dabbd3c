package io.buildgateway.provenance;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.auth.Role;
import io.buildgateway.shared.Digest;
import io.buildgateway.shared.Problem;
import java.util.UUID;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.security.access.prepost.PreAuthorize;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /api/v1/images/{digest}/provenance}: the signed provenance of an image as its DSSE envelope, byte for
 * byte as signed. Readable by whoever may read the image (its team, DEPLOYER, SECURITY, AUDITOR, ADMIN).
 */
@RestController
class ProvenanceController {

    private final Provenance provenance;

    ProvenanceController(Provenance provenance) {
        this.provenance = provenance;
    }

    @GetMapping(path = "/api/v1/images/{digest}/provenance", produces = MediaType.APPLICATION_JSON_VALUE)
    @PreAuthorize("isAuthenticated()")
    ResponseEntity<String> provenance(@PathVariable String digest,
            @RequestParam(required = false) String buildId) {
        if (!Digest.isValid(digest)) {
            throw Problem.badRequest("invalid-digest", "an image is named by sha256:<64 hex digits>, not '"
                    + Problem.quote(digest) + "'");
        }
        UUID build = null;
        if (buildId != null) {
            try {
                build = UUID.fromString(buildId);
            } catch (IllegalArgumentException e) {
                throw Problem.badRequest("invalid-parameter", "buildId is not a build id");
            }
        }
        Provenance.Stored stored = provenance.find(digest, build).orElseThrow(() -> Problem.notFound(
                "provenance of image " + digest));
        GatewayPrincipal principal = GatewayPrincipal.require();
        if (!principal.canRead(stored.team()) && !principal.has(Role.DEPLOYER)) {
            throw Problem.forbidden("image " + digest + " belongs to another team"); // which one is not said
        }
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON)
                .header("X-Build-Id", stored.buildId().toString())
                .body(stored.envelope());
    }
}
