package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The trace decoder on real bytes: the responses of dockerd 26.1.5's {@code POST /build?version=2} captured by
 * scripts on the test environment's build host (src/test/resources/buildkit): a modern-syntax multi-stage build
 * (heredoc RUN, a cache mount, COPY --chmod, COPY --link) without and with the cache, and a failing RUN.
 */
class BuildKitTraceTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static BuildKitTrace replay(String resource, StringBuilder log) throws IOException {
        BuildKitTrace trace = new BuildKitTrace(log::append);
        try (InputStream in = BuildKitTraceTest.class.getResourceAsStream("/buildkit/" + resource)) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                JsonNode item = JSON.readTree(line);
                if ("moby.buildkit.trace".equals(item.path("id").asString(""))) {
                    trace.accept(item.path("aux").asString());
                }
            }
        }
        trace.finish();
        return trace;
    }

    @Test
    void aFreshBuildReadsAsThePlainProgressWithStepsLogsAndDone() throws IOException {
        StringBuilder log = new StringBuilder();
        BuildKitTrace trace = replay("modern-syntax.ndjson", log);
        String text = log.toString();
        assertThat(text).containsPattern("(?m)^#\\d+ \\[build 2/3\\] RUN <<EOT \\(echo hello from heredoc\\.\\.\\.\\)$");
        assertThat(text).containsPattern("(?m)^#\\d+ hello from heredoc$");
        assertThat(text).containsPattern("(?m)^#\\d+ cached$");
        assertThat(text).containsPattern("(?m)^#\\d+ \\[stage-1 3/4\\] COPY --link hello.txt /hello.txt$");
        assertThat(text).containsPattern("(?m)^#\\d+ DONE \\d+\\.\\ds$");
        assertThat(text).doesNotContain("ERROR");
        assertThat(trace.error()).isNull();
        assertThat(trace.used()).singleElement().asString().endsWith("/base/busybox:latest");
        assertThat(text).startsWith("\n#1 ");
        List<BuildKitTrace.Step> steps = trace.steps();
        assertThat(steps).extracting(BuildKitTrace.Step::instruction)
                .contains("RUN --mount=type=cache,target=/cache echo cached > /cache/f && cat /cache/f",
                        "COPY --from=build --chmod=0644 /x /x", "RUN echo done");
        assertThat(steps).filteredOn(s -> "stage-1".equals(s.stage())).extracting(BuildKitTrace.Step::total)
                .containsOnly(4);
    }

    @Test
    void aCachedBuildShowsItsStepsCached() throws IOException {
        StringBuilder log = new StringBuilder();
        replay("modern-syntax-cached.ndjson", log);
        assertThat(log.toString()).containsPattern("(?m)^#(\\d+) \\[build 2/3\\] RUN <<EOT \\(echo hello from heredoc\\.\\.\\.\\)\\n#\\1 CACHED$")
                .doesNotContainPattern("(?m)^#\\d+ hello from heredoc$");
    }

    @Test
    void aFailingRunShowsItsOutputAndTheErrorAndNamesTheStep() throws IOException {
        StringBuilder log = new StringBuilder();
        BuildKitTrace trace = replay("failing-run.ndjson", log);
        String text = log.toString();
        assertThat(text).containsPattern("(?m)^#(\\d+) about to fail$").containsPattern("(?m)^#\\d+ to stderr$")
                .containsPattern("(?m)^#\\d+ ERROR: process \"/bin/sh -c echo about to fail .*exit code: 3$");
        assertThat(trace.failedStep()).isEqualTo("RUN echo about to fail && echo to stderr >&2 && exit 3");
        assertThat(trace.error()).contains("exit code: 3");
    }

    /**
     * BuildKit pads a step's number to the width of the step count ({@code [ 2/10]}, {@code [build  3/12]}, seen on
     * dockerd 26 by BuildKitOracleIT): such a step is still a step, and an ADD of a URL among the first nine steps of
     * a long build is still a remote fetch for the confinement check.
     */
    @Test
    void aPaddedStepNumberIsStillAStepAndItsRemoteAddIsSeen() {
        BuildKitTrace trace = new BuildKitTrace(s -> { });
        trace.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(vertex("sha256:a", "[ 2/10] ADD http://127.0.0.1:9/x /x"))
                .addVertexes(vertex("sha256:b", "[build  3/12] RUN echo b"))
                .addVertexes(vertex("sha256:c", "[10/10] RUN echo c")).build());
        trace.finish();

        assertThat(trace.fetched()).containsExactly("ADD http://127.0.0.1:9/x /x");
        assertThat(trace.steps()).containsExactly(new BuildKitTrace.Step(null, 2, 10, "ADD http://127.0.0.1:9/x /x"),
                new BuildKitTrace.Step("build", 3, 12, "RUN echo b"), new BuildKitTrace.Step(null, 10, 10, "RUN echo c"));
        assertThat(BuildKitTrace.instruction("[ 4/10] RUN x")).isEqualTo("RUN x");
    }

    /**
     * BuildKit shares one FROM vertex between images of the same layers (make test, 2026-12-07: a build of base/busybox
     * showed a CACHED "[1/2] FROM base/empty-env:1", an image that differs from busybox in its config only, that
     * another build had used): the other name is the pull when a FROM of the same step names the pulled image and the
     * store gives both the same layers; alone in its step, or with other layers, it is an image from the store.
     */
    @Test
    void aSharedFromVertexOfAnImageWithThePulledLayersIsThePull() {
        String digest = "sha256:" + "a".repeat(64);
        List<PulledImage> pulled = List.of(new PulledImage("reg/base/busybox", digest, "FROM reg/base/busybox"));
        List<String> busybox = List.of("sha256:l1", "sha256:l2");
        java.util.function.Function<String, List<String>> layers = name -> switch (name) {
            case "reg/base/busybox@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                    "reg/base/empty-env:1" -> busybox;
            case "reg/team/other:1" -> List.of("sha256:l1", "sha256:evil");
            default -> List.of();
        };
        BuildKitTrace shared = new BuildKitTrace(s -> { });
        shared.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(vertex("sha256:4", "[1/2] FROM reg/base/empty-env:1"))
                .addVertexes(vertex("sha256:5", "[1/2] FROM reg/base/busybox:latest")).build());
        shared.finish();
        assertThat(BuildKitBuilder.used(shared, pulled, name -> List.of(), layers)).containsExactlyElementsOf(pulled);
        // other layers: another image
        BuildKitTrace other = new BuildKitTrace(s -> { });
        other.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(vertex("sha256:4", "[1/2] FROM reg/team/other:1"))
                .addVertexes(vertex("sha256:5", "[1/2] FROM reg/base/busybox:latest")).build());
        other.finish();
        assertThat(BuildKitBuilder.used(other, pulled, name -> List.of(), layers)).hasSize(2).last()
                .satisfies(p -> assertThat(p.reference()).isEqualTo("reg/team/other:1"));
        // the same layers, but alone in its step (BuildKit built FROM it): another image
        BuildKitTrace alone = new BuildKitTrace(s -> { });
        alone.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(vertex("sha256:4", "[1/3] FROM reg/base/empty-env:1"))
                .addVertexes(vertex("sha256:5", "[stage-1 2/3] FROM reg/base/busybox:latest")).build());
        alone.finish();
        assertThat(BuildKitBuilder.used(alone, pulled, name -> List.of(), layers)).hasSize(2).last()
                .satisfies(p -> assertThat(p.reference()).isEqualTo("reg/base/empty-env:1"));
        // pinned builds: both names carry the digest BuildKit was given; the same rule
        String theirs = "sha256:" + "c".repeat(64);
        java.util.function.Function<String, List<String>> pinnedLayers = name -> name.equals(
                "reg/base/empty-env:1@" + theirs) || name.startsWith("reg/base/busybox@") ? busybox : List.of();
        BuildKitTrace pinned = new BuildKitTrace(s -> { });
        pinned.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(vertex("sha256:4", "[1/2] FROM reg/base/empty-env:1@" + theirs))
                .addVertexes(vertex("sha256:5", "[1/2] FROM reg/base/busybox:latest@" + digest)).build());
        pinned.finish();
        assertThat(BuildKitBuilder.used(pinned, pulled, name -> List.of(), pinnedLayers))
                .containsExactlyElementsOf(pulled);
        assertThat(BuildKitBuilder.used(pinned, pulled, name -> List.of(), name -> List.of())).hasSize(2).last()
                .satisfies(p -> assertThat(p.digest()).isEqualTo(theirs));
    }

    /**
     * A base pulled by the digest the policy judged must be what the build's FROM used: a FROM of it without a digest
     * (the host's tag, which may name another image) or with another digest fails the build; other names are judged
     * as before (the confinement check), and unpinned pulls are not held to anything.
     */
    @Test
    void aPinnedBaseUsedByAnotherDigestOrByTagFailsTheBuild() {
        String pin = "sha256:" + "a".repeat(64);
        String other = "sha256:" + "b".repeat(64);
        List<String> pulls = List.of("reg/base/x:1@" + pin, "reg/base/plain:2");
        java.util.function.Function<String, BuildKitTrace> trace = from -> {
            BuildKitTrace t = new BuildKitTrace(s -> { });
            t.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                    .addVertexes(vertex("sha256:4", "[1/2] FROM " + from))
                    .addVertexes(vertex("sha256:5", "[stage-1 1/1] FROM reg/base/plain:2")).build());
            t.finish();
            return t;
        };

        assertThat(BuildKitBuilder.pinViolation(trace.apply("reg/base/x:1@" + pin), pulls)).isNull();
        assertThat(BuildKitBuilder.pinViolation(trace.apply("reg/base/x:1@" + other), pulls))
                .contains("used reg/base/x:1@" + other, "judged as reg/base/x:1@" + pin);
        assertThat(BuildKitBuilder.pinViolation(trace.apply("reg/base/x:1"), pulls))
                .contains("used reg/base/x:1 where");
        assertThat(BuildKitBuilder.pinViolation(trace.apply("reg/base/x:2"), pulls)).as("another tag: not the pin")
                .isNull();
        assertThat(BuildKitBuilder.pinViolation(trace.apply("reg/base/x:1"), List.of("reg/base/x:1"))).isNull();
        // the same step's FROM vertex shared with another image of the same layers (another build's, by tag or
        // another digest) beside the pinned FROM: the step is the pinned one
        BuildKitTrace shared = new BuildKitTrace(s -> { });
        shared.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(vertex("sha256:4", "[1/2] FROM reg/base/x:1@" + other))
                .addVertexes(vertex("sha256:5", "[1/2] FROM reg/base/x:1@" + pin)).build());
        shared.finish();
        assertThat(BuildKitBuilder.pinViolation(shared, pulls)).isNull();
        // the same name also a COPY --from source by its tag: BuildKit's FROM of it has no digest and no step
        BuildKitTrace copied = new BuildKitTrace(s -> { });
        copied.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(vertex("sha256:6", "FROM reg/base/x:1"))
                .addVertexes(vertex("sha256:7", "[stage-0 1/2] FROM reg/base/x:1@" + pin)).build());
        copied.finish();
        assertThat(BuildKitBuilder.pinViolation(copied, List.of("reg/base/x:1@" + pin, "reg/base/x:1"))).isNull();
        assertThat(BuildKitBuilder.pinViolation(copied, pulls)).as("not pulled by tag: not a copy source")
                .contains("used reg/base/x:1 where");
        // a pin without a tag names :latest, as BuildKit's vertices do
        assertThat(BuildKitBuilder.pinViolation(trace.apply("reg/base/y:latest"), List.of("reg/base/y@" + pin)))
                .contains("used reg/base/y:latest");
    }

    /**
     * One name pinned to two digests (two copy sources by digest under one tag, or a base and a source of the same
     * digest): a FROM vertex of either passes, in the steps or not. BuildKit names a vertex by the reference alone and
     * shares it among the builds of a host that load the same image (named after the first), so the trace cannot say
     * whether a step's FROM is this build's base or another build's; a base and a source of one name by different
     * digests are therefore refused at submission (PolicyEvaluator, {@code GrantedBaseReadTest}).
     */
    @Test
    void aNamePinnedToTwoDigestsPassesWithEitherInOrOutOfTheSteps() {
        String a = "sha256:" + "a".repeat(64);
        String b = "sha256:" + "b".repeat(64);
        List<String> pulls = List.of("reg/base/x:1@" + a, "reg/base/x:1@" + b);
        BuildKitTrace sharing = new BuildKitTrace(s -> { });
        sharing.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(vertex("sha256:1", "[stage-0 1/3] FROM reg/base/x:1@" + a))
                .addVertexes(vertex("sha256:2", "[stage-0 1/2] FROM reg/base/x:1@" + b)).build());
        sharing.finish();
        assertThat(BuildKitBuilder.pinViolation(sharing, pulls)).isNull();
        BuildKitTrace third = new BuildKitTrace(s -> { });
        third.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(vertex("sha256:1", "[stage-0 1/3] FROM reg/base/x:1@sha256:" + "c".repeat(64))).build());
        third.finish();
        assertThat(BuildKitBuilder.pinViolation(third, pulls)).contains("judged as reg/base/x:1@" + a + " or");
    }

    /**
     * An image a COPY --from or a mount's from= names, pinned: dockerd 26's BuildKit shows it as a FROM vertex of its
     * own, outside the stages' steps, named as the canonical Dockerfile names it ({@code FROM name:tag@sha256:…},
     * SourcePinIT's trace): that digest passes; another digest, or the name by tag when the build does not pull it by
     * tag, fails the build. One name pinned to two digests (two sources by digest under one tag) passes with both.
     */
    @Test
    void aPinnedCopyOrMountSourceUsedByAnotherDigestOrByTagFailsTheBuild() {
        String pin = "sha256:" + "a".repeat(64);
        String other = "sha256:" + "b".repeat(64);
        String base = "sha256:" + "c".repeat(64);
        java.util.function.Function<List<String>, BuildKitTrace> trace = sources -> {
            BuildKitTrace t = new BuildKitTrace(s -> { });
            var status = io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                    .addVertexes(vertex("sha256:1", "[stage-0 1/3] FROM reg/base/busybox:latest@" + base));
            for (int i = 0; i < sources.size(); i++) {
                status.addVertexes(vertex("sha256:s" + i, "FROM " + sources.get(i)));
            }
            t.accept(status.build());
            t.finish();
            return t;
        };
        List<String> pulls = List.of("reg/base/busybox:latest@" + base, "reg/base/src:1@" + pin);

        assertThat(BuildKitBuilder.pinViolation(trace.apply(List.of("reg/base/src:1@" + pin)), pulls)).isNull();
        assertThat(BuildKitBuilder.pinViolation(trace.apply(List.of("reg/base/src:1@" + other)), pulls))
                .contains("used reg/base/src:1@" + other, "judged as reg/base/src:1@" + pin);
        assertThat(BuildKitBuilder.pinViolation(trace.apply(List.of("reg/base/src:1")), pulls))
                .as("by its tag, which the build does not pull: the tag may name another image")
                .contains("used reg/base/src:1 where");
        List<String> both = List.of("reg/base/busybox:latest@" + base, "reg/base/src:1@" + pin,
                "reg/base/src:1@" + other);
        assertThat(BuildKitBuilder.pinViolation(trace.apply(List.of("reg/base/src:1@" + pin,
                "reg/base/src:1@" + other)), both)).isNull();
        assertThat(BuildKitBuilder.pinViolation(trace.apply(List.of("reg/base/src:1@" + "e".repeat(64)
                .replaceFirst("^", "sha256:"))), both)).contains("judged as reg/base/src:1@" + pin
                        + " or reg/base/src:1@" + other);
    }

    /** The pull of a pinned reference must report exactly the pinned digest. */
    @Test
    void aPinnedPullMustGiveThePinnedDigest() {
        String pin = "sha256:" + "a".repeat(64);
        String other = "sha256:" + "b".repeat(64);
        String ref = "reg/base/x:1@" + pin;
        assertThat(BuildKitBuild.pinned(ref, List.of(new PulledImage(ref, pin, "FROM " + ref)))).isNull();
        assertThat(BuildKitBuild.pinned(ref, List.of(new PulledImage(ref, other, "FROM " + ref))))
                .contains("gave " + other + ", not " + pin);
        assertThat(BuildKitBuild.pinned(ref, List.of())).contains("reported no digest");
        assertThat(BuildKitBuild.pinned("reg/base/x:1", List.of())).isNull();
    }

    private static io.buildgateway.hostpool.buildkit.proto.Control.Vertex vertex(String digest, String name) {
        return io.buildgateway.hostpool.buildkit.proto.Control.Vertex.newBuilder().setDigest(digest).setName(name)
                .setStarted(com.google.protobuf.Timestamp.getDefaultInstance()).build();
    }

    /**
     * The seventh session's make test and dockerd 26 with two builds started together: the vertex BuildKit shared
     * can be the only FROM of the build's step, under the other build's name, and that build's names may have left
     * the host's store (its layers then read from the registry by digest). Taken for the pull only when it carries a
     * digest, the frontend read no config by its name and its layers are a pulled image's; the config the stage took
     * is the one read, the pulled image's.
     */
    @Test
    void aSharedFromVertexAloneInItsStepIsThePullOnlyByDigestWithoutItsConfigRead() {
        String digest = "sha256:" + "a".repeat(64);
        String theirs = "sha256:" + "c".repeat(64);
        String evil = "sha256:" + "e".repeat(64);
        List<PulledImage> pulled = List.of(new PulledImage("reg/base/busybox", digest, "FROM reg/base/busybox"));
        List<String> busybox = List.of("sha256:l1", "sha256:l2");
        java.util.function.Function<String, List<String>> layers = name -> name.equals("reg/base/busybox@" + digest)
                || name.equals("reg/base/empty-env:1@" + theirs) ? busybox
                : name.equals("reg/team/other:1@" + evil) ? List.of("sha256:l1", "sha256:evil") : List.of();
        java.util.function.BiFunction<String, String, BuildKitTrace> trace = (metadata, from) -> {
            BuildKitTrace t = new BuildKitTrace(s -> { });
            t.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                    .addVertexes(vertex("sha256:1", "[internal] load metadata for " + metadata))
                    .addVertexes(vertex("sha256:2", "[1/2] FROM " + from))
                    .addVertexes(vertex("sha256:3", "[2/2] RUN true")).build());
            t.finish();
            return t;
        };
        BuildKitTrace shared = trace.apply("reg/base/busybox:latest@" + digest, "reg/base/empty-env:1@" + theirs);
        assertThat(shared.resolved()).containsExactly("reg/base/busybox:latest@" + digest);
        assertThat(BuildKitBuilder.used(shared, pulled, name -> List.of(), layers)).containsExactlyElementsOf(pulled);
        // its config read by its name: another image the build asked for, whatever its layers
        BuildKitTrace read = trace.apply("reg/base/empty-env:1@" + theirs, "reg/base/empty-env:1@" + theirs);
        assertThat(BuildKitBuilder.used(read, pulled, name -> List.of(), layers)).hasSize(2).last()
                .satisfies(p -> assertThat(p.digest()).isEqualTo(theirs));
        // by tag alone: what the store has under the tag now is not evidence of what the vertex used
        BuildKitTrace byTag = trace.apply("reg/base/busybox:latest@" + digest, "reg/base/empty-env:1");
        assertThat(BuildKitBuilder.used(byTag, pulled, name -> List.of(), name -> busybox)).hasSize(2);
        // other layers, or none known: another image
        BuildKitTrace other = trace.apply("reg/base/busybox:latest@" + digest, "reg/team/other:1@" + evil);
        assertThat(BuildKitBuilder.used(other, pulled, name -> List.of(), layers)).hasSize(2).last()
                .satisfies(p -> assertThat(p.reference()).isEqualTo("reg/team/other:1"));
        assertThat(BuildKitBuilder.used(shared, pulled, name -> List.of(), name -> List.of())).hasSize(2);
        // the platform-prefixed form of a multi-platform build is read too
        BuildKitTrace platform = new BuildKitTrace(s -> { });
        platform.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(vertex("sha256:1", "[linux/amd64 internal] load metadata for reg/base/x:1")).build());
        assertThat(platform.resolved()).containsExactly("reg/base/x:1");
    }

    /**
     * A review's scenario: the stage's real base is another team's image of busybox's layers with its own USER or Env
     * (never pulled: from the host's store), and the step shows only a vertex shared with a concurrent build of an
     * approved image. The frontend's read of the real base's config is judged as an image from the store, and a lone
     * vertex is compared only with pulled images whose config was read; a pinned name read at another digest is a pin
     * violation.
     */
    @Test
    void aConfigReadOfAnImageTheBuildDidNotPullIsJudgedWhateverTheStepShows() {
        String digest = "sha256:" + "a".repeat(64);
        String theirs = "sha256:" + "c".repeat(64);
        String other = "sha256:" + "d".repeat(64);
        List<PulledImage> pulled = List.of(new PulledImage("reg/base/busybox", digest, "FROM reg/base/busybox"));
        List<String> busybox = List.of("sha256:l1", "sha256:l2");
        BuildKitTrace t = new BuildKitTrace(s -> { });
        t.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(vertex("sha256:1", "[internal] load metadata for reg/team/y:1"))
                .addVertexes(vertex("sha256:2", "[1/2] FROM reg/base/empty-env:1@" + theirs))
                .addVertexes(vertex("sha256:3", "[2/2] RUN true")).build());
        t.finish();
        List<PulledImage> used = BuildKitBuilder.used(t, pulled, name -> List.of(), name -> busybox);
        assertThat(used).extracting(PulledImage::reference).contains("reg/team/y:1", "reg/base/empty-env:1");
        assertThat(used).filteredOn(p -> p.reference().equals("reg/team/y:1")).singleElement()
                .satisfies(p -> assertThat(p.step()).isEqualTo("config of reg/team/y:1"));
        // the pulled image's config read at another digest than its pin
        BuildKitTrace moved = new BuildKitTrace(s -> { });
        moved.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(vertex("sha256:1", "[internal] load metadata for reg/base/x:1@" + other))
                .addVertexes(vertex("sha256:2", "[1/2] FROM reg/base/x:1@" + digest)).build());
        moved.finish();
        assertThat(BuildKitBuilder.pinViolation(moved, List.of("reg/base/x:1@" + digest)))
                .contains("read the config of reg/base/x:1@" + other);
        BuildKitTrace pinned = new BuildKitTrace(s -> { });
        pinned.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(vertex("sha256:1", "[internal] load metadata for reg/base/x:1@" + digest))
                .addVertexes(vertex("sha256:2", "[1/2] FROM reg/base/x:1@" + digest)).build());
        pinned.finish();
        assertThat(BuildKitBuilder.pinViolation(pinned, List.of("reg/base/x:1@" + digest))).isNull();
    }

    /**
     * A pull reported without the tag the Dockerfile gives (repository@digest) is the same image as the read
     * name:tag@digest: a lone shared vertex is still compared with it (a second review's find: matching by name and
     * tag made the stage's own pull drop out, a false refusal again).
     */
    @Test
    void aReadByTagAndDigestIsThePullOfThatDigestWhateverTheTagReported() {
        String digest = "sha256:" + "a".repeat(64);
        String theirs = "sha256:" + "c".repeat(64);
        List<PulledImage> pulled = List.of(new PulledImage("reg/base/x@" + digest, digest, "FROM reg/base/x"));
        List<String> same = List.of("sha256:l1");
        BuildKitTrace t = new BuildKitTrace(s -> { });
        t.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(vertex("sha256:1", "[internal] load metadata for reg/base/x:1@" + digest))
                .addVertexes(vertex("sha256:2", "[1/2] FROM reg/base/y:2@" + theirs))
                .addVertexes(vertex("sha256:3", "[2/2] RUN true")).build());
        t.finish();
        assertThat(BuildKitBuilder.used(t, pulled, name -> List.of(), name -> same)).containsExactlyElementsOf(pulled);
        // another digest under the same name is not that pull
        BuildKitTrace other = new BuildKitTrace(s -> { });
        other.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(vertex("sha256:1", "[internal] load metadata for reg/base/x:1@" + theirs)).build());
        other.finish();
        assertThat(BuildKitBuilder.used(other, pulled, name -> List.of(), name -> same)).hasSize(2);
    }

    /** Beside the pulled image's FROM in the same step, a name whose config the frontend read is not the pull. */
    @Test
    void aSharedFromVertexWhoseConfigWasReadIsNeverThePull() {
        String digest = "sha256:" + "a".repeat(64);
        List<PulledImage> pulled = List.of(new PulledImage("reg/base/busybox", digest, "FROM reg/base/busybox"));
        BuildKitTrace t = new BuildKitTrace(s -> { });
        t.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(vertex("sha256:1", "[internal] load metadata for reg/base/empty-env:1"))
                .addVertexes(vertex("sha256:4", "[1/2] FROM reg/base/empty-env:1"))
                .addVertexes(vertex("sha256:5", "[1/2] FROM reg/base/busybox:latest")).build());
        t.finish();
        assertThat(BuildKitBuilder.used(t, pulled, name -> List.of(), name -> List.of("sha256:l1"))).hasSize(2)
                .last().satisfies(p -> assertThat(p.reference()).isEqualTo("reg/base/empty-env:1"));
    }

    @Test
    void bytesThatAreNotATraceAreShownAsUnreadableNotThrown() {
        StringBuilder log = new StringBuilder();
        BuildKitTrace trace = new BuildKitTrace(log::append);
        trace.accept("not base64 !");
        trace.accept("//8=");
        assertThat(log.toString()).contains("not base64").contains("unreadable BuildKit trace message");
        assertThat(trace.steps()).isEmpty();
    }

    @Test
    void aCarriageReturnEndsAStepLineAsInTheBuildLogAndCrLfAcrossMessagesIsOneBreak() {
        StringBuilder log = new StringBuilder();
        BuildKitTrace trace = new BuildKitTrace(log::append);
        trace.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addVertexes(io.buildgateway.hostpool.buildkit.proto.Control.Vertex.newBuilder().setDigest("sha256:a")
                        .setName("[2/2] RUN x").setStarted(com.google.protobuf.Timestamp.getDefaultInstance()))
                .addLogs(log("Pushed x\rSucceeded: cr\nnext\r")).build());
        trace.accept(io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse.newBuilder()
                .addLogs(log("\nlast")).build());
        trace.finish();

        assertThat(log.toString()).isEqualTo("\n#1 [2/2] RUN x\n#1 Pushed x\n#1 Succeeded: cr\n#1 next\n#1 last\n");
    }

    private static io.buildgateway.hostpool.buildkit.proto.Control.VertexLog log(String text) {
        return io.buildgateway.hostpool.buildkit.proto.Control.VertexLog.newBuilder().setVertex("sha256:a")
                .setMsg(com.google.protobuf.ByteString.copyFromUtf8(text)).build();
    }

    /**
     * BuildKit may name a FROM by another name the host's store gives the pulled image (make test, 2026-12-07): the
     * used name is the pull when the store's RepoDigests for it hold the pull's repository@digest; otherwise it
     * stays an image from the host's store, which the confinement check judges by its repository.
     */
    @Test
    void aFromNamedByAnotherTagOfThePulledImageIsThePull() throws IOException {
        BuildKitTrace trace = replay("modern-syntax.ndjson", new StringBuilder());
        String named = trace.used().get(0); // <registry>/base/busybox:latest, no digest
        String registry = named.substring(0, named.indexOf("/base/"));
        String digest = "sha256:" + "a".repeat(64);
        List<PulledImage> pulled = List.of(new PulledImage(registry + "/base/copy:w1", digest,
                "FROM " + registry + "/base/copy:w1"));

        List<PulledImage> same = BuildKitBuilder.used(trace, pulled, name -> name.equals(named)
                ? List.of(registry + "/base/busybox@" + digest, registry + "/base/copy@" + digest) : List.of());
        assertThat(same).containsExactlyElementsOf(pulled);

        List<PulledImage> other = BuildKitBuilder.used(trace, pulled, name -> List.of(registry + "/base/busybox@sha256:"
                + "b".repeat(64)));
        assertThat(other).hasSize(2).last().satisfies(p -> {
            assertThat(p.reference()).isEqualTo(named);
            assertThat(p.digest()).isEqualTo("(from the host's image store)");
        });
        assertThat(io.buildgateway.shared.ImageReference.split(registry + "/base/copy:w1").name())
                .isEqualTo(registry + "/base/copy");
        assertThat(io.buildgateway.shared.ImageReference.split(registry + "/base/copy@" + digest).name())
                .isEqualTo(registry + "/base/copy");
    }
}
