package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

/**
 * The registry client against a small registry in this JVM that speaks the OCI distribution API behind the Docker
 * token flow (as Harbor or distribution with token auth do): 401 with a Bearer challenge, a token service that wants
 * the gateway's Basic credentials and grants per repository and action.
 */
class ImageRegistryTest {

    private HttpServer server;
    private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
    private final Map<String, byte[]> manifests = new ConcurrentHashMap<>();
    private final List<String> tokenRequests = new ArrayList<>();
    private volatile byte[] corruptBlob;
    private final List<String> mounts = java.util.Collections.synchronizedList(new ArrayList<>());
    /** repository@digest whose link the next manifest PUT to that repository finds gone (another mount's rewrite). */
    private volatile String loseLink;
    private volatile boolean alwaysLose;
    private String address;
    private final java.util.concurrent.ExecutorService handlers = java.util.concurrent.Executors.newFixedThreadPool(8);
    /** Status a mount of this digest is answered with instead of being served (e.g. 503). */
    private final Map<String, Integer> failMount = new ConcurrentHashMap<>();
    /** Mounts being served right now, and the most at once. */
    private final java.util.concurrent.atomic.AtomicInteger mountsInFlight = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicInteger mostMountsAtOnce = new java.util.concurrent.atomic.AtomicInteger();
    /** When set, each mount waits (at most 5 s) until this many mounts have arrived. */
    private volatile java.util.concurrent.CountDownLatch mountsMeet;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        address = "127.0.0.1:" + server.getAddress().getPort();
        server.createContext("/token", this::token);
        server.createContext("/v2/", this::v2);
        server.setExecutor(handlers); // several requests at once, as a real registry serves them
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
        handlers.shutdownNow();
    }

    private ImageRegistry client(String username, String password) {
        return new ImageRegistry(TestHostPools.properties(
                new HostPoolProperties.Registry(address, username, password, null, null)), JsonMapper.builder().build());
    }

    @Test
    void pushesBlobsAndManifestsWithATokenFromTheRegistrysTokenService() throws IOException {
        ImageRegistry registry = client("gateway", "pw");
        byte[] envelope = "{\"payloadType\":\"x\"}".getBytes(StandardCharsets.UTF_8);
        String digest = registry.pushBlob("team/app", envelope);
        assertThat(digest).isEqualTo(ImageRegistry.sha256(envelope));
        assertThat(blobs.get("team/app@" + digest)).isEqualTo(envelope);
        assertThat(registry.pushBlob("team/app", envelope)).isEqualTo(digest); // already there: no second upload

        byte[] manifest = "{\"schemaVersion\":2}".getBytes(StandardCharsets.UTF_8);
        String stored = registry.putManifest("team/app", "sha256-" + "a".repeat(64) + ".att",
                "application/vnd.oci.image.manifest.v1+json", manifest);
        assertThat(stored).isEqualTo(ImageRegistry.sha256(manifest));
        ImageRegistry.Manifest read = registry.manifest("team/app", "sha256-" + "a".repeat(64) + ".att",
                "application/vnd.oci.image.manifest.v1+json").orElseThrow();
        assertThat(read.body()).isEqualTo(manifest);
        assertThat(read.mediaType()).isEqualTo("application/vnd.oci.image.manifest.v1+json");
        assertThat(registry.manifest("team/app", "absent", "*/*")).isEmpty();
        assertThat(registry.blob("team/app", digest)).isEqualTo(envelope);

        assertThat(tokenRequests).isNotEmpty().allMatch(r -> r.contains("service=fake"))
                .anyMatch(r -> r.contains("scope=repository:team/app:push,pull"));
    }

    @Test
    void tokensAreKeptForTheMostRecentlyUsedScopesOnly() throws IOException {
        ImageRegistry registry = client("gateway", "pw");
        // one scope per build run, as the quarantine's repositories have: more than the client keeps
        for (int i = 0; i <= ImageRegistry.TOKENS_KEPT; i++) {
            assertThat(registry.manifest("quarantine/run-" + i, "checking", "*/*")).isEmpty();
        }
        int asked = tokenRequests.size();
        assertThat(registry.manifest("quarantine/run-" + ImageRegistry.TOKENS_KEPT, "checking", "*/*")).isEmpty();
        assertThat(tokenRequests).as("the latest scope's token is kept").hasSize(asked);
        assertThat(registry.manifest("quarantine/run-0", "checking", "*/*")).isEmpty();
        assertThat(tokenRequests).as("the eldest scope's token was let go, so it is asked for again")
                .hasSize(asked + 1);
    }

    @Test
    void wrongCredentialsOrNoneAreAClearError() {
        assertThatThrownBy(() -> client("gateway", "wrong").pushBlob("team/app", new byte[] {1}))
                .isInstanceOf(IOException.class).hasMessageContaining("getting a registry token")
                .hasMessageContaining("401");
        assertThatThrownBy(() -> client(null, null).pushBlob("team/app", new byte[] {1}))
                .isInstanceOf(IOException.class).hasMessageContaining("has no username");
    }

    @Test
    void aBlobWithOtherContentThanItsDigestIsRefused() throws IOException {
        ImageRegistry registry = client("gateway", "pw");
        String digest = registry.pushBlob("team/app", "real".getBytes(StandardCharsets.UTF_8));
        corruptBlob = "forged".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> registry.blob("team/app", digest)).isInstanceOf(IOException.class)
                .hasMessageContaining("other content");
    }

    @Test
    void namesThatAreNotRepositoriesOrReferencesNeverReachTheRegistry() {
        ImageRegistry registry = client("gateway", "pw");
        assertThatThrownBy(() -> registry.manifest("team/../x", "v1", "*/*"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> registry.manifest("team/app", "v1/../../x", "*/*"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theApiUrlIsPlainHttpOnlyForLoopbackUnlessConfigured() {
        assertThat(new HostPoolProperties.Registry("127.0.0.1:5000", null, null, null, null).apiUrl())
                .hasToString("http://127.0.0.1:5000");
        assertThat(new HostPoolProperties.Registry("localhost:5000", null, null, null, null).apiUrl())
                .hasToString("http://localhost:5000");
        assertThat(new HostPoolProperties.Registry("registry.internal", null, null, null, null).apiUrl())
                .hasToString("https://registry.internal");
        assertThat(new HostPoolProperties.Registry("127.0.0.1:5000", null, null, "https://r.internal:8443/", null)
                .apiUrl())
                .hasToString("https://r.internal:8443");
    }

    @Test
    void promotingMountsOnlyWhatTheRepositoryLacksAndLinksAgainWhenTheManifestFindsABlobGone() throws IOException {
        String c = "sha256:" + "c".repeat(64);
        String l = "sha256:" + "1".repeat(64);
        String digest = quarantinedWithLayers(1);
        blobs.put("team/app@" + l, "layer".getBytes(StandardCharsets.UTF_8)); // the base layer, linked already
        loseLink = "team/app@" + c; // another build's mount rewrites the config's link while the manifest is stored

        assertThat(client("gateway", "pw").promote("q/b1/r1", digest, "team/app", "v1")).isEqualTo(digest);
        assertThat(mounts).containsExactly("team/app@" + c, "team/app@" + c);
        // the quarantine's manifest stays for the caller to delete, off the naming's path; its deletion leaves the name
        assertThat(manifests).containsKey("team/app:v1").containsKey("q/b1/r1:" + digest);
        assertThat(client("gateway", "pw").deleteManifest("q/b1/r1", digest)).isTrue();
        assertThat(manifests).containsKey("team/app:v1").doesNotContainKey("q/b1/r1:" + digest);
    }

    @Test
    void aNamingPreparedBesideTheChecksOnlyReadsThenMountsWhatWasUnlinkedAndLinksAgainABlobGoneSince()
            throws IOException {
        String c = "sha256:" + "c".repeat(64);
        String one = "sha256:" + "1".repeat(64);
        String two = "sha256:" + "2".repeat(64);
        String digest = quarantinedWithLayers(2);
        blobs.put("team/app@" + one, "layer".getBytes(StandardCharsets.UTF_8)); // the base layer, linked already
        ImageRegistry registry = client("gateway", "pw");

        ImageRegistry.Naming naming = registry.prepareNaming("q/b1/r1", digest, "team/app");
        assertThat(naming.digest()).isEqualTo(digest);
        // reads only: nothing linked, nothing named
        assertThat(mounts).isEmpty();
        assertThat(manifests).doesNotContainKey("team/app:v1");

        loseLink = "team/app@" + one; // the link the preparation saw is gone when the manifest is stored
        assertThat(registry.promote(naming, "v1")).isEqualTo(digest);
        // the first attempt mounts what was unlinked (config, layer 2) without asking again; the registry refuses the
        // manifest for layer 1; the next attempt asks about every blob and links layer 1 again
        assertThat(mounts).containsExactlyInAnyOrder("team/app@" + c, "team/app@" + two, "team/app@" + one);
        assertThat(manifests).containsKey("team/app:v1");
    }

    @Test
    void aPreparedNamingChecksTheManifestsDigest() {
        String digest = quarantinedWithLayers(1);
        manifests.put("q/b1/r1:" + digest, "{\"schemaVersion\":2}".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> client("gateway", "pw").prepareNaming("q/b1/r1", digest, "team/app"))
                .isInstanceOf(IOException.class).hasMessageContaining("is not " + digest);
        assertThat(mounts).isEmpty();
    }

    @Test
    void aManifestRefusedForAnUnlinkedBlobEveryTimeFailsWithTheRegistrysAnswer() {
        String c = "sha256:" + "c".repeat(64);
        String digest = quarantinedWithLayers(1);
        loseLink = "team/app@" + c;
        alwaysLose = true;
        assertThatThrownBy(() -> client("gateway", "pw").promote("q/b1/r1", digest, "team/app", "v1"))
                .isInstanceOf(IOException.class).hasMessageContaining("storing manifest team/app:v1")
                .hasMessageContaining("MANIFEST_BLOB_UNKNOWN");
        // the layer once, the config again before every attempt
        assertThat(mounts).hasSize(ImageRegistry.PROMOTE_ATTEMPTS + 1);
        assertThat(manifests).doesNotContainKey("team/app:v1").containsKey("q/b1/r1:" + digest);
    }

    private static final byte[] CONFIG = ("{\"history\":[{\"created_by\":\"RUN |1 MODE=secret /bin/sh -c true\"}],"
            + "\"rootfs\":{\"diff_ids\":[\"sha256:" + "d".repeat(64) + "\"]}}").getBytes(StandardCharsets.UTF_8);
    private static final java.util.function.UnaryOperator<byte[]> HIDE = config -> {
        String text = new String(config, StandardCharsets.UTF_8);
        return text.contains("MODE=secret") ? text.replace("MODE=secret", "MODE=sha256:5e")
                .getBytes(StandardCharsets.UTF_8) : config;
    };

    /** A quarantined image whose config ({@link #CONFIG}) is what its digest says, with one layer; its digest. */
    private String quarantinedWithHistory() {
        String config = ImageRegistry.sha256(CONFIG);
        String layer = "sha256:" + "1".repeat(64);
        blobs.put("q/b1/r1@" + config, CONFIG);
        blobs.put("q/b1/r1@" + layer, "layer1".getBytes(StandardCharsets.UTF_8));
        byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + config
                + "\",\"size\":" + CONFIG.length + "},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1"
                + ".tar+gzip\",\"digest\":\"" + layer + "\",\"size\":6}]}").getBytes(StandardCharsets.UTF_8);
        String digest = ImageRegistry.sha256(manifest);
        manifests.put("q/b1/r1:" + digest, manifest);
        return digest;
    }

    @Test
    void aRewriteThatChangesNothingNamesTheManifestAsPushed() throws IOException {
        String digest = quarantinedWithHistory();
        String config = ImageRegistry.sha256(CONFIG);
        assertThat(client("gateway", "pw").promote("q/b1/r1", digest, "team/app", "v1", c -> c)).isEqualTo(digest);
        assertThat(manifests.get("team/app:v1")).isEqualTo(manifests.get("q/b1/r1:" + digest));
        assertThat(mounts).contains("team/app@" + config);
    }

    @Test
    void aRewrittenConfigIsUploadedAndNamedWithoutEverLinkingTheOriginalConfig() throws IOException {
        String digest = quarantinedWithHistory();
        String original = ImageRegistry.sha256(CONFIG);
        byte[] rewritten = HIDE.apply(CONFIG);
        String config = ImageRegistry.sha256(rewritten);
        loseLink = "team/app@" + config; // the new config's link is found gone once: uploaded again

        String named = client("gateway", "pw").promote("q/b1/r1", digest, "team/app", "v1", HIDE);

        byte[] stored = manifests.get("team/app:v1");
        assertThat(named).isNotEqualTo(digest).isEqualTo(ImageRegistry.sha256(stored));
        JsonMapper json = JsonMapper.builder().build();
        tools.jackson.databind.JsonNode m = json.readTree(stored);
        tools.jackson.databind.JsonNode q = json.readTree(manifests.get("q/b1/r1:" + digest));
        assertThat(m.path("config").path("digest").asString()).isEqualTo(config);
        assertThat(m.path("config").path("size").asLong()).isEqualTo(rewritten.length);
        assertThat(m.path("config").path("mediaType")).isEqualTo(q.path("config").path("mediaType"));
        assertThat(m.path("layers")).isEqualTo(q.path("layers"));
        assertThat(m.path("mediaType")).isEqualTo(q.path("mediaType"));
        assertThat(blobs.get("team/app@" + config)).isEqualTo(rewritten);
        // the original config (its history holds the value) is never mounted into, nor readable from, the team's
        assertThat(mounts).containsExactly("team/app@sha256:" + "1".repeat(64));
        assertThat(blobs).doesNotContainKey("team/app@" + original);

        // a retry (an answer lost) stores the same bytes under the same digest
        assertThat(client("gateway", "pw").promote("q/b1/r1", digest, "team/app", "v1", HIDE)).isEqualTo(named);
        assertThat(manifests.get("team/app:v1")).isEqualTo(stored);
        assertThat(blobs).doesNotContainKey("team/app@" + original);
    }

    @Test
    void aPreparedNamingRewritesTheConfigBesideTheChecksAndUploadsItOnlyWhenNaming() throws IOException {
        String digest = quarantinedWithHistory();
        String config = ImageRegistry.sha256(HIDE.apply(CONFIG));
        ImageRegistry registry = client("gateway", "pw");
        ImageRegistry.Naming naming = registry.prepareNaming("q/b1/r1", digest, "team/app", HIDE);
        assertThat(naming.digest()).isEqualTo(digest);
        assertThat(blobs).doesNotContainKey("team/app@" + config);
        assertThat(mounts).isEmpty();

        String named = registry.promote(naming, "v1");
        assertThat(named).isEqualTo(naming.named()).isNotEqualTo(digest)
                .isEqualTo(ImageRegistry.sha256(manifests.get("team/app:v1")));
        assertThat(blobs).containsKey("team/app@" + config).doesNotContainKey("team/app@" + ImageRegistry.sha256(CONFIG));
        assertThat(registry.promote("q/b1/r1", digest, "team/app", "v1", HIDE)).isEqualTo(named);
    }

    /** A quarantined image of a config and {@code layers} layers (digests c…, 1…, 2…, …); its manifest's digest. */
    private String quarantinedWithLayers(int layers) {
        StringBuilder list = new StringBuilder();
        blobs.put("q/b1/r1@sha256:" + "c".repeat(64), "config".getBytes(StandardCharsets.UTF_8));
        for (int i = 1; i <= layers; i++) {
            String l = "sha256:" + String.valueOf(i).repeat(64);
            blobs.put("q/b1/r1@" + l, ("layer" + i).getBytes(StandardCharsets.UTF_8));
            list.append(i == 1 ? "" : ",").append("{\"digest\":\"").append(l).append("\"}");
        }
        byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                + "\"config\":{\"digest\":\"sha256:" + "c".repeat(64) + "\"},\"layers\":[" + list + "]}")
                .getBytes(StandardCharsets.UTF_8);
        String digest = ImageRegistry.sha256(manifest);
        manifests.put("q/b1/r1:" + digest, manifest);
        return digest;
    }

    @Test
    void promotingMountsTheBlobsInParallelBoundedAndThenStoresTheManifest() throws IOException {
        String digest = quarantinedWithLayers(5); // six blobs
        mountsMeet = new java.util.concurrent.CountDownLatch(ImageRegistry.MOUNT_PARALLELISM);

        assertThat(client("gateway", "pw").promote("q/b1/r1", digest, "team/app", "v1")).isEqualTo(digest);
        // one after another, the first mount would have waited 5 s for the others and the most at once would be 1
        assertThat(mostMountsAtOnce.get()).isEqualTo(ImageRegistry.MOUNT_PARALLELISM);
        assertThat(mounts).hasSize(6);
        // the quarantine's manifest stays for the caller to delete, off the naming's path
        assertThat(manifests).containsKey("team/app:v1").containsKey("q/b1/r1:" + digest);
        // the naming's one scope covers the quarantine's read: a token per scope, not one per parallel request
        assertThat(tokenRequests.stream().filter(r -> r.contains("team/app:push,pull"))).hasSize(1);
    }

    @Test
    void everyFailedMountIsReportedAndNoManifestNamesTheImage() {
        String digest = quarantinedWithLayers(3);
        blobs.remove("q/b1/r1@sha256:" + "1".repeat(64)); // not in the quarantine: 202, an upload, not a mount
        blobs.remove("q/b1/r1@sha256:" + "3".repeat(64));

        assertThatThrownBy(() -> client("gateway", "pw").promote("q/b1/r1", digest, "team/app", "v1"))
                .isInstanceOf(IOException.class).isNotInstanceOf(ImageRegistry.Unreachable.class)
                .hasMessageContaining("2 of 4 blob mounts from q/b1/r1 into team/app failed")
                .hasMessageContaining("sha256:" + "1".repeat(64)).hasMessageContaining("sha256:" + "3".repeat(64))
                .satisfies(e -> assertThat(e.getSuppressed()).hasSize(1));
        assertThat(manifests).doesNotContainKey("team/app:v1").containsKey("q/b1/r1:" + digest);
    }

    @Test
    void mountsTheRegistryCouldNotServeAreWorthARetryOnlyWhenNoneWasRefused() {
        String digest = quarantinedWithLayers(2);
        failMount.put("sha256:" + "1".repeat(64), 503);
        failMount.put("sha256:" + "2".repeat(64), 503);
        assertThatThrownBy(() -> client("gateway", "pw").promote("q/b1/r1", digest, "team/app", "v1"))
                .isInstanceOf(ImageRegistry.Unreachable.class).hasMessageContaining("2 of 3 blob mounts");

        blobs.remove("q/b1/r1@sha256:" + "c".repeat(64)); // and one the registry will not mount
        assertThatThrownBy(() -> client("gateway", "pw").promote("q/b1/r1", digest, "team/other", "v1"))
                .isInstanceOf(IOException.class).isNotInstanceOf(ImageRegistry.Unreachable.class)
                .hasMessageContaining("3 of 3 blob mounts").hasMessageContaining("does not mount across");
        assertThat(manifests).doesNotContainKey("team/app:v1").doesNotContainKey("team/other:v1");
    }

    @Test
    void mountsThePulledImagesLayersIntoAQuarantineReadingEachLayerListOnce() throws IOException {
        String one = "sha256:" + "1".repeat(64);
        String two = "sha256:" + "2".repeat(64);
        blobs.put("base/deb@" + one, "layer1".getBytes(StandardCharsets.UTF_8));
        blobs.put("base/deb@" + two, "layer2".getBytes(StandardCharsets.UTF_8));
        byte[] image = ("{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:" + "c".repeat(64) + "\"},"
                + "\"layers\":[{\"digest\":\"" + one + "\"},{\"digest\":\"" + two + "\"}]}")
                .getBytes(StandardCharsets.UTF_8);
        String digest = ImageRegistry.sha256(image);
        manifests.put("base/deb:" + digest, image);
        ImageRegistry registry = client("gateway", "pw");

        assertThat(registry.mountLayers("base/deb", digest, "q/b1/r1")).isEqualTo(2);
        // the layers only: the daemon pushes the derived image's own config
        assertThat(mounts).containsExactlyInAnyOrder("q/b1/r1@" + one, "q/b1/r1@" + two);

        manifests.remove("base/deb:" + digest); // content-addressed: the next build's lending does not read it again
        assertThat(registry.mountLayers("base/deb", digest, "q/b2/r1")).isEqualTo(2);
        assertThat(mounts).contains("q/b2/r1@" + one, "q/b2/r1@" + two);
    }

    @Test
    void mountsTheLayersOfEveryImageOfAnIndexButNotItsAttestations() throws IOException {
        String one = "sha256:" + "1".repeat(64);
        String two = "sha256:" + "2".repeat(64);
        blobs.put("base/deb@" + one, "amd64".getBytes(StandardCharsets.UTF_8));
        blobs.put("base/deb@" + two, "arm64".getBytes(StandardCharsets.UTF_8));
        String amd = putImage("base/deb", one);
        String arm = putImage("base/deb", two);
        String attestation = putImage("base/deb", "sha256:" + "a".repeat(64));
        byte[] index = ("{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" + amd + "\",\"platform\":"
                + "{\"os\":\"linux\",\"architecture\":\"amd64\"}},{\"digest\":\"" + arm + "\",\"platform\":"
                + "{\"os\":\"linux\",\"architecture\":\"arm64\"}},{\"digest\":\"" + attestation + "\","
                + "\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}]}")
                .getBytes(StandardCharsets.UTF_8);
        String digest = ImageRegistry.sha256(index);
        manifests.put("base/deb:" + digest, index);

        assertThat(client("gateway", "pw").mountLayers("base/deb", digest, "q/b1/r1")).isEqualTo(2);
        assertThat(mounts).containsExactlyInAnyOrder("q/b1/r1@" + one, "q/b1/r1@" + two);
    }

    @Test
    void aLayerTheRegistryWillNotMountFailsTheLendingWithItsDigest() {
        String one = "sha256:" + "1".repeat(64);
        String digest = putImage("base/deb", one); // the layer is not in base/deb: 202, an upload
        assertThatThrownBy(() -> client("gateway", "pw").mountLayers("base/deb", digest, "q/b1/r1"))
                .isInstanceOf(IOException.class).hasMessageContaining(one);
        assertThatThrownBy(() -> client("gateway", "pw").mountLayers("base/deb", "latest", "q/b1/r1"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** An image manifest in {@code repository} with one layer; its digest. */
    private String putImage(String repository, String layer) {
        byte[] image = ("{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:" + "c".repeat(64) + "\"},"
                + "\"layers\":[{\"digest\":\"" + layer + "\"}]}").getBytes(StandardCharsets.UTF_8);
        String digest = ImageRegistry.sha256(image);
        manifests.put(repository + ":" + digest, image);
        return digest;
    }

    // ---- the fake registry ------------------------------------------------------------------------------------------

    private void token(HttpExchange x) throws IOException {
        String query = URLDecoder.decode(x.getRequestURI().getRawQuery(), StandardCharsets.UTF_8);
        synchronized (tokenRequests) {
            tokenRequests.add(query);
        }
        String expected = "Basic " + Base64.getEncoder().encodeToString("gateway:pw".getBytes(StandardCharsets.UTF_8));
        if (!expected.equals(x.getRequestHeaders().getFirst("Authorization"))) {
            send(x, 401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}", Map.of());
            return;
        }
        // every scope parameter, in order (a promote asks for the target's push and the quarantine's pull at once)
        String scope = String.join(" ", java.util.Arrays.stream(x.getRequestURI().getRawQuery().split("&"))
                .filter(kv -> kv.startsWith("scope=")).map(kv -> URLDecoder.decode(kv.substring(6),
                        StandardCharsets.UTF_8)).toList());
        send(x, 200, "{\"token\":\"tok|" + scope + "\"}", Map.of());
    }

    private void v2(HttpExchange x) throws IOException {
        String path = x.getRequestURI().getPath();
        String method = x.getRequestMethod();
        String[] parts = path.substring("/v2/".length()).split("/(?=blobs/|manifests/)", 2);
        String repository = parts[0];
        boolean writes = method.equals("PUT") || method.equals("POST");
        String auth = x.getRequestHeaders().getFirst("Authorization");
        String need = "repository:" + repository + ":" + (writes ? "push" : "pull");
        if (!grants(auth, repository, writes ? "push" : "pull")) {
            send(x, 401, "", Map.of("WWW-Authenticate", "Bearer realm=\"http://" + address + "/token\",service=\"fake\","
                    + "scope=\"" + need + "\""));
            return;
        }
        String rest = parts.length > 1 ? parts[1] : "";
        byte[] body = x.getRequestBody().readAllBytes();
        String query = x.getRequestURI().getRawQuery();
        if (rest.equals("blobs/uploads/") && method.equals("POST") && query != null && query.contains("mount=")) {
            Map<String, String> q = new java.util.HashMap<>();
            for (String kv : query.split("&")) {
                String[] p = kv.split("=", 2);
                q.put(p[0], URLDecoder.decode(p[1], StandardCharsets.UTF_8));
            }
            int now = mountsInFlight.incrementAndGet();
            mostMountsAtOnce.accumulateAndGet(now, Math::max);
            try {
                java.util.concurrent.CountDownLatch meet = mountsMeet;
                if (meet != null) {
                    meet.countDown();
                    meet.await(5, java.util.concurrent.TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                mountsInFlight.decrementAndGet();
            }
            Integer status = failMount.get(q.get("mount"));
            if (status != null) {
                send(x, status, "{\"errors\":[{\"code\":\"UNAVAILABLE\"}]}", Map.of());
                return;
            }
            byte[] blob = blobs.get(q.get("from") + "@" + q.get("mount"));
            if (blob == null) {
                send(x, 202, "", Map.of("Location", "/v2/" + repository + "/blobs/uploads/u2?_state=abc"));
                return;
            }
            blobs.put(repository + "@" + q.get("mount"), blob);
            mounts.add(repository + "@" + q.get("mount"));
            send(x, 201, "", Map.of("Location", "/v2/" + repository + "/blobs/" + q.get("mount")));
        } else if (rest.equals("blobs/uploads/") && method.equals("POST")) {
            send(x, 202, "", Map.of("Location", "/v2/" + repository + "/blobs/uploads/u1?_state=abc"));
        } else if (rest.startsWith("blobs/uploads/") && method.equals("PUT")) {
            String digest = URLDecoder.decode(x.getRequestURI().getRawQuery(), StandardCharsets.UTF_8)
                    .replaceAll(".*digest=", "");
            assertThat(x.getRequestURI().getRawQuery()).startsWith("_state=abc&");
            if (!ImageRegistry.sha256(body).equals(digest)) {
                send(x, 400, "{\"errors\":[{\"code\":\"DIGEST_INVALID\"}]}", Map.of());
                return;
            }
            blobs.put(repository + "@" + digest, body);
            send(x, 201, "", Map.of("Docker-Content-Digest", digest));
        } else if (rest.startsWith("blobs/")) {
            byte[] blob = blobs.get(repository + "@" + rest.substring("blobs/".length()));
            if (blob == null) {
                send(x, 404, "", Map.of());
            } else {
                sendBytes(x, 200, method.equals("HEAD") ? null : corruptBlob != null ? corruptBlob : blob, Map.of());
            }
        } else if (rest.startsWith("manifests/") && method.equals("PUT") && loseLink != null
                && loseLink.startsWith(repository + "@")) {
            blobs.remove(loseLink);
            if (!alwaysLose) {
                loseLink = null;
            }
            send(x, 400, "{\"errors\":[{\"code\":\"DIGEST_INVALID\"},{\"code\":\"MANIFEST_BLOB_UNKNOWN\"}]}",
                    Map.of());
        } else if (rest.startsWith("manifests/") && method.equals("DELETE")) {
            send(x, manifests.remove(repository + ":" + rest.substring("manifests/".length())) == null ? 404 : 202,
                    "", Map.of());
        } else if (rest.startsWith("manifests/") && method.equals("PUT")) {
            manifests.put(repository + ":" + rest.substring("manifests/".length()), body);
            send(x, 201, "", Map.of("Docker-Content-Digest", ImageRegistry.sha256(body)));
        } else if (rest.startsWith("manifests/")) {
            byte[] manifest = manifests.get(repository + ":" + rest.substring("manifests/".length()));
            if (manifest == null) {
                send(x, 404, "", Map.of());
            } else {
                sendBytes(x, 200, manifest, Map.of("Content-Type", "application/vnd.oci.image.manifest.v1+json",
                        "Docker-Content-Digest", ImageRegistry.sha256(manifest)));
            }
        } else {
            send(x, 404, "", Map.of());
        }
    }

    /** Whether the bearer token (the fake's "tok|" + its scopes, space-separated) grants {@code action} on it. */
    private static boolean grants(String auth, String repository, String action) {
        if (auth == null || !auth.startsWith("Bearer tok|")) {
            return false;
        }
        for (String scope : auth.substring("Bearer tok|".length()).split(" ")) {
            String[] p = scope.split(":");
            if (p.length == 3 && p[0].equals("repository") && p[1].equals(repository)
                    && java.util.Arrays.asList(p[2].split(",")).contains(action)) {
                return true;
            }
        }
        return false;
    }

    private static void send(HttpExchange x, int status, String body, Map<String, String> headers) throws IOException {
        sendBytes(x, status, body.isEmpty() ? null : body.getBytes(StandardCharsets.UTF_8), headers);
    }

    private static void sendBytes(HttpExchange x, int status, byte[] body, Map<String, String> headers)
            throws IOException {
        headers.forEach((k, v) -> x.getResponseHeaders().add(k, v));
        x.sendResponseHeaders(status, body == null ? -1 : body.length);
        if (body != null) {
            x.getResponseBody().write(body);
        }
        x.close();
    }
}
