package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/** ImageRegistry#onBuildTriggers against a small OCI distribution registry in this JVM (no authentication). */
class ImageRegistryTriggersTest {

    private HttpServer server;
    private String address;
    /** path below /v2/ to content type and body */
    private final Map<String, Map.Entry<String, byte[]>> content = new ConcurrentHashMap<>();
    /** Requests the registry answered, by path below /v2/. */
    private final List<String> requests = java.util.Collections.synchronizedList(new java.util.ArrayList<>());

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        address = "127.0.0.1:" + server.getAddress().getPort();
        server.createContext("/v2/", this::v2);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    /** When set, each request waits for it (so that callers can be made to overlap). */
    private volatile java.util.concurrent.CountDownLatch hold;

    /** When set, every answer carries this {@code Docker-Content-Digest}, whatever its body. */
    private volatile String lyingDigest;

    private void v2(HttpExchange ex) throws IOException {
        requests.add(ex.getRequestURI().getPath().substring("/v2/".length()));
        if (hold != null) {
            try {
                hold.await(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Map.Entry<String, byte[]> c = content.get(ex.getRequestURI().getPath().substring("/v2/".length()));
        if (c == null) {
            ex.sendResponseHeaders(404, -1);
        } else {
            ex.getResponseHeaders().add("Content-Type", c.getKey());
            if (lyingDigest != null) {
                ex.getResponseHeaders().add("Docker-Content-Digest", lyingDigest);
            }
            ex.sendResponseHeaders(200, c.getValue().length);
            ex.getResponseBody().write(c.getValue());
        }
        ex.close();
    }

    private ImageRegistry client() {
        return new ImageRegistry(properties(), JsonMapper.builder().build());
    }

    private HostPoolProperties properties() {
        return TestHostPools.properties(new HostPoolProperties.Registry(address, null, null, null, null));
    }

    /** Stores an image (config with these triggers, manifest) under repo:tag; returns the manifest digest. */
    private String image(String repo, String tag, String onBuild) {
        return image(repo, tag, onBuild, "[\"PATH=/bin\"]");
    }

    /** As above with this config Env (JSON, null: none). */
    private String image(String repo, String tag, String onBuild, String env) {
        byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{"
                + (env == null ? "\"User\":\"1\"" : "\"Env\":" + env)
                + (onBuild == null ? "" : ",\"OnBuild\":" + onBuild) + "}}").getBytes(StandardCharsets.UTF_8);
        String digest = store(repo, config);
        content.put(repo + "/manifests/" + tag, content.get(repo + "/manifests/" + digest));
        return digest;
    }

    @Test
    void readsTheTriggersOfAnImageByTagOrDigest() {
        String digest = image("base/busybox", "1", "[\"ADD https://evil.example/x /x\",\"RUN id\"]");
        image("base/plain", "latest", null);

        assertThat(client().onBuildTriggers(address + "/base/busybox:1"))
                .containsExactly("ADD https://evil.example/x /x", "RUN id");
        assertThat(client().onBuildTriggers(address + "/base/busybox:1@" + digest))
                .containsExactly("ADD https://evil.example/x /x", "RUN id");
        assertThat(client().onBuildTriggers(address + "/base/plain")).isEmpty();
    }

    /**
     * The names the config's Env sets to an empty value come from the same read as the triggers (one manifest and one
     * blob request, one cache entry): {@code X=} and {@code X} (BuildKit reads it as empty) count, {@code X=nonempty}
     * does not; no Env, none; an Env that is not a list of text fails closed.
     */
    @Test
    void readsTheNamesTheEnvSetsEmptyWithTheTriggers() {
        image("base/env", "1", "[\"RUN id\"]", "[\"PATH=/bin\",\"EMPTY=\",\"BARE\",\"X=nonempty\",\"EQ==\"]");
        image("base/noenv", "1", null, null);
        image("base/badenv", "1", null, "\"EMPTY=\"");
        image("base/badentry", "1", null, "[1]");
        ImageRegistry registry = new ImageRegistry(properties(), JsonMapper.builder().build(), Duration.ofSeconds(10),
                () -> 0L, Runnable::run);

        ImageRegistry.BaseConfig config = registry.baseConfig(address + "/base/env:1");
        assertThat(config.triggers()).containsExactly("RUN id");
        assertThat(config.emptyEnv()).containsExactlyInAnyOrder("EMPTY", "BARE");
        // and the whole Env, for the expansion to start the stage with (EQ== keeps its value's '=')
        assertThat(config.env()).containsExactly(Map.entry("PATH", "/bin"), Map.entry("EMPTY", ""),
                Map.entry("BARE", ""), Map.entry("X", "nonempty"), Map.entry("EQ", "="));
        int reads = requests.size();
        assertThat(reads).as("manifest and config blob").isEqualTo(2);
        assertThat(registry.onBuildTriggers(address + "/base/env:1")).containsExactly("RUN id");
        assertThat(registry.baseConfig(address + "/base/env:1").emptyEnv()).containsExactlyInAnyOrder("EMPTY", "BARE");
        assertThat(requests).as("one cache entry for both").hasSize(reads);

        assertThat(client().baseConfig(address + "/base/noenv:1").emptyEnv()).isEmpty();
        assertThatThrownBy(() -> client().baseConfig(address + "/base/badenv:1"))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("Env that is not a list");
        assertThatThrownBy(() -> client().baseConfig(address + "/base/badentry:1"))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("not text");
    }

    /**
     * Go's JSON decoder (dockerd, BuildKit) reads keys ignoring case, Unicode folding included, the last one winning;
     * this reader takes exact keys. A config whose keys the two read differently is refused, not read as the gateway
     * alone would (a review's find: {@code "OnBuild":[]} then {@code "onbuild":[…]} was no trigger here, a trigger in
     * BuildKit).
     */
    @Test
    void aConfigWhoseKeysTheDaemonReadsDifferentlyIsRefused() {
        image("base/folded", "1", "[],\"onbuild\":[\"RUN evil\"]");
        image("base/lower", "1", null, "[\"PATH=/bin\"],\"onbuild\":[\"RUN evil\"]");
        image("base/longs", "1", null, "[\"PATH=/bin\"],\"Env\u017F\":1,\"Label\u017F\":{\"a\":\"b\"}");
        image("base/fine", "1", "[\"RUN id\"]", "[\"PATH=/bin\"],\"onbuildish\":[\"x\"],\"User\":\"1\"");

        assertThatThrownBy(() -> client().baseConfig(address + "/base/folded:1"))
                .isInstanceOf(java.io.UncheckedIOException.class).hasMessageContaining("'OnBuild' and 'onbuild'");
        assertThatThrownBy(() -> client().baseConfig(address + "/base/lower:1"))
                .hasMessageContaining("'onbuild' that the daemon reads as 'OnBuild'");
        assertThatThrownBy(() -> client().baseConfig(address + "/base/longs:1"))
                .hasMessageContaining("reads as 'Labels'");
        assertThat(client().baseConfig(address + "/base/fine:1").triggers()).containsExactly("RUN id");
    }

    @Test
    void readsEveryPlatformOfAnIndex() {
        String amd = image("base/multi", "amd", "[\"RUN a\"]");
        String arm = image("base/multi", "arm", "[\"RUN b\",\"RUN a\"]");
        byte[] index = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
                + "\"manifests\":[{\"digest\":\"" + amd + "\",\"platform\":{\"os\":\"linux\",\"architecture\":"
                + "\"amd64\"}},{\"digest\":\"" + arm + "\",\"platform\":{\"os\":\"linux\",\"architecture\":"
                + "\"arm64\"}}]}").getBytes(StandardCharsets.UTF_8);
        content.put("base/multi/manifests/2", Map.entry("application/vnd.oci.image.index.v1+json", index));

        assertThat(client().onBuildTriggers(address + "/base/multi:2")).containsExactly("RUN a", "RUN b");
        // the same Env on every platform: one environment
        assertThat(client().baseConfig(address + "/base/multi:2").env()).containsExactly(Map.entry("PATH", "/bin"));
    }

    /** Stores an image of these layers (diff ids) for os/architecture under its digest; returns the digest. */
    private String layered(String repo, String architecture, String... diffIds) {
        byte[] config = ("{\"architecture\":\"" + architecture + "\",\"os\":\"linux\",\"config\":{},\"rootfs\":"
                + "{\"type\":\"layers\",\"diff_ids\":[" + String.join(",", java.util.Arrays.stream(diffIds)
                        .map(d -> "\"" + d + "\"").toList()) + "]}}").getBytes(StandardCharsets.UTF_8);
        return store(repo, config);
    }

    /** Stores the config blob and a manifest naming it under its digest; returns the manifest's digest. */
    private String store(String repo, byte[] config) {
        String configDigest = ImageRegistry.sha256(config);
        content.put(repo + "/blobs/" + configDigest, Map.entry("application/octet-stream", config));
        byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\""
                + configDigest + "\",\"size\":" + config.length + "},\"layers\":[]}").getBytes(StandardCharsets.UTF_8);
        String digest = ImageRegistry.sha256(manifest);
        content.put(repo + "/manifests/" + digest, Map.entry("application/vnd.oci.image.manifest.v1+json", manifest));
        return digest;
    }

    /**
     * The layers the confinement check compares a shared FROM vertex by, when the host's store no longer knows its
     * name: the content under a digest, for the host's platform only (an index's image of another platform has
     * other layers; a single image of another platform says nothing), never by tag, and nothing when the registry
     * serves other bytes under the digest.
     */
    @Test
    void readsTheLayersOfAnImageByDigestForTheHostsPlatformOnly() {
        String amd = layered("base/layered", "amd64", "sha256:a1", "sha256:a2");
        String arm = layered("base/layered", "arm64", "sha256:b1");
        content.put("base/layered/manifests/1", content.get("base/layered/manifests/" + amd));
        ImageRegistry registry = client();
        assertThat(registry.layers(address + "/base/layered:1@" + amd, "linux/amd64"))
                .containsExactly("sha256:a1", "sha256:a2");
        assertThat(registry.layers(address + "/base/layered@" + amd, "linux/arm64")).isEmpty();
        assertThat(registry.layers(address + "/base/layered:1", "linux/amd64")).as("by tag").isEmpty();
        assertThat(registry.layers("elsewhere.example/base/layered@" + amd, "linux/amd64")).isEmpty();
        byte[] index = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
                + "\"manifests\":[{\"digest\":\"" + amd + "\",\"platform\":{\"os\":\"linux\",\"architecture\":"
                + "\"amd64\"}},{\"digest\":\"" + arm + "\",\"platform\":{\"os\":\"linux\",\"architecture\":"
                + "\"arm64\",\"variant\":\"v8\"}}]}").getBytes(StandardCharsets.UTF_8);
        String indexDigest = ImageRegistry.sha256(index);
        content.put("base/layered/manifests/" + indexDigest,
                Map.entry("application/vnd.oci.image.index.v1+json", index));
        assertThat(registry.layers(address + "/base/layered@" + indexDigest, "linux/amd64"))
                .containsExactly("sha256:a1", "sha256:a2");
        assertThat(registry.layers(address + "/base/layered@" + indexDigest, "linux/arm64/v8"))
                .containsExactly("sha256:b1");
        assertThat(registry.layers(address + "/base/layered@" + indexDigest, "linux/arm64/v7")).isEmpty();
        assertThat(registry.layers(address + "/base/layered@" + indexDigest, "linux/s390x")).isEmpty();
        // other bytes under the digest: nothing is confirmed
        String forged = "sha256:" + "f".repeat(64);
        content.put("base/layered/manifests/" + forged, content.get("base/layered/manifests/" + amd));
        assertThat(registry.layers(address + "/base/layered@" + forged, "linux/amd64")).isEmpty();
    }

