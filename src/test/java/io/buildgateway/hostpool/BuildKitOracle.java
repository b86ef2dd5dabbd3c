package io.buildgateway.hostpool;

import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import com.github.dockerjava.transport.DockerHttpClient;
import io.buildgateway.support.IntegrationTest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.springframework.util.unit.DataSize;
import tools.jackson.databind.json.JsonMapper;

/**
 * BuildKit as an oracle for tests outside this package: builds a context on the test environment's build host (dockerd
 * 26 with user namespaces, in its loopback-only network namespace) exactly as the gateway's host code does
 * ({@link BuildKitBuild}: {@code POST /build?version=2}, network none, {@code pull=0}), and reads back what BuildKit
 * reported (the Dockerfile steps of its trace) and what it made (the files of the image).
 */
public final class BuildKitOracle implements AutoCloseable {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HostPoolProperties.Limits LIMITS = new HostPoolProperties.Limits(DataSize.ofMegabytes(256),
            "", 512, Duration.ofMinutes(2));

    /** One Dockerfile step as BuildKit named it: the stage label (null for none), i, N, and the instruction. */
    public record Step(String stage, int index, int total, String instruction) {
    }

    /** What BuildKit reported: the image id or its error, the Dockerfile steps in the order they started, the log. */
    public record Built(String imageId, String error, List<Step> steps, String log) {
    }

    /** One entry of an image's file system: {@code file}, {@code link} or {@code dir}, mode, owner, content. */
    public record Entry(String type, int mode, String owner, String content) {
    }

    private final DockerHttpClient http;
    private final String registry;
    private final String token;

    private BuildKitOracle(DockerHttpClient http, String registry, String token) {
        this.http = http;
        this.registry = registry;
        this.token = token;
    }

    /** Connects to the environment's build host; may pull the base repositories named (e.g. {@code base/busybox}). */
    public static BuildKitOracle connect(String... pullable) {
        String registry = IntegrationTest.registryAddress();
        DockerHttpClient http = new ApacheDockerHttpClient.Builder().dockerHost(DefaultDockerClientConfig
                .createDefaultConfigBuilder().withDockerHost(IntegrationTest.require("BGW_DOCKER_HOST")).build()
                .getDockerHost()).connectionTimeout(Duration.ofSeconds(5)).build();
        return new BuildKitOracle(http, registry, pullToken(pullable));
    }

    /** A registry token of the environment's registry that pulls the repositories named, for ten minutes. */
    public static String pullToken(String... pullable) {
        RegistryTokens tokens = new RegistryTokens(new HostPoolProperties.Tokens(
                Path.of(IntegrationTest.require("BGW_TOKEN_KEY")), Path.of(IntegrationTest.require("BGW_TOKEN_CERT")),
                IntegrationTest.require("BGW_TOKEN_ISSUER"), IntegrationTest.require("BGW_TOKEN_SERVICE"),
                Duration.ofMinutes(10), List.of("base/")), Clock.systemUTC());
        return tokens.mint("build/BuildKitOracle", java.util.Arrays.stream(pullable)
                .map(r -> new RegistryTokens.Access(r, Set.of("pull"))).toList(), Duration.ofMinutes(10));
    }

    public String registry() {
        return registry;
    }

    /** Pulls a reference into the host's image store, as the gateway does before a build; null or the error. */
    public String pull(String reference) {
        return BuildKitBuild.pull(http, List.of(reference), registry, token, s -> { }).error();
    }

    /** Builds {@code context} (a plain ustar archive) with the Dockerfile at {@code dockerfile}, without cache. */
    public Built build(byte[] context, String dockerfile, Map<String, String> buildArgs) throws InterruptedException {
        StringBuilder log = new StringBuilder();
        BuildKitBuild.Result r = BuildKitBuild.build(http, new ByteArrayInputStream(context), dockerfile, null,
                buildArgs, Map.of(), true, LIMITS, log::append, () -> false, Instant.now().plus(Duration.ofMinutes(2)),
                Clock.systemUTC());
        List<Step> steps = r.trace().steps().stream()
                .map(s -> new Step(s.stage(), s.index(), s.total(), s.instruction())).toList();
        return new Built(r.imageId(), r.error(), steps, log.toString());
    }

