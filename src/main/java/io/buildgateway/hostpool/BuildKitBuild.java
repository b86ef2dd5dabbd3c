package io.buildgateway.hostpool;

import com.github.dockerjava.transport.DockerHttpClient;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One BuildKit build on a host, through docker-java's HTTP transport ({@code POST /build?version=2}; docker-java's
 * build command has no builder version): the canonical context as the body, network {@code none}, the build args,
 * target, labels (BuildKit writes them into the image config, no extra step) and no-cache. The response is read on a
 * thread of its own; cancel and timeout close it, and closing the request cancels the build inside BuildKit (the
 * daemon stops the running step's container at once).
 *
 * <p>BuildKit in dockerd has no client session here, so it gets no registry credentials and pulls nothing itself:
 * the approved images are pulled first by the daemon's image service ({@code POST /images/create} with the build's
 * pull token), and the build uses them from the host's image store ({@code pull=0}). An image that was not pulled for
 * it fails the build ("no active sessions") instead of being fetched.
 */
final class BuildKitBuild {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /**
     * What the build produced: the image id or the error, the trace's facts, and how the wait ended;
     * {@code staleConnection} when the request died on a kept connection the daemon no longer holds before any
     * answer came ({@link #staleConnection}): the daemon never began that build.
     */
    record Result(String imageId, String error, BuildKitTrace trace, BuildOutcome.Result stopped,
            boolean staleConnection) implements Sent {
    }

    /** How a request to the daemon ended: its error, and whether it died on a kept connection the daemon closed. */
    interface Sent {
        String error();

        boolean staleConnection();
    }

    /**
     * The images pulled before the build, by the digest the registry gave, or the error; {@code staleConnection}
     * when the first request failed on a kept connection the daemon no longer holds ({@link #staleConnection}).
     */
    record Pull(List<PulledImage> pulled, String error, boolean staleConnection) implements Sent {
        Pull(List<PulledImage> pulled, String error) {
            this(pulled, error, false);
        }
    }

    private BuildKitBuild() {
    }

    /** Pulls each reference with the registry token (an {@code X-Registry-Auth} of the daemon's image service). */
    static Pull pull(DockerHttpClient http, List<String> references, String registry, String token,
            Consumer<String> output) {
        List<PulledImage> pulled = new ArrayList<>();
        for (String reference : references) {
            Map<String, String> auth = new LinkedHashMap<>();
            auth.put("serveraddress", registry);
            if (token != null) {
                auth.put("registrytoken", token);
            }
            String header = Base64.getUrlEncoder().encodeToString(JSON.writeValueAsBytes(auth));
            DockerHttpClient.Request request = DockerHttpClient.Request.builder()
                    .method(DockerHttpClient.Request.Method.POST)
                    .path("/v" + BuildHostVersions.BUILDKIT_API + "/images/create?fromImage=" + encode(reference))
                    .headers(Map.of("X-Registry-Auth", header)).build();
            PullLog log = new PullLog();
            log.stream("Step 0/0 : FROM " + reference);
            try (DockerHttpClient.Response response = http.execute(request);
                    BufferedReader lines = reader(response.getBody())) {
                String line;
                while ((line = lines.readLine()) != null) {
                    JsonNode item = JSON.readTree(line);
                    if (item.hasNonNull("errorDetail") || item.hasNonNull("error")) {
                        String error = item.path("errorDetail").path("message").asString(item.path("error").asString(""));
                        return new Pull(pulled, "pull of " + reference + " failed: " + error);
                    }
                    if (item.hasNonNull("status")) {
                        log.status(item.path("status").asString(), item.path("id").asString(null));
                    }
                }
                if (response.getStatusCode() >= 400) {
                    return new Pull(pulled, "pull of " + reference + " failed: HTTP " + response.getStatusCode());
                }
            } catch (IOException | RuntimeException e) {
                return new Pull(pulled, "pull of " + reference + " failed: " + BuildHosts.summary(e),
                        pulled.isEmpty() && log.pulled().isEmpty() && staleConnection(e));
            }
            String pinned = pinned(reference, log.pulled());
            if (pinned != null) {
                return new Pull(pulled, pinned);
            }
            for (PulledImage p : log.pulled()) {
                PulledImage image = new PulledImage(p.reference(), p.digest(), "FROM " + reference);
                output.accept("Pulled " + (p.reference().endsWith("@" + p.digest()) ? p.reference()
                        : p.reference() + "@" + p.digest()) + "\n"); // a pinned pull names its digest once
                pulled.add(image);
            }
        }
        return new Pull(pulled, null);
    }

