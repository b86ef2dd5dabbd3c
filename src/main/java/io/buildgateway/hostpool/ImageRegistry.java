package io.buildgateway.hostpool;

import io.buildgateway.shared.DaemonThreads;
import io.buildgateway.shared.Digest;
import io.buildgateway.shared.ImageReference;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The gateway's registry through its HTTP API (OCI Distribution), with the gateway's own credentials: reading and
 * writing manifests and blobs that are not images built on a host — signed attestations. Credentials stay in the
 * host pool, which is the only part of the gateway that writes to the registry. A registry that asks for
 * authentication gets HTTP Basic, or a bearer token from its token service (the Docker token flow, as Harbor or
 * distribution with token auth do) fetched with those credentials.
 */
@Service
public class ImageRegistry {

    private static final Logger log = LoggerFactory.getLogger(ImageRegistry.class);

    private static final Pattern CHALLENGE_PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"");
    private static final Pattern REPOSITORY = Pattern.compile("[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*");
    private static final Pattern REFERENCE = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|sha256:[0-9a-f]{64}");

    private final HostPoolProperties.Registry registry;
    private final URI api;
    private final JsonMapper json;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
            .followRedirects(HttpClient.Redirect.NORMAL).build();
    /**
     * Registry tokens by scope, the most recently used kept: every build run has quarantine scopes of its own, so an
     * unbounded map grew with every build the replica ever ran.
     */
    private final Map<String, String> tokens = java.util.Collections.synchronizedMap(
            new java.util.LinkedHashMap<>(64, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
                    return size() > TOKENS_KEPT;
                }
            });
    static final int TOKENS_KEPT = 512;

    /** How long a base's ONBUILD triggers read by tag are reused ({@link #onBuildTriggers}); zero: never. */
    private final Duration triggersTtl;
    private final LongSupplier nanoTime;
    private final Map<String, CachedTriggers> triggerCache = new ConcurrentHashMap<>();
    /** Reads of triggers under way, by reference: concurrent misses share one ({@link #onBuildTriggers}). */
    private final Map<String, CompletableFuture<BaseConfig>> triggerReads = new ConcurrentHashMap<>();
    /** Where an answer by tag past half its ttl is read again while it is still given out. */
    private final java.util.concurrent.Executor refresher;
    /** When each reference by tag was last asked for ({@link #keepWarm}); cleared with the cache. */
    private final Map<String, Long> askedAt = new ConcurrentHashMap<>();
    /** How long after it was last asked for an answer by tag is still read ahead without a caller; zero: never. */
    private final long keepWarmNanos;
    /**
     * The repository prefixes every build may pull (the platform's bases): only their answers are kept warm and kept
     * over a full cache. A team's own bases (read since they may be built on by a waiver) come and go with its tags.
     */
    private final List<String> sharedPrefixes;
    /** Runs {@link #keepWarm} while the ttl and the window are not zero; null otherwise. */
    private final java.util.concurrent.ScheduledExecutorService keepWarmTicker;
    /**
     * Bounded: the platform's bases are a handful; teams' own bases come and go with their tags. Past this many
     * references the teams' entries go first ({@link #cache}).
     */
    static final int TRIGGER_CACHE_ENTRIES = 256;

    private record CachedTriggers(BaseConfig config, long readAt) {
    }

    /**
     * What a build judges of its base image's config, from one read of it ({@link #baseConfig}): its ONBUILD
     * triggers, and the names its {@code Env} sets to an empty value ({@code X=}, or {@code X} without a value, which
     * BuildKit reads as empty too). dockerd 26's BuildKit panics on a RUN's {@code ${v#$X}} when {@code X} is set and
     * empty (docs/security.md): these names count as set and empty for that check. For an index, the union over its
     * platforms' images. {@code env}: the whole Env, which a build's expansion starts the stage with; null when an
     * index's images differ in it. {@code digest}: the {@code sha256:} digest of the manifest (or index) that was
     * read, computed from the bytes parsed (not taken from a header): what the build is pinned to, so that the image
     * built is the one whose triggers and Env were judged, whatever the tag names later; null when not known.
     */
    public record BaseConfig(List<String> triggers, Set<String> emptyEnv, Map<String, String> env, String digest) {
        public BaseConfig {
            triggers = List.copyOf(triggers);
            emptyEnv = Set.copyOf(emptyEnv);
            env = env == null ? null : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(env));
            if (digest != null && !digest.matches("sha256:[0-9a-f]{64}")) {
                throw new IllegalArgumentException("not a sha256 digest: " + digest);
            }
        }

        /** Without the digest of what was read. */
        public BaseConfig(List<String> triggers, Set<String> emptyEnv, Map<String, String> env) {
            this(triggers, emptyEnv, env, null);
        }

        /** Without the Env's values (not one environment, or not read). */
        public BaseConfig(List<String> triggers, Set<String> emptyEnv) {
            this(triggers, emptyEnv, null, null);
        }
    }

    ImageRegistry(HostPoolProperties properties, JsonMapper json) {
        this(properties, json, Duration.ZERO, System::nanoTime);
    }

    @org.springframework.beans.factory.annotation.Autowired
    ImageRegistry(HostPoolProperties properties, JsonMapper json,
            @org.springframework.beans.factory.annotation.Value("${gateway.hostpool.base-triggers-ttl:10s}")
            Duration triggersTtl,
            @org.springframework.beans.factory.annotation.Value("${gateway.hostpool.base-triggers-keep-warm:10m}")
            Duration keepWarm) {
        this(properties, json, triggersTtl, System::nanoTime, refreshPool(), keepWarm, true);
    }

    ImageRegistry(HostPoolProperties properties, JsonMapper json, Duration triggersTtl,
            LongSupplier nanoTime) {
        this(properties, json, triggersTtl, nanoTime, refreshPool());
    }

    ImageRegistry(HostPoolProperties properties, JsonMapper json, Duration triggersTtl,
            LongSupplier nanoTime, java.util.concurrent.Executor refresher) {
        this(properties, json, triggersTtl, nanoTime, refresher, Duration.ZERO, false);
    }

    /**
     * With {@code tick} the {@link #keepWarm} pass runs by itself every quarter of the ttl on a daemon thread of its
     * own; without it (tests) only when called.
     */
    ImageRegistry(HostPoolProperties properties, JsonMapper json, Duration triggersTtl,
            LongSupplier nanoTime, java.util.concurrent.Executor refresher, Duration keepWarm, boolean tick) {
        if (keepWarm == null || keepWarm.isNegative()) {
            throw new IllegalArgumentException("gateway.hostpool.base-triggers-keep-warm must not be negative: "
                    + keepWarm);
        }
        this.keepWarmNanos = keepWarm.toNanos();
        this.sharedPrefixes = RegistryAuth.pullablePrefixes(properties);
        this.refresher = refresher;
        this.registry = properties.registry();
        this.api = registry.apiUrl();
        this.json = json;
        if (triggersTtl == null || triggersTtl.isNegative()) {
            throw new IllegalArgumentException("gateway.hostpool.base-triggers-ttl must not be negative: "
                    + triggersTtl);
        }
        this.triggersTtl = triggersTtl;
        this.nanoTime = nanoTime;
        if (tick && !triggersTtl.isZero() && keepWarmNanos > 0) {
            long period = Math.max(1, triggersTtl.toMillis() / 4);
            keepWarmTicker = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
                    DaemonThreads.named("base-triggers-keep-warm"));
            keepWarmTicker.scheduleWithFixedDelay(this::keepWarm, period, period, TimeUnit.MILLISECONDS);
        } else {
            keepWarmTicker = null;
        }
    }

    @jakarta.annotation.PreDestroy
    void stopKeepingWarm() {
        if (keepWarmTicker != null) {
            keepWarmTicker.shutdownNow();
        }
    }

    /**
     * Reads ahead, as a caller past half the ttl would ({@link #refreshAhead}), every answer by tag that is past half
     * its ttl and was asked for within {@code gateway.hostpool.base-triggers-keep-warm} (default 10 min), though
     * nobody asks now. So an entry does not lapse between bursts of submissions, nor between the warm-up, which asks
     * for its sample base before readiness, and the first submissions (issue #17: the load bench's first burst came
     * more than a ttl after replica A's warm-up, and its accepted submissions waited 0.2–0.4 s for the registry
     * together). What a caller is given is unchanged: an answer at most a ttl old. An idle gateway stops reading a
     * window after the last submission; a failed read leaves the entry to lapse, and the next pass tries again.
     */
    void keepWarm() {
        // With the window or the ttl at 0 nothing is in askedAt (onBuildTriggers records no asks then): no reads.
        long now = nanoTime.getAsLong();
        long half = triggersTtl.toNanos() / 2;
        try {
            askedAt.forEach((ref, asked) -> {
                CachedTriggers cached = triggerCache.get(ref);
                if (now - asked > keepWarmNanos) {
                    askedAt.remove(ref, asked); // not asked for a window: left to lapse
                } else if (cached != null && now - cached.readAt() >= half) {
                    refreshAhead(ref);
                }
            });
        } catch (RuntimeException e) {
            log.warn("keeping the base triggers warm failed; the next pass tries again", e);
        }
    }

    /** A manifest as stored: its media type, digest and exact bytes. */
    public record Manifest(String mediaType, String digest, byte[] body) {
    }

    /** One thread for the reads ahead ({@link #refreshAhead}), gone when idle; a queue as long as the cache. */
    private static ThreadPoolExecutor refreshPool() {
        ThreadPoolExecutor pool = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS,
                new java.util.concurrent.ArrayBlockingQueue<>(TRIGGER_CACHE_ENTRIES),
                DaemonThreads.named("base-triggers-refresh"));
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    /** Whether {@link #onBuildTriggers} reuses an answer by tag ({@code gateway.hostpool.base-triggers-ttl} not 0). */
    public boolean reusesTriggers() {
        return !triggersTtl.isZero();
    }

    /** {@code host[:port]} of the registry, as image references name it. */
    public String address() {
        return registry.address();
    }

    /** The manifest under a tag or digest, if the registry has it. */
    public Optional<Manifest> manifest(String repository, String reference, String... accept) throws IOException {
        return scopedManifest("repository:" + repository + ":pull", repository, reference, accept);
    }

    /** {@link #manifest(String, String, String...)} asked with {@code scope} (which must grant pull on it). */
    private Optional<Manifest> scopedManifest(String scope, String repository, String reference, String... accept)
            throws IOException {
        HttpResponse<byte[]> r = sendScoped(scope, HttpRequest.newBuilder(uri(repository, "manifests",
                reference)).header("Accept", String.join(", ", accept)).GET());
        if (r.statusCode() == 404) {
            return Optional.empty();
        }
        expect(r, 200, "reading manifest " + repository + ":" + reference);
        String digest = r.headers().firstValue("Docker-Content-Digest").orElse(sha256(r.body()));
        return Optional.of(new Manifest(r.headers().firstValue("Content-Type").orElse(""), digest, r.body()));
    }

    public byte[] blob(String repository, String digest) throws IOException {
        HttpResponse<byte[]> r = send(repository, "pull", HttpRequest.newBuilder(uri(repository, "blobs", digest))
                .GET());
        expect(r, 200, "reading blob " + digest + " of " + repository);
        if (!sha256(r.body()).equals(digest)) {
            throw new IOException("the registry served blob " + digest + " of " + repository + " with other content");
        }
        return r.body();
    }

    /**
     * Streams a blob of {@code repository} to {@code reader} without holding it in memory; the caller checks what it
     * read against {@code digest} (an image layer: its digest is known only once it was read to the end).
     */
    public void streamBlob(String repository, String digest, BuiltImage.StreamReader reader) throws IOException {
        if (!Digest.isValid(digest)) {
            throw new IllegalArgumentException("not a digest: " + digest);
        }
        String scope = "repository:" + checked(repository) + ":pull";
        HttpRequest.Builder request = HttpRequest.newBuilder(uri(repository, "blobs", digest)).GET();
        HttpRequest.Builder retry = request.copy();
        String cached = tokens.get(scope);
        if (cached != null) {
            request.header("Authorization", cached);
        }
        HttpResponse<InputStream> r = exchangeStream(request.timeout(Duration.ofSeconds(30)).build());
        if (r.statusCode() == 401) {
            String challenge = r.headers().firstValue("WWW-Authenticate").orElse("");
            r.body().close();
            String authorization = authorize(challenge, scope);
            tokens.put(scope, authorization);
            r = exchangeStream(retry.header("Authorization", authorization).timeout(Duration.ofSeconds(30)).build());
        }
        try (InputStream body = r.body()) {
            if (r.statusCode() != 200) {
                String message = "reading blob " + digest + " of " + repository + ": the registry answered HTTP "
                        + r.statusCode();
                // A rate limit (429) or a request timeout (408) is the registry's state, not an answer: asked again
                // later.
                throw r.statusCode() >= 500 || r.statusCode() == 429 || r.statusCode() == 408
                        ? new Unreachable(message, null) : new IOException(message);
            }
            reader.read(body);
        }
    }

    private HttpResponse<InputStream> exchangeStream(HttpRequest request) throws IOException {
        return send(request, HttpResponse.BodyHandlers.ofInputStream());
    }

    /** Uploads a blob (monolithically) unless the repository has it; returns its digest. */
    public String pushBlob(String repository, byte[] content) throws IOException {
        String digest = sha256(content);
        if (links("repository:" + repository + ":pull", repository, digest)) {
            return digest;
        }
        HttpResponse<byte[]> start = send(repository, "push,pull", HttpRequest.newBuilder(
                api.resolve("/v2/" + checked(repository) + "/blobs/uploads/"))
                .POST(HttpRequest.BodyPublishers.noBody()));
        expect(start, 202, "starting a blob upload to " + repository);
        String location = start.headers().firstValue("Location")
                .orElseThrow(() -> new IOException("the registry started an upload without a Location"));
        URI upload = api.resolve(location);
        String query = upload.getRawQuery();
        URI put = URI.create(upload.toString().split("\\?", 2)[0] + "?" + (query == null ? "" : query + "&")
                + "digest=" + URLEncoder.encode(digest, StandardCharsets.UTF_8));
        HttpResponse<byte[]> done = send(repository, "push,pull", HttpRequest.newBuilder(put)
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(content)));
        expect(done, 201, "uploading blob " + digest + " to " + repository);
        return digest;
    }

    /** Stores a manifest under a tag (or its digest); returns the digest the registry stored it under. */
    public String putManifest(String repository, String reference, String mediaType, byte[] body)
            throws IOException {
        HttpResponse<byte[]> r = send(repository, "push,pull", HttpRequest.newBuilder(uri(repository, "manifests",
                reference)).header("Content-Type", mediaType).PUT(HttpRequest.BodyPublishers.ofByteArray(body)));
        expect(r, 201, "storing manifest " + repository + ":" + reference);
        return r.headers().firstValue("Docker-Content-Digest").orElse(sha256(body));
    }

    /**
     * The value of a label in the config of the image a tag names, or empty when the tag does not exist or the image
     * has no such label; for an index, empty (the gateway pushes single images). Whether a build reached the
     * registry is told by its {@code io.buildgateway.build-id} label on its tag.
     *
     * @throws IOException when the registry cannot be asked: a caller deciding whether something was pushed must
     *         then assume that it was
     */
    public Optional<String> label(String repository, String tag, String label) throws IOException {
        Optional<Manifest> manifest = manifest(repository, tag, "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.docker.distribution.manifest.v2+json");
        if (manifest.isEmpty()) {
            return Optional.empty();
        }
        String config = json.readTree(manifest.get().body()).path("config").path("digest").asString("");
        if (!config.startsWith("sha256:")) {
            return Optional.empty();
        }
        JsonNode value = json.readTree(blob(repository, config)).path("config").path("Labels").path(label);
        return value.isString() ? Optional.of(value.asString()) : Optional.empty();
    }

    private static final String[] IMAGE_MANIFESTS = {"application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json"};
    private static final int MAX_PLATFORMS = 32;

    /**
     * The ONBUILD triggers in the config of an image in this registry ({@code host:port/repo[:tag][@sha256:…]}, as
     * the policy's bases name it), each as the instruction text the builder will run; empty when it has
     * none. For a multi-platform index, the triggers of every platform's image (the build may get any of them). Read
     * over the registry's HTTP API (manifest, then config blob, digests checked) with the gateway's credentials.
     *
     * <p>Every submission asks this for its base (issue #17: the two registry round trips were most of a
     * submission's policy check at load), so an answer is reused: for a reference by digest (content-addressed, it
     * cannot change) until the cache is full; for a reference by tag for {@code gateway.hostpool.base-triggers-ttl}
     * (default 10 s; 0 reads the registry every time), so a base re-tagged with other triggers is seen by submissions
     * at most that much later; an answer past half its ttl is read again in the background while it is still given
     * out ({@link #refreshAhead}). Failures are never reused: the next submission asks again.
     *
     * @throws java.io.UncheckedIOException when the image is not in this registry, does not exist, or cannot be
     *         read: callers judging a build must fail closed on it
     */
    public List<String> onBuildTriggers(String imageRef) {
        return baseConfig(imageRef).triggers();
    }

    /**
     * The ONBUILD triggers and the names set to an empty value of the config of an image in this registry, read and
     * reused as {@link #onBuildTriggers} says (one read, one cache entry for both).
     *
     * @throws java.io.UncheckedIOException as {@link #onBuildTriggers}
     */
    public BaseConfig baseConfig(String imageRef) {
        boolean byDigest = imageRef != null && imageRef.contains("@sha256:");
        boolean reuse = byDigest || !triggersTtl.isZero();
        long now = nanoTime.getAsLong();
        if (!byDigest && reuse && keepWarmNanos > 0 && shared(imageRef)) {
            if (askedAt.size() >= TRIGGER_CACHE_ENTRIES) {
                askedAt.clear(); // bounded as the cache, whatever references are asked for
            }
            askedAt.put(imageRef, now);
        }
        if (reuse) {
            CachedTriggers cached = triggerCache.get(imageRef);
            if (cached != null) {
                if (byDigest) {
                    return cached.config();
                }
                long age = now - cached.readAt();
                if (age < triggersTtl.toNanos()) {
                    if (age >= triggersTtl.toNanos() / 2) {
                        refreshAhead(imageRef);
                    }
                    return cached.config();
                }
            }
        }
        if (!reuse) {
            return readOnBuildTriggers(imageRef);
        }
        // One read per reference at a time: submissions that miss the cache together (a burst at start, or when the
        // entry just lapsed) wait for the read already under way instead of each reading the registry (issue #17:
        // the first burst of a load run made ~60 reads of the same base at once, ~0.8 s each). They get its answer
        // or its failure; a failure is not cached, so the next submission asks again.
        CompletableFuture<BaseConfig> mine = new CompletableFuture<>();
        CompletableFuture<BaseConfig> running = triggerReads.putIfAbsent(imageRef, mine);
        if (running == null) {
            readInto(imageRef, mine); // this caller reads; the others wait for its answer
        }
        try {
            return (running != null ? running : mine).join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    /**
     * {@link #baseConfig} read from the registry now, whatever the cache holds (an answer by digest is still reused:
     * it cannot change); the answer replaces the cached one for the submissions after. For a rebuild: it is asked
     * for because the base's tag moved, and the build is pinned to the digest this read finds, so an answer up to a
     * ttl old would rebuild the base it was meant to leave.
     *
     * @throws java.io.UncheckedIOException as {@link #onBuildTriggers}
     */
    public BaseConfig currentBaseConfig(String imageRef) {
        if (imageRef != null && imageRef.contains("@sha256:")) {
            return baseConfig(imageRef);
        }
        long readAt = nanoTime.getAsLong();
        BaseConfig config = readOnBuildTriggers(imageRef);
        if (!triggersTtl.isZero()) {
            cache(imageRef, config, readAt);
        }
        return config;
    }

    /**
     * Keeps an answer read at {@code readAt}. The cache is bounded: when it is full, the answers for images outside
     * the shared prefixes go first, and only if that is not enough all of them.
     */
    private void cache(String imageRef, BaseConfig config, long readAt) {
        if (triggerCache.size() >= TRIGGER_CACHE_ENTRIES) {
            triggerCache.keySet().removeIf(ref -> !shared(ref));
            if (triggerCache.size() >= TRIGGER_CACHE_ENTRIES) {
                triggerCache.clear();
                askedAt.clear();
            }
        }
        triggerCache.put(imageRef, new CachedTriggers(config, readAt));
    }

    /**
     * Reads the config ({@link BaseConfig}) of {@code imageRef} into the cache (as old as the read's start) and
     * completes {@code read} with it or with the failure, which is not cached; then the read is no longer under way.
     */
    private void readInto(String imageRef, CompletableFuture<BaseConfig> read) {
        try {
            long readAt = nanoTime.getAsLong();
            BaseConfig config = readOnBuildTriggers(imageRef);
            cache(imageRef, config, readAt);
            read.complete(config);
        } catch (RuntimeException | Error e) {
            read.completeExceptionally(e);
        } finally {
            triggerReads.remove(imageRef, read);
        }
    }

    /**
     * Reads an answer by tag again in the background once it is past half its ttl, while callers still get it (a read
     * that starts then is at most a ttl old when it is given out, as any other): under a steady stream of
     * submissions none of them waits for the registry when the entry would lapse (issue #17: the load bench's
     * submissions that met a lapsed entry waited ~0.6–0.8 s, its p99). One read per reference at a time, shared
     * with callers that miss meanwhile; a failed read leaves the entry to lapse at its ttl, when the next caller
     * reads it and fails closed if the registry still cannot answer.
     */
    private void refreshAhead(String imageRef) {
        CompletableFuture<BaseConfig> mine = new CompletableFuture<>();
        if (triggerReads.putIfAbsent(imageRef, mine) != null) {
            return; // a read is under way already
        }
        try {
            refresher.execute(() -> readInto(imageRef, mine));
        } catch (java.util.concurrent.RejectedExecutionException full) {
            // never the case with the bounded cache; if it were, the entry lapses and is read by a caller as before
            mine.completeExceptionally(full);
            triggerReads.remove(imageRef, mine);
        }
    }

    private BaseConfig readOnBuildTriggers(String imageRef) {
        try {
            ImageReference split = imageRef == null ? null : ImageReference.split(imageRef);
            String repository = split == null ? null : split.repositoryOn(address());
            if (repository == null) {
                throw new IOException("'" + imageRef + "' is not an image in the gateway's registry " + address());
            }
            String reference = split.manifestReference(); // name:tag@digest: the digest decides, as for the daemon
            Set<String> triggers = new LinkedHashSet<>();
            Set<String> emptyEnv = new java.util.TreeSet<>();
            // The Env's values when every image of an index has the same (one environment the policy can read)
            List<Map<String, String>> envs = new ArrayList<>();
            Manifest top = manifest(repository, reference, IMAGE_MANIFESTS)
                    .orElseThrow(() -> new IOException("the registry has no image " + imageRef));
            checkDigest(top, reference, imageRef);
            JsonNode m = unambiguous(json.readTree(top.body()), imageRef);
            if (m.has("manifests")) {
                int n = 0;
                for (JsonNode entry : m.path("manifests")) {
                    if (++n > MAX_PLATFORMS) {
                        throw new IOException("the index of " + imageRef + " lists more than " + MAX_PLATFORMS
                                + " images");
                    }
                    String digest = entry.path("digest").asString("");
                    if (entry.path("platform").path("os").asString("linux").equals("unknown")) {
                        continue; // attestation manifests of buildx, not images
                    }
                    Manifest child = manifest(repository, digest, IMAGE_MANIFESTS)
                            .orElseThrow(() -> new IOException("the registry lacks " + digest + " of " + imageRef));
                    checkDigest(child, digest, imageRef);
                    envs.add(readConfig(repository, unambiguous(json.readTree(child.body()), imageRef), imageRef,
                            triggers, emptyEnv));
                }
            } else {
                envs.add(readConfig(repository, m, imageRef, triggers, emptyEnv));
            }
            boolean one = !envs.isEmpty() && envs.stream().allMatch(e -> e.equals(envs.get(0)));
            // The digest of the bytes parsed: for a reference by digest, checkDigest made it that digest.
            return new BaseConfig(List.copyOf(triggers), emptyEnv, one ? envs.get(0) : null, sha256(top.body()));
        } catch (IOException | IllegalArgumentException | tools.jackson.core.JacksonException e) {
            throw new UncheckedIOException(e instanceof IOException io ? io
                    : new IOException("reading the config of " + imageRef + ": " + e.getMessage(), e));
        }
    }

    /**
     * The diff ids of the layers ({@code rootfs.diff_ids} of its config) of the image {@code imageRef} names in this
     * registry by digest, for {@code platform} ({@code os/architecture[/variant]}, the build host's): of an index, the
     * one image for that platform. Every manifest and the config are checked against their digests, so what this
     * says is the content under that digest, whoever tagged it. Empty when it cannot say (not by digest, not in this
     * registry, no image or more than one for the platform, the registry away, unreadable data): nothing is confirmed.
     * The confinement check's reading of a FROM vertex that BuildKit shared with another build after that build's
     * names left the host's store (BuildKitBuilder#used).
     */
    public List<String> layers(String imageRef, String platform) {
        try {
            ImageReference split = ImageReference.split(imageRef);
            String repository = split.repositoryOn(address());
            String reference = split.manifestReference();
            if (repository == null || !reference.startsWith("sha256:") || platform == null) {
                return List.of();
            }
            Optional<Manifest> top = manifest(repository, reference, IMAGE_MANIFESTS);
            if (top.isEmpty()) {
                return List.of();
            }
            checkDigest(top.get(), reference, imageRef);
            JsonNode m = unambiguous(json.readTree(top.get().body()), imageRef);
            if (m.has("manifests")) {
                List<String> matching = new ArrayList<>();
                if (m.path("manifests").size() > MAX_PLATFORMS) {
                    return List.of();
                }
                for (JsonNode entry : m.path("manifests")) {
                    if (samePlatform(entry.path("platform"), platform)) {
                        matching.add(entry.path("digest").asString(""));
                    }
                }
                if (matching.size() != 1 || !matching.get(0).startsWith("sha256:")) {
                    return List.of();
                }
                Optional<Manifest> child = manifest(repository, matching.get(0), IMAGE_MANIFESTS);
                if (child.isEmpty()) {
                    return List.of();
                }
                checkDigest(child.get(), matching.get(0), imageRef);
                m = unambiguous(json.readTree(child.get().body()), imageRef);
            }
            String config = m.path("config").path("digest").asString("");
            if (!config.startsWith("sha256:")) {
                return List.of();
            }
            JsonNode c = unambiguous(json.readTree(blob(repository, config)), imageRef);
            if (!samePlatform(c, platform)) {
                return List.of(); // a single-platform image of another platform than the host's
            }
            List<String> out = new ArrayList<>();
            for (JsonNode d : c.path("rootfs").path("diff_ids")) {
                if (!d.isString()) {
                    return List.of();
                }
                out.add(d.asString());
            }
            return out;
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }

    /** Whether an index entry's {@code platform} is {@code os/architecture[/variant]}. */
    static boolean samePlatform(JsonNode entry, String platform) {
        String[] p = platform.split("/", -1);
        if (p.length < 2 || !entry.path("os").asString("").equals(p[0])
                || !entry.path("architecture").asString("").equals(p[1])) {
            return false;
        }
        String variant = entry.path("variant").asString("");
        return p.length < 3 || variant.isEmpty() || variant.equals(p[2]);
    }

    /**
     * The triggers and the empty-valued Env names of the config blob a manifest names, added to the two sets; its
     * Env as name → value returned.
     */
    private Map<String, String> readConfig(String repository, JsonNode manifest, String imageRef, Set<String> triggers,
            Set<String> emptyEnv) throws IOException {
        String config = manifest.path("config").path("digest").asString("");
        if (!config.startsWith("sha256:")) {
            throw new IOException("the manifest of " + imageRef + " names no config blob");
        }
        JsonNode c = unambiguous(json.readTree(blob(repository, config)), imageRef).path("config");
        triggers.addAll(configTriggers(c.path("OnBuild"), imageRef));
        return env(c.path("Env"), imageRef, emptyEnv);
    }

    /**
     * An image config's {@code Env} as name → value (a later entry of a name wins, as in BuildKit), and into
     * {@code emptyEnv} every name an entry sets to an empty value: {@code X=}, and {@code X} without {@code =}
     * (BuildKit's {@code BuildEnvs} gives it an empty value). An Env that is not a list of text fails closed, as the
     * triggers do: the build cannot be judged without it.
     */
    static Map<String, String> env(JsonNode env, String imageRef, Set<String> emptyEnv) throws IOException {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        if (env.isMissingNode() || env.isNull()) {
            return out;
        }
        if (!env.isArray()) {
            throw new IOException("the config of " + imageRef + " has an Env that is not a list");
        }
        for (JsonNode e : env) {
            if (!e.isString()) {
                throw new IOException("the config of " + imageRef + " has an Env entry that is not text");
            }
            String entry = e.asString();
            int eq = entry.indexOf('=');
            String name = eq < 0 ? entry : entry.substring(0, eq);
            String value = eq < 0 ? "" : entry.substring(eq + 1);
            if (value.isEmpty()) {
                emptyEnv.add(name);
            }
            out.put(name, value);
        }
        return out;
    }

    /** The keys of manifests, indexes and configs the policy's reading of a base looks at. */
    private static final Set<String> READ_KEYS = Set.of("manifests", "platform", "os", "digest", "config", "OnBuild",
            "Env", "Labels", "layers", "mediaType");

    /**
     * {@code node}, when no object in it has keys the daemon could read differently: Go's JSON decoder (dockerd,
     * BuildKit) matches a key to a field ignoring case (Unicode folding: {@code ſ} is {@code s}, the Kelvin sign
     * {@code k}) and the last such key wins, where this reader takes the exact key. A config with
     * {@code "OnBuild":[]} and then {@code "onbuild":["RUN …"]} read as no triggers here and ran the trigger in
     * BuildKit (a review's find, 2026-12-07). No image a tool writes has such keys: refused as unreadable.
     */
    static JsonNode unambiguous(JsonNode node, String imageRef) throws IOException {
        java.util.ArrayDeque<JsonNode> todo = new java.util.ArrayDeque<>();
        todo.add(node);
        while (!todo.isEmpty()) {
            JsonNode n = todo.poll();
            if (n.isObject()) {
                List<String> keys = new ArrayList<>(n.propertyNames());
                for (int i = 0; i < keys.size(); i++) {
                    String key = keys.get(i);
                    for (String read : READ_KEYS) {
                        if (key.equalsIgnoreCase(read) && !key.equals(read)) {
                            throw new IOException("the image data of " + imageRef + " has a key '" + key + "' that the"
                                    + " daemon reads as '" + read + "'");
                        }
                    }
                    for (int j = i + 1; j < keys.size(); j++) {
                        if (key.equalsIgnoreCase(keys.get(j))) {
                            throw new IOException("the image data of " + imageRef + " has the keys '" + key + "' and '"
                                    + keys.get(j) + "', which the daemon reads as one");
                        }
                    }
                }
                n.values().forEach(todo::add);
            } else if (n.isArray()) {
                n.values().forEach(todo::add);
            }
        }
        return node;
    }

    private static List<String> configTriggers(JsonNode onBuild, String imageRef) throws IOException {
        List<String> out = new ArrayList<>();
        if (onBuild.isArray()) {
            for (JsonNode t : onBuild) {
                if (!t.isString()) {
                    throw new IOException("the config of " + imageRef + " has an ONBUILD trigger that is not text");
                }
                out.add(t.asString());
            }
        } else if (!onBuild.isMissingNode() && !onBuild.isNull()) {
            throw new IOException("the config of " + imageRef + " has an OnBuild that is not a list");
        }
        return out;
    }

    private static void checkDigest(Manifest manifest, String reference, String imageRef) throws IOException {
        if (reference.startsWith("sha256:") && !sha256(manifest.body()).equals(reference)) {
            throw new IOException("the registry served a manifest of " + imageRef + " that is not " + reference);
        }
    }

    private URI uri(String repository, String kind, String reference) {
        if (!REFERENCE.matcher(reference).matches()) {
            throw new IllegalArgumentException("not a tag or digest: " + reference);
        }
        return api.resolve("/v2/" + checked(repository) + "/" + kind + "/" + reference);
    }

    /** Whether the image is in this registry under a prefix every build may pull. */
    private boolean shared(String imageRef) {
        try {
            String repository = ImageReference.split(imageRef).repositoryOn(address());
            return repository != null && sharedPrefixes.stream().anyMatch(repository::startsWith);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Whether {@code repository} is a repository name as the registry's API takes it. */
    static boolean isRepositoryName(String repository) {
        return REPOSITORY.matcher(repository).matches();
    }

    private static String checked(String repository) {
        if (!REPOSITORY.matcher(repository).matches()) {
            throw new IllegalArgumentException("not a repository name: " + repository);
        }
        return repository;
    }

    /**
     * Gives the image the registry holds as {@code from@digest} (a quarantine repository) the name {@code to:tag}:
     * every blob its manifest names is mounted from {@code from} into {@code to} (no bytes move; up to
     * {@link #MOUNT_PARALLELISM} at once, every failed mount reported), then, once every blob is linked, the same
     * manifest bytes are stored under the tag, so the digest is the one the daemon pushed. The quarantine's manifest
     * is left for the caller to delete ({@link #deleteManifest}) once the build is recorded: that round trip is not
     * on the naming's path, and a failed delete does not undo a naming that succeeded. A registry that does not
     * mount across repositories (it answers 202, an upload) is refused with a reason: copying every layer would cost
     * more than the push it saved.
     *
     * @return the digest now tagged {@code to:tag} (always {@code digest})
     */
    public String promote(String from, String digest, String to, String tag) throws IOException {
        return store(read(from, digest, to, null), tag, true);
    }

    /**
     * {@link #promote(String, String, String, String)} with the image's config rewritten by {@code config} (null:
     * not read, as without it). The builds module gives the rewrite that takes non-public build-arg values out of the
     * config's history (docs/security.md, "Known limits"). A rewrite that returns the config
     * unchanged names the same manifest; otherwise the new config is uploaded into {@code to}, the original config is
     * never linked there (whoever pulls by its digest would read the history), the layers are mounted as before, and
     * a manifest that names the new config (digest and size; every other byte as the registry's JSON gives it) is
     * stored: the named digest is then that manifest's, not {@code digest}. The rewrite must give the same bytes
     * every time (an attempt tried again stores the same manifest).
     *
     * @return the digest now tagged {@code to:tag}
     */
    public String promote(String from, String digest, String to, String tag, UnaryOperator<byte[]> config)
            throws IOException {
        return store(read(from, digest, to, config), tag, true);
    }

    /**
     * What a naming reads before it writes (issue #13): the quarantined manifest, checked against its digest, and
     * which of its blobs {@code to} already links. Only reads, so the build sequence prepares it while the checks
     * still run (nothing is linked, stored or named by it); {@link #promote(Naming, String)} then mounts only what
     * {@code to} lacked and stores the manifest.
     */
    public Naming prepareNaming(String from, String digest, String to) throws IOException {
        return prepareNaming(from, digest, to, null);
    }

    /**
     * {@link #prepareNaming(String, String, String)} with the config rewritten as
     * {@link #promote(String, String, String, String, UnaryOperator)} says (read and rewritten here, beside the
     * checks; uploaded only by the naming).
     */
    public Naming prepareNaming(String from, String digest, String to, UnaryOperator<byte[]> config)
            throws IOException {
        Naming naming = read(from, digest, to, config);
        Set<String> linked = new HashSet<>();
        for (String blob : naming.blobs) {
            if (links(naming.scope, to, blob)) {
                linked.add(blob);
            }
        }
        return new Naming(naming.from, naming.digest, naming.to, naming.scope, naming.manifest, naming.blobs,
                Set.copyOf(linked), naming.config);
    }

    /**
     * {@link #promote(String, String, String, String)} from a prepared {@link Naming}: its first attempt mounts only
     * the blobs the preparation found unlinked (a blob unlinked since makes the registry refuse the manifest, and the
     * next attempt asks again about every blob, as a naming without preparation does).
     */
    public String promote(Naming prepared, String tag) throws IOException {
        return store(prepared, tag, false);
    }

    /** A naming's reads: see {@link #prepareNaming}; {@code linked} is empty until the blobs were asked about. */
    public static final class Naming {
        private final String from;
        private final String digest;
        private final String to;
        private final String scope;
        private final Manifest manifest;
        private final Set<String> blobs;
        private final Set<String> linked;
        /** The rewritten config, uploaded into {@code to} before the manifest is stored; null: not rewritten. */
        private final byte[] config;

        private Naming(String from, String digest, String to, String scope, Manifest manifest,
                Set<String> blobs, Set<String> linked, byte[] config) {
            this.from = from;
            this.digest = digest;
            this.to = to;
            this.scope = scope;
            this.manifest = manifest;
            this.blobs = blobs;
            this.linked = linked;
            this.config = config;
        }

        /** The quarantined manifest's digest this naming is for. */
        public String digest() {
            return digest;
        }

        /** The digest the image will be named by: {@link #digest()}, or the rewritten manifest's. */
        public String named() {
            return config == null ? digest : manifest.digest();
        }
    }

    private Naming read(String from, String digest, String to, UnaryOperator<byte[]> rewrite) throws IOException {
        String scope = "repository:" + checked(to) + ":push,pull repository:" + checked(from) + ":pull";
        // asked with the naming's scope, so that its token (when the registry wants one) is fetched once, here,
        // before the mounts run in parallel
        Manifest manifest = scopedManifest(scope, from, digest, IMAGE_MANIFESTS)
                .orElseThrow(() -> new IOException("the registry has no manifest " + digest + " in " + from));
        checkDigest(manifest, digest, from + "@" + digest);
        JsonNode m = json.readTree(manifest.body());
        if (m.has("manifests")) {
            throw new IOException("the pushed image " + from + "@" + digest + " is an index, not one image");
        }
        Set<String> blobs = new LinkedHashSet<>();
        String configDigest = m.path("config").path("digest").asString("");
        blobs.add(configDigest);
        for (JsonNode layer : m.path("layers")) {
            blobs.add(layer.path("digest").asString(""));
        }
        for (String blob : blobs) {
            if (!Digest.isValid(blob)) {
                throw new IOException("the manifest " + from + "@" + digest + " names a blob that is not a digest");
            }
        }
        byte[] config = null;
        if (rewrite != null) {
            byte[] original = blob(from, configDigest); // its digest checked
            byte[] rewritten = rewrite.apply(original);
            if (!Arrays.equals(original, rewritten)) {
                config = rewritten;
                // the original config is never linked into the target: only the layers are mounted
                blobs.remove(configDigest);
                JsonNode c = m.path("config");
                if (!(c instanceof tools.jackson.databind.node.ObjectNode object)) {
                    throw new IOException("the manifest " + from + "@" + digest + " has no config object");
                }
                object.put("digest", sha256(config));
                object.put("size", config.length);
                byte[] body = json.writeValueAsBytes(m);
                manifest = new Manifest(manifest.mediaType(), sha256(body), body);
            }
        }
        return new Naming(from, digest, to, scope, manifest, Collections.unmodifiableSet(blobs),
                Set.of(), config);
    }

    /**
     * Mounts and stores, as {@link #promote(String, String, String, String)} says; with {@code askFirst} false the
     * first attempt trusts {@code naming.linked} instead of asking about each blob again.
     */
    private String store(Naming naming, String tag, boolean askFirst) throws IOException {
        String from = naming.from;
        String to = naming.to;
        String scope = naming.scope;
        String digest = naming.named();
        Manifest manifest = naming.manifest;
        Set<String> blobs = naming.blobs;
        // The registry's filesystem storage rewrites a repository's link to a blob on every mount, and a manifest
        // stored while another build's mount rewrites the same link can find it empty (HTTP 400 DIGEST_INVALID /
        // MANIFEST_BLOB_UNKNOWN: seen by bench/load.sh, many builds naming images in one repository at once). So a
        // blob the repository already links is not mounted again, and a manifest refused for a blob is stored again
        // after the blob is linked again, a few times.
        HttpResponse<byte[]> put = null;
        for (int attempt = 1; attempt <= PROMOTE_ATTEMPTS; attempt++) {
            if (attempt == 1 && !askFirst) {
                Set<String> unlinked = new LinkedHashSet<>(blobs);
                unlinked.removeAll(naming.linked);
                mountAll(scope, unlinked, from, to, false);
            } else {
                mountAll(scope, blobs, from, to, true);
            }
            if (naming.config != null) {
                // the rewritten config, on every attempt: a link found gone is uploaded again (it asks first)
                pushBlob(to, naming.config);
            }
            put = sendScoped(scope, HttpRequest.newBuilder(uri(to, "manifests", tag))
                    .header("Content-Type", manifest.mediaType())
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest.body())));
            if (put.statusCode() != 400 || !new String(put.body(), StandardCharsets.UTF_8)
                    .contains("MANIFEST_BLOB_UNKNOWN") || attempt == PROMOTE_ATTEMPTS) {
                break;
            }
            log.info("storing manifest {}:{} found a blob unlinked (attempt {} of {}); linking again", to, tag,
                    attempt, PROMOTE_ATTEMPTS);
            try {
                Thread.sleep(200L * attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while naming " + to + ":" + tag);
            }
        }
        expect(put, 201, "storing manifest " + to + ":" + tag);
        String stored = put.headers().firstValue("Docker-Content-Digest").orElse(sha256(manifest.body()));
        if (!stored.equals(digest)) {
            throw new IOException("the registry stored " + to + ":" + tag + " as " + stored + ", not " + digest);
        }
        return stored;
    }

    /** Times {@link #promote} stores a manifest the registry refused for an unlinked blob (see there). */
    static final int PROMOTE_ATTEMPTS = 4;

    /** At most this many blob mounts of one image are in flight at once (issue #13: one after another cost ~2 round
     * trips per blob on the naming's critical path). */
    static final int MOUNT_PARALLELISM = 4;

    /**
     * Links every blob into {@code to} ({@link #mountUnlessLinked}), up to {@link #MOUNT_PARALLELISM} at once, and
     * returns only when every mount has ended. Every failed mount is reported, in the manifest's order: the first
     * failure's exception carries the others as suppressed and its message names them all; it is
     * {@link Unreachable} (worth a retry) only when every failure was. The caller stores the manifest only after this
     * returned normally, so a manifest never names a blob that is not linked.
     */
    private void mountAll(String scope, Collection<String> blobs, String from, String to, boolean askFirst)
            throws IOException {
        if (blobs.size() <= 1) {
            for (String blob : blobs) {
                mountUnlessLinked(scope, blob, from, to, askFirst);
            }
            return;
        }
        List<String> order = List.copyOf(blobs);
        AtomicInteger next = new AtomicInteger();
        IOException[] failed = new IOException[order.size()];
        // At most MOUNT_PARALLELISM workers (this thread is one), each taking the next blob until none is left.
        Runnable worker = () -> {
            for (int i = next.getAndIncrement(); i < order.size(); i = next.getAndIncrement()) {
                try {
                    mountUnlessLinked(scope, order.get(i), from, to, askFirst);
                } catch (IOException e) {
                    failed[i] = e;
                } catch (RuntimeException e) {
                    failed[i] = new IOException("mounting blob " + order.get(i) + " from " + from + " into " + to
                            + ": " + e, e);
                }
            }
        };
        int helpers = Math.min(MOUNT_PARALLELISM, order.size()) - 1;
        List<Future<?>> started = new ArrayList<>(helpers);
        try {
            for (int h = 0; h < helpers; h++) {
                started.add(MOUNTS.submit(worker));
            }
            worker.run();
            for (Future<?> f : started) {
                f.get();
            }
        } catch (InterruptedException e) {
            started.forEach(f -> f.cancel(true));
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while mounting blobs into " + to);
        } catch (ExecutionException e) {
            throw new IOException("mounting blobs into " + to + ": " + e.getCause(), e.getCause());
        }
        List<IOException> failures = new ArrayList<>();
        for (IOException e : failed) {
            if (e != null) {
                failures.add(e);
            }
        }
        if (failures.isEmpty()) {
            return;
        }
        String message = failures.size() + " of " + order.size() + " blob mounts from " + from + " into " + to
                + " failed: " + failures.stream().map(Throwable::getMessage)
                        .collect(Collectors.joining("; "));
        boolean transient_ = failures.stream().allMatch(e -> e instanceof Unreachable);
        IOException thrown = transient_ ? new Unreachable(message, failures.get(0)) : new IOException(message,
                failures.get(0));
        failures.stream().skip(1).forEach(thrown::addSuppressed);
        throw thrown;
    }

    /**
     * The threads that mount blobs beside a naming's own thread: shared by every build, daemon threads that end when
     * idle, never more than {@code 4 × (MOUNT_PARALLELISM - 1)} (then the submitting thread waits for one: a naming
     * is never refused).
     */
    private static final ThreadPoolExecutor MOUNTS = new ThreadPoolExecutor(
            0, 4 * (MOUNT_PARALLELISM - 1), 30, TimeUnit.SECONDS,
            new SynchronousQueue<>(), DaemonThreads.named("registry-mount"),
            new ThreadPoolExecutor.CallerRunsPolicy());

    /** Whether {@code repository} links the blob {@code digest} (a HEAD answered 200), asked with {@code scope}. */
    private boolean links(String scope, String repository, String digest) throws IOException {
        return sendScoped(scope, HttpRequest.newBuilder(uri(repository, "blobs", digest))
                .method("HEAD", HttpRequest.BodyPublishers.noBody())).statusCode() == 200;
    }

    /**
     * Links {@code blob} into {@code to} by mounting it from {@code from}, unless {@code to} already links it (asked
     * first when {@code askFirst}; otherwise the caller knows it does not).
     */
    private void mountUnlessLinked(String scope, String blob, String from, String to, boolean askFirst)
            throws IOException {
        if (askFirst && links(scope, to, blob)) {
            return;
        }
        URI mount = api.resolve("/v2/" + to + "/blobs/uploads/?mount=" + URLEncoder.encode(blob,
                StandardCharsets.UTF_8) + "&from=" + URLEncoder.encode(from, StandardCharsets.UTF_8));
        HttpResponse<byte[]> r = sendScoped(scope, HttpRequest.newBuilder(mount)
                .POST(HttpRequest.BodyPublishers.noBody()));
        if (r.statusCode() == 202) {
            r.headers().firstValue("Location").ifPresent(l -> {
                try {
                    sendScoped(scope, HttpRequest.newBuilder(api.resolve(l)).DELETE());
                } catch (IOException ignored) {
                    // an abandoned upload session expires in the registry
                }
            });
            throw new IOException("the registry did not mount blob " + blob + " from " + from + " into " + to
                    + " (it does not mount across repositories; set gateway.hostpool.registry.quarantine to"
                    + " empty to push after the checks instead)");
        }
        expect(r, 201, "mounting blob " + blob + " from " + from + " into " + to);
    }

    /**
     * Links the layers of the image {@code from@digest} into {@code to} by cross-repository mounts (no bytes move),
     * before a build host's daemon pushes an image built on it into {@code to} (issue #13, docs/security.md
     * "Quarantine push": the base's layers). dockerd's push first asks the target repository whether it links a
     * layer (one HEAD, with the blob digest its own records give the layer) and otherwise tries at most three or
     * four cross-repository mounts from the repositories its records name, most alike to the target first; for a
     * build's new quarantine repository those are earlier builds' quarantine repositories, which its push token may
     * not read, so without this it uploads the base's layers again on every build. {@code digest} may name an index:
     * the layers of each of its images are linked (not attestation entries). The layer list of a digest is read once
     * and reused (content-addressed). Every layer is mounted, four at once; the first failure is thrown after all
     * ended (the push then uploads what was not linked, as before).
     *
     * @return how many layers were linked
     */
    public int mountLayers(String from, String digest, String to) throws IOException {
        if (!Digest.isValid(digest)) {
            throw new IllegalArgumentException("not a digest: " + digest);
        }
        String scope = "repository:" + checked(to) + ":push,pull repository:" + checked(from) + ":pull";
        String key = from + "@" + digest;
        List<String> layers = layerLists.get(key);
        if (layers == null) {
            layers = readLayers(scope, from, digest);
            if (layerLists.size() >= LAYER_LIST_ENTRIES) {
                layerLists.clear();
            }
            layerLists.put(key, layers);
        }
        mountAll(scope, layers, from, to, false);
        return layers.size();
    }

    /** The layer lists of images layers were lent from, by {@code repository@digest}; bounded as the triggers'. */
    private final Map<String, List<String>> layerLists = new ConcurrentHashMap<>();
    static final int LAYER_LIST_ENTRIES = 256;

    /** The layer digests of {@code from@digest} (of each image, for an index), each once, in the manifests' order. */
    private List<String> readLayers(String scope, String from, String digest) throws IOException {
        Manifest top = scopedManifest(scope, from, digest, IMAGE_MANIFESTS)
                .orElseThrow(() -> new IOException("the registry has no manifest " + digest + " in " + from));
        checkDigest(top, digest, from + "@" + digest);
        JsonNode m = json.readTree(top.body());
        Set<String> layers = new LinkedHashSet<>();
        if (m.has("manifests")) {
            int n = 0;
            for (JsonNode entry : m.path("manifests")) {
                if (++n > MAX_PLATFORMS) {
                    throw new IOException("the index " + from + "@" + digest + " lists more than " + MAX_PLATFORMS
                            + " images");
                }
                String child = entry.path("digest").asString("");
                if (entry.path("platform").path("os").asString("linux").equals("unknown")
                        || !Digest.isValid(child)) {
                    continue; // attestation manifests of buildx, not images
                }
                Manifest image = scopedManifest(scope, from, child, IMAGE_MANIFESTS)
                        .orElseThrow(() -> new IOException("the registry lacks " + child + " of " + from));
                checkDigest(image, child, from + "@" + child);
                addLayers(json.readTree(image.body()), layers, from + "@" + child);
            }
        } else {
            addLayers(m, layers, from + "@" + digest);
        }
        return List.copyOf(layers);
    }

    private static void addLayers(JsonNode manifest, Set<String> layers, String what) throws IOException {
        for (JsonNode layer : manifest.path("layers")) {
            String blob = layer.path("digest").asString("");
            if (!Digest.isValid(blob)) {
                throw new IOException("the manifest " + what + " names a layer that is not a digest");
            }
            layers.add(blob);
        }
    }

    /**
     * Deletes the manifest {@code repository@reference} (a digest, or a tag, which is first resolved to its digest);
     * true when the registry held it. The registry also drops the tags that named it; its blobs stay until the
     * registry's garbage collection.
     */
    public boolean deleteManifest(String repository, String reference) throws IOException {
        String digest = reference;
        if (!reference.startsWith("sha256:")) {
            Optional<Manifest> tagged = manifest(repository, reference, IMAGE_MANIFESTS);
            if (tagged.isEmpty()) {
                return false;
            }
            digest = tagged.get().digest();
        }
        HttpResponse<byte[]> r = send(repository, "delete,pull,push", HttpRequest.newBuilder(uri(repository,
                "manifests", digest)).DELETE());
        if (r.statusCode() == 404) {
            return false;
        }
        expect(r, 202, "deleting manifest " + repository + "@" + digest);
        return true;
    }

    private HttpResponse<byte[]> send(String repository, String actions, HttpRequest.Builder request)
            throws IOException {
        return sendScoped("repository:" + repository + ":" + actions, request);
    }

    /** {@code scope}: one or more token scopes separated by spaces (each becomes a {@code scope} parameter). */
    private HttpResponse<byte[]> sendScoped(String scope, HttpRequest.Builder request) throws IOException {
        HttpRequest.Builder retry = request.copy();
        String cached = tokens.get(scope);
        if (cached != null) {
            request.header("Authorization", cached);
        }
        HttpResponse<byte[]> r = exchange(request.timeout(Duration.ofSeconds(30)).build());
        if (r.statusCode() != 401) {
            return r;
        }
        String authorization = authorize(r.headers().firstValue("WWW-Authenticate").orElse(""), scope);
        tokens.put(scope, authorization);
        return exchange(retry.header("Authorization", authorization).timeout(Duration.ofSeconds(30)).build());
    }

    /** Answers a 401 challenge with the gateway's credentials: Basic, or a token from the named token service. */
    private String authorize(String challenge, String scope) throws IOException {
        if (registry.username() == null || registry.username().isBlank()) {
            throw new IOException("the registry asks for authentication and gateway.hostpool.registry has no"
                    + " username");
        }
        String basic = "Basic " + Base64.getEncoder().encodeToString((registry.username() + ":"
                + (registry.password() == null ? "" : registry.password())).getBytes(StandardCharsets.UTF_8));
        if (challenge.toLowerCase(Locale.ROOT).startsWith("basic")) {
            return basic;
        }
        if (!challenge.toLowerCase(Locale.ROOT).startsWith("bearer")) {
            throw new IOException("the registry asks for an unsupported authentication scheme");
        }
        Map<String, String> params = new LinkedHashMap<>();
        Matcher m = CHALLENGE_PARAM.matcher(challenge);
        while (m.find()) {
            params.put(m.group(1).toLowerCase(Locale.ROOT), m.group(2));
        }
        String realm = params.get("realm");
        if (realm == null) {
            throw new IOException("the registry's bearer challenge names no token service (realm)");
        }
        StringBuilder url = new StringBuilder(realm).append(realm.contains("?") ? '&' : '?');
        if (params.containsKey("service")) {
            url.append("service=").append(URLEncoder.encode(params.get("service"), StandardCharsets.UTF_8))
                    .append('&');
        }
        url.append(Arrays.stream(scope.split(" "))
                .map(one -> "scope=" + URLEncoder.encode(one, StandardCharsets.UTF_8))
                .collect(Collectors.joining("&")));
        HttpResponse<byte[]> r = exchange(HttpRequest.newBuilder(URI.create(url.toString()))
                .header("Authorization", basic).timeout(Duration.ofSeconds(30)).GET().build());
        expect(r, 200, "getting a registry token");
        JsonNode answer = json.readTree(r.body());
        String token = answer.path("token").asString("");
        if (token.isEmpty()) {
            token = answer.path("access_token").asString("");
        }
        if (token.isEmpty()) {
            throw new IOException("the registry's token service answered without a token");
        }
        return "Bearer " + token;
    }

    /**
     * The registry could not be asked, or answered that it cannot serve now (5xx, 429, 408): worth asking again
     * later, unlike an answer that refuses or does not fit (issue #17, the registry down during a push).
     */
    public static final class Unreachable extends IOException {
        Unreachable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private HttpResponse<byte[]> exchange(HttpRequest request) throws IOException {
        return send(request, HttpResponse.BodyHandlers.ofByteArray());
    }

    /** One request; a failure to reach the registry is {@link Unreachable}, worth asking again later. */
    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> body) throws IOException {
        try {
            return http.send(request, body);
        } catch (IOException e) {
            throw new Unreachable("the registry at " + request.uri().getAuthority() + " cannot be reached ("
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while talking to the registry", e);
        }
    }

    private static void expect(HttpResponse<byte[]> r, int status, String what) throws IOException {
        if (r.statusCode() != status) {
            String body = new String(r.body() == null ? new byte[0] : r.body(), StandardCharsets.UTF_8);
            String message = what + ": the registry answered HTTP " + r.statusCode()
                    + (body.isBlank() ? "" : " " + (body.length() > 300 ? body.substring(0, 300) + "…" : body.strip()));
            // A rate limit (429) or a request timeout (408) is the registry's state, not an answer: asked again later.
            throw r.statusCode() >= 500 || r.statusCode() == 429 || r.statusCode() == 408
                    ? new Unreachable(message, null) : new IOException(message);
        }
    }

    static String sha256(byte[] content) {
        try {
            return Digest.sha256(MessageDigest.getInstance("SHA-256").digest(content)).value();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
