package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.DockerCli;
import io.buildgateway.support.EnvironmentUse;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.util.unit.DataSize;
import tools.jackson.databind.JsonNode;

/**
 * Issue #13, the cache cap on the real dockerd 26 (userns-1): builds with cache mounts fill the host's BuildKit cache
 * over a small cap, the pool prunes it below the cap (least recently used first) and audits it, and after the prune a
 * team's cache mount is still its own.
 *
 * <p>The suite's userns-1 has a cap its builds stay below (IntegrationTest): the builds here show that every build
 * ends with the cache read; the prune itself is the pool's end-of-build step run with a small cap on the same host,
 * since a gateway of its own with that cap would share the suite's database and dispatch the suite's builds.
 */
@EnvironmentUse(exclusive = true)
class BuildCachePruneIT extends IntegrationTest {

    private static final Duration BUILD = Duration.ofMinutes(3);
    private static final long CAP = DataSize.ofMegabytes(24).toBytes();

    @Autowired
    BuildHosts hosts;

    @Autowired
    HostPoolProperties properties;

    private String build(String token, String team, String run) {
        String text = "FROM " + registryAddress() + "/base/busybox\n" + run + "\nUSER 65534\n";
        Response r = submit(token, "image=" + team + "/fill&tag=1", Tars.dockerfile(text));
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        JsonNode done = awaitFinal(token, read(r).get("id").asText(), BUILD);
        return done.get("status").asText();
    }

    /**
     * Builds {@code check} (a RUN line) ending with a nonce, expects SUCCEEDED, and that the step ran: its output line
     * {@code ran-<nonce>} is in the log (printf makes it; the command's text does not match) and its vertex was not
     * CACHED. Without a nonce a check that passed once could be taken from BuildKit's layer cache (the daemon's data
     * root outlives the run) and never made again.
     */
    private void checks(String token, String team, String check) {
        String nonce = Long.toString(System.nanoTime(), 36);
        String text = "FROM " + registryAddress() + "/base/busybox\n" + check + " && printf '%s-%s\\n' ran " + nonce
                + "\nUSER 65534\n";
        Response r = submit(token, "image=" + team + "/fill&tag=1", Tars.dockerfile(text));
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        String id = read(r).get("id").asText();
        JsonNode done = awaitFinal(token, id, BUILD);
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(done.get("status").asText()).as(check + "\n" + done + "\n" + log).isEqualTo("SUCCEEDED");
        java.util.regex.Matcher ran = java.util.regex.Pattern.compile("(?m)^\\| #(\\d+) ran-" + nonce + "$")
                .matcher(log);
        assertThat(ran.find()).as("the step ran: " + check + "\n" + log).isTrue();
        assertThat(log).as("the step was not taken from the cache").doesNotContain("\n| #" + ran.group(1)
                + " CACHED\n");
    }

    private JsonNode host() {
        for (JsonNode h : read(get(ADMIN_SECRET, "/api/v1/hosts"))) {
            if (h.get("name").asText().equals("userns-1")) {
                return h;
            }
        }
        throw new AssertionError("userns-1 is not in GET /api/v1/hosts");
    }

    /** The details of the last {@code host.cache-pruned} event of userns-1, which must have succeeded. */
    private JsonNode lastPrune() {
        Map<String, Object> row = jdbc.queryForMap("select outcome, details::text as details from audit_event"
                + " where action = 'host.cache-pruned' and target = 'host/userns-1' order by seq desc limit 1");
        JsonNode details = json.readTree((String) row.get("details"));
        assertThat(row.get("outcome").toString()).as(details.toString()).isEqualToIgnoringCase("success");
        return details;
    }

