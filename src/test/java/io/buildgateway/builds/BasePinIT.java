package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.Canary;
import io.buildgateway.support.SecondGatewayTest;
import io.buildgateway.support.Tars;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * A base's config (ONBUILD triggers, Env) is judged at submission and the build is pinned to the digest of what was
 * read: a tag moved between submission and dispatch, or while the submission's read is still reused (the registry
 * client keeps an answer by tag for {@code gateway.hostpool.base-triggers-ttl}, five minutes on this class's gateway,
 * {@link SecondGatewayTest}, so that the race is made deterministic), does not bring triggers nobody judged into the build. The bases are made through the
 * registry's API from base/busybox (its layers mounted, the config changed): a harmless one, then, under the same
 * tag, one whose ONBUILD trigger fetches a local canary that must see no request.
 */
class BasePinIT extends SecondGatewayTest {

    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);

    @org.junit.jupiter.api.extension.RegisterExtension
    static final Canary canary = Canary.start(); // stopped after the class

    /**
     * Stores base/busybox:latest with this label (and these ONBUILD triggers, null: none) added to its config under
     * {@code base/<repo>:1}; returns the manifest's digest.
     */
    private String pushBase(String repo, String label, List<String> onBuild) {
        return pushDerivedImage("base/busybox", "base/" + repo, "1", inner -> {
            ObjectNode labels = inner.has("Labels") && inner.get("Labels").isObject()
                    ? (ObjectNode) inner.get("Labels") : inner.putObject("Labels");
            labels.put("pin.base", label);
            if (onBuild != null) {
                onBuild.forEach(inner.putArray("OnBuild")::add);
            }
        });
    }

    /** The value of label {@code pin.base} in the config of the image {@code repository@digest} of the registry. */
    private String baseLabel(String repository, String digest) {
        String registry = "http://" + registryAddress();
        Response m = send(HttpRequest.newBuilder(URI.create(registry + "/v2/" + repository + "/manifests/" + digest))
                .header("Accept", "application/vnd.oci.image.manifest.v1+json, "
                        + "application/vnd.docker.distribution.manifest.v2+json").GET());
        assertThat(m.status()).as(m.body()).isEqualTo(200);
        Response c = send(HttpRequest.newBuilder(URI.create(registry + "/v2/" + repository + "/blobs/"
                + json.readTree(m.body()).path("config").path("digest").asString())).GET());
        assertThat(c.status()).as(c.body()).isEqualTo(200);
        return json.readTree(c.body()).path("config").path("Labels").path("pin.base").asString(null);
    }

    private Map<String, Object> row(String buildId) {
        return jdbc.queryForMap("select allowed_pulls, pulled_images, base_image, base_digest from build"
                + " where id = ?::uuid", buildId);
    }

    /**
     * A base also named as a {@code COPY --from} source (a review's find): the FROM is pinned, the source is pulled by
     * its tag, and BuildKit shows the source as a FROM of its own outside the stages' steps: the build succeeds.
     */
    @Test
    void aBaseAlsoCopiedFromByItsTagBuilds() {
        String token = builder("pin");
        String base = registryAddress() + "/base/busybox:latest";
        Response accepted = submit(token, "image=pin/copyfrom&tag=" + RUN + "&noCache=true", Tars.dockerfile("FROM "
                + base + "\nCOPY --from=" + base + " /bin/true /copied-true\nUSER 65534\n"));
        assertThat(accepted.status()).as(accepted.body()).isBetween(200, 299);
        String id = read(accepted).path("id").asString();
        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
        assertThat(done.path("status").asString()).as(done + "\n" + get(token, "/api/v1/builds/" + id + "/logs")
                .body()).isEqualTo("SUCCEEDED");
    }

    @Test
    void aTagMovedAfterItsTriggersWereJudgedIsNotBuiltTheBuildGetsTheDigestJudged() {
        String repo = "pin-" + RUN;
        String base = registryAddress() + "/base/" + repo + ":1";
        String harmless = pushBase(repo, "harmless", null);
        String token = builder("pin");
        String dockerfile = "FROM " + base + "\nRUN true\nUSER 65534\n";

        // A: judged and built on the harmless base; its read is kept for the ttl (five minutes here)
        Response a = submit(token, "image=pin/app-" + RUN + "&tag=a", Tars.dockerfile(dockerfile));
        assertThat(a.status()).as(a.body()).isBetween(200, 299);
        String aId = read(a).path("id").asString();
        assertThat(row(aId).get("allowed_pulls").toString()).contains(base + "@" + harmless);

        // The tag moves to a base whose trigger fetches the canary.
        String evil = pushBase(repo, "evil", List.of("ADD http://127.0.0.1:" + canary.port() + "/pinned /pinned"));
        assertThat(evil).isNotEqualTo(harmless);
        assertThat(registryDigest("base/" + repo, "1")).isEqualTo(evil);

        // B, within the ttl: judged on the cached read of the harmless base, so it must build that base, not the one
        // the tag names now (before the pin, the daemon pulled the tag and ran the trigger nobody judged).
        Response b = submit(token, "image=pin/app-" + RUN + "&tag=b", Tars.dockerfile(dockerfile));
        assertThat(b.status()).as(b.body()).isBetween(200, 299);
        String bId = read(b).path("id").asString();
        assertThat(row(bId).get("allowed_pulls").toString()).contains(base + "@" + harmless);

        for (String id : List.of(aId, bId)) {
            JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
            String log = get(token, "/api/v1/builds/" + id + "/logs").body();
            assertThat(done.path("status").asString()).as(done + "\n" + log).isEqualTo("SUCCEEDED");
            assertThat(baseLabel("pin/app-" + RUN, done.path("imageDigest").asString()))
                    .as("the built image's base").isEqualTo("harmless");
            assertThat(row(id).get("pulled_images").toString()).as("what the daemon pulled")
                    .contains(harmless).doesNotContain(evil);
            assertThat(row(id)).as("the record: the tag (followed by the inventory) and the digest judged")
                    .containsEntry("base_image", base).containsEntry("base_digest", harmless);
        }
        assertThat(canary.requests()).as("requests the canary saw").isEmpty();

        // Control: the moved base, read (here by its digest, which the cache does not hold), is judged and refused
        // for its trigger, as a submission after the ttl would be.
        JsonNode refused = problem(submit(token, "image=pin/app-" + RUN + "&tag=c",
                Tars.dockerfile("FROM " + base + "@" + evil + "\nRUN true\nUSER 65534\n")), 422);
        assertThat(refused.path("findings").toString()).contains("add-url-without-checksum");
        assertThat(canary.requests()).as("requests the canary saw").isEmpty();

        // A rebuild by base (asked for because the tag moved) reads the base now, not the cached answer: it is judged
        // on the moved base and refused for its trigger, instead of being pinned to the base it was meant to leave.
        String security = token(java.util.Set.of("SECURITY"), java.util.Set.of());
        String selector = "{\"selector\":{\"base\":\"" + base + "\"},\"reason\":\"base moved: " + RUN + "\"";
        eventually("both images in the inventory", Duration.ofSeconds(30), () -> read(postJson(security,
                "/api/v1/rebuilds", selector + ",\"dryRun\":true}")).path("targets").size() == 2);
        Response requested = postJson(security, "/api/v1/rebuilds", selector + "}");
        assertThat(requested.status()).as(requested.body()).isEqualTo(202);
        JsonNode rebuild = read(requested);
        assertThat(rebuild.path("builds").size()).isEqualTo(2);
        for (JsonNode id : rebuild.path("builds")) {
            JsonNode done = awaitFinal(security, id.asString(), Duration.ofMinutes(3));
            assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("REJECTED");
            assertThat(done.path("findings").toString()).contains("add-url-without-checksum");
        }
        assertThat(canary.requests()).as("requests the canary saw").isEmpty();
    }
}
