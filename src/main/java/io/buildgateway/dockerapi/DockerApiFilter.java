package io.buildgateway.dockerapi;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.builds.BuildSubmissions;
import io.buildgateway.builds.LogFollows;
import io.buildgateway.builds.BuildView;
import io.buildgateway.shared.Problem;
import io.buildgateway.shared.web.RequestInfos;
import io.buildgateway.shared.web.UnreadableParameters;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Answers every request of the Docker Engine API's port (after its security chain), so none reaches the API's
 * controllers: {@code /_ping}, {@code /version}, {@code /info}, {@code POST /build} (each also under
 * {@code /v1.NN/}), and for anything else a refusal that says what the gateway serves and what to do instead.
 * Requests on the API's port pass through untouched.
 */
@Component
@Order(0)
class DockerApiFilter extends OncePerRequestFilter {

    private static final Logger log = LoggerFactory.getLogger(DockerApiFilter.class);

    /** The Engine API version this subset follows (Docker 27), and the oldest the CLI may speak to it. */
    static final String API_VERSION = "1.47";
    static final String MIN_API_VERSION = "1.24";
    private static final Pattern VERSIONED = Pattern.compile("/v[0-9]{1,2}\\.[0-9]{1,3}(/.*)");

    private final DockerApiServer server;
    private final DockerApiProperties properties;
    private final DockerErrors errors;
    private final BuildSubmissions submissions;
    private final LogFollows follows;
    private final JsonMapper json;
    private final String registry;

    DockerApiFilter(DockerApiServer server, DockerApiProperties properties, DockerErrors errors,
            BuildSubmissions submissions, JsonMapper json,
            @Value("${gateway.hostpool.registry.address:}") String registry, LogFollows follows) {
        this.follows = follows;
        this.server = server;
        this.properties = properties;
        this.errors = errors;
        this.submissions = submissions;
        this.json = json;
        this.registry = registry;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (!server.serves(request)) {
            chain.doFilter(request, response);
            return;
        }
        String path = unversioned(request.getRequestURI());
        String method = request.getMethod();
        try {
            if (path.equals("/_ping") && (method.equals("GET") || method.equals("HEAD"))) {
                ping(response, method.equals("HEAD"));
            } else if (path.equals("/version") && method.equals("GET")) {
                writeJson(response, version());
            } else if (path.equals("/info") && method.equals("GET")) {
                writeJson(response, info());
            } else if (path.equals("/build") && method.equals("POST")) {
                build(request, response);
            } else {
                errors.write(new Problem(403, DockerErrors.UNSUPPORTED, "Not served", unsupported(method, path)),
                        request, response);
            }
        } catch (Problem problem) {
            errors.write(problem, request, response);
        } catch (RuntimeException e) {
            // What the API's last resort (ProblemHandler.unexpected) answers 503 or 4xx, answered so here too, in the
            // daemon's shape and audited, instead of a 500 from /error: the database unreachable, or a value of the
            // request it refused (a check that should have caught it first is missing: logged by its SQLSTATE only,
            // the database's message can quote the value; a review's find, 2026-12-07). Once the 200 stream has
            // begun, nothing can be answered any more: the failure goes on as it is.
            Problem mapped = response.isCommitted() ? null
                    : io.buildgateway.shared.RefusedByDatabase.answer(e, request.getMethod(), request.getRequestURI(),
                            log);
            if (mapped == null) {
                throw e;
            }
            errors.write(mapped, request, response);
        }
    }

    /** The path without its {@code /v1.NN} prefix. */
    static String unversioned(String path) {
        Matcher versioned = VERSIONED.matcher(path);
        return versioned.matches() ? versioned.group(1) : path;
    }

    /**
     * Whether a path is one the gateway serves with a caller's authority ({@code /version}, {@code /info},
     * {@code /build}). Every other path is answered the same refusal, with or without a credential (the CLI's
     * buildx plugin sends none on some requests): a caller without one is then told what to do instead rather than
     * to log in for a request that would be refused anyway. Refusals are audited either way.
     */
    static boolean needsCredential(String path) {
        String p = unversioned(path);
        return p.equals("/version") || p.equals("/info") || p.equals("/build");
    }

