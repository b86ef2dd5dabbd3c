package io.buildgateway.inventory;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.shared.Digest;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.web.RequestInfos;
import io.swagger.v3.oas.annotations.Parameter;
import jakarta.servlet.http.HttpServletRequest;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.security.access.prepost.PreAuthorize;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.util.UriComponentsBuilder;

/** {@code /api/v1/images}, {@code /deployments}, {@code /rebuilds}, {@code /base-images} (API.md). */
@RestController
@RequestMapping(path = "/api/v1", produces = MediaType.APPLICATION_JSON_VALUE)
class InventoryController {

    private static final Set<String> IMAGE_PARAMS = Set.of("team", "package", "packageVersionBelow", "cve", "base",
            "fixable", "limit", "cursor", "after");
    /** Pages as API.md's pagination rule has them (limit default 50, at most 500). */
    private static final int DEPLOYMENTS_DEFAULT = 50;
    private static final int DEPLOYMENTS_MAX = 500;
    /** The deployments an image's detail embeds; GET /deployments?digest= has the rest. */
    private static final int IMAGE_DEPLOYMENTS = 100;

    private final Inventory inventory;
    private final ImageQueries images;
    private final Deployments deployments;
    private final Rebuilds rebuilds;
    private final BaseImages bases;
    private final ImageDetails details;

    InventoryController(Inventory inventory, ImageQueries images, Deployments deployments, Rebuilds rebuilds,
            BaseImages bases, ImageDetails details) {
        this.details = details;
        this.inventory = inventory;
        this.images = images;
        this.deployments = deployments;
        this.rebuilds = rebuilds;
        this.bases = bases;
    }

    /** A page of images; {@code next} is the name the first version gave {@code nextCursor}, kept for its clients. */
    record ImagePage(List<ImageQueries.ImageSummary> items, String nextCursor, String next) {
    }

    /**
     * The parameters are read as strings and checked here, so that a wrong value gets the same problem (and an
     * unknown parameter is refused, not ignored) whatever Spring's conversion would say.
     */
    @GetMapping("/images")
    @PreAuthorize("isAuthenticated()")
    ImagePage list(@RequestParam(required = false) String team,
            @RequestParam(name = "package", required = false) String packageName,
            @RequestParam(required = false) String packageVersionBelow, @RequestParam(required = false) String cve,
            @RequestParam(required = false) String base, @RequestParam(required = false) String fixable,
            @RequestParam(required = false) String limit, @RequestParam(required = false) String cursor,
            @Parameter(deprecated = true, description = "the first version's name of cursor")
            @RequestParam(required = false) String after, HttpServletRequest request) {
        for (String p : request.getParameterMap().keySet()) {
            if (!IMAGE_PARAMS.contains(p)) {
                throw Problem.badRequest("invalid-parameter", "unknown parameter '" + p + "' (known: "
                        + IMAGE_PARAMS + ")");
            }
        }
        int n = io.buildgateway.shared.web.Pages.limit(limit, 50, 500);
        if (fixable != null && !fixable.equals("true") && !fixable.equals("false")) {
            throw Problem.badRequest("invalid-parameter", "fixable must be true or false");
        }
        String position = cursor(cursor, after);
        if (position != null && !Digest.isValid(position)) {
            throw Problem.badRequest("invalid-parameter", "cursor must be the nextCursor of a previous page");
        }
        ImageQueries.Filter f = new ImageQueries.Filter(blank(team), blank(packageName), blank(packageVersionBelow),
                blank(cve), blank(base), "true".equals(fixable));
        if (f.packageVersionBelow() != null && f.packageName() == null) {
            throw Problem.badRequest("invalid-parameter", "packageVersionBelow needs package");
        }
        List<ImageQueries.ImageSummary> page = images.list(f, GatewayPrincipal.require(), n + 1, position);
        String next = page.size() > n ? page.get(n - 1).digest() : null;
        return new ImagePage(page.size() > n ? page.subList(0, n) : page, next, next);
    }

    /**
     * An image with its scan, SBOM and provenance links (null before the gateway built it), configuration, base
     * lineage, latest scan, builds, and where it runs (the first page; {@code deploymentsNext} has the rest).
     */
    record ImageDetail(ImageQueries.ImageSummary image, String scans, String sbom, String provenance,
            Map<String, Object> config, Map<String, Object> baseLineage, Map<String, Object> scan,
            List<Map<String, Object>> builds, List<Deployments.View> deployments, String deploymentsNext) {
    }

    @GetMapping("/images/{digest}")
    @PreAuthorize("isAuthenticated()")
    ImageDetail image(@PathVariable String digest) {
        if (!Digest.isValid(digest)) {
            throw Problem.badRequest("invalid-digest", "an image is named by sha256:<64 hex digits>");
        }
        Inventory.Entry e = inventory.find(digest).orElseThrow(() -> Problem.notFound("image " + digest));
        GatewayPrincipal principal = GatewayPrincipal.require();
        if (!ImageQueries.readsAll(principal) && (e.team() == null || !principal.teams().contains(e.team()))) {
            throw Problem.forbidden("image " + digest + " belongs to another team");
        }
        // Its builds only for who reads builds (API.md's roles table: a DEPLOYER reads images, not builds).
        String links = e.buildId() == null ? null : "/api/v1/images/" + digest + "/";
        ImageDetails.Details d = details.of(digest);
        // Where it runs, bounded like a page of GET /deployments?digest=, which has the rest (deploymentsNext).
        Deployments.Page running = deployments.list(new Deployments.Query(null, digest, false, null), null,
                IMAGE_DEPLOYMENTS);
        return new ImageDetail(images.summary(e), links == null ? null : links + "scans",
                links == null ? null : links + "sbom", links == null ? null : links + "provenance", d.config(),
                d.baseLineage(), d.scan(), e.team() != null && principal.canReadBuildsOf(e.team()) ? d.builds()
                        : List.of(),
                running.items(),
                running.more() ? "/api/v1/deployments?digest=" + digest + "&cursor="
                        + running.items().get(running.items().size() - 1).id() : null);
    }

