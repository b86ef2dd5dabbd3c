package io.buildgateway.builds;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.policy.Evaluation;
import io.buildgateway.policy.PolicyEvaluator;
import io.buildgateway.policy.Sarif;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.web.RequestInfos;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.OutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springdoc.core.annotations.ParameterObject;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.security.access.prepost.PreAuthorize;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.ResponseBodyEmitter;
import tools.jackson.databind.json.JsonMapper;

@RestController
@RequestMapping("/api/v1")
class BuildController {

    static final String[] CONTEXT_TYPES = {"application/x-tar", "application/tar", "application/gzip",
            "application/x-gzip"};
    private static final int MAX_DOCKERFILE = 1024 * 1024;

    private final BuildSubmissions submissions;
    private final BuildProperties properties;
    private final BuildLogs logs;
    private final PolicyEvaluator policyEvaluator;
    private final LogFollows follows;
    private final LintAdmission lints;
    private final JsonMapper json;

    BuildController(BuildSubmissions submissions, BuildProperties properties, BuildLogs logs,
            PolicyEvaluator policyEvaluator, LogFollows follows, JsonMapper json, LintAdmission lints) {
        this.lints = lints;
        this.follows = follows;
        this.json = json;
        this.submissions = submissions;
        this.properties = properties;
        this.logs = logs;
        this.policyEvaluator = policyEvaluator;
    }

    /**
     * The query arrives as a {@link BuildQuery} read from the raw parameters ({@link BuildQueryResolver}: each
     * parameter once, repeatable ones as pairs, unknown ones refused), which {@link BuildRequest#of} validates; its
     * components describe it to the generated document.
     */
    @PostMapping(path = "/builds", consumes = {"application/x-tar", "application/tar", "application/gzip",
            "application/x-gzip"})
    @PreAuthorize("hasRole('BUILDER')")
    @io.swagger.v3.oas.annotations.parameters.RequestBody(required = true, description = "the build context",
            content = {@Content(mediaType = "application/x-tar", schema = @Schema(type = "string", format = "binary")),
                    @Content(mediaType = "application/gzip", schema = @Schema(type = "string", format = "binary"))})
    @ApiResponse(responseCode = "202", description = "accepted: queued, or REJECTED with the policy's findings; Location names the build", content = @Content(
            mediaType = MediaType.APPLICATION_JSON_VALUE, schema = @Schema(implementation = BuildView.class)))
    ResponseEntity<BuildView> submit(@ParameterObject BuildQuery query, HttpServletRequest request)
            throws IOException {
        BuildRequest parsed = BuildRequest.of(query, properties.maxBuildArgs(), true);
        try (InputStream body = request.getInputStream()) {
            BuildView build = submissions.submit(parsed, body, request.getContentLengthLong(),
                    GatewayPrincipal.require(), RequestInfos.current());
            return ResponseEntity.accepted().location(URI.create("/api/v1/builds/" + build.id())).body(build);
        }
    }

    @GetMapping("/builds/{id}")
    BuildView get(@PathVariable UUID id) {
        return submissions.get(id, GatewayPrincipal.require());
    }

    @GetMapping("/builds")
    BuildSubmissions.Page list(@RequestParam(required = false) String image,
            @RequestParam(required = false) String team, @RequestParam(required = false) BuildStatus status,
            @RequestParam(required = false) String requestedBy,
            @RequestParam(defaultValue = "50") int limit, @RequestParam(required = false) String cursor) {
        if (limit < 1 || limit > 500) {
            throw Problem.badRequest("invalid-parameter", "limit must be between 1 and 500")
                    .with("errors", List.of(Map.of("field", "limit", "message", "must be between 1 and 500")));
        }
        // API.md writes the filters as ?image=&team=&status=&requestedBy=: an empty one filters nothing.
        return submissions.list(blankless(image), blankless(team), status, blankless(requestedBy), limit,
                blankless(cursor), GatewayPrincipal.require());
    }

    private static String blankless(String value) {
        return value == null || value.isBlank() ? null : value;
    }