    /**
     * Whether a path is one of the subset that the API's own port answers too (API.md, "Docker Engine
     * compatibility"): there every one of them needs a credential, {@code /_ping} included (on the API's port only
     * {@code /actuator/health} is anonymous), and refusals are problem+json like the API's.
     */
    static boolean servedOnTheApiPort(String path) {
        String p = unversioned(path);
        return p.equals("/_ping") || needsCredential(p);
    }

    /** What the gateway says to a Docker API request it does not serve: what it serves, and what to do instead. */
    static String unsupported(String method, String path) {
        String what = io.buildgateway.shared.Problem.quote(method + " " + path);
        String instead;
        if (path.equals("/session") || path.startsWith("/grpc") || path.startsWith("/containers/buildx_buildkit")) {
            // buildx asks for /grpc first and, refused, looks for (and would create) its buildkitd container
            instead = "BuildKit (buildx) is not served here: build with the classic builder, DOCKER_BUILDKIT=0 "
                    + "docker build -t <team>/<name>:<tag> ., or use `gw build`";
        } else if (path.startsWith("/containers") || path.startsWith("/exec")) {
            instead = "the gateway runs no containers: pull the image it pushed (by digest) from the registry and run "
                    + "it with your own Docker";
        } else if (path.startsWith("/images/") && path.endsWith("/push")) {
            instead = "the gateway pushes every image it builds itself: `docker build -t <team>/<name>:<tag> .` "
                    + "ends with the pushed reference and digest";
        } else if (path.equals("/images/create")) {
            instead = "pull from the registry with your own Docker: docker pull <registry>/<team>/<name>@sha256:...";
        } else {
            instead = "use the gateway's API (`gw`, docs/api.md) for builds, logs, images and deployments";
        }
        return "the Build Gateway serves only `docker build` (the classic builder) on this address, not " + what
                + ": " + instead;
    }

    private void ping(HttpServletResponse response, boolean head) throws IOException {
        response.setStatus(200);
        response.setHeader("API-Version", API_VERSION);
        response.setHeader("Builder-Version", "1");
        response.setHeader("Docker-Experimental", "false");
        response.setHeader("OSType", "linux");
        response.setHeader("Cache-Control", "no-cache, no-store, must-revalidate");
        response.setHeader("Pragma", "no-cache");
        response.setContentType("text/plain; charset=utf-8");
        if (!head) {
            response.getOutputStream().write("OK".getBytes(StandardCharsets.US_ASCII));
        }
    }

    private Map<String, Object> version() {
        String[] platform = properties.platform().split("/", 2);
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("Platform", Map.of("Name", "Build Gateway"));
        v.put("Components", List.of(Map.of("Name", "Build Gateway", "Version", gatewayVersion())));
        v.put("Version", gatewayVersion());
        v.put("ApiVersion", API_VERSION);
        v.put("MinAPIVersion", MIN_API_VERSION);
        v.put("Os", platform[0]);
        v.put("Arch", platform.length > 1 ? platform[1] : "");
        return v;
    }

    private Map<String, Object> info() {
        String[] platform = properties.platform().split("/", 2);
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("ID", "build-gateway");
        v.put("Name", "build-gateway");
        v.put("ServerVersion", gatewayVersion());
        v.put("OperatingSystem", "Build Gateway (docker build only; builds run on the gateway's hosts)");
        v.put("OSType", platform[0]);
        v.put("Architecture", platform.length > 1 ? platform[1] : "");
        v.put("Containers", 0);
        v.put("Images", 0);
        v.put("IndexServerAddress", registry);
        v.put("Warnings", List.of("This is the Build Gateway: it serves docker build only and pushes every image"
                + " it builds to " + registry));
        return v;
    }

