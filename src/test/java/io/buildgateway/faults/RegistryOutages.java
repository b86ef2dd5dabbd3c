package io.buildgateway.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.EnvironmentUse;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Restartable;
import io.buildgateway.support.Tars;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import tools.jackson.databind.JsonNode;

/**
 * Issue #17, "the registry down during a push", against the environment's real registries (scripts/env.sh): the
 * token registry the build daemon pushes to, and the open one the gateway reads, names images in and stores
 * attestations in (one storage). The tests stop them by their pids while a build's step runs, after its base was
 * pulled, and start them again in {@code finally} with the same command lines, whatever happened. The cases:
 * {@link RegistryDownIT} (the registry comes back: the build succeeds once), {@link RegistryDeadlineIT} (it does not
 * come back before the deadline: the build fails and nothing is recorded).
 */
@EnvironmentUse(exclusive = true)
abstract class RegistryOutages extends IntegrationTest {

    protected final Path dir = Path.of(require("BGW_STATE")).resolve("registry");
    private final Path socket = Path.of(require("BGW_TOKEN_SOCKET"));

    // ---- helpers ------------------------------------------------------------------------------------------------

    /** Submits a build whose step runs for a few seconds and returns its id once the step started. */
    protected String submitAndAwaitStep(String token, String image, String tag) {
        return submitAndAwaitStep(token, image, tag, 6);
    }

    /** As {@link #submitAndAwaitStep(String, String, String)}, with a step of {@code seconds}. */
    protected String submitAndAwaitStep(String token, String image, String tag, int seconds) {
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                + "RUN echo " + image + "-step && sleep " + seconds + " && echo " + image + "-done > /done.txt\n"
                + "USER 65534\n");
        Response submitted = submit(token, "image=payments/" + image + "&tag=" + tag + "&noCache=true", context);
        assertThat(submitted.status()).as(submitted.body()).isEqualTo(202);
        String id = read(submitted).path("id").asString();
        eventually("the step starting", Duration.ofMinutes(2),
                () -> get(token, "/api/v1/builds/" + id + "/logs").body().contains(image + "-step"));
        return id;
    }

    /** Succeeded once, with one image: the record, the inventory, the provenance and the registry agree. */
    protected void assertRecordedOnce(String id, JsonNode done, String repository, String tag) {
        String digest = done.path("imageDigest").asString();
        assertThat(digest).startsWith("sha256:");
        assertThat(auditCount("build.started", "build/" + id)).isEqualTo(1);
        assertThat(auditCount("build.succeeded", "build/" + id)).isEqualTo(1);
        assertThat(auditCount("build.failed", "build/" + id)).isZero();
        assertThat(manifestStatus(repository, digest)).isEqualTo(200);
        assertThat(count("select count(*) from image_provenance where build_id = ?::uuid", id)).isEqualTo(1);
        assertThat(jdbc.queryForList("select digest from image where build_id = ?::uuid", String.class, id))
                .containsExactly(digest);
        assertThat(jdbc.queryForList("select digest from image_tag where repository = ? and tag = ? and until is"
                + " null", String.class, repository, tag)).containsExactly(digest);
    }

    protected Restartable tokenRegistry() {
        return Restartable.fromPidFile("token registry", dir.resolve("token-registry.pid"),
                dir.resolve("token-registry.log"));
    }

    protected Restartable openRegistry() {
        return Restartable.fromPidFile("registry", dir.resolve("registry.pid"), dir.resolve("registry.log"));
    }

    /**
     * Both, each whatever happened to the other, so the environment is left as it was found; one still running is
     * left alone. The token registry's old socket file goes first, so that its presence means the new process
     * listens.
     */
    protected void startAgain(Restartable tokenRegistry, Restartable openRegistry) throws Exception {
        try {
            if (!alive(tokenRegistry)) {
                Files.deleteIfExists(socket);
                tokenRegistry.start(dir.resolve("token-registry.pid"), Duration.ofSeconds(30),
                        () -> Files.exists(socket));
            }
        } finally {
            if (!alive(openRegistry)) {
                openRegistry.start(dir.resolve("registry.pid"), Duration.ofSeconds(30),
                        () -> status("http://" + registryAddress() + "/v2/") == 200);
            }
        }
    }

    private static boolean alive(Restartable server) {
        return ProcessHandle.of(server.pid()).map(ProcessHandle::isAlive).orElse(false);
    }

    protected long count(String sql, Object... args) {
        return jdbc.queryForObject(sql, Long.class, args);
    }

    protected int manifestStatus(String repository, String reference) {
        return status("http://" + registryAddress() + "/v2/" + repository + "/manifests/" + reference);
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
