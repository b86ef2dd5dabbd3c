package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

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

/**
 * An image a build copies from ({@code COPY --from=<image>}) or mounts ({@code RUN --mount=…,from=<image>}) is pinned,
 * as a FROM base is, to the digest the submission read: a tag moved between submission and dispatch does not put
 * content nobody approved into the image. As in {@link BasePinIT}, the registry client keeps an answer by tag for
 * five minutes here, so that the race is deterministic: a second submission within the ttl is judged on the first
 * read, and its build runs after the tag moved.
 */
class SourcePinIT extends SecondGatewayTest {

    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);

    /**
     * Stores, under {@code base/<repo>:<tag>}, an image of one layer holding {@code /pin.txt} with this content (and
     * nothing else: no shell, it is only copied and mounted from); returns the manifest's digest.
     */
    private String pushFileImage(String repo, String tag, String content) {
        String repository = "base/" + repo;
        byte[] raw = Tars.ustar().file("pin.txt", content + "\n").bytes();
        byte[] layer = Tars.gzip(raw);
        String layerDigest = uploadBlob(repository, layer);
        byte[] config = json.writeValueAsBytes(Map.of("architecture", "amd64", "os", "linux", "config", Map.of(),
                "rootfs", Map.of("type", "layers", "diff_ids", List.of("sha256:" + sha256Hex(raw)))));
        String configDigest = uploadBlob(repository, config);
        byte[] manifest = json.writeValueAsBytes(Map.of("schemaVersion", 2,
                "mediaType", "application/vnd.oci.image.manifest.v1+json",
                "config", Map.of("mediaType", "application/vnd.oci.image.config.v1+json", "digest", configDigest,
                        "size", config.length),
                "layers", List.of(Map.of("mediaType", "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest", layerDigest, "size", layer.length))));
        Response stored = send(HttpRequest.newBuilder(URI.create("http://" + registryAddress() + "/v2/" + repository
                + "/manifests/" + tag)).header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest)));
        assertThat(stored.status()).as(stored.body()).isEqualTo(201);
        return "sha256:" + sha256Hex(manifest);
    }

    private Map<String, Object> row(String buildId) {
        return jdbc.queryForMap("select allowed_pulls, pulled_images from build where id = ?::uuid", buildId);
    }

    /**
     * Sources named by digest in the Dockerfile itself: pulled and built by that digest (the trace's names for them
     * are checked against it), each file from the image its digest names although both are under one tag.
     */
    @Test
    void sourcesNamedByDigestAreBuiltFromThoseDigests() {
        String repo = "srcpin-d-" + RUN;
        String source = registryAddress() + "/base/" + repo + ":1";
        String first = pushFileImage(repo, "1", "first");
        String second = pushFileImage(repo, "1", "second");
        String token = builder("pin");
        String dockerfile = "FROM " + registryAddress() + "/base/busybox:latest\n"
                + "COPY --from=" + source + "@" + first + " /pin.txt /copied.txt\n"
                + "RUN --mount=type=bind,from=" + source + "@" + second + ",target=/m cp /m/pin.txt /mounted.txt\n"
                + "USER 65534\n";
        Response accepted = submit(token, "image=pin/srcd-" + RUN + "&tag=a&noCache=true",
                Tars.ustar().file("Dockerfile", dockerfile).bytes());
        assertThat(accepted.status()).as(accepted.body()).isBetween(200, 299);
        String id = read(accepted).path("id").asString();
        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(done.path("status").asString()).as(done + "\n" + log).isEqualTo("SUCCEEDED");
        String image = done.path("imageDigest").asString();
        assertThat(fileIn("pin/srcd-" + RUN, image, "copied.txt")).isEqualTo("first");
        assertThat(fileIn("pin/srcd-" + RUN, image, "mounted.txt")).isEqualTo("second");
    }

    @Test
    void aSourceTagMovedAfterSubmissionIsNotBuiltTheBuildGetsTheDigestRead() {
        String repo = "srcpin-" + RUN;
        String source = registryAddress() + "/base/" + repo + ":1";
        String judged = pushFileImage(repo, "1", "judged");
        String token = builder("pin");
        String dockerfile = "FROM " + registryAddress() + "/base/busybox:latest\n"
                + "COPY --from=" + source + " /pin.txt /copied.txt\n"
                + "RUN --mount=type=bind,from=" + source + ",target=/m cp /m/pin.txt /mounted.txt\n"
                + "USER 65534\n";

        // A: judged on the source as the tag names it now; its read is kept for the ttl (five minutes here)
        Response a = submit(token, "image=pin/src-" + RUN + "&tag=a&noCache=true",
                Tars.ustar().file("Dockerfile", dockerfile).bytes());
        assertThat(a.status()).as(a.body()).isBetween(200, 299);
        String aId = read(a).path("id").asString();

        // The tag moves to other content.
        String moved = pushFileImage(repo, "1", "moved");
        assertThat(moved).isNotEqualTo(judged);
        assertThat(registryDigest("base/" + repo, "1")).isEqualTo(moved);

        // B, within the ttl: submitted on the cached read, so built from that digest, not from what the tag names
        // now (before the pin, the daemon pulled the tag: the image got the moved content).
        Response b = submit(token, "image=pin/src-" + RUN + "&tag=b&noCache=true",
                Tars.ustar().file("Dockerfile", dockerfile).bytes());
        assertThat(b.status()).as(b.body()).isBetween(200, 299);
        String bId = read(b).path("id").asString();

        for (String id : List.of(aId, bId)) {
            JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
            String log = get(token, "/api/v1/builds/" + id + "/logs").body();
            assertThat(done.path("status").asString()).as(done + "\n" + log).isEqualTo("SUCCEEDED");
            String image = done.path("imageDigest").asString();
            assertThat(fileIn("pin/src-" + RUN, image, "copied.txt")).as("COPY --from's file\n" + log)
                    .isEqualTo("judged");
            assertThat(fileIn("pin/src-" + RUN, image, "mounted.txt")).as("the mount's file\n" + log)
                    .isEqualTo("judged");
            assertThat(row(id).get("allowed_pulls").toString()).as("what the build may pull")
                    .contains(source + "@" + judged).doesNotContain(moved);
            assertThat(row(id).get("pulled_images").toString()).as("what the daemon pulled")
                    .contains(judged).doesNotContain(moved);
        }
    }

    /**
     * A source named through a variable: BuildKit 0.13 (dockerd 26) does not expand one there ("'from' doesn't
     * support variable expansion, define alias stage instead" for a mount, "failed to parse stage name" for
     * COPY --from), while the policy judges the image the variable names; the canonical Dockerfile writes that image,
     * pinned, so the daemon builds from what was judged (before the pin, such a build failed on the daemon).
     */
    @Test
    void aSourceNamedThroughAVariableIsBuiltFromTheImageJudged() {
        String repo = "srcpin-v-" + RUN;
        String source = registryAddress() + "/base/" + repo + ":1";
        pushFileImage(repo, "1", "judged");
        String token = builder("pin");
        String dockerfile = "FROM " + registryAddress() + "/base/busybox:latest\n"
                + "ARG SRC=" + source + "\n"
                + "COPY --from=${SRC} /pin.txt /copied.txt\n"
                + "RUN --mount=type=bind,from=$SRC,target=/m cp /m/pin.txt /mounted.txt\n"
                + "USER 65534\n";
        Response accepted = submit(token, "image=pin/srcv-" + RUN + "&tag=a&noCache=true",
                Tars.ustar().file("Dockerfile", dockerfile).bytes());
        assertThat(accepted.status()).as(accepted.body()).isBetween(200, 299);
        String id = read(accepted).path("id").asString();
        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(done.path("status").asString()).as(done + "\n" + log).isEqualTo("SUCCEEDED");
        String image = done.path("imageDigest").asString();
        assertThat(fileIn("pin/srcv-" + RUN, image, "copied.txt")).isEqualTo("judged");
        assertThat(fileIn("pin/srcv-" + RUN, image, "mounted.txt")).isEqualTo("judged");
    }

    /**
     * An image named in a parent stage's ONBUILD COPY --from and ONBUILD RUN --mount from=, triggers the child stage
     * inherits: the gateway cannot pin it (the daemon reads the trigger's text from the parent stage), so the
     * submission is refused (422, dockerfile-canonical, at both ONBUILD lines) rather than built with whatever the tag
     * names at dispatch; so it is again after the tag moved. (Before, it was accepted, the image not even read; the
     * build hosts' BuildKit 0.13 then failed it with "cannot copy from stage", a newer frontend would have copied the
     * moved content.)
     */
    @Test
    void anImageNamedInAnInheritedOnbuildTriggerIsRefusedNotBuiltByTag() {
        String repo = "srcpin-o-" + RUN;
        String source = registryAddress() + "/base/" + repo + ":1";
        String judged = pushFileImage(repo, "1", "judged");
        String token = builder("pin");
        String dockerfile = "FROM " + registryAddress() + "/base/busybox:latest AS parent\n"
                + "ONBUILD COPY --from=" + source + " /pin.txt /copied.txt\n"
                + "ONBUILD RUN --mount=type=bind,from=" + source + ",target=/m cp /m/pin.txt /mounted.txt\n"
                + "FROM parent\n"
                + "USER 65534\n";
        for (String tag : List.of("a", "b")) {
            if (tag.equals("b")) {
                assertThat(pushFileImage(repo, "1", "moved")).isNotEqualTo(judged);
            }
            JsonNode refused = problem(submit(token, "image=pin/srco-" + RUN + "&tag=" + tag + "&noCache=true",
                    Tars.ustar().file("Dockerfile", dockerfile).bytes()), 422);
            List<JsonNode> onbuild = new java.util.ArrayList<>();
            refused.path("findings").forEach(f -> {
                if (f.path("rule").asString().equals("dockerfile-canonical")) {
                    onbuild.add(f);
                }
            });
            assertThat(onbuild).as(refused.toString()).hasSize(2).allSatisfy(f -> {
                assertThat(f.path("severity").asString()).isEqualTo("error");
                assertThat(f.path("instruction").asString()).isEqualTo("ONBUILD");
                assertThat(f.path("message").asString()).contains("'" + source + "'",
                        "ONBUILD trigger cannot be pinned");
            });
            assertThat(onbuild).extracting(f -> f.path("line").asInt()).containsExactly(2, 3);
        }
    }
}
