package io.buildgateway.inventory;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The control room on the real environment: two images on a Debian base, their deployments, the base tag moving in
 * the registry, a rebuild by base, and the deployments that stay stale until they are redeployed.
 */
class InventoryIT extends IntegrationTest {

    private static final String RUN = Long.toString(System.nanoTime() % 1_000_000_000L, 36);

    private JsonNode build(String token, String image, String dockerfile) {
        return succeeded(token, queue(token, image, dockerfile));
    }

    /** Submits a build and returns its id (the two builds of a test run side by side on the host's slots). */
    private String queue(String token, String image, String dockerfile) {
        Response accepted = submit(token, "image=" + image + "&tag=1&noCache=true", Tars.dockerfile(dockerfile));
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        return read(accepted).path("id").asString();
    }

    private JsonNode succeeded(String token, String id) {
        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(4));
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
        return done;
    }

    @org.springframework.beans.factory.annotation.Autowired
    Inventory inventory;
    @org.springframework.beans.factory.annotation.Autowired
    org.springframework.transaction.support.TransactionTemplate tx;

    /**
     * Two builds of one tag finishing at the same moment move the tag one after the other. Before (a review's
     * finding, 2026-12-06), both finish transactions read the same current row; the second's insert then broke the
     * unique index, and BuildDispatcher recorded that build, already pushed, as FAILED. The first transaction here
     * holds its move uncommitted for a second while the second records its own.
     */
    @Test
    void twoBuildsOfOneTagFinishingTogetherMoveItOneAfterTheOther() throws Exception {
        String repository = "inv/race-" + RUN;
        java.util.List<java.util.UUID> ids = twoBuildRows(repository);
        String first = "sha256:" + "1".repeat(64);
        String second = "sha256:" + "2".repeat(64);
        java.util.concurrent.CountDownLatch moved = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CompletableFuture<Void> a = java.util.concurrent.CompletableFuture.runAsync(() ->
                tx.executeWithoutResult(s -> {
                    inventory.pushed(succeeded(ids.get(0), repository, first));
                    moved.countDown();
                    sleep(1_000);
                }));
        assertThat(moved.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        tx.executeWithoutResult(s -> inventory.pushed(succeeded(ids.get(1), repository, second)));
        a.get(30, java.util.concurrent.TimeUnit.SECONDS);

        assertThat(jdbc.queryForList("select digest from image_tag where repository = ? and tag = 'latest'"
                + " order by since, until nulls last", String.class, repository)).containsExactly(first, second);
        assertThat(jdbc.queryForObject("select digest from image_tag where repository = ? and tag = 'latest' and"
                + " until is null", String.class, repository)).isEqualTo(second);
        assertThat(jdbc.queryForList("select cast(details as varchar) from audit_event where action ="
                + " 'image.tag-moved' and target = ? order by seq", String.class, "image/" + repository + ":latest"))
                .hasSize(2).last().asString().contains(first).contains(second);
    }

    /**
     * Records retried through a database outage commit in any order: a build of a tag recorded after a build of the
     * same tag that finished (pushed) later is history, never the tag's current image, and the tag's rows never end
     * before they begin (a review's finding, 2026-12-07).
     */
    @Test
    void aBuildRecordedAfterALaterBuildOfItsTagIsHistoryNotCurrent() {
        String repository = "inv/late-" + RUN;
        java.util.List<java.util.UUID> ids = twoBuildRows(repository);
        java.time.Instant pushedFirst = java.time.Instant.now().minusSeconds(5).truncatedTo(
                java.time.temporal.ChronoUnit.MICROS);
        String older = "sha256:" + "3".repeat(64);
        String newer = "sha256:" + "4".repeat(64);
        String oldest = "sha256:" + "5".repeat(64);
        String newest = "sha256:" + "6".repeat(64);
        // Recorded A (oldest), C (newer), D (newest), then B (older, pushed between A and C).
        tx.executeWithoutResult(s -> inventory.pushed(succeeded(ids.get(0), repository, oldest, pushedFirst
                .minusSeconds(2))));
        tx.executeWithoutResult(s -> inventory.pushed(succeeded(ids.get(1), repository, newer, pushedFirst
                .plusSeconds(2))));
        tx.executeWithoutResult(s -> inventory.pushed(succeeded(ids.get(1), repository, newest, pushedFirst
                .plusSeconds(4))));
        tx.executeWithoutResult(s -> inventory.pushed(succeeded(ids.get(0), repository, older, pushedFirst)));

        assertThat(jdbc.queryForObject("select digest from image_tag where repository = ? and tag = 'latest' and"
                + " until is null", String.class, repository)).isEqualTo(newest);
        assertThat(jdbc.queryForList("select digest from image_tag where repository = ? and tag = 'latest'"
                + " order by since", String.class, repository)).containsExactly(oldest, older, newer, newest);
        assertThat(jdbc.queryForObject("select count(*) from image_tag where repository = ? and until < since",
                Long.class, repository)).isZero();
        // No two rows of the tag overlap: each ends where the next begins.
        assertThat(jdbc.queryForObject("select count(*) from image_tag a join image_tag b on a.repository ="
                + " b.repository and a.tag = b.tag and a.since < b.since and coalesce(a.until, 'infinity') > b.since"
                + " where a.repository = ?", Long.class, repository)).isZero();
        assertThat(jdbc.queryForObject("select count(*) from audit_event where action = 'image.tag-superseded'"
                + " and target = ?", Long.class, "image/" + repository + ":latest")).isOne();
    }

    private static io.buildgateway.builds.BuildSucceeded succeeded(java.util.UUID id, String repository,
            String digest, java.time.Instant finishedAt) {
        return new io.buildgateway.builds.BuildSucceeded(id, "inv", repository, "latest", digest, null, null, null,
                "race", finishedAt, null);
    }

    /** Two build rows of the repository to name (rejected by the policy: no USER), as a finish's event does. */
    private java.util.List<java.util.UUID> twoBuildRows(String repository) {
        String token = builder("inv");
        java.util.List<java.util.UUID> ids = new java.util.ArrayList<>();
        for (int i = 0; i < 2; i++) {
            Response r = submit(token, "image=" + repository + "&tag=x" + i, Tars.dockerfile("FROM " + registryAddress()
                    + "/base/busybox\n"));
            assertThat(r.status()).as(r.body()).isEqualTo(422);
            ids.add(java.util.UUID.fromString(read(r).path("buildId").asString()));
        }
        return ids;
    }

    private static io.buildgateway.builds.BuildSucceeded succeeded(java.util.UUID id, String repository,
            String digest) {
        return new io.buildgateway.builds.BuildSucceeded(id, "inv", repository, "latest", digest, null, null, null,
                "race", java.time.Instant.now(), null);
    }

    @Test
    void aMovedBaseMarksDeploymentsStaleAndARebuildByBaseRebuildsThem() throws Exception {
        String base = registryAddress() + "/base/debian:12-inv-" + RUN;
        environmentDocker("tag", registryAddress() + "/base/debian:12", base);
        assertThat(environmentDocker("push", base)).contains("digest: sha256:");

        String builder = builder("inv");
        String security = token(Set.of("SECURITY"), Set.of());
        String deployer = token(Set.of("DEPLOYER"), Set.of());
        String dockerfile = "FROM " + base + "\nRUN echo %s > /srv/name\nUSER nobody\nHEALTHCHECK NONE\n";
        String idA = queue(builder, "inv/a-" + RUN, dockerfile.formatted("a"));
        String idB = queue(builder, "inv/b-" + RUN, dockerfile.formatted("b"));
        JsonNode a = succeeded(builder, idA);
        JsonNode b = succeeded(builder, idB);

        // The inventory knows both, with their base, tags and packages.
        JsonNode byBase = read(get(security, "/api/v1/images?base=" + base));
        assertThat(digests(byBase.path("items"))).containsExactlyInAnyOrder(a.path("imageDigest").asString(),
                b.path("imageDigest").asString());
        JsonNode one = byBase.path("items").get(0);
        assertThat(one.path("tags").toString()).contains("\"1\"");
        assertThat(one.path("base").get(0).path("digest").asString()).startsWith("sha256:");
        assertThat(digests(read(get(security, "/api/v1/images?package=bash&packageVersionBelow=99&base=" + base))
                .path("items"))).hasSize(2);
        assertThat(read(get(security, "/api/v1/images?package=bash&packageVersionBelow=1.0&base=" + base))
                .path("items").size()).isZero();
        assertThat(read(get(builder("other"), "/api/v1/images?base=" + base)).path("items").size()).isZero();
        // Pages as API.md's pagination rule says: limit, cursor, nextCursor.
        JsonNode firstPage = read(get(security, "/api/v1/images?base=" + base + "&limit=1"));
        assertThat(firstPage.path("items").size()).isEqualTo(1);
        JsonNode secondPage = read(get(security, "/api/v1/images?base=" + base + "&limit=1&cursor="
                + firstPage.path("nextCursor").asString()));
        assertThat(secondPage.path("items").get(0).path("digest").asString())
                .isNotEqualTo(firstPage.path("items").get(0).path("digest").asString());
        assertThat(secondPage.path("nextCursor").isNull()).isTrue();

        // The image in detail: its configuration, base lineage, scan result and the build that made it.
        JsonNode detail = read(get(security, "/api/v1/images/" + a.path("imageDigest").asString()));
        assertThat(detail.path("config").path("user").asString()).isEqualTo("nobody");
        assertThat(detail.path("config").has("exposedPorts")).isTrue();
        assertThat(detail.path("config").has("entrypoint")).isTrue();
        assertThat(detail.path("baseLineage").path("ref").asString()).isEqualTo(base);
        assertThat(detail.path("baseLineage").path("digest").asString()).startsWith("sha256:");
        assertThat(detail.path("baseLineage").path("baseLayers").asInt()).isPositive();
        assertThat(detail.path("scan").path("passed").asBoolean()).isTrue();
        assertThat(detail.path("scan").path("policyDigest").asString()).startsWith("sha256:");
        assertThat(detail.path("builds").get(0).path("id").asString()).isEqualTo(a.path("id").asString());
        assertThat(detail.path("builds").get(0).path("status").asString()).isEqualTo("SUCCEEDED");
        assertThat(detail.path("provenance").asString()).endsWith("/provenance");
        // A DEPLOYER reads the image, not its builds (API.md's roles table; docs/api.md, 2026-12-07).
        JsonNode deployerView = read(get(deployer, "/api/v1/images/" + a.path("imageDigest").asString()));
        assertThat(deployerView.path("config").path("user").asString()).isEqualTo("nobody");
        assertThat(deployerView.path("builds").isArray() && deployerView.path("builds").isEmpty())
                .as(deployerView.toString()).isTrue();

        for (JsonNode built : List.of(a, b)) {
            Response deployed = postJson(deployer, "/api/v1/deployments", """
                    {"environment":"prod","cluster":"c1","namespace":"inv-%s","workload":"%s",
                     "image":"%s"}""".formatted(RUN, built.path("image").asString().replace("/", "-"),
                    built.path("imageRef").asString()));
            assertThat(deployed.status()).as(deployed.body()).isEqualTo(201);
            assertThat(read(deployed).path("provenance").asString()).isEqualTo("gateway");
        }
        // Other tests move other bases of the shared registry; this one's base has not moved.
        assertThat(changeOf(read(postJson(security, "/api/v1/base-images/refresh", "")), base)).isNull();
        // (Advisories other tests imported may make them stale for fixable vulnerabilities; the base has not moved.)
        assertThat(stale(security, "base-changed")).isEmpty();
        assertThat(stale(security, "newer-build")).isEmpty();

        // The base tag moves in the registry.
        Path ctx = Files.createTempDirectory("newbase");
        Files.writeString(ctx.resolve("Dockerfile"), "FROM " + base + "\nRUN echo 2 > /etc/base-revision\n");
        assertThat(environmentDocker("build", "-q", "--network", "none", "-t", base, ctx.toString())).contains("sha256:");
        assertThat(environmentDocker("push", base)).contains("digest: sha256:");
        JsonNode refresh = read(postJson(security, "/api/v1/base-images/refresh", ""));
        assertThat(refresh.path("changed").toString()).contains(base);
        assertThat(stale(security, "base-changed")).hasSize(2);
        // The owners are told, by a signed webhook.
        eventually("the rebuild-needed webhook", Duration.ofSeconds(30), () -> WEBHOOKS.received("image.rebuild-needed")
                .stream().anyMatch(r -> r.body().contains(base)));
        assertThat(WEBHOOKS.received("image.rebuild-needed")).filteredOn(r -> r.body().contains(base))
                .allMatch(r -> r.signedWith(io.buildgateway.support.Webhooks.SECRET))
                .noneMatch(r -> r.signedWith("another-secret-0123456789"));
        JsonNode watched = read(get(security, "/api/v1/base-images?limit=500")).path("items");
        assertThat(watched.toString()).contains(base).contains("previousDigest");

        // Only the security team rebuilds.
        String selector = "{\"selector\":{\"base\":\"" + base + "\"},\"reason\":\"base moved: " + RUN + "\"";
        problem(postJson(builder, "/api/v1/rebuilds", selector + "}"), 403);
        JsonNode dry = read(postJson(security, "/api/v1/rebuilds", selector + ",\"dryRun\":true}"));
        assertThat(dry.path("targets").size()).isEqualTo(2);
        Response requested = postJson(security, "/api/v1/rebuilds", selector + "}");
        assertThat(requested.status()).as(requested.body()).isEqualTo(202);
        JsonNode rebuild = read(requested);
        assertThat(rebuild.path("builds").size()).isEqualTo(2);
        List<String> newDigests = new ArrayList<>();
        for (JsonNode id : rebuild.path("builds")) {
            JsonNode done = awaitFinal(security, id.asString(), Duration.ofMinutes(4));
            assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
            assertThat(done.path("rebuildOf").asString()).isIn(a.path("id").asString(), b.path("id").asString());
            newDigests.add(done.path("imageDigest").asString());
        }
        assertThat(newDigests).doesNotContain(a.path("imageDigest").asString(), b.path("imageDigest").asString());
        JsonNode status = read(get(security, "/api/v1/rebuilds/" + rebuild.path("id").asString()));
        assertThat(status.path("builds").toString()).contains("SUCCEEDED");
        // A rebuild they did not start finished: the owners hear of each.
        eventually("rebuild.finished webhooks", Duration.ofSeconds(30), () -> WEBHOOKS.received("rebuild.finished")
                .stream().filter(r -> newDigests.stream().anyMatch(r.body()::contains)).count() == 2);

        // The old deployments stay stale (now also superseded) until a new deployment is recorded.
        assertThat(stale(security, "newer-build")).hasSize(2);
        JsonNode rebuiltA = read(get(security, "/api/v1/images?base=" + base)).path("items");
        String newA = null;
        for (JsonNode i : rebuiltA) {
            if (i.path("repository").asString().equals("inv/a-" + RUN) && i.path("tags").size() > 0) {
                newA = i.path("digest").asString();
            }
        }
        assertThat(newA).isNotNull().isIn(newDigests);
        assertThat(postJson(deployer, "/api/v1/deployments", """
                {"environment":"prod","cluster":"c1","namespace":"inv-%s","workload":"inv-a-%s",
                 "image":"%s/inv/a-%s@%s"}""".formatted(RUN, RUN, registryAddress(), RUN, newA)).status())
                .isEqualTo(201);
        assertThat(stale(security, "newer-build")).hasSize(1)
                .allMatch(d -> d.path("workload").asString().equals("inv-b-" + RUN));
        assertThat(stale(security, "base-changed")).hasSize(1)
                .allMatch(d -> d.path("workload").asString().equals("inv-b-" + RUN));
        assertThat(auditCount("base-image.changed", "base/" + base)).isEqualTo(1);
    }

    @Test
    void teamsWhosePolicySaysSoAreRebuiltWhenTheirBaseMoves() throws Exception {
        String base = registryAddress() + "/base/busybox:inv-auto-" + RUN;
        environmentDocker("tag", registryAddress() + "/base/busybox", base);
        assertThat(environmentDocker("push", base)).contains("digest: sha256:");
        String builder = builder("invauto");
        String security = token(Set.of("SECURITY"), Set.of());
        JsonNode built = build(builder, "invauto/app-" + RUN, "FROM " + base + "\nUSER 65534\nHEALTHCHECK NONE\n");
        postJson(security, "/api/v1/base-images/refresh", "");
        Path policy = POLICY.resolve("zz-auto-rebuild.yaml");
        Files.writeString(policy, "teams:\n  invauto:\n    autoRebuild: true\n");
        try {
            sleep(1500); // the policy reloads within 300 ms in tests
            Path ctx = Files.createTempDirectory("newbase");
            Files.writeString(ctx.resolve("Dockerfile"), "FROM " + base + "\nRUN echo 2 > /etc/base-revision\n");
            // Checked, so that a failed build or push says so instead of reading as "the base did not move" (once in
            // make test on 2026-12-06 the refresh below saw no change; the run kept no sign of why).
            assertThat(environmentDocker("build", "-q", "--network", "none", "-t", base, ctx.toString())).contains("sha256:");
            assertThat(environmentDocker("push", base)).contains("digest: sha256:");
            long seq = jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);
            Response refreshed = postJson(security, "/api/v1/base-images/refresh", "");
            JsonNode refresh = read(refreshed);
            JsonNode change = changeOf(refresh, base);
            assertThat(change).as(refresh.toString()).isNotNull();
            // The refresh is its caller's; the automatic rebuild it set off is the gateway's (before, 2026-12-07: the
            // rebuild and its builds were audited as the caller while the rebuild said requested_by "gateway").
            assertThat(jdbc.queryForObject("select actor from audit_event where seq > ? and action ="
                    + " 'base-image.changed' and target = ?", String.class, seq, "base/" + base))
                    .isNotEqualTo("system").startsWith("t-");
            assertThat(jdbc.queryForList("select actor from audit_event where seq > ? and (action ="
                    + " 'rebuild.requested' and target = ? or action = 'build.queued' and details like ?)",
                    String.class, seq, "rebuild/" + change.path("rebuilds").get(0).asString(), "%automatic: base image%"))
                    .isNotEmpty().containsOnly("system");
            assertThat(change.path("ref").asString()).isEqualTo(base);
            assertThat(change.path("rebuilds").size()).isEqualTo(1);
            JsonNode rebuild = read(get(security, "/api/v1/rebuilds/" + change.path("rebuilds").get(0).asString()));
            assertThat(rebuild.path("reason").asString()).contains("automatic").contains(base);
            JsonNode done = awaitFinal(security, rebuild.path("builds").get(0).path("id").asString(),
                    Duration.ofMinutes(3));
            assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
            assertThat(done.path("rebuildOf").asString()).isEqualTo(built.path("id").asString());
            assertThat(done.path("imageDigest").asString()).isNotEqualTo(built.path("imageDigest").asString());
            assertThat(jdbc.queryForObject("select bool_or(rebuild_pending) from base_image_change where ref = ?",
                    Boolean.class, base)).isFalse();

            // A watch that recorded a move and was killed after it claimed the rebuild, before it requested it: its
            // claim lapses, and the next watch (which finds no new move) requests it; the one after finds nothing.
            String automatic = "automatic: base image " + base + " moved";
            long rebuildsBefore = jdbc.queryForObject("select count(*) from rebuild where reason = ?", Long.class,
                    automatic);
            jdbc.update("insert into base_image_change (ref, old_digest, new_digest, changed_at, rebuild_pending,"
                    + " rebuild_claimed_until) select ref, new_digest, new_digest, now(), true, now() - interval"
                    + " '1 second' from base_image_change where ref = ? order by changed_at desc limit 1", base);
            JsonNode next = read(postJson(security, "/api/v1/base-images/refresh", ""));
            assertThat(changeOf(next, base)).as(next.toString()).isNull();
            assertThat(jdbc.queryForObject("select count(*) from rebuild where reason = ?", Long.class, automatic))
                    .isEqualTo(rebuildsBefore + 1);
            assertThat(jdbc.queryForObject("select bool_or(rebuild_pending) from base_image_change where ref = ?",
                    Boolean.class, base)).isFalse();
            read(postJson(security, "/api/v1/base-images/refresh", ""));
            // Killed after it requested the rebuild, before it unflagged the move: not requested a second time.
            jdbc.update("update base_image_change set rebuild_pending = true where ref = ? and changed_at = (select"
                    + " max(changed_at) from base_image_change where ref = ?)", base, base);
            read(postJson(security, "/api/v1/base-images/refresh", ""));
            assertThat(jdbc.queryForObject("select count(*) from rebuild where reason = ?", Long.class, automatic))
                    .isEqualTo(rebuildsBefore + 1);
            assertThat(jdbc.queryForObject("select bool_or(rebuild_pending) from base_image_change where ref = ?",
                    Boolean.class, base)).isFalse();
            String again = jdbc.queryForObject("select b.build_id::text from rebuild_build b join rebuild r on"
                    + " r.id = b.rebuild_id where r.reason = ? order by r.requested_at desc limit 1", String.class,
                    automatic);
            assertThat(awaitFinal(security, again, Duration.ofMinutes(3)).path("status").asString())
                    .isEqualTo("SUCCEEDED");
        } finally {
            Files.delete(policy);
        }
    }

    @Test
    void imagesTheGatewayDidNotBuildAreFlaggedFirst() {
        String deployer = token(Set.of("DEPLOYER"), Set.of());
        String digest = "sha256:" + "ab".repeat(32);
        Response r = postJson(deployer, "/api/v1/deployments", """
                {"environment":"staging","cluster":"c9","namespace":"x-%s","workload":"rogue",
                 "image":"docker.io/library/nginx:1.25@%s"}""".formatted(RUN, digest));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(read(r).path("provenance").asString()).isEqualTo("unknown");
        JsonNode staging = read(get(deployer, "/api/v1/deployments?environment=staging&stale=true")).path("items");
        assertThat(staging.get(0).path("reasons").toString()).contains("unknown-provenance");
        problem(postJson(deployer, "/api/v1/deployments", "{\"environment\":\"p\",\"cluster\":\"c\","
                + "\"namespace\":\"n\",\"workload\":\"w\",\"image\":\"nginx:latest\"}"), 400);
        problem(postJson(deployer, "/api/v1/deployments", "{\"environment\":\"p\",\"cluster\":\"c\","
                + "\"namespace\":\"n\",\"workload\":\"w\",\"image\":\"x@" + digest + "\",\"extra\":1}"), 400);
        problem(postJson(builder("inv"), "/api/v1/deployments", "{}"), 403);
        problem(get(deployer, "/api/v1/images?colour=blue"), 400);
        problem(get(deployer, "/api/v1/images/not-a-digest"), 400);
    }

    /** This test's stale production deployments that carry the given reason. */
    private List<JsonNode> stale(String token, String reason) {
        List<JsonNode> out = new ArrayList<>();
        read(get(token, "/api/v1/deployments?environment=prod&stale=true")).path("items").forEach(d -> {
            if (d.path("namespace").asString().equals("inv-" + RUN)
                    && d.path("reasons").toString().contains("\"" + reason + "\"")) {
                out.add(d);
            }
        });
        return out;
    }

    private static List<String> digests(JsonNode items) {
        List<String> out = new ArrayList<>();
        items.forEach(i -> out.add(i.path("digest").asString()));
        return out;
    }

    /** The refresh's change of this base, or null: other tests move other bases of the shared registry. */
    private static JsonNode changeOf(JsonNode refresh, String base) {
        for (JsonNode c : refresh.path("changed")) {
            if (base.equals(c.path("ref").asString())) {
                return c;
            }
        }
        return null;
    }
}