    private static String gatewayVersion() {
        String v = DockerApiFilter.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    private void writeJson(HttpServletResponse response, Object body) throws IOException {
        response.setStatus(200);
        response.setContentType("application/json");
        json.writeValue(response.getOutputStream(), body);
    }

    /**
     * {@code POST /build}: the CLI's options checked and translated, the context handed to the same submission as
     * {@code POST /api/v1/builds}, then the build's log streamed until it ends. The {@code X-Registry-Config} header
     * (every registry credential the CLI knows) is never read: the gateway gives its build hosts tokens of its own.
     */
    private void build(HttpServletRequest request, HttpServletResponse response) throws IOException {
        GatewayPrincipal principal = GatewayPrincipal.require();
        if (!principal.has(io.buildgateway.auth.Role.BUILDER)) {
            // Before the options are read: a token that may not build is refused as such (403, audited DENIED),
            // whatever it sent, not answered 400 for an option (a review's find, 2026-12-07). The team is checked
            // by the submission, once -t is read.
            throw Problem.forbidden("building needs the BUILDER role");
        }
        Map<String, String[]> query;
        try {
            query = request.getParameterMap();
        } catch (IllegalStateException unreadable) {
            // Tomcat 11 cannot read the parameters (too many; a form body with a broken escape or over
            // maxPostSize): the request's fault, refused in the daemon's shape and audited, not a 500.
            throw UnreadableParameters.problem(unreadable);
        }
        DockerBuildParameters.Parsed parsed;
        try {
            parsed = DockerBuildParameters.parse(query, registry, properties.platform());
        } catch (DockerBuildParameters.Refused refused) {
            throw Problem.badRequest("docker-build-option-refused", "the Build Gateway refused this build: "
                    + refused.getMessage());
        }
        if (server.onOwnPort(request)) {
            build(request, response, principal, parsed); // the port's own threads; the team's queue quota bounds it
            return;
        }
        // On the API's port the build's stream holds one of the API's threads until the build ends: it counts as one
        // of the caller's log follows (gateway.builds.follow.max-per-caller, and max-total for all), admitted before
        // anything is submitted.
        String caller = LogFollows.caller(principal);
        follows.admit(caller);
        try {
            build(request, response, principal, parsed);
        } finally {
            follows.release(caller);
        }
    }

    private void build(HttpServletRequest request, HttpServletResponse response, GatewayPrincipal principal,
            DockerBuildParameters.Parsed parsed) throws IOException {
        BuildView build;
        try (InputStream body = request.getInputStream()) {
            build = submissions.submit(parsed.parameters(), body, request.getContentLengthLong(), principal,
                    RequestInfos.of(request));
        } catch (Problem problem) {
            if (problem.status() == 422 && problem.properties().get("buildId") instanceof String rejected) {
                // Rejected by policy: recorded and audited as build.rejected; the daemon's way is a 200 stream that
                // ends in an error, so the CLI prints the findings and exits non-zero.
                errors.audit(problem, request);
                DockerBuildStream stream = DockerBuildStream.open(response, json);
                try {
                    new DockerBuildFollower(submissions, principal, properties.pollInterval())
                            .rejected(UUID.fromString(rejected), stream);
                } catch (DockerBuildStream.Gone gone) {
                    // nothing to stop: the build was rejected and recorded
                }
                return;
            }
            throw problem;
        }
        DockerBuildStream stream = DockerBuildStream.open(response, json);
        try {
            new DockerBuildFollower(submissions, principal, properties.pollInterval()).follow(build, stream);
        } catch (DockerBuildStream.Gone gone) {
            // The CLI went away (Ctrl-C): as with the daemon, the build stops.
            log.info("docker build client of build {} disconnected; cancelling it", build.id());
            try {
                submissions.cancel(build.id(), principal, RequestInfos.of(request));
            } catch (Problem alreadyFinal) {
                // ended meanwhile
            }
        }
    }
}
