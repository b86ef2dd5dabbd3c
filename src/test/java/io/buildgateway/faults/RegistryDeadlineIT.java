package io.buildgateway.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.Restartable;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Issue #17, the registry down past the build's deadline ({@link RegistryOutages}). A gateway of its own (its own data
 * folder and PostgreSQL) with a build deadline of {@link #BUILD_TIMEOUT}, so that a registry that stays down past the
 * deadline is a test of under a minute, and no other Spring context of the suite (the shared database's dispatchers,
 * with the suite's 5-minute deadline) claims its build.
 */
class RegistryDeadlineIT extends RegistryOutages {

    /** Enough for the base pull, the step (6 s) and at least four push attempts (1, 2, 4, 8 s apart). */
    static final Duration BUILD_TIMEOUT = Duration.ofSeconds(50);
    static final Path OWN_DATA = Path.of(DATA + "-registry-deadline").toAbsolutePath();

    @DynamicPropertySource
    static void shortDeadline(DynamicPropertyRegistry registry) {
        ownGateway(registry, OWN_DATA);
        registry.add("bgw.it.build-timeout", () -> BUILD_TIMEOUT.toSeconds() + "s");
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
        // retried with backoff (1, 2, 4, … s, at most 30) until the deadline, not given up at the first failure
        assertThat(log.split("Push to " + java.util.regex.Pattern.quote(registryAddress()) + " failed \\(", -1))
                .as(log).hasSizeGreaterThanOrEqualTo(4);
        java.util.List<Long> waits = java.util.regex.Pattern.compile("; attempt \\d+ in (\\d+) s\n").matcher(log)
                .results().map(m -> Long.parseLong(m.group(1))).toList();
        assertThat(waits).as(log).hasSizeGreaterThanOrEqualTo(3);
        for (int i = 0; i < waits.size(); i++) {
            assertThat(waits.get(i)).as("wait %d of %s", i + 1, waits).isEqualTo(Math.min(1L << i, 30L));
        }
        // and failed at the deadline, not some time after it: the build's own record, start to end
        Double ran = jdbc.queryForObject("select extract(epoch from finished_at - started_at) from build"
                + " where id = ?::uuid", Double.class, id);
        assertThat(ran).as("seconds from start to end").isNotNull().isLessThanOrEqualTo(
                BUILD_TIMEOUT.toSeconds() + 10.0);
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
}