    /**
     * For a reference pinned by digest ({@code name[:tag]@sha256:…}: a base whose config the policy judged), why
     * the pull did not give that digest, or null when it did (or the reference is not pinned): the daemon must
     * report the pull, and only by the pinned digest.
     */
    static String pinned(String reference, List<PulledImage> reported) {
        int at = reference.indexOf("@sha256:");
        if (at < 0) {
            return null;
        }
        String pin = reference.substring(at + 1);
        if (reported.isEmpty()) {
            return "pull of " + reference + " failed: the daemon reported no digest for it, and the base must be the"
                    + " one the policy judged (" + pin + ")";
        }
        for (PulledImage p : reported) {
            if (!p.digest().equals(pin)) {
                return "pull of " + reference + " gave " + p.digest() + ", not " + pin + ", the digest whose config"
                        + " the policy judged";
            }
        }
        return null;
    }

    /**
     * The {@code repository@digest} names the host's image store gives the image it knows by {@code reference}
     * ({@code RepoDigests}), or none when it cannot say (no such image, an error): the same image under every name
     * it was pulled by.
     */
    static List<String> repoDigests(DockerHttpClient http, String reference) {
        return inspected(http, reference, "RepoDigests");
    }

    /**
     * The diff ids of the layers of the image the host's store knows by {@code reference} ({@code RootFS.Layers}),
     * or none when it cannot say.
     */
    static List<String> layers(DockerHttpClient http, String reference) {
        return inspected(http, reference, "RootFS", "Layers");
    }

    /**
     * The platform ({@code os/architecture[/variant]}) of the image the host's store knows by {@code reference}, or
     * null when it cannot say: for an image the gateway pulled, the host's own platform (the daemon pulls its own from
     * an index).
     */
    static String platform(DockerHttpClient http, String reference) {
        JsonNode node = inspection(http, reference);
        String os = node.path("Os").asString("");
        String architecture = node.path("Architecture").asString("");
        if (os.isEmpty() || architecture.isEmpty()) {
            return null;
        }
        String variant = node.path("Variant").asString("");
        return os + "/" + architecture + (variant.isEmpty() ? "" : "/" + variant);
    }

    /** The texts of a list of the store's inspection of {@code reference}; none when it cannot say. */
    private static List<String> inspected(DockerHttpClient http, String reference, String... path) {
        JsonNode node = inspection(http, reference);
        for (String key : path) {
            node = node.path(key);
        }
        List<String> out = new ArrayList<>();
        node.forEach(d -> out.add(d.asString()));
        return out;
    }

    /** The store's inspection of {@code reference}; a missing node when it cannot say. */
    private static JsonNode inspection(DockerHttpClient http, String reference) {
        DockerHttpClient.Request request = DockerHttpClient.Request.builder()
                .method(DockerHttpClient.Request.Method.GET)
                .path("/v" + BuildHostVersions.BUILDKIT_API + "/images/" + encode(reference) + "/json").build();
        try (DockerHttpClient.Response response = http.execute(request)) {
            if (response.getStatusCode() != 200) {
                return tools.jackson.databind.node.MissingNode.getInstance();
            }
            return JSON.readTree(response.getBody());
        } catch (RuntimeException e) { // the daemon away, an unreadable answer: nothing is confirmed
            return tools.jackson.databind.node.MissingNode.getInstance();
        }
    }

