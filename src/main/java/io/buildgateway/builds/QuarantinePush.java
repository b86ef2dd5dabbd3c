package io.buildgateway.builds;

import io.buildgateway.hostpool.BuildHost;
import io.buildgateway.hostpool.BuildHosts;
import io.buildgateway.hostpool.BuildJob;
import io.buildgateway.hostpool.BuildOutcome;
import io.buildgateway.hostpool.BuiltImage;
import io.buildgateway.hostpool.HostPush;
import io.buildgateway.hostpool.ImageGate;
import io.buildgateway.hostpool.ImageRegistry;
import io.buildgateway.hostpool.PulledImage;
import io.buildgateway.hostpool.RegistryCopy;
import io.buildgateway.shared.BuildPhases;
import io.buildgateway.shared.Digest;
import io.buildgateway.shared.ImageReference;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The push beside the checks (docs/security.md "Quarantine push"): the daemon pushes the image to the build's
 * quarantine repository ({@code <quarantine>/<build id>/<run>}, which no build is granted and no team owns) while the
 * gates read it from the host; only when every gate passed does the gateway give the pushed manifest its name
 * ({@link ImageRegistry#promote}: blobs mounted, the same manifest bytes under the tag, so the same digest, unless
 * the config's history held a non-public build arg's value: then a config without it, see {@link HistoryRewrite}) and
 * tell the gates it was pushed; the quarantine's copy is deleted beside the build's recording. A refusal, a cancel,
 * a timeout or an error stops the push and deletes whatever reached the quarantine; nothing is recorded as pushed.
 * The push phase's time is what the build waited for the push and the naming after the checks, the part the checks
 * did not hide.
 */
final class QuarantinePush {

    private static final Logger log = LoggerFactory.getLogger(QuarantinePush.class);

    /** The tag of an image in its run's quarantine repository (the repository alone names the build and run). */
    static final String QUARANTINE_TAG = "checking";

    private final BuildHosts hosts;
    private final String registry;
    private final ImageRegistry registryApi;
    private final List<ImageGate> gates;
    private final BuildPhases phases;
    private final Duration timeout;
    private final Clock clock;
    /** Where a discarded push's deletion is repeated a little later. */
    private final ScheduledExecutorService later;
    /** Where the host's tags change while the registry names the image. */
    private final Executor beside;

    QuarantinePush(BuildHosts hosts, ImageRegistry registryApi, List<ImageGate> gates, BuildPhases phases,
            Clock clock, ScheduledExecutorService later, Executor beside) {
        this.hosts = hosts;
        this.registry = hosts.registry();
        this.registryApi = registryApi;
        this.gates = gates;
        this.phases = phases;
        this.timeout = hosts.buildTimeout();
        this.clock = clock;
        this.later = later;
        this.beside = beside;
    }

    /**
     * The quarantine repository of one run of a build, {@code <quarantine>/<build id>/run-<attempt>}: a re-queued
     * build's second run (or a lapsed first run still pushing from another replica) never shares a repository with its
     * other run, so one run's discard cannot delete the manifest the other is naming; and the replica that decides a
     * lost run knows its repository from the build's record, and deletes what the run left there.
     */
    static String quarantineOf(String quarantine, String buildId, int attempt) {
        return quarantine + "/" + buildId + "/run-" + attempt;
    }

    /**
     * Checks the image while it is pushed to {@code quarantine}, then names it (or discards it), as the class says.
     * The push starts before anything else reads the image: the image's inspection ({@code reference} is the name
     * the gates know it by) and every gate run beside it.
     */
    BuildOutcome checkWhilePushing(BuildHost host, BuildJob job, String imageId, String reference, String quarantine,
            BuildOutcome.HostRun run, Consumer<String> output, BooleanSupplier cancelled, BooleanSupplier mayPush,
            Instant deadline, long t0, long t1, long t2, UnaryOperator<byte[]> history) throws Exception {
        String name = registry + "/" + job.repository();
        String held = registry + "/" + quarantine;
        // the pulled images' layers are linked into the quarantine (registry calls) beside the quarantine tag (a
        // daemon call), so that the push finds them there instead of uploading them again
        long tl = System.nanoTime();
        CompletableFuture<Integer> lending = lendPulledLayers(host, run, quarantine, job);
        // the image's inspection (read-only) runs beside the quarantine tag and the push's start
        CompletableFuture<BuiltImage> inspection = inspect(host, imageId, reference, output,
                deadline);
        host.tag(imageId, held, QUARANTINE_TAG);
        String lent = awaitLending(lending, tl, job);
        long tp = System.nanoTime();
        // the latest attempt of the quarantine push: the first runs beside the checks, a failed one is started again
        HostPush[] push = {host.push(held, QUARANTINE_TAG, quarantine)};
        AtomicBoolean checking = new AtomicBoolean(true);
        CompletableFuture<ImageRegistry.Naming> prepared = prepareNaming(push[0], quarantine,
                job, deadline, checking, history);
        boolean named = false;
        boolean refused = false;
        try {
            // the gates may read the image's own layers from the quarantine copy once this push has ended
            BuiltImage built = new Quarantined(awaitBeside(inspection), push[0], quarantine);
            long ti = System.nanoTime();
            Optional<BuildOutcome> stopped = ImageGates.examine(gates, built, imageId, cancelled);
            if (stopped.isPresent()) {
                if (stopped.get().result() == BuildOutcome.Result.FAILED) {
                    // let the push end first: a push stopped by closing its stream may still write its manifest
                    // after the deletion (the daemon ends it on its own time), so the refused image would stay
                    refused = true;
                    host.remove(imageId);
                }
                return stopped.get();
            }
            long tv = System.nanoTime();
            output.accept("Pushing " + name + ":" + job.tag() + "\n");
            PushRetry pushing = retryOnHost(job, imageId, deadline, cancelled, output);
            String quarantined = pushing.run("push to " + registry, () -> {
                if (pushing.attempts() > 0) {
                    push[0] = host.push(held, QUARANTINE_TAG, quarantine);
                }
                return pushing.awaitPush(push[0], cancelled, deadline);
            });
            long pushed = System.nanoTime();
            if (!mayPush.getAsBoolean()) {
                // the quarantine copy is deleted in finally: nothing of this run is named or recorded
                return new BuildOutcome(BuildOutcome.Result.CANCELLED, imageId, null, null,
                        "stopped before naming the image: this replica no longer holds the build");
            }
            // Every check passed and the replica still holds the build: the host's tags change (the final name on,
            // the quarantine's off) beside the registry's naming instead of after it. Should the naming fail, the
            // final name comes off the host again, so nothing is left named for a build that failed.
            CompletableFuture<Void> hostTags = CompletableFuture.runAsync(
                    () -> {
                        host.tag(imageId, name, job.tag());
                        host.untag(held + ":" + QUARANTINE_TAG);
                    }, beside);
            String digest;
            boolean readsPrepared;
            try {
                // inside the try: an interrupt while waiting for the prepared reads takes the final name off the host
                ImageRegistry.Naming reads = prepared(prepared, quarantined);
                readsPrepared = reads != null;
                // Idempotent: an attempt whose answer was lost mounts the same blobs and puts the same bytes again.
                // Only while the build is still this run's: mayPush renews the lease before each retried naming.
                PushRetry naming = retry(job, imageId, deadline, cancelled, output).onlyWhileHeld(mayPush);
                digest = naming.run("naming the image in " + registry, () -> {
                    try {
                        return reads != null && naming.attempts() == 0 ? registryApi.promote(reads, job.tag())
                                : registryApi.promote(quarantine, quarantined, job.repository(), job.tag(),
                                        history);
                    } catch (ImageRegistry.Unreachable e) {
                        throw new PushRetry.Failed(e.getMessage());
                    }
                });
            } catch (Exception | Error e) {
                unname(host, hostTags, name + ":" + job.tag(), job);
                throw e;
            }
            named = true;
            // The quarantine's copy goes on another thread, beside the build's recording: the named manifest does not
            // depend on it (its blobs are linked in the team's repository), and the copy is unreadable to builds and
            // teams until it is gone (a failed delete is logged, as on a discard).
            deleteLater(quarantined, quarantine, job);
            awaitBeside(hostTags); // a daemon's failure to tag fails the build, as when the tags came after
            long t3 = System.nanoTime();
            output.accept("Pushed " + name + "@" + digest + "\n");
            phases.record(job.buildId(), BuildPhases.PUSH, t3 - tv);
            long pushEnd = push[0].endedAt() != 0 ? push[0].endedAt() : pushed;
            log.info("build {} on {}: build {} ms, labels {} ms, verify {} ms (inspected after {} ms), push {} ms"
                    + " beside it (its stream ended after {} ms; {}), then waited {} ms and named it in {} ms ({})",
                    job.buildId(), job.host(), (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (tv - t2) / 1_000_000,
                    (ti - t2) / 1_000_000, (pushed - tp) / 1_000_000, (pushEnd - tp) / 1_000_000, lent,
                    Math.max(0, pushed - tv) / 1_000_000, (t3 - pushed) / 1_000_000,
                    readsPrepared ? "its reads prepared beside the checks" : "reading for itself");
            for (ImageGate gate : gates) {
                gate.pushed(built, digest);
            }
            return new BuildOutcome(BuildOutcome.Result.PUSHED, imageId, digest, name + "@" + digest, null, run);
        } finally {
            checking.set(false);
            if (!named) {
                // refused, cancelled, timed out, failed, or an exception on the way: nothing may stay pushed
                discard(push[0], quarantine, job, refused ? deadline : null);
            }
        }
    }

    /**
     * The inspected image, as the gates see it, with its quarantine copy: the push started first (its first attempt,
     * beside the checks), and once it has ended with a manifest digest the gates may read the image from there with
     * the gateway's credentials (the scanner reads the layers it has not read before: docs/security.md).
     */
    private final class Quarantined implements BuiltImage {
        private final BuiltImage image;
        private final HostPush push;
        private final String quarantine;

        Quarantined(BuiltImage image, HostPush push, String quarantine) {
            this.image = image;
            this.push = push;
            this.quarantine = quarantine;
        }

        @Override
        public Optional<RegistryCopy> registryCopy(Duration wait)
                throws InterruptedException {
            if (!push.awaitEnd(Math.max(1, wait.toMillis())) || push.digest() == null
                    || !Digest.isValid(push.digest())) {
                return Optional.empty();
            }
            return Optional.of(new RegistryCopy(registryApi, quarantine, push.digest()));
        }

        @Override
        public BuildJob job() {
            return image.job();
        }

        @Override
        public String reference() {
            return image.reference();
        }

        @Override
        public io.buildgateway.hostpool.ImageFacts facts() {
            return image.facts();
        }

        @Override
        public Optional<io.buildgateway.hostpool.ImageFacts> base() throws IOException {
            return image.base();
        }

        @Override
        public Instant deadline() {
            return image.deadline();
        }

        @Override
        public Consumer<String> output() {
            return image.output();
        }

        @Override
        public void save(StreamReader reader) throws IOException {
            image.save(reader);
        }

        @Override
        public void export(StreamReader reader) throws IOException {
            image.export(reader);
        }
    }

    /** How long the push's start waits for the pulled images' layers to be linked into the quarantine. */
    private static final Duration LENDING_WAIT = Duration.ofSeconds(5);

    /**
     * Links the layers of every image the daemon pulled for this build from a repository granted to it (its base,
     * the images of its {@code COPY --from}) into the build's quarantine repository, with the gateway's credentials,
     * before the daemon pushes there (docs/security.md "Quarantine push", "Base layers"). dockerd's push asks the
     * target repository about a layer first and then tries mounts only from the repositories its own records name,
     * most alike to the target first: earlier builds' quarantine repositories, which this build's push token does
     * not read, so it used to upload the base's layers into every quarantine repository again (4–5.5 s a build on a
     * Debian base). Linked here, the push's first question finds them. Nothing widens: these are layers of images
     * the build's own token was granted to pull. On another thread; a failure is logged and the push uploads what
     * is missing, as before.
     */
    private CompletableFuture<Integer> lendPulledLayers(BuildHost host,
            BuildOutcome.HostRun run, String quarantine, BuildJob job) {
        if (run == null || run.pulled().isEmpty()) {
            return CompletableFuture.completedFuture(0);
        }
        Set<String> granted = Set.copyOf(host.granted());
        Set<PulledFrom> images = new LinkedHashSet<>();
        for (PulledImage pulled : run.pulled()) {
            String repository = pulled.reference() == null ? null
                    : ImageReference.split(pulled.reference()).repositoryOn(registry);
            if (repository != null && granted.contains(repository) && pulled.digest() != null
                    && Digest.isValid(pulled.digest())) {
                images.add(new PulledFrom(repository, pulled.digest()));
            }
        }
        if (images.isEmpty()) {
            return CompletableFuture.completedFuture(0);
        }
        Supplier<Integer> lend = () -> {
            int layers = 0;
            for (PulledFrom image : images) {
                try {
                    layers += registryApi.mountLayers(image.repository(), image.digest(), quarantine);
                } catch (IOException | RuntimeException e) {
                    log.info("build {}: the layers of {} were not linked into {} before its push (the daemon uploads"
                            + " what is missing): {}", job.buildId(), image, quarantine,
                            BuildHosts.summary(e));
                }
            }
            return layers;
        };
        try {
            return CompletableFuture.supplyAsync(lend, beside);
        } catch (RejectedExecutionException stopping) {
            return CompletableFuture.completedFuture(lend.get());
        }
    }

    /** An image the daemon pulled for the build: its repository on our registry and its manifest digest. */
    private record PulledFrom(String repository, String digest) {
        @Override
        public String toString() {
            return repository + "@" + digest;
        }
    }

    /** Waits (a while) for {@link #lendPulledLayers}; what it did, for the build's log line. */
    private static String awaitLending(CompletableFuture<Integer> lending, long started,
            BuildJob job) {
        try {
            int layers = lending.get(LENDING_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            return layers + " pulled layers linked before it in " + (System.nanoTime() - started) / 1_000_000 + " ms";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "pulled layers not linked: interrupted";
        } catch (ExecutionException | TimeoutException e) {
            log.info("build {}: its pulled layers were not linked into the quarantine within {} s; pushing anyway",
                    job.buildId(), LENDING_WAIT.toSeconds());
            return "pulled layers not linked in time";
        }
    }

    /**
     * Reads what the naming needs from the registry (the quarantined manifest, which of its blobs the build's
     * repository links already: {@link ImageRegistry#prepareNaming}) as soon as the quarantine push has ended, while
     * the checks still run; reads only, nothing is linked or named. Null (the naming reads them itself) when the push
     * failed, the checks ended first without passing, or the reads failed.
     */
    private CompletableFuture<ImageRegistry.Naming> prepareNaming(HostPush push,
            String quarantine, BuildJob job, Instant deadline, AtomicBoolean checking, UnaryOperator<byte[]> history) {
        try {
            return CompletableFuture.supplyAsync(() -> {
                try {
                    long wait = Math.max(1, Duration.between(clock.instant(), deadline).toMillis());
                    String digest = push.awaitEnd(wait) ? push.digest() : null;
                    return digest == null || !checking.get() ? null
                            : registryApi.prepareNaming(quarantine, digest, job.repository(), history);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return null;
                } catch (IOException | RuntimeException e) {
                    log.debug("build {}: the naming's reads were not prepared ({}); the naming reads them",
                            job.buildId(), e.toString());
                    return null;
                }
            }, beside);
        } catch (RejectedExecutionException stopping) {
            return CompletableFuture.completedFuture(null);
        }
    }

    /** The prepared reads for the manifest {@code digest} (waited for while they run), or null. */
    private static ImageRegistry.Naming prepared(CompletableFuture<ImageRegistry.Naming> reads,
            String digest) throws InterruptedException {
        try {
            ImageRegistry.Naming naming = reads.get(PREPARED_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            return naming != null && naming.digest().equals(digest) ? naming : null;
        } catch (ExecutionException | TimeoutException e) {
            return null;
        }
    }

    /** How long the naming waits for reads prepared beside the checks before it reads for itself. */
    private static final Duration PREPARED_WAIT = Duration.ofSeconds(5);

    /** The image's inspection on the executor beside the build's thread (here, should the gateway be stopping). */
    private CompletableFuture<BuiltImage> inspect(BuildHost host, String imageId,
            String reference, Consumer<String> output, Instant deadline) {
        try {
            return CompletableFuture.supplyAsync(
                    () -> host.image(imageId, reference, output, deadline), beside);
        } catch (RejectedExecutionException stopping) {
            CompletableFuture<BuiltImage> here = new CompletableFuture<>();
            try {
                here.complete(host.image(imageId, reference, output, deadline));
            } catch (RuntimeException e) {
                here.completeExceptionally(e);
            }
            return here;
        }
    }

    /** The result of work done beside the build's thread, its failure thrown as the work threw it. */
    private static <T> T awaitBeside(CompletableFuture<T> beside) throws Exception {
        try {
            return beside.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw e;
        }
    }

    /**
     * The naming failed: once the host's tags are done (whatever their outcome), the final name is taken off the host
     * again. Waited for a while, so that the build ends with its host as it found it; should that wait be cut short,
     * the untag still follows the tags.
     */
    private static void unname(BuildHost host, CompletableFuture<Void> hostTags, String reference,
            BuildJob job) {
        CompletableFuture<Void> off = hostTags.handle((done, failed) -> null)
                .thenRun(() -> host.untag(reference));
        try {
            off.get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("build {}: taking {} off its host after the failed naming: {}", job.buildId(), reference,
                    e.toString());
        }
    }

    /** The retry of one registry operation of this build (push, quarantine push, naming), within its deadline. */
    PushRetry retry(BuildJob job, String imageId, Instant deadline, BooleanSupplier cancelled,
            Consumer<String> output) {
        return new PushRetry(job.buildId(), imageId, timeout, deadline, clock, cancelled, output);
    }

    /**
     * The retry of a push the build host's daemon makes: as {@link #retry}, but it ends at once, without waiting out
     * the deadline, when a failed attempt finds the host's daemon unreachable (the build then fails "host lost").
     */
    PushRetry retryOnHost(BuildJob job, String imageId, Instant deadline, BooleanSupplier cancelled,
            Consumer<String> output) {
        return new PushRetry(job.buildId(), imageId, timeout, deadline, clock, cancelled, output,
                () -> hosts.lostDuringBuild(job.host()));
    }

    /**
     * Ends the quarantine push and deletes what reached the registry. With {@code waitUntil} (a refusal: the image is
     * already built and the push nearly done) the push runs to its end first, so its manifest cannot land after the
     * deletion; otherwise (cancel, timeout, error) closing the stream stops the daemon, and as the daemon may still
     * write the manifest after the client is gone, the deletion is repeated once a little later on another thread.
     * Should a deletion fail, the image stays in a repository no build and no team can read, and the warning says
     * so; the build's outcome is unchanged.
     */
    private void discard(HostPush push, String quarantine, BuildJob job, Instant waitUntil) {
        try {
            boolean ended = waitUntil != null && push.awaitEnd(Math.max(1,
                    Duration.between(clock.instant(), waitUntil).toMillis()));
            if (!ended) {
                push.stop();
                if (!push.awaitEnd(TimeUnit.SECONDS.toMillis(30))) {
                    log.warn("build {}: the daemon did not end its quarantine push within 30 s", job.buildId());
                }
            }
            deleteQuarantined(push.digest(), quarantine, job);
            if (!ended) {
                try {
                    later.schedule(() -> deleteQuarantined(null, quarantine, job), 10, TimeUnit.SECONDS);
                } catch (RejectedExecutionException stopping) {
                    log.debug("the gateway is stopping: {} is not checked again", quarantine);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            deleteQuarantined(push.digest(), quarantine, job);
        }
    }

    /** Deletes the named image's quarantine copy on the cleanup thread (here, should the gateway be stopping). */
    private void deleteLater(String digest, String quarantine, BuildJob job) {
        try {
            later.execute(() -> deleteQuarantined(digest, quarantine, job));
        } catch (RejectedExecutionException stopping) {
            deleteQuarantined(digest, quarantine, job);
        }
    }

    private void deleteQuarantined(String digest, String quarantine, BuildJob job) {
        try {
            if (digest != null) {
                registryApi.deleteManifest(quarantine, digest);
            }
            registryApi.deleteManifest(quarantine, QUARANTINE_TAG);
        } catch (IOException | RuntimeException e) {
            log.warn("build {}: could not delete its image from the quarantine repository {} (it stays unreadable"
                    + " to builds and teams): {}", job.buildId(), quarantine, BuildHosts.summary(e));
        }
    }
}