    /**
     * Every entry of the image's file system by absolute path (read through a created, never started, container's
     * archive): regular files with their content, symlinks with their target.
     */
    public Map<String, Entry> files(String image) throws IOException {
        String id = JSON.readTree(call("POST", "/v1.45/containers/create", JSON.writeValueAsString(
                Map.of("Image", image, "Cmd", List.of("/never-run"), "NetworkDisabled", true)))).path("Id").asString();
        try {
            Map<String, Entry> out = new TreeMap<>();
            DockerHttpClient.Request request = DockerHttpClient.Request.builder()
                    .method(DockerHttpClient.Request.Method.GET).path("/v1.45/containers/" + id + "/archive?path=/")
                    .build();
            try (DockerHttpClient.Response response = http.execute(request);
                    TarArchiveInputStream tar = new TarArchiveInputStream(response.getBody())) {
                if (response.getStatusCode() != 200) {
                    throw new IOException("archive of " + image + ": HTTP " + response.getStatusCode());
                }
                for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
                    String name = "/" + e.getName().replaceFirst("^(\\./|/)+", "").replaceFirst("/$", "");
                    String owner = e.getLongUserId() + ":" + e.getLongGroupId();
                    if (e.isSymbolicLink()) {
                        out.put(name, new Entry("link", e.getMode() & 07777, owner, e.getLinkName()));
                    } else if (e.isDirectory()) {
                        out.put(name, new Entry("dir", e.getMode() & 07777, owner, null));
                    } else {
                        byte[] data = e.getSize() <= 64 * 1024 ? tar.readAllBytes() : new byte[0];
                        out.put(name, new Entry("file", e.getMode() & 07777, owner,
                                new String(data, StandardCharsets.UTF_8)));
                    }
                }
            }
            return out;
        } finally {
            call("DELETE", "/v1.45/containers/" + id + "?force=1", null);
        }
    }

    /** The image's configuration as the daemon stores it ({@code Config} of {@code GET /images/{id}/json}). */
    public tools.jackson.databind.JsonNode config(String image) throws IOException {
        return JSON.readTree(call("GET", "/v1.45/images/" + image + "/json", null)).path("Config");
    }

    /** Every name (tag or repository digest) of {@code name} (registry/repository) in the host's image store. */
    public List<String> names(String name) throws IOException {
        List<String> out = new java.util.ArrayList<>();
        for (tools.jackson.databind.JsonNode image : JSON.readTree(call("GET", "/v1.45/images/json", null))) {
            for (String field : List.of("RepoTags", "RepoDigests")) {
                for (tools.jackson.databind.JsonNode n : image.path(field)) {
                    String ref = n.asString();
                    if (ref.startsWith(name + ":") || ref.startsWith(name + "@")) {
                        out.add(ref);
                    }
                }
            }
        }
        return out;
    }

    /** Takes one name off the host, keeping the image while it has another. */
    public void untag(String reference) throws IOException {
        call("DELETE", "/v1.45/images/" + reference + "?noprune=1", null);
    }

    /** Removes an image the oracle built (untagged: by id). */
    public void remove(String image) throws IOException {
        call("DELETE", "/v1.45/images/" + image + "?force=1", null);
    }

    private String call(String method, String path, String body) throws IOException {
        DockerHttpClient.Request.Builder b = DockerHttpClient.Request.builder()
                .method(DockerHttpClient.Request.Method.valueOf(method)).path(path);
        if (body != null) {
            b.headers(Map.of("Content-Type", "application/json"))
                    .body(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8)));
        }
        try (DockerHttpClient.Response response = http.execute(b.build()); InputStream in = response.getBody()) {
            String text = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
            if (response.getStatusCode() >= 300) {
                throw new IOException(method + " " + path + ": HTTP " + response.getStatusCode() + " " + text);
            }
            return text;
        }
    }

    @Override
    public void close() throws IOException {
        http.close();
    }
}
