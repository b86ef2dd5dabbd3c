package io.buildgateway.hostpool;

import com.github.dockerjava.transport.DockerHttpClient;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A host's BuildKit build cache through the Engine API: its size ({@code GET /system/df?type=build-cache}) and its
 * pruning ({@code POST /build/prune} with {@code keep-storage}). The size is what BuildKit itself counts against
 * {@code keep-storage}: the records that are not shared with the image store (layers of images are not build cache;
 * removing the image frees them). BuildKit prunes least recently used records first and never one in use by a
 * running build; without {@code all} it keeps the records the image store shares and its internal ones.
 */
final class BuildCache {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /**
     * The build cache's size and record count, as the daemon reported them; {@code inUseBytes} is the part of
     * {@code bytes} in records a running build (or a result BuildKit still holds) uses, which no prune can remove
     * until they are released.
     */
    record Usage(long bytes, int records, long inUseBytes) {
    }

    private BuildCache() {
    }

    static Usage usage(DockerHttpClient http) throws IOException {
        DockerHttpClient.Request request = DockerHttpClient.Request.builder()
                .method(DockerHttpClient.Request.Method.GET)
                .path("/v" + BuildHostVersions.BUILDKIT_API + "/system/df?type=build-cache").build();
        JsonNode df = execute(http, request, "GET /system/df");
        long bytes = 0;
        long inUse = 0;
        int records = 0;
        for (JsonNode entry : df.path("BuildCache")) {
            records++;
            if (!entry.path("Shared").asBoolean(false)) {
                long size = Math.max(0, entry.path("Size").asLong(0));
                bytes += size;
                if (entry.path("InUse").asBoolean(false)) {
                    inUse += size;
                }
            }
        }
        return new Usage(bytes, records, inUse);
    }

    /**
     * Prunes the build cache down to {@code keepBytes}, least recently used first; returns what the daemon reported
     * as reclaimed. With {@code unusedFor} (a Go duration such as {@code 10m}), only records unused for at least that
     * long go.
     */
    static long prune(DockerHttpClient http, long keepBytes, String unusedFor) throws IOException {
        String path = "/v" + BuildHostVersions.BUILDKIT_API + "/build/prune?keep-storage=" + keepBytes;
        if (unusedFor != null) {
            String filters = JSON.writeValueAsString(Map.of("unused-for", Map.of(unusedFor, true)));
            path += "&filters=" + URLEncoder.encode(filters, StandardCharsets.UTF_8);
        }
        DockerHttpClient.Request request = DockerHttpClient.Request.builder()
                .method(DockerHttpClient.Request.Method.POST).path(path).build();
        return execute(http, request, "POST /build/prune").path("SpaceReclaimed").asLong(0);
    }

    private static JsonNode execute(DockerHttpClient http, DockerHttpClient.Request request, String what)
            throws IOException {
        try (DockerHttpClient.Response response = http.execute(request); InputStream body = response.getBody()) {
            byte[] bytes = body.readAllBytes();
            if (response.getStatusCode() >= 400) {
                String text = new String(bytes, StandardCharsets.UTF_8);
                throw new IOException(what + " answered HTTP " + response.getStatusCode() + ": "
                        + (text.length() > 200 ? text.substring(0, 200) + "…" : text));
            }
            return JSON.readTree(bytes);
        }
    }
}