    /**
     * The config keeps the digest of the manifest (or index) it was read from, computed from the bytes parsed: a
     * build is pinned to it, so a header saying otherwise must not decide it. A tag moved since gives the new digest.
     */
    @Test
    void keepsTheDigestOfTheBytesReadWhateverTheHeaderSays() {
        String first = image("base/pinned", "1", null);
        String amd = image("base/pinned", "amd", "[\"RUN a\"]");
        byte[] index = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
                + "\"manifests\":[{\"digest\":\"" + amd + "\",\"platform\":{\"os\":\"linux\",\"architecture\":"
                + "\"amd64\"}}]}").getBytes(StandardCharsets.UTF_8);
        content.put("base/pinned/manifests/idx", Map.entry("application/vnd.oci.image.index.v1+json", index));
        lyingDigest = "sha256:" + "0".repeat(64);

        assertThat(client().baseConfig(address + "/base/pinned:1").digest()).isEqualTo(first);
        assertThat(client().baseConfig(address + "/base/pinned:1@" + first).digest()).isEqualTo(first);
        assertThat(client().baseConfig(address + "/base/pinned:idx").digest()).as("the index's, not its image's")
                .isEqualTo(ImageRegistry.sha256(index));
        String moved = image("base/pinned", "1", "[\"RUN id\"]");
        assertThat(moved).isNotEqualTo(first);
        assertThat(client().baseConfig(address + "/base/pinned:1").digest()).isEqualTo(moved);
    }

    @Test
    void anIndexWhoseImagesHaveDifferentEnvironmentsHasNoOneEnvironment() {
        String amd = image("base/envs", "amd", null, "[\"PORT=80\"]");
        String arm = image("base/envs", "arm", null, "[\"PORT=22\"]");
        byte[] index = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
                + "\"manifests\":[{\"digest\":\"" + amd + "\",\"platform\":{\"os\":\"linux\",\"architecture\":"
                + "\"amd64\"}},{\"digest\":\"" + arm + "\",\"platform\":{\"os\":\"linux\",\"architecture\":"
                + "\"arm64\"}}]}").getBytes(StandardCharsets.UTF_8);
        content.put("base/envs/manifests/2", Map.entry("application/vnd.oci.image.index.v1+json", index));

        assertThat(client().baseConfig(address + "/base/envs:2").env()).as("PORT differs by platform").isNull();
    }

    @Test
    void failsClosedOnAnythingItCannotRead() {
        image("base/odd", "1", "\"RUN a\"");
        assertThatThrownBy(() -> client().onBuildTriggers(address + "/base/absent:1"))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("no image");
        assertThatThrownBy(() -> client().onBuildTriggers("docker.io/library/busybox:1"))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("not an image in the gateway's registry");
        assertThatThrownBy(() -> client().onBuildTriggers(address + "/base/odd:1"))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("not a list");
        assertThatThrownBy(() -> client().onBuildTriggers(address + "/base/busybox:1@sha256:" + "0".repeat(64)))
                .isInstanceOf(UncheckedIOException.class);
        String digest = image("base/busybox", "1", "[]");
        content.put("base/busybox/manifests/" + digest, Map.entry("application/vnd.oci.image.manifest.v1+json",
                "{\"schemaVersion\":2,\"config\":{}}".getBytes(StandardCharsets.UTF_8)));
        assertThatThrownBy(() -> client().onBuildTriggers(address + "/base/busybox@" + digest))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("not " + digest);
        server.stop(0);
        assertThatThrownBy(() -> client().onBuildTriggers(address + "/base/busybox:1"))
                .isInstanceOf(UncheckedIOException.class);
    }

    /** The clock the registries of {@link #tenSecondTtl} read, in nanoseconds. */
    private final long[] now = {0};
    /** The reads ahead those registries asked for, run only when a test runs them. */
    private final List<Runnable> refreshes = new java.util.ArrayList<>();

    private ImageRegistry tenSecondTtl() {
        return new ImageRegistry(properties(), JsonMapper.builder().build(), Duration.ofSeconds(10), () -> now[0],
                refreshes::add);
    }

    @Test
    void anAnswerAskedForWithinTheWindowIsReadAheadWithoutACallerAndLeftToLapseAfterIt() {
        ImageRegistry registry = new ImageRegistry(properties(), JsonMapper.builder().build(), Duration.ofSeconds(10),
                () -> now[0], refreshes::add, Duration.ofMinutes(10), false);
        image("base/busybox", "1", "[\"RUN a\"]");
        String ref = address + "/base/busybox:1";
        assertThat(registry.onBuildTriggers(ref)).containsExactly("RUN a"); // asked for at 0 s: read by the caller
        image("base/busybox", "1", "[\"RUN b\"]"); // re-tagged

        now[0] = Duration.ofSeconds(4).toNanos();
        registry.keepWarm();
        assertThat(refreshes).isEmpty(); // before half the ttl nothing is read

        now[0] = Duration.ofSeconds(5).toNanos();
        registry.keepWarm();
        registry.keepWarm();
        assertThat(refreshes).hasSize(1); // past half the ttl: one read ahead, though nobody asked since 0 s
        refreshes.remove(0).run();
        assertThat(requests).hasSize(4);
        // at 14 s the first read has lapsed; the answer read at 5 s is given without waiting, and it is the new one
        now[0] = Duration.ofSeconds(14).toNanos();
        assertThat(registry.onBuildTriggers(ref)).containsExactly("RUN b");
        assertThat(requests).hasSize(4);
        assertThat(refreshes).hasSize(1); // that caller found it past half the ttl: read ahead as before
        refreshes.remove(0).run();
        assertThat(requests).hasSize(6);

        // last asked at 14 s: ten minutes later it is no longer read ahead, and it lapses
        now[0] = Duration.ofSeconds(14).plusMinutes(10).plusSeconds(1).toNanos();
        registry.keepWarm();
        registry.keepWarm();
        assertThat(refreshes).isEmpty();
        assertThat(registry.onBuildTriggers(ref)).containsExactly("RUN b"); // read by the caller again
        assertThat(requests).hasSize(8);
        assertThat(refreshes).isEmpty();
    }

    @Test
    void withoutAWindowNothingIsReadAheadWithoutACaller() {
        ImageRegistry registry = tenSecondTtl();
        image("base/busybox", "1", "[\"RUN a\"]");
        registry.onBuildTriggers(address + "/base/busybox:1");
        now[0] = Duration.ofSeconds(9).toNanos();
        registry.keepWarm();
        assertThat(refreshes).isEmpty();
        assertThatThrownBy(() -> new ImageRegistry(properties(), JsonMapper.builder().build(), Duration.ofSeconds(10),
                () -> 0L, Runnable::run, Duration.ofSeconds(-1), false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("base-triggers-keep-warm");
    }

    @Test
    void answersByTagAreReusedForTheTtlThenReadAgainAndAReTagIsSeen() {
        ImageRegistry registry = tenSecondTtl();
        image("base/busybox", "1", "[\"RUN a\"]");
        assertThat(registry.onBuildTriggers(address + "/base/busybox:1")).containsExactly("RUN a");
        int first = requests.size();
        assertThat(first).isEqualTo(2); // the manifest, then the config blob
        image("base/busybox", "1", "[\"RUN b\"]"); // re-tagged
        now[0] = Duration.ofSeconds(4).toNanos();
        assertThat(registry.onBuildTriggers(address + "/base/busybox:1")).containsExactly("RUN a");
        assertThat(requests).hasSize(first); // not asked again within the ttl
        assertThat(refreshes).isEmpty(); // nor read ahead before half of it
        now[0] = Duration.ofSeconds(10).toNanos();
        assertThat(registry.onBuildTriggers(address + "/base/busybox:1")).containsExactly("RUN b");
        assertThat(requests).hasSize(first + 2);
        assertThat(refreshes).isEmpty(); // a lapsed entry is read by the caller, who waits for it
    }

    /** A rebuild's read (the tag moved) is the registry's answer now, and the answer kept for those after it. */
    @Test
    void aCurrentReadIgnoresTheCachedAnswerAndReplacesIt() {
        ImageRegistry registry = tenSecondTtl();
        String first = image("base/busybox", "1", "[\"RUN a\"]");
        assertThat(registry.baseConfig(address + "/base/busybox:1").digest()).isEqualTo(first);
        String moved = image("base/busybox", "1", "[\"RUN b\"]");
        now[0] = Duration.ofSeconds(1).toNanos();
        assertThat(registry.baseConfig(address + "/base/busybox:1").digest()).as("cached").isEqualTo(first);
        ImageRegistry.BaseConfig current = registry.currentBaseConfig(address + "/base/busybox:1");
        assertThat(current.digest()).isEqualTo(moved);
        assertThat(current.triggers()).containsExactly("RUN b");
        int asked = requests.size();
        assertThat(registry.baseConfig(address + "/base/busybox:1").digest()).isEqualTo(moved);
        assertThat(requests).hasSize(asked);
    }

    @Test
    void anAnswerPastHalfItsTtlIsReadAgainAheadWhileStillGivenOut() {
        ImageRegistry registry = tenSecondTtl();
        image("base/busybox", "1", "[\"RUN a\"]");
        String ref = address + "/base/busybox:1";
        assertThat(registry.onBuildTriggers(ref)).containsExactly("RUN a");
        image("base/busybox", "1", "[\"RUN b\"]"); // re-tagged
        now[0] = Duration.ofSeconds(6).toNanos();
        assertThat(registry.onBuildTriggers(ref)).containsExactly("RUN a"); // within the ttl: given out at once
        assertThat(registry.onBuildTriggers(ref)).containsExactly("RUN a");
        assertThat(refreshes).hasSize(1); // one read ahead for both
        assertThat(requests).hasSize(2);
        refreshes.remove(0).run();
        assertThat(requests).hasSize(4);
        // the read ahead started at 6 s: at 15 s (past the first read's ttl) its answer is given without waiting
        now[0] = Duration.ofSeconds(15).toNanos();
        assertThat(registry.onBuildTriggers(ref)).containsExactly("RUN b");
        assertThat(requests).hasSize(4);
        // a read ahead that fails leaves the entry to lapse at its ttl; then the caller reads and fails closed
        assertThat(refreshes).hasSize(1);
        content.clear();
        refreshes.remove(0).run();
        now[0] = Duration.ofSeconds(16).toNanos();
        assertThatThrownBy(() -> registry.onBuildTriggers(ref)).isInstanceOf(UncheckedIOException.class);
    }

    @Test
    void answersByDigestAreReusedWhateverTheTtlAndNothingIsReusedWithTtlZero() {
        String digest = image("base/busybox", "1", "[\"RUN a\"]");
        ImageRegistry noTtl = client(); // ttl 0
        String byDigest = address + "/base/busybox:1@" + digest;
        assertThat(noTtl.onBuildTriggers(byDigest)).containsExactly("RUN a");
        assertThat(noTtl.onBuildTriggers(byDigest)).containsExactly("RUN a");
        assertThat(requests).hasSize(2); // content-addressed: read once
        assertThat(noTtl.onBuildTriggers(address + "/base/busybox:1")).containsExactly("RUN a");
        assertThat(noTtl.onBuildTriggers(address + "/base/busybox:1")).containsExactly("RUN a");
        assertThat(requests).hasSize(6); // by tag with ttl 0: every time
    }

    @Test
    void failuresAreNeverReused() {
        ImageRegistry registry = new ImageRegistry(properties(), JsonMapper.builder().build(), Duration.ofHours(1),
                () -> 0L);
        assertThatThrownBy(() -> registry.onBuildTriggers(address + "/base/late:1"))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("no image");
        image("base/late", "1", "[\"RUN late\"]");
        assertThat(registry.onBuildTriggers(address + "/base/late:1")).containsExactly("RUN late");
        assertThatThrownBy(() -> new ImageRegistry(properties(), JsonMapper.builder().build(), Duration.ofSeconds(-1),
                () -> 0L)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("base-triggers-ttl");
    }

    @Test
    void concurrentMissesShareOneReadAndItsFailure() throws Exception {
        ImageRegistry registry = new ImageRegistry(properties(), JsonMapper.builder().build(), Duration.ofSeconds(10),
                System::nanoTime);
        image("base/busybox", "1", "[\"RUN a\"]");
        hold = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(20);
        try {
            List<java.util.concurrent.Future<List<String>>> answers = new java.util.ArrayList<>();
            for (int i = 0; i < 20; i++) {
                answers.add(pool.submit(() -> registry.onBuildTriggers(address + "/base/busybox:1")));
            }
            while (requests.isEmpty()) {
                Thread.sleep(5);
            }
            Thread.sleep(200); // the others arrive while the first read waits for the registry
            hold.countDown();
            for (var a : answers) {
                assertThat(a.get(10, java.util.concurrent.TimeUnit.SECONDS)).containsExactly("RUN a");
            }
            assertThat(requests).hasSize(2); // one manifest, one config blob: one read for all twenty

            hold = new java.util.concurrent.CountDownLatch(1);
            List<java.util.concurrent.Future<List<String>>> failing = new java.util.ArrayList<>();
            for (int i = 0; i < 5; i++) {
                failing.add(pool.submit(() -> registry.onBuildTriggers(address + "/base/absent:1")));
            }
            while (requests.size() < 3) {
                Thread.sleep(5);
            }
            Thread.sleep(200);
            hold.countDown();
            for (var f : failing) {
                assertThatThrownBy(() -> f.get(10, java.util.concurrent.TimeUnit.SECONDS))
                        .hasCauseInstanceOf(UncheckedIOException.class).hasMessageContaining("no image");
            }
            assertThat(requests).hasSize(3);
            hold = null;
            image("base/absent", "1", "[]");
            assertThat(registry.onBuildTriggers(address + "/base/absent:1")).isEmpty(); // the failure was not kept
        } finally {
            hold = null;
            pool.shutdownNow();
        }
    }
}
