package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;

/** The context store keeps what rebuilds and running builds need, and prunes the rest once it is old enough. */
class ContextRetentionIT extends IntegrationTest {

    @Autowired
    ContextRetention retention;

    private static final String RUN = Long.toString(System.nanoTime() % 1_000_000_000L, 36);

    private Path contextFile(JsonNode build) {
        return DATA.resolve("contexts").resolve(build.path("contextDigest").asString().substring(7) + ".ctx");
    }

    private void age(JsonNode build) throws Exception {
        Files.setLastModifiedTime(contextFile(build), FileTime.from(Instant.now().minus(60, ChronoUnit.DAYS)));
        jdbc.update("update build set requested_at = now() - interval '60 days' where id = ?::uuid",
                build.path("id").asString());
    }

    /**
     * The same bytes uploaded again (a re-upload of one commit) make the stored file young again: retention, which
     * deletes old files no build row it read names, must not delete it while the new submission's row is not yet
     * committed. Before (a review's finding, 2026-12-06) the stored file kept its old time.
     */
    @Test
    void aReUploadOfStoredBytesMakesTheFileYoungAgain() throws Exception {
        String token = builder("ret");
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\nRUN echo again-" + RUN
                + "\nUSER 65534\n");
        JsonNode first = awaitFinal(token, read(submit(token, "image=ret/again-" + RUN + "&tag=1", context))
                .path("id").asString(), Duration.ofMinutes(3));
        Path stored = contextFile(first);
        Files.setLastModifiedTime(stored, FileTime.from(Instant.now().minus(60, ChronoUnit.DAYS)));

