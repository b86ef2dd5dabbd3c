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
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Issue #17, "the registry down during a push", against the environment's real registries (scripts/env.sh): the
 * token registry the build daemon pushes to, and the open one the gateway reads, names images in and stores
 * attestations in (one storage). They are stopped by their pids while a build's step runs, after its base was
 * pulled, and started again in {@code finally} with the same command lines, whatever happened.
 *
 * <p>A gateway of its own (its own data folder and PostgreSQL) with a build deadline of {@link #BUILD_TIMEOUT}, so
 * that a registry that stays down past the deadline is a two-minute test, and no other Spring context of the suite
 * (the shared database's dispatchers, with the suite's 5-minute deadline) claims these builds.
 */
class RegistryDownIT extends IntegrationTest {

    static final Duration BUILD_TIMEOUT = Duration.ofMinutes(2);
    static final Path OWN_DATA = Path.of(DATA + "-registry-down").toAbsolutePath();

    @DynamicPropertySource
    static void shortDeadline(DynamicPropertyRegistry registry) {
        registry.add("bgw.it.data-dir", OWN_DATA::toString);
        registry.add("bgw.it.audit-export-file", () -> OWN_DATA.resolve("audit").resolve("export.jsonl").toString());
        registry.add("bgw.it.syslog-host", () -> "");
        registry.add("bgw.it.build-timeout", () -> BUILD_TIMEOUT.toSeconds() + "s");
    }

    private final Path dir = Path.of(require("BGW_STATE")).resolve("registry");
    private final Path socket = Path.of(require("BGW_TOKEN_SOCKET"));

    @Test
    void aPushThatFindsTheRegistryDownIsRetriedAndSucceedsOnceItIsBack() throws Exception {
        String token = builder("payments");
        String id = submitAndAwaitStep(token, "registry-down", "1");

        Restartable tokenRegistry = tokenRegistry();
        Restartable openRegistry = openRegistry();
        try {
            tokenRegistry.stop("TERM", Duration.ofSeconds(20));
            openRegistry.stop("TERM", Duration.ofSeconds(20));
            eventually("a failed push attempt", Duration.ofMinutes(3),
                    () -> get(token, "/api/v1/builds/" + id + "/logs").body().contains("; attempt 2 in "));
            assertThat(read(get(token, "/api/v1/builds/" + id)).path("status").asString()).isEqualTo("RUNNING");
        } finally {
            startAgain(tokenRegistry, openRegistry);
        }

        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(4));
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(done.path("status").asString()).as(log).isEqualTo("SUCCEEDED");
        assertThat(log).contains("Push to " + registryAddress() + " failed (");
        assertRecordedOnce(id, done, "payments/registry-down", "1");
    }

    /**
     * The registry stays away past the build's deadline: the push is retried with backoff until the next attempt
     * would start after the deadline (or an attempt is still running at it), then the build is FAILED with a reason
     * naming the registry and its last error. Never half-recorded: no inventory row, no tag, no provenance, no
     * {@code build.succeeded}, nothing under the image's name once the registry is back.
     */
    @Test
    void aRegistryDownPastTheDeadlineFailsTheBuildWithTheReasonAndRecordsNothing() throws Exception {
        String token = builder("payments");
        String id = submitAndAwaitStep(token, "registry-gone", "1");
        long started = System.nanoTime();

        Restartable tokenRegistry = tokenRegistry();
        Restartable openRegistry = openRegistry();
        JsonNode done;
        try {
            tokenRegistry.stop("TERM", Duration.ofSeconds(20));
            openRegistry.stop("TERM", Duration.ofSeconds(20));
            // the whole deadline, with the registries down all along, plus the time to record the outcome
            done = awaitFinal(token, id, BUILD_TIMEOUT.plusMinutes(2));
        } finally {
            startAgain(tokenRegistry, openRegistry);
        }
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(done.path("status").asString()).as(log).isEqualTo("FAILED");
        String reason = done.path("failureReason").asString();
        assertThat(reason).as(log).startsWith("push to " + registryAddress() + " ")
                .containsAnyOf("within the build's deadline", "exceeded the build timeout of");
        // retried with backoff (1, 2, 4, … s) until the deadline, not given up at the first failure
        assertThat(log.split("Push to " + java.util.regex.Pattern.quote(registryAddress()) + " failed \\(", -1))
                .as(log).hasSizeGreaterThanOrEqualTo(4);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(BUILD_TIMEOUT.plusMinutes(2));
        assertThat(done.path("imageDigest").isNull() || done.path("imageDigest").isMissingNode()).as(done.toString())
                .isTrue();

        // nothing recorded for an image the registry does not have
        assertThat(count("select count(*) from image where build_id = ?::uuid", id)).isZero();
        assertThat(count("select count(*) from image_tag where repository = ? and tag = ?", "payments/registry-gone",
                "1")).isZero();
        assertThat(count("select count(*) from image_provenance where build_id = ?::uuid", id)).isZero();
        assertThat(count("select count(*) from build where id = ?::uuid and status = 'FAILED' and image_digest is"
                + " null", id)).isEqualTo(1);
        assertThat(auditCount("build.succeeded", "build/" + id)).isZero();
        assertThat(auditCount("build.failed", "build/" + id)).isEqualTo(1);
        // and nothing under its name in the registry, nor a quarantined copy left to be named
        assertThat(manifestStatus("payments/registry-gone", "1")).isEqualTo(404);
        for (String held : quarantineRepositories(id)) {
            assertThat(manifestStatus(held, "checking")).as(held).isNotEqualTo(200);
        }
    }

    /**
     * The registry goes away between the quarantine push and the naming: the open registry (where the gateway names
     * the checked image) is stopped while the step runs, so the daemon's quarantine push to the token registry
     * succeeds and the naming finds no registry. It is retried; once the registry is back the build SUCCEEDS once,
     * with one image.
     */
    @Test
    void theNamingOfTheCheckedImageIsRetriedWhenTheRegistryIsAwayAndTheBuildSucceedsOnce() throws Exception {
        String token = builder("payments");
        String id = submitAndAwaitStep(token, "registry-naming", "1");

        Restartable tokenRegistry = tokenRegistry();
        Restartable openRegistry = openRegistry();
        try {
            openRegistry.stop("TERM", Duration.ofSeconds(20));
            eventually("a failed attempt to name the image", Duration.ofMinutes(2),
                    () -> get(token, "/api/v1/builds/" + id + "/logs").body()
                            .contains("Naming the image in " + registryAddress() + " failed ("));
            assertThat(read(get(token, "/api/v1/builds/" + id)).path("status").asString()).isEqualTo("RUNNING");
        } finally {
            startAgain(tokenRegistry, openRegistry);
        }

        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(done.path("status").asString()).as(log).isEqualTo("SUCCEEDED");
        // the quarantine push went through at once; only the naming was tried again
        assertThat(log).doesNotContain("Push to " + registryAddress() + " failed (");
        assertRecordedOnce(id, done, "payments/registry-naming", "1");
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    /** Submits a build whose step runs for a few seconds and returns its id once the step started. */
    private String submitAndAwaitStep(String token, String image, String tag) {
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                + "RUN echo " + image + "-step && sleep 6 && echo " + image + "-done > /done.txt\nUSER 65534\n");
        Response submitted = submit(token, "image=payments/" + image + "&tag=" + tag + "&noCache=true", context);
        assertThat(submitted.status()).as(submitted.body()).isEqualTo(202);
        String id = read(submitted).path("id").asString();
        eventually("the step starting", Duration.ofMinutes(2),
                () -> get(token, "/api/v1/builds/" + id + "/logs").body().contains(image + "-step"));
        return id;
    }

    /** Succeeded once, with one image: the record, the inventory, the provenance and the registry agree. */
    private void assertRecordedOnce(String id, JsonNode done, String repository, String tag) {
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

    private Restartable tokenRegistry() {
        return Restartable.fromPidFile("token registry", dir.resolve("token-registry.pid"),
                dir.resolve("token-registry.log"));
    }

    private Restartable openRegistry() {
        return Restartable.fromPidFile("registry", dir.resolve("registry.pid"), dir.resolve("registry.log"));
    }

    /**
     * Both, each whatever happened to the other, so the environment is left as it was found; one still running is
     * left alone. The token registry's old socket file goes first, so that its presence means the new process
     * listens.
     */
    private void startAgain(Restartable tokenRegistry, Restartable openRegistry) throws Exception {
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

    private long count(String sql, Object... args) {
        return jdbc.queryForObject(sql, Long.class, args);
    }

    private int manifestStatus(String repository, String reference) {
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
