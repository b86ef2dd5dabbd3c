package io.buildgateway.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Restartable;
import io.buildgateway.support.Tars;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Issue #17, "the registry down during a push": both registry processes of the environment (the token registry the
 * build daemon pushes to, and the open one the gateway reads and stores attestations in; scripts/env.sh) are stopped
 * by their pids while the build's step runs, after its base was pulled, so its push finds no registry. The push is
 * retried with backoff; once the registries are started again the build succeeds, recorded once, and what was
 * recorded is in the registry.
 */
class RegistryDownIT extends IntegrationTest {

    @Test
    void aPushThatFindsTheRegistryDownIsRetriedAndSucceedsOnceItIsBack() throws Exception {
        Path dir = Path.of(require("BGW_STATE")).resolve("registry");
        Path socket = Path.of(require("BGW_TOKEN_SOCKET"));
        String token = builder("payments");
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                + "RUN echo registry-down-step && sleep 6 && echo registry-down-done > /done.txt\nUSER 65534\n");
        String id = read(submit(token, "image=payments/registry-down&tag=1&noCache=true", context)).path("id")
                .asString();
        eventually("the step starting", Duration.ofMinutes(2),
                () -> get(token, "/api/v1/builds/" + id + "/logs").body().contains("registry-down-step"));

        Restartable tokenRegistry = Restartable.fromPidFile("token registry", dir.resolve("token-registry.pid"),
                dir.resolve("token-registry.log"));
        Restartable openRegistry = Restartable.fromPidFile("registry", dir.resolve("registry.pid"),
                dir.resolve("registry.log"));
        try {
            tokenRegistry.stop("TERM", Duration.ofSeconds(20));
            openRegistry.stop("TERM", Duration.ofSeconds(20));
            eventually("a failed push attempt", Duration.ofMinutes(3),
                    () -> get(token, "/api/v1/builds/" + id + "/logs").body().contains("; attempt 2 in "));
            assertThat(read(get(token, "/api/v1/builds/" + id)).path("status").asString()).isEqualTo("RUNNING");
        } finally {
            // both, whatever happened, so the environment is left as it was found; the old socket file goes
            // first, so that its presence means the new process listens
            try {
                if (!ProcessHandle.of(tokenRegistry.pid()).map(ProcessHandle::isAlive).orElse(false)) {
                    Files.deleteIfExists(socket);
                }
                tokenRegistry.start(dir.resolve("token-registry.pid"), Duration.ofSeconds(30),
                        () -> Files.exists(socket));
            } finally {
                openRegistry.start(dir.resolve("registry.pid"), Duration.ofSeconds(30),
                        () -> status("http://" + registryAddress() + "/v2/") == 200);
            }
        }

        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(4));
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(done.path("status").asString()).as(log).isEqualTo("SUCCEEDED");
        assertThat(log).contains("Push to " + registryAddress() + " failed (");
        assertThat(auditCount("build.succeeded", "build/" + id)).isEqualTo(1);
        // What was recorded is in the registry: the manifest by the recorded digest, and its provenance row.
        String digest = done.path("imageDigest").asString();
        assertThat(status("http://" + registryAddress() + "/v2/payments/registry-down/manifests/" + digest))
                .isEqualTo(200);
        assertThat(jdbc.queryForObject("select count(*) from image_provenance where build_id = ?::uuid", Long.class,
                id)).isEqualTo(1);
    }

    private int status(String url) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5))
                    .header("Accept", "application/vnd.docker.distribution.manifest.v2+json,"
                            + " application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json")
                    .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                    java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (java.io.IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