        Response again = submit(token, "image=ret/again-" + RUN + "&tag=2", context);
        assertThat(again.status()).as(again.body()).isEqualTo(202);
        assertThat(read(again).path("contextDigest").asString()).isEqualTo(first.path("contextDigest").asString());
        assertThat(Files.getLastModifiedTime(stored).toInstant()).isAfter(Instant.now().minus(1, ChronoUnit.HOURS));
        awaitFinal(token, read(again).path("id").asString(), Duration.ofMinutes(3));
    }

    @Test
    void onlyContextsNoLongerNeededArePruned() throws Exception {
        String token = builder("ret");
        String image = "image=ret/app-" + RUN + "&tag=1";
        JsonNode first = awaitFinal(token, read(submit(token, image, Tars.dockerfile("FROM " + registryAddress()
                + "/base/busybox\nRUN echo one\nUSER 65534\n"))).path("id").asString(), Duration.ofMinutes(3));
        JsonNode latest = awaitFinal(token, read(submit(token, image, Tars.dockerfile("FROM " + registryAddress()
                + "/base/busybox\nRUN echo two\nUSER 65534\n"))).path("id").asString(), Duration.ofMinutes(3));
        assertThat(first.path("status").asString()).isEqualTo("SUCCEEDED");
        assertThat(latest.path("status").asString()).isEqualTo("SUCCEEDED");
        Response refused = submit(token, "image=ret/other-" + RUN + "&tag=1", Tars.dockerfile(
                "FROM docker.io/library/alpine\nRUN echo " + RUN + "\n"));
        assertThat(refused.status()).isEqualTo(422);
        JsonNode rejected = read(get(token, "/api/v1/builds/" + read(refused).path("buildId").asString()));
        // A rejected context is deleted at once; its digest and findings stay on the record.
        assertThat(rejected.path("contextDigest").asString()).startsWith("sha256:");
        assertThat(rejected.path("findings").size()).isPositive();
        assertThat(rejected.path("builtContextDigest").isNull()).isTrue();
        assertThat(Files.exists(contextFile(rejected))).isFalse();
        Path firstBuilt = DATA.resolve("contexts").resolve(first.path("builtContextDigest").asString().substring(7)
                + ".ctx");
        assertThat(Files.exists(firstBuilt)).isTrue();

        age(first);
        Files.setLastModifiedTime(firstBuilt, FileTime.from(Instant.now().minus(60, ChronoUnit.DAYS)));
        age(latest);
        long seq = jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);
        ContextRetention.Pruned pruned = retention.prune();

        assertThat(pruned.digests()).contains(first.path("contextDigest").asString(),
                first.path("builtContextDigest").asString());
        assertThat(pruned.digests()).doesNotContain(latest.path("contextDigest").asString());
        assertThat(Files.exists(contextFile(first))).isFalse();
        assertThat(Files.exists(firstBuilt)).isFalse();
        assertThat(Files.exists(contextFile(latest))).isTrue();
        // this run's audit row, naming what it deleted (not any earlier run's row)
        String audit = jdbc.queryForList("select cast(details as varchar) from audit_event where seq > ?"
                + " and action = 'context.pruned'", String.class, seq).toString();
        assertThat(audit).contains(first.path("contextDigest").asString())
                .contains(first.path("builtContextDigest").asString())
                .doesNotContain(latest.path("contextDigest").asString());
    }

    /** The store's {@code *.ctx} entries in the order the directory lists them (prune's order). */
    private static java.util.List<Path> listed(Path store) throws Exception {
        java.util.List<Path> order = new java.util.ArrayList<>();
        try (java.nio.file.DirectoryStream<Path> files = Files.newDirectoryStream(store, "*.ctx")) {
            files.forEach(order::add);
        }
        return order;
    }

    /**
     * A listing that fails midway (here a dangling link among old contexts: reading its time throws an IOException)
     * still audits every context it had deleted before: a deleted file cannot be found again by the next run. (The
     * audit is in {@code finally} since 2026-12-06, for the DirectoryIteratorException and database failures this
     * test does not provoke; the IOException path was audited before too.) Deterministic: the link is given a name
     * the directory lists after some of the old contexts and before others, so that the run deletes some (the
     * audit has something to show), fails at the link (the warning in the log), and leaves the rest.
     */
    @Test
    @org.junit.jupiter.api.extension.ExtendWith(org.springframework.boot.test.system.OutputCaptureExtension.class)
    void contextsDeletedBeforeTheListingFailedAreAudited(org.springframework.boot.test.system.CapturedOutput output)
            throws Exception {
        Path store = DATA.resolve("contexts");
        java.util.List<Path> old = new java.util.ArrayList<>();
        for (int i = 0; i < 24; i++) {
            Path f = store.resolve(sha256Hex("orphan-" + RUN + "-" + i) + ".ctx");
            Files.write(f, new byte[] {1, 2, 3});
            Files.setLastModifiedTime(f, FileTime.from(Instant.now().minus(60, ChronoUnit.DAYS)));
            old.add(f);
        }
        Path dangling = null;
        java.util.List<Path> before = java.util.List.of();
        for (int attempt = 0; attempt < 200 && dangling == null; attempt++) {
            Path link = store.resolve(sha256Hex("dangling-" + RUN + "-" + attempt) + ".ctx");
            Files.createSymbolicLink(link, store.resolve("no-such-file-" + RUN));
            java.util.List<Path> order = listed(store);
            java.util.List<Path> ahead = order.subList(0, order.indexOf(link)).stream().filter(old::contains).toList();
            if (!ahead.isEmpty() && ahead.size() < old.size()) {
                dangling = link;
                before = ahead;
            } else {
                Files.delete(link);
            }
        }
        assertThat(dangling).as("a link name listed between the old contexts").isNotNull();
        long seq = jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);
        ContextRetention.Pruned pruned;
        try {
            pruned = retention.prune();
        } finally {
            Files.deleteIfExists(dangling);
        }
        assertThat(output.getAll()).as("the listing failed at the link")
                .containsPattern("context store \\S*/contexts could not be listed");
        java.util.List<Path> gone = old.stream().filter(f -> !Files.exists(f)).toList();
        assertThat(gone).as("deleted: those listed before the link, none after it")
                .containsExactlyInAnyOrderElementsOf(before);
        assertThat(gone).isNotEmpty().hasSizeLessThan(old.size());
        java.util.List<String> goneDigests = gone.stream().map(f -> "sha256:" + f.getFileName().toString()
                .replace(".ctx", "")).toList();
        assertThat(pruned.digests()).containsAll(goneDigests);

        java.util.List<JsonNode> rows = jdbc.queryForList("select cast(details as varchar) from audit_event where"
                + " action = 'context.pruned' and seq > ?", String.class, seq).stream().map(json::readTree).toList();
        java.util.List<String> audited = new java.util.ArrayList<>();
        rows.forEach(r -> r.path("digests").forEach(d -> audited.add(d.asString())));
        assertThat(audited).as("every context deleted before the failure is audited")
                .containsAll(goneDigests)
                .doesNotContainAnyElementsOf(old.stream().filter(Files::exists)
                        .map(f -> "sha256:" + f.getFileName().toString().replace(".ctx", "")).toList());
        assertThat(rows.stream().mapToLong(r -> r.path("files").asLong()).sum())
                .isEqualTo(pruned.files());
        for (Path f : old) {
            Files.deleteIfExists(f);
        }
    }
}