    @Test
    void theCacheIsPrunedBelowTheCapAuditedAndTeamsStaySeparate() {
        // What earlier classes left in the shared host's cache (BuildHostImageIT's build host image: hundreds of MB)
        // goes first, here, where the class holds the environment alone: a prune of everything beside another JVM's
        // running build fails that build ("failed to get dead record").
        DockerCli.Run cleared = DockerCli.run(Path.of(require("BGW_DOCKER_CONFIG")), require("BGW_DOCKER_HOST"),
                Map.of(), "builder", "prune", "-af");
        assertThat(cleared.exit()).as(cleared.output()).isZero();
        String alpha = builder("prunea");
        String beta = builder("pruneb");
        String mount = "RUN --mount=type=cache,target=/cache ";
        long nonce = System.nanoTime();
        assertThat(build(alpha, "prunea", mount + "sh -c 'echo " + nonce + " > /cache/marker'"))
                .isEqualTo("SUCCEEDED");
        // three cache mounts of 12 MB each: 36 MB of cache mounts alone, over the cap of 24 MB
        for (int i = 0; i < 3; i++) {
            // a target of its own each: with one target and ids fill0-…, fill1-…, fill2-… the three builds got one
            // namespaced mount (seen on dockerd 26) and the later two came from the layer cache
            assertThat(build(alpha, "prunea", "RUN --mount=type=cache,target=/fill" + i + "-" + nonce
                    + " dd if=/dev/urandom of=/fill" + i + "-" + nonce + "/data bs=1048576 count=12"))
                    .isEqualTo("SUCCEEDED");
        }
        eventually("GET /api/v1/hosts shows the cache the builds filled", Duration.ofSeconds(30),
                () -> host().path("buildCacheBytes").asLong(0) > CAP);
        assertThat(host().get("buildCacheMax").asLong()).isEqualTo(DataSize.ofGigabytes(20).toBytes());
        long before = auditCount("host.cache-pruned", "host/userns-1");

        HostPoolProperties.Host userns = properties.hosts().get(0);
        HostPoolProperties.Host capped = new HostPoolProperties.Host(userns.name(), userns.endpoint(),
                userns.capacity(), userns.tlsCertPath(), userns.builder(), userns.egressAddress(),
                DataSize.ofBytes(CAP), null);
        hosts.enforceCap(capped, "test");
        assertThat(auditCount("host.cache-pruned", "host/userns-1")).isEqualTo(before + 1);
        JsonNode details = lastPrune();
        assertThat(details.get("bytesBefore").asLong()).isGreaterThan(CAP);
        // BuildKit never prunes a record that is still held (a running build's, or a result it has not released
        // yet: bytesInUseAfter); the pool prunes again after the next build, as it does here until the host is
        // under the cap. CI once saw 893 MB stay after a prune, with nothing to say why: the daemon's own view is in
        // the message now.
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (details.path("bytesAfter").asLong(Long.MAX_VALUE) > CAP && System.nanoTime() < deadline) {
            sleep(5_000);
            hosts.enforceCap(capped, "test");
            details = lastPrune();
        }
        assertThat(details.get("bytesAfter").asLong()).as(details + "\n" + DockerCli.run(
                Path.of(require("BGW_DOCKER_CONFIG")), require("BGW_DOCKER_HOST"), Map.of(), "system", "df", "-v")
                .output()).isLessThanOrEqualTo(CAP);
        assertThat(details.get("cap").asLong()).isEqualTo(CAP);
        assertThat(host().get("buildCacheBytes").asLong()).isLessThanOrEqualTo(CAP);

        // after the prune: each team's mount of the same target is still its own (every check ends with a nonce,
        // so it runs; the mounts' ids, their targets, hold none)
        for (String team : List.of("prunea", "pruneb")) {
            String token = team.equals("prunea") ? alpha : beta;
            checks(token, team, mount + "echo " + team + " > /cache/after-" + nonce);
        }
        checks(alpha, "prunea", mount + "grep -qx prunea /cache/after-" + nonce);
        checks(beta, "pruneb", mount + "grep -qx pruneb /cache/after-" + nonce);
        checks(beta, "pruneb", "RUN --mount=type=cache,id=/cache,target=/c test ! -e /c/marker");
    }
}