    @PostMapping("/builds/{id}/cancel")
    @ApiResponse(responseCode = "202", description = "the cancellation is accepted; the build as it stands", content = @Content(
            mediaType = MediaType.APPLICATION_JSON_VALUE, schema = @Schema(implementation = BuildView.class)))
    ResponseEntity<BuildView> cancel(@PathVariable UUID id) {
        return ResponseEntity.accepted().body(submissions.cancel(id, GatewayPrincipal.require(),
                RequestInfos.current()));
    }

    /**
     * The build's log. text/plain (the default): the gateway's own lines as they are, every line of the build's
     * steps after {@code "| "}; {@code Accept: application/x-ndjson}: one {@code {"source":"gateway"|"step","text"}}
     * per line. {@code follow=true} streams until the build is final ({@link LogFollows}: threads and limits of its
     * own, heartbeats); without it, the log so far, written on the request's own thread.
     */
    @GetMapping(path = "/builds/{id}/logs", produces = {MediaType.TEXT_PLAIN_VALUE, "application/x-ndjson"})
    ResponseEntity<ResponseBodyEmitter> logs(@PathVariable UUID id,
            @RequestParam(defaultValue = "false") boolean follow, HttpServletRequest request,
            HttpServletResponse response) throws IOException {
        GatewayPrincipal principal = GatewayPrincipal.require();
        submissions.statusForLogs(id, principal);
        boolean ndjson = wantsNdjson(request.getHeader("Accept"));
        MediaType type = ndjson ? LogFollows.NDJSON : LogFollows.TEXT;
        if (follow) {
            ResponseBodyEmitter emitter = follows.open(LogFollows.caller(principal), id, ndjson);
            return ResponseEntity.ok().contentType(type).header("X-Accel-Buffering", "no").body(emitter);
        }
        response.setStatus(200);
        response.setContentType(type.toString());
        OutputStream out = response.getOutputStream();
        long offset = 0;
        BuildLogs.Chunk chunk;
        while ((chunk = logs.read(id, offset, BuildLogs.READ_MAX)).next() > offset) {
            out.write(LogFollows.render(chunk.lines(), ndjson, json));
            offset = chunk.next();
        }
        out.flush();
        return null; // written above: the request is handled
    }

    /** NDJSON when the client names it, at a quality no lower than text/plain's; text/plain otherwise. */
    static boolean wantsNdjson(String accept) {
        if (accept == null || accept.isBlank()) {
            return false;
        }
        List<MediaType> types;
        try {
            types = MediaType.parseMediaTypes(accept);
        } catch (org.springframework.http.InvalidMediaTypeException e) {
            return false;
        }
        double ndjson = 0;
        double text = 0;
        for (MediaType t : types) {
            if (t.getType().equals("application") && t.getSubtype().equals("x-ndjson")) {
                ndjson = Math.max(ndjson, t.getQualityValue());
            } else if (t.getType().equals("text") && (t.getSubtype().equals("plain") || t.isWildcardSubtype())) {
                text = Math.max(text, t.getQualityValue());
            }
        }
        if (ndjson > 0 && ndjson >= text) {
            return true;
        }
        return false;
    }