    /**
     * Whether a request failed because the connection it was sent on had been closed by the other side: the write
     * found no reader ("Broken pipe"), the peer reset it, or it closed it before any answer. That is what a kept
     * connection to a daemon that restarted since its last use does, and docker-java's transport never checks a kept
     * connection before it reuses it (its pool's validate-after-inactivity is off), while Apache's client retries
     * only idempotent requests on one: a pull or a build is a POST. A refused connection is not one of these: the
     * daemon is not there.
     */
    static boolean staleConnection(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof org.apache.hc.core5.http.NoHttpResponseException) {
                return true;
            }
            String message = t.getMessage();
            if (t instanceof IOException && message != null
                    && (message.contains("Broken pipe") || message.contains("Connection reset"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs the build; {@code stepOutput} gets the decoded trace. Blocks until the daemon answers the image id or an
     * error, or until {@code cancelled} or the deadline stops it (then the request is closed).
     */
    static Result build(DockerHttpClient http, InputStream context, String dockerfile, String target,
            Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, HostPoolProperties.Limits limits,
            Consumer<String> stepOutput, BooleanSupplier cancelled, Instant deadline, Clock clock)
            throws InterruptedException {
        return build(http, context, dockerfile, target, buildArgs, labels, noCache, limits, BuildHosts.NETWORK_MODE,
                stepOutput, cancelled, deadline, clock);
    }

    /**
     * As above, in BuildKit's network mode {@code networkMode}: {@code none}, or {@link EgressPath#BUILDKIT_NETWORK_MODE}
     * for a build with egress (its steps on the bridge that leads only to the egress proxy).
     */
    static Result build(DockerHttpClient http, InputStream context, String dockerfile, String target,
            Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, HostPoolProperties.Limits limits,
            String networkMode, Consumer<String> stepOutput, BooleanSupplier cancelled, Instant deadline, Clock clock)
            throws InterruptedException {
        return build(http, context, dockerfile, target, buildArgs, labels, noCache, limits, networkMode, null,
                stepOutput, cancelled, deadline, clock);
    }

    /**
     * As above, under the daemon build id {@code daemonBuildId} ({@code buildid=}; none when null): whoever knows the
     * id can stop the build with {@link #cancel}, also while this request is still open. The lease recovery needs
     * that: the daemon stops a build when its client's connection goes away, and a paused replica's does not.
     */
    static Result build(DockerHttpClient http, InputStream context, String dockerfile, String target,
            Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, HostPoolProperties.Limits limits,
            String networkMode, String daemonBuildId, Consumer<String> stepOutput, BooleanSupplier cancelled,
            Instant deadline, Clock clock) throws InterruptedException {
        StringBuilder query = new StringBuilder("/v" + BuildHostVersions.BUILDKIT_API + "/build?version=2")
                .append("&networkmode=").append(encode(networkMode))
                .append("&pull=0&rm=1&forcerm=1")
                .append("&dockerfile=").append(encode(dockerfile))
                .append("&nocache=").append(noCache ? 1 : 0)
                .append("&buildargs=").append(encode(JSON.writeValueAsString(buildArgs)))
                .append("&labels=").append(encode(JSON.writeValueAsString(labels)))
                .append("&memory=").append(limits.memory().toBytes())
                .append("&memswap=").append(limits.memory().toBytes());
        if (target != null && !target.isBlank()) {
            query.append("&target=").append(encode(target));
        }
        if (daemonBuildId != null) {
            query.append("&buildid=").append(encode(daemonBuildId));
        }
        if (!limits.cpuset().isBlank()) {
            query.append("&cpusetcpus=").append(encode(limits.cpuset()));
        }
        if (limits.cpuShares() > 0) {
            query.append("&cpushares=").append(limits.cpuShares());
        }
        DockerHttpClient.Request request = DockerHttpClient.Request.builder()
                .method(DockerHttpClient.Request.Method.POST).path(query.toString())
                .headers(Map.of("Content-Type", "application/x-tar")).body(context).build();
        BuildKitTrace trace = new BuildKitTrace(stepOutput);
        AtomicReference<DockerHttpClient.Response> open = new AtomicReference<>();
        AtomicReference<String> imageId = new AtomicReference<>();
        AtomicReference<String> error = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicBoolean stale = new AtomicBoolean();
        Thread reader = new Thread(() -> {
            try (DockerHttpClient.Response response = http.execute(request)) {
                open.set(response);
                if (stop.get()) {
                    return;
                }
                try (BufferedReader lines = reader(response.getBody())) {
                    String line;
                    while ((line = lines.readLine()) != null) {
                        read(line, trace, imageId, error, stepOutput);
                    }
                }
                if (response.getStatusCode() >= 400 && error.get() == null) {
                    error.set("the daemon answered HTTP " + response.getStatusCode());
                }
            } catch (IOException | RuntimeException e) {
                if (!stop.get()) {
                    error.compareAndSet(null, BuildHosts.summary(e));
                    stale.set(open.get() == null && staleConnection(e));
                }
            } finally {
                trace.finish();
                done.countDown();
            }
        }, "buildkit-build");
        reader.setDaemon(true);
        reader.start();
        BuildOutcome.Result stopped = null;
        while (!done.await(250, TimeUnit.MILLISECONDS)) {
            if (stopped == null && cancelled.getAsBoolean()) {
                stopped = BuildOutcome.Result.CANCELLED;
            } else if (stopped == null && clock.instant().isAfter(deadline)) {
                stopped = BuildOutcome.Result.TIMED_OUT;
            }
            if (stopped != null) {
                stop.set(true);
                DockerHttpClient.Response response = open.get();
                if (response != null) {
                    closeQuietly(response);
                }
            }
        }
        return new Result(imageId.get(), error.get(), trace, stopped, stopped == null && stale.get());
    }

    /** How a cancel ended: its error (null when the daemon accepted it), and whether it died on a stale connection. */
    record Cancel(String error, boolean staleConnection) implements Sent {
    }

    /**
     * Asks the daemon to cancel the BuildKit build it runs under {@code daemonBuildId} ({@code POST /build/cancel?id=};
     * moby's build router hands it to BuildKit's builder, which cancels the job of that id, if it has one, and answers
     * 200 either way: an id it does not know, a build that ended or a classic build, is no error). Unversioned, so that
     * a daemon older than {@value BuildHostVersions#BUILDKIT_API} (a classic host's) answers at its own version rather
     * than refusing the request's.
     */
    static Cancel cancel(DockerHttpClient http, String daemonBuildId) {
        DockerHttpClient.Request request = DockerHttpClient.Request.builder()
                .method(DockerHttpClient.Request.Method.POST).path("/build/cancel?id=" + encode(daemonBuildId))
                .build();
        try (DockerHttpClient.Response response = http.execute(request)) {
            return new Cancel(response.getStatusCode() >= 300 ? "the daemon answered HTTP " + response.getStatusCode()
                    : null, false);
        } catch (RuntimeException e) { // the transport's I/O errors come unchecked
            return new Cancel(BuildHosts.summary(e), staleConnection(e));
        }
    }

    private static void read(String line, BuildKitTrace trace, AtomicReference<String> imageId,
            AtomicReference<String> error, Consumer<String> stepOutput) {
        if (line.isBlank()) {
            return;
        }
        JsonNode item;
        try {
            item = JSON.readTree(line);
        } catch (RuntimeException e) {
            stepOutput.accept("(an unreadable message of the daemon)\n");
            return;
        }
        String id = item.path("id").asString("");
        if (id.equals("moby.buildkit.trace")) {
            trace.accept(item.path("aux").asString(""));
        } else if (id.equals("moby.image.id")) {
            imageId.set(item.path("aux").path("ID").asString(null));
        } else if (item.hasNonNull("errorDetail") || item.hasNonNull("error")) {
            error.compareAndSet(null,
                    item.path("errorDetail").path("message").asString(item.path("error").asString("unknown error")));
        } else if (item.hasNonNull("stream")) {
            stepOutput.accept(item.path("stream").asString());
        }
    }

    private static BufferedReader reader(InputStream body) {
        return new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException | RuntimeException ignored) {
            // closing a response the daemon may already have ended
        }
    }
}
