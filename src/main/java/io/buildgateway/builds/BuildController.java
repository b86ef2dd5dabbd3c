package io.buildgateway.builds;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.policy.Evaluation;
import io.buildgateway.policy.PolicyEvaluator;
import io.buildgateway.policy.Sarif;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.web.RequestInfos;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.security.access.prepost.PreAuthorize;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

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

    BuildController(BuildSubmissions submissions, BuildProperties properties, BuildLogs logs,
            PolicyEvaluator policyEvaluator) {
        this.submissions = submissions;
        this.properties = properties;
        this.logs = logs;
        this.policyEvaluator = policyEvaluator;
    }

    @PostMapping(path = "/builds", consumes = {"application/x-tar", "application/tar", "application/gzip",
            "application/x-gzip"})
    @PreAuthorize("hasRole('BUILDER')")
    ResponseEntity<BuildView> submit(HttpServletRequest request) throws IOException {
        BuildRequest parsed = BuildRequest.parse(request.getParameterMap(), properties.maxBuildArgs(),
                BuildRequest.BUILD_PARAMETERS, true);
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
        return submissions.list(image, team, status, requestedBy, limit, cursor, GatewayPrincipal.require());
    }

    @PostMapping("/builds/{id}/cancel")
    ResponseEntity<BuildView> cancel(@PathVariable UUID id) {
        return ResponseEntity.accepted().body(submissions.cancel(id, GatewayPrincipal.require(),
                RequestInfos.current()));
    }

    @GetMapping(path = "/builds/{id}/logs", produces = MediaType.TEXT_PLAIN_VALUE)
    ResponseEntity<StreamingResponseBody> logs(@PathVariable UUID id,
            @RequestParam(defaultValue = "false") boolean follow) {
        submissions.statusForLogs(id, GatewayPrincipal.require());
        StreamingResponseBody body = out -> {
            long offset = 0;
            Instant until = Instant.now().plus(Duration.ofHours(6));
            while (true) {
                boolean finalBefore = !follow || submissions.status(id).isFinal();
                byte[] chunk;
                while ((chunk = logs.read(id, offset, 64 * 1024)).length > 0) {
                    out.write(chunk);
                    offset += chunk.length;
                }
                out.flush();
                if (finalBefore || Instant.now().isAfter(until)) {
                    return;
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        };
        return ResponseEntity.ok().contentType(new MediaType("text", "plain", StandardCharsets.UTF_8)).body(body);
    }

    @PostMapping(path = "/lint", consumes = MediaType.TEXT_PLAIN_VALUE,
            produces = {MediaType.APPLICATION_JSON_VALUE, Sarif.MEDIA_TYPE})
    @PreAuthorize("hasRole('BUILDER') or hasRole('SECURITY') or hasRole('ADMIN')")
    ResponseEntity<Object> lintDockerfile(HttpServletRequest request) throws IOException {
        BuildRequest parsed = BuildRequest.parse(request.getParameterMap(), properties.maxBuildArgs(),
                BuildRequest.LINT_PARAMETERS, false);
        byte[] bytes;
        try (InputStream body = request.getInputStream()) {
            bytes = body.readNBytes(MAX_DOCKERFILE + 1);
        }
        if (bytes.length > MAX_DOCKERFILE) {
            throw new Problem(413, "too-large", "Payload too large", "a Dockerfile is at most " + MAX_DOCKERFILE
                    + " bytes");
        }
        return lintResponse(request, submissions.lint(new String(bytes, StandardCharsets.UTF_8), parsed), parsed);
    }

    @PostMapping(path = "/lint", consumes = {"application/x-tar", "application/tar", "application/gzip",
            "application/x-gzip"}, produces = {MediaType.APPLICATION_JSON_VALUE, Sarif.MEDIA_TYPE})
    @PreAuthorize("hasRole('BUILDER') or hasRole('SECURITY') or hasRole('ADMIN')")
    ResponseEntity<Object> lintContext(HttpServletRequest request) throws IOException {
        BuildRequest parsed = BuildRequest.parse(request.getParameterMap(), properties.maxBuildArgs(),
                BuildRequest.LINT_PARAMETERS, false);
        try (InputStream body = request.getInputStream()) {
            return lintResponse(request, submissions.lintContext(body, request.getContentLengthLong(), parsed),
                    parsed);
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