    @PostMapping(path = "/lint", consumes = MediaType.TEXT_PLAIN_VALUE,
            produces = {MediaType.APPLICATION_JSON_VALUE, Sarif.MEDIA_TYPE})
    @PreAuthorize("hasRole('BUILDER') or hasRole('SECURITY') or hasRole('ADMIN')")
    @ApiResponse(responseCode = "200", description = "the policy's findings: JSON, or SARIF 2.1.0 on request",
            content = {@Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = LintResult.class)),
                    @Content(mediaType = Sarif.MEDIA_TYPE, schema = @Schema(type = "object",
                            description = "a SARIF 2.1.0 log"))})
    ResponseEntity<Object> lintDockerfile(@ParameterObject LintQuery query, HttpServletRequest request)
            throws IOException {
        BuildRequest parsed = query.request(properties.maxBuildArgs());
        mayLintFor(parsed);
        String caller = LogFollows.caller(GatewayPrincipal.require());
        lints.admit(caller);
        try {
            byte[] bytes;
            try (InputStream body = request.getInputStream()) {
                bytes = body.readNBytes(MAX_DOCKERFILE + 1);
            } catch (IOException e) {
                // a broken chunked encoding, a body that stalled past the read timeout, a client gone mid-body: the
                // request's fault, as ContextIntake answers it for builds (not a 500 with a stack trace in the log)
                throw Problem.badRequest("unreadable-body", "the request body could not be read completely");
            }
            if (bytes.length > MAX_DOCKERFILE) {
                throw new Problem(413, "too-large", "Payload too large", "a Dockerfile is at most " + MAX_DOCKERFILE
                        + " bytes");
            }
            return lintResponse(request, submissions.lint(new String(bytes, StandardCharsets.UTF_8), parsed,
                    query.shellcheckRequested()), parsed);
        } finally {
            lints.release(caller);
        }
    }

    @PostMapping(path = "/lint", consumes = {"application/x-tar", "application/tar", "application/gzip",
            "application/x-gzip"}, produces = {MediaType.APPLICATION_JSON_VALUE, Sarif.MEDIA_TYPE})
    @PreAuthorize("hasRole('BUILDER') or hasRole('SECURITY') or hasRole('ADMIN')")
    @ApiResponse(responseCode = "200", description = "the policy's findings: JSON, or SARIF 2.1.0 on request",
            content = {@Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = LintResult.class)),
                    @Content(mediaType = Sarif.MEDIA_TYPE, schema = @Schema(type = "object",
                            description = "a SARIF 2.1.0 log"))})
    ResponseEntity<Object> lintContext(@ParameterObject LintQuery query, HttpServletRequest request)
            throws IOException {
        BuildRequest parsed = query.request(properties.maxBuildArgs());
        mayLintFor(parsed);
        String caller = LogFollows.caller(GatewayPrincipal.require());
        lints.admit(caller);
        try (InputStream body = request.getInputStream()) {
            return lintResponse(request, submissions.lintContext(body, request.getContentLengthLong(), parsed,
                    query.shellcheckRequested()), parsed);
        } finally {
            lints.release(caller);
        }
    }

    /**
     * "BUILDER: submit builds and lint requests for images of its teams" (docs/api.md): a lint for an image applies
     * that image's team's settings, waivers and egress allowlist, so a builder lints only for its own teams' images
     * (a review's finding, 2026-12-06: any builder could lint as any team); SECURITY and ADMIN for every team.
     */
    private static void mayLintFor(BuildRequest parsed) {
        if (parsed.image() == null) {
            return;
        }
        GatewayPrincipal caller = GatewayPrincipal.require();
        String team = parsed.image().team().value();
        if (!caller.canBuildFor(team) && !caller.has(io.buildgateway.auth.Role.SECURITY)
                && !caller.has(io.buildgateway.auth.Role.ADMIN)) {
            throw Problem.forbidden("your token cannot lint for team '" + team + "': a builder lints images of its own"
                    + " teams");
        }
    }

    /** JSON by default; SARIF 2.1.0 when the client asks for application/sarif+json. */
    private static ResponseEntity<Object> lintResponse(HttpServletRequest request, Evaluation evaluation,
            BuildRequest parsed) {
        String accept = request.getHeader("Accept");
        if (accept != null && accept.contains(Sarif.MEDIA_TYPE)) {
            return ResponseEntity.ok().contentType(MediaType.parseMediaType(Sarif.MEDIA_TYPE))
                    .body(Sarif.of(evaluation, parsed.dockerfile()));
        }
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).body(LintResult.of(evaluation));
    }

    @GetMapping("/policy")
    PolicyEvaluator.PolicyView policy() {
        return policyEvaluator.describe();
    }

    record LintResult(boolean passed, String policyDigest, List<io.buildgateway.policy.Finding> findings) {
        static LintResult of(Evaluation e) {
            return new LintResult(e.passed(), e.policyDigest(), e.findings());
        }
    }
}