    @PostMapping(path = "/deployments", consumes = MediaType.APPLICATION_JSON_VALUE)
    @PreAuthorize("hasRole('DEPLOYER')")
    ResponseEntity<Deployments.View> deploy(@RequestBody Deployments.NewDeployment body, HttpServletRequest request) {
        Deployments.View v = deployments.record(body, GatewayPrincipal.require(), RequestInfos.of(request));
        return ResponseEntity.created(URI.create("/api/v1/deployments/" + v.id())).body(v);
    }

    /** A page of deployments; also linked as {@code Link: <…>; rel="next"}. */
    record DeploymentPage(List<Deployments.View> items, String nextCursor) {
    }

    @GetMapping("/deployments")
    @PreAuthorize("isAuthenticated()")
    ResponseEntity<DeploymentPage> deployments(@RequestParam(required = false) String environment,
            @RequestParam(required = false) String stale, @RequestParam(required = false) String digest,
            @RequestParam(required = false) String limit, @RequestParam(required = false) String cursor,
            @Parameter(deprecated = true, description = "the first version's name of cursor")
            @RequestParam(required = false) String after, HttpServletRequest request) {
        if (stale != null && !stale.equals("true") && !stale.equals("false")) {
            throw Problem.badRequest("invalid-parameter", "stale must be true or false");
        }
        if (digest != null && !Digest.isValid(digest)) {
            throw Problem.badRequest("invalid-parameter", "digest must be an image digest (sha256:<64 hex digits>)");
        }
        int n = io.buildgateway.shared.web.Pages.limit(limit, DEPLOYMENTS_DEFAULT, DEPLOYMENTS_MAX);
        String position = cursor(cursor, after);
        UUID from = position == null ? null : deploymentId(position);
        GatewayPrincipal principal = GatewayPrincipal.require();
        Deployments.Page page = deployments.list(new Deployments.Query(blank(environment), digest,
                "true".equals(stale), ImageQueries.readsAll(principal) ? null : principal.teams()), from, n);
        ResponseEntity.BodyBuilder ok = ResponseEntity.ok();
        String nextCursor = page.more() ? page.items().get(page.items().size() - 1).id().toString() : null;
        if (nextCursor != null) {
            // Also as a link (RFC 8288), for clients that follow links rather than build URLs.
            String next = UriComponentsBuilder.fromPath(request.getRequestURI()).query(request.getQueryString())
                    .replaceQueryParam("after").replaceQueryParam("cursor", nextCursor).build().toUriString();
            ok.header(HttpHeaders.LINK, "<" + next + ">; rel=\"next\"");
        }
        return ok.body(new DeploymentPage(page.items(), nextCursor));
    }

    /** API.md names the page position {@code cursor}; the first version called it {@code after}: both are read. */
    private static String cursor(String cursor, String after) {
        if (cursor != null && after != null && !cursor.equals(after)) {
            throw Problem.badRequest("invalid-parameter", "give cursor or after (the same thing), not both");
        }
        return cursor != null ? cursor : after;
    }

    private static UUID deploymentId(String value) {
        try {
            return UUID.fromString(value);
        } catch (IllegalArgumentException e) {
            throw Problem.badRequest("invalid-parameter", Deployments.AFTER);
        }
    }

    record RebuildRequest(Rebuilds.Selector selector, String reason, Boolean dryRun) {
    }

    /** What a rebuild with this selector would build ({@code dryRun: true}); nothing is queued. */
    record RebuildDryRun(boolean dryRun, String reason, List<Rebuilds.Target> targets) {
    }

    @PostMapping(path = "/rebuilds", consumes = MediaType.APPLICATION_JSON_VALUE)
    @PreAuthorize("hasRole('SECURITY') or hasRole('ADMIN')")
    ResponseEntity<Object> rebuild(@RequestBody RebuildRequest body, HttpServletRequest request) {
        if (body.selector() == null) {
            throw Problem.badRequest("invalid-selector", "selector is required");
        }
        if (Boolean.TRUE.equals(body.dryRun())) {
            return ResponseEntity.ok(new RebuildDryRun(true, body.reason(), rebuilds.resolve(body.selector())));
        }
        Rebuilds.Requested r = rebuilds.request(body.selector(), body.reason(), GatewayPrincipal.require().name(),
                RequestInfos.of(request));
        return ResponseEntity.status(HttpStatus.ACCEPTED).location(URI.create("/api/v1/rebuilds/" + r.id())).body(r);
    }

    @GetMapping("/rebuilds/{id}")
    @PreAuthorize("hasRole('SECURITY') or hasRole('ADMIN') or hasRole('AUDITOR')")
    Map<String, Object> rebuildStatus(@PathVariable UUID id) {
        return rebuilds.find(id);
    }

    @GetMapping("/base-images")
    @PreAuthorize("isAuthenticated()")
    io.buildgateway.shared.web.Pages.Page<Map<String, Object>> baseImages(
            @RequestParam(required = false) String limit, @RequestParam(required = false) String cursor) {
        return io.buildgateway.shared.web.Pages.of(bases.list(), b -> String.valueOf(b.get("ref")), limit, cursor);
    }

    @PostMapping("/base-images/refresh")
    @PreAuthorize("hasRole('SECURITY') or hasRole('ADMIN')")
    BaseImages.Refresh refresh(HttpServletRequest request) {
        return bases.refresh(RequestInfos.of(request));
    }


    private static String blank(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
