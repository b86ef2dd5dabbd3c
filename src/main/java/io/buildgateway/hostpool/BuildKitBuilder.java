package io.buildgateway.hostpool;

import com.github.dockerjava.transport.DockerHttpClient;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A build on a BuildKit host ({@link BuildKitBuild}): the granted images pulled first with the build's pull token,
 * then the build from the host's image store with the labels in the same build; the evidence for the confinement
 * check is what the build's FROM steps used, what BuildKit fetched itself and its error.
 */
final class BuildKitBuilder {

    private final HostPoolProperties properties;
    private final DockerClients clients;
    private final RegistryAuth auth;
    private final Clock clock;
    /** The registry's images by digest, for a shared FROM vertex the host's store no longer knows; null in tests. */
    private final ImageRegistry registry;

    BuildKitBuilder(HostPoolProperties properties, DockerClients clients, RegistryAuth auth, Clock clock) {
        this(properties, clients, auth, clock, null);
    }

    BuildKitBuilder(HostPoolProperties properties, DockerClients clients, RegistryAuth auth, Clock clock,
            ImageRegistry registry) {
        this.properties = properties;
        this.clients = clients;
        this.auth = auth;
        this.clock = clock;
        this.registry = registry;
    }

    /**
     * Builds the job on the host under the daemon build id {@code daemonBuildId} ({@link BuildHosts#daemonBuildId}:
     * the build's id and this run's attempt), by which the lease recovery cancels it when this replica is lost.
     */
    HostBuild build(HostPoolProperties.Host host, BuildJob job, String daemonBuildId, Confinement.Plan plan,
            Consumer<String> output, Consumer<String> stepOutput, BooleanSupplier cancelled, Instant deadline)
            throws Exception {
        String registry = properties.registry().address();
        if (!plan.refused().isEmpty()) {
            // BuildKit would take a refused image from the host's store (another build's) without asking the
            // registry: a build that names one is stopped before it runs, as a confinement violation.
            List<PulledImage> refused = plan.refused().keySet().stream()
                    .map(r -> new PulledImage(r, "(not granted)", "FROM " + r)).toList();
            BuildOutcome stopped = BuildOutcome.failed("an image the build names is not granted to it");
            return new HostBuild(null, stopped, new BuildOutcome.HostRun(host.name(), true, BuildHosts.NETWORK_MODE,
                    List.of()), true, refused, List.of(), null, null, stopped.reason(), List.of(), 0);
        }
        List<String> toPull = job.allowedPulls().stream()
                .filter(r -> plan.granted().contains(Confinement.repository(r, registry))).distinct().toList();
        String token = auth.pullToken(job, plan);
        BuildKitBuild.Pull pulls = pull(host, toPull, token, output);
        if (pulls.error() != null) {
            return new HostBuild(null, BuildOutcome.failed(pulls.error()), new BuildOutcome.HostRun(host.name(), true,
                    BuildHosts.NETWORK_MODE, pulls.pulled()), true, pulls.pulled(), List.of(), pulls.error(), "FROM",
                    pulls.error(), List.of(), 0);
        }
        boolean egress = job.egressProxy() != null;
        // Checked before the build: a host without an egress path never runs the build without its network.
        Map<String, String> buildArgs = egress ? EgressPath.buildArgs(job.buildArgs(),
                EgressPath.stepProxy(job.egressProxy(), host.egressAddress())) : job.buildArgs();
        String networkMode = egress ? EgressPath.BUILDKIT_NETWORK_MODE : BuildHosts.NETWORK_MODE;
        String recordedMode = egress ? EgressPath.RECORDED_NETWORK_MODE : BuildHosts.NETWORK_MODE;
        if (egress) {
            output.accept("Steps have network to the egress proxy only (docs/egress.md)\n");
        }
        BuildKitBuild.Result result = post(host, job.context(), output, (transport, context) -> BuildKitBuild.build(
                transport, context, job.dockerfile(), job.target(), buildArgs, job.labels(), job.noCache(),
                properties.build(), networkMode, daemonBuildId, stepOutput, cancelled, deadline, clock));
        List<PulledImage> used = used(result.trace(), pulls.pulled(),
                name -> BuildKitBuild.repoDigests(clients.http(host), name), layers(host, pulls.pulled()));
        BuildOutcome.HostRun run = new BuildOutcome.HostRun(host.name(), true, recordedMode,
                HostBuild.digested(used));
        String error = result.error() != null ? result.error() : result.trace().error();
        String unpinned = result.stopped() == null ? pinViolation(result.trace(), toPull) : null;
        BuildOutcome ended = result.stopped() != null
                ? new BuildOutcome(result.stopped(), null, null, null, result.stopped() == BuildOutcome.Result.CANCELLED
                        ? "cancelled while building" : "build exceeded the timeout of " + properties.build().timeout())
                : unpinned != null ? BuildOutcome.failed(unpinned)
                : error != null ? BuildOutcome.failed("build failed: " + error)
                : result.imageId() == null ? BuildOutcome.failed("the daemon reported no image id") : null;
        if (error != null && result.stopped() == null) {
            output.accept("ERROR: " + error + "\n");
        }
        return new HostBuild(ended == null ? result.imageId() : null, ended, run, true, used,
                result.trace().fetched(), result.stopped() == null ? error : null, result.trace().failedStep(),
                ended == null ? null : ended.reason(),
                result.imageId() == null ? List.of() : List.of(result.imageId()), 0);
    }

    /**
     * The layers (diff ids) of an image as {@link #used} compares them: what the host's store has under the name (by
     * its digest when it carries one); when the store does not know a name with a digest (the build that pulled it
     * ended and its names were removed), the registry's image under that digest for the host's platform (that of the
     * images this build pulled). Empty when neither can say.
     */
    private java.util.function.Function<String, List<String>> layers(HostPoolProperties.Host host,
            List<PulledImage> pulled) {
        return reference -> {
            List<String> stored = BuildKitBuild.layers(clients.http(host), reference);
            if (!stored.isEmpty() || reference.indexOf('@') < 0 || pulled.isEmpty() || registry == null) {
                return stored;
            }
            PulledImage first = pulled.get(0);
            String platform = BuildKitBuild.platform(clients.http(host),
                    io.buildgateway.shared.ImageReference.split(first.reference()).name() + "@" + first.digest());
            return registry.layers(reference, platform);
        };
    }

    /**
     * The build's pulls, the first request of a build on the host's transport. When it fails on a kept connection
     * that the daemon closed ({@link BuildKitBuild#staleConnection}: the daemon restarted since this replica last used
     * it, between two health checks, which would have renewed the clients), nothing was pulled yet: the host's clients
     * are renewed and the pulls made once more on new connections. Seen in make test: a daemon restarted by one test
     * failed the next test's build at once, "pull … failed: Broken pipe". A daemon that is really gone refuses the
     * new connection, and the build fails with that reason.
     */
    BuildKitBuild.Pull pull(HostPoolProperties.Host host, List<String> references, String token,
            Consumer<String> output) throws IOException, InterruptedException {
        String registry = properties.registry().address();
        return onceMoreIfStale(host, output, "pulling",
                transport -> BuildKitBuild.pull(transport, references, registry, token, output));
    }

    /** One sending of the build's request on a transport, with the context's bytes from the start. */
    @FunctionalInterface
    interface BuildPost {
        BuildKitBuild.Result send(DockerHttpClient transport, InputStream context) throws InterruptedException;
    }

    /**
     * The build's request. When it died on a kept connection that the daemon closed before any answer came (as the
     * pull above: the daemon restarted since the last use; a build with nothing to pull, {@code FROM scratch}, sends
     * this request first), the daemon never began the build: the host's clients are renewed and the request sent once
     * more, with the context read again from the store. Any answer, a refused connection or a stop by cancel or
     * deadline is final.
     */
    BuildKitBuild.Result post(HostPoolProperties.Host host, Path contextFile, Consumer<String> output,
            BuildPost request) throws IOException, InterruptedException {
        return onceMoreIfStale(host, output, "sending the build", transport -> {
            try (InputStream context = Files.newInputStream(contextFile)) {
                return request.send(transport, context);
            }
        });
    }

    /**
     * Asks the host's daemon to cancel the BuildKit build it runs under {@code daemonBuildId}
     * ({@link BuildKitBuild#cancel}), on the host's control transport (a 10 s answer at most: the lease recovery
     * waits on it). A cancel on a kept connection the daemon had closed (it restarted since: "Broken pipe") is sent
     * once more on a new one, as a pull is: that daemon's new process runs no build of the lost run, but a cancel
     * lost to a stale connection must not be reported as failed. {@code output} hears of the renewal.
     */
    BuildKitBuild.Cancel cancel(HostPoolProperties.Host host, String daemonBuildId, Consumer<String> output)
            throws IOException, InterruptedException {
        return onceMoreIfStale(host, clients::controlHttp, output, "cancelling build " + daemonBuildId,
                transport -> BuildKitBuild.cancel(transport, daemonBuildId));
    }

    /** A request to the host's daemon on the transport it is given. */
    @FunctionalInterface
    private interface Request<T extends BuildKitBuild.Sent> {
        T send(DockerHttpClient transport) throws IOException, InterruptedException;
    }

    /**
     * Sends the request; when it died on a kept connection the daemon had closed
     * ({@link BuildKitBuild#staleConnection}), says so in the build's output, renews the host's clients and sends it
     * once more on a new connection.
     */
    private <T extends BuildKitBuild.Sent> T onceMoreIfStale(HostPoolProperties.Host host, Consumer<String> output,
            String doing, Request<T> request) throws IOException, InterruptedException {
        return onceMoreIfStale(host, clients::http, output, doing, request);
    }

    /** As above, on the host's transport that {@code transport} picks. */
    private <T extends BuildKitBuild.Sent> T onceMoreIfStale(HostPoolProperties.Host host,
            java.util.function.Function<HostPoolProperties.Host, DockerHttpClient> transport, Consumer<String> output,
            String doing, Request<T> request) throws IOException, InterruptedException {
        T first = request.send(transport.apply(host));
        if (!first.staleConnection()) {
            return first;
        }
        output.accept("The build host's daemon had closed the kept connection (" + first.error() + "); " + doing
                + " again on a new one\n");
        clients.renew(host.name());
        return request.send(transport.apply(host));
    }

    /**
     * The images the build's FROM steps used, each by the digest of its pull; one the gateway did not pull came
     * from the host's image store (another build's), which the confinement check judges by its repository. BuildKit
     * may name a FROM by another name the store gives the same image (two tags of one digest, one pulled by another
     * build): a name without a digest is the pulled image when the store's {@code RepoDigests} for it hold that
     * pull's {@code repository@digest} (seen in make test on 2026-12-07: a copy of base/busybox under another
     * repository, built while another build had pulled base/busybox, was named base/busybox:latest and refused).
     */
    static List<PulledImage> used(BuildKitTrace trace, List<PulledImage> pulled,
            java.util.function.Function<String, List<String>> repoDigests) {
        return used(trace, pulled, repoDigests, name -> List.of());
    }

    /**
     * As above; and BuildKit shares one FROM vertex between images of the same layers, across the builds of a host:
     * a build's step may show, beside its own FROM of the pulled image or instead of it, the FROM of another image
     * with those layers that another build used ({@code [1/2] FROM base/empty-env:1} beside
     * {@code [1/2] FROM base/busybox:latest}, make test 2026-12-07, an image that differs from base/busybox in its
     * config only; and on dockerd 26, two builds started together, the second's step showed only the first's name).
     * Such a name is the pull when
     * <ul>
     * <li>the frontend read no config by that name ({@link BuildKitTrace#resolved}): the stage's ONBUILD triggers,
     * Env and USER came from the image the frontend read, the pulled one; a name whose config was read is another
     * image the build asked for, never taken for the pull;</li>
     * <li>its layers are the pulled image's ({@code layers}: the host's store, or for a name with a digest the
     * registry's content under that digest for the host's platform, as the other build's names may have left the
     * store since), so the content is the approved image's;</li>
     * <li>and it is in a stage's step: beside a FROM of the pulled image in the same step (its layers compared with
     * that image's), or alone in its step when it carries a digest (compared with every pulled image's). A FROM of
     * another image by tag alone in its step stays an image from the host's store: what the store has under a tag
     * now may not be what the vertex used.</li>
     * </ul>
     */
    static List<PulledImage> used(BuildKitTrace trace, List<PulledImage> pulled,
            java.util.function.Function<String, List<String>> repoDigests,
            java.util.function.Function<String, List<String>> layers) {
        List<PulledImage> used = new ArrayList<>(pulled);
        for (String reference : trace.used()) {
            int at = reference.indexOf('@');
            String name = at > 0 ? reference.substring(0, at) : reference;
            boolean known = pulled.stream().anyMatch(p -> withTag(p.reference()).equals(withTag(name))
                    || (at > 0 && p.digest().equals(reference.substring(at + 1))));
            // A name with a digest is asked about as BuildKit named it (the store finds name:tag@digest by its
            // digest): since builds are pinned, another build's FROM vertex shared with this one carries a digest.
            if (!known && !pulled.isEmpty()) {
                known = storedAsPull(reference, pulled, repoDigests);
            }
            if (!known && !pulled.isEmpty()) {
                known = sharedVertex(trace, reference, pulled, layers);
            }
            if (!known) {
                used.add(new PulledImage(name, at > 0 ? reference.substring(at + 1) : "(from the host's image store)",
                        "FROM " + reference));
            }
        }
        // Every config the frontend read must be a pull's: a stage takes its base's ONBUILD triggers, Env and USER from
        // that read, and with a shared vertex standing in for the FROM (above) the read may be the only trace of the
        // stage's real base. One that is not a pull came from the host's store and is judged as such (a review's
        // find, 2026-12-07: another team's image of busybox's layers and its own USER or Env, read by name while the
        // step showed a shared vertex of an approved image).
        for (String read : trace.resolved()) {
            if (!readOfPull(read, pulled) && !storedAsPull(read, pulled, repoDigests)
                    && used.stream().noneMatch(u -> u.step().equals("FROM " + read)
                    || u.step().equals("config of " + read))) {
                int at = read.indexOf('@');
                used.add(new PulledImage(at > 0 ? read.substring(0, at) : read,
                        at > 0 ? read.substring(at + 1) : "(from the host's image store)", "config of " + read));
            }
        }
        return used;
    }

    /**
     * Whether the host's store gives {@code reference} (asked as named: the store finds name:tag@digest by its digest)
     * the image a pull brought, by that pull's {@code repository@digest} among its RepoDigests: another name of the
     * same image, whose config is the pulled one.
     */
    private static boolean storedAsPull(String reference, List<PulledImage> pulled,
            java.util.function.Function<String, List<String>> repoDigests) {
        if (pulled.isEmpty()) {
            return false;
        }
        List<String> sameImage = repoDigests.apply(reference);
        return pulled.stream().anyMatch(p -> sameImage.contains(
                io.buildgateway.shared.ImageReference.split(p.reference()).name() + "@" + p.digest()));
    }

    /**
     * Whether the frontend's read of {@code read}'s config is of a pulled image: by digest, the same repository and
     * digest (the tag does not matter: a digest is the content, and a pull may be reported without the tag the
     * Dockerfile gives); by tag, the same name and tag.
     */
    private static boolean readOfPull(String read, List<PulledImage> pulled) {
        int at = read.indexOf('@');
        if (at > 0) {
            String repository = io.buildgateway.shared.ImageReference.split(read).name();
            String digest = read.substring(at + 1);
            return pulled.stream().anyMatch(p -> p.digest().equals(digest)
                    && io.buildgateway.shared.ImageReference.split(p.reference()).name().equals(repository));
        }
        return pulled.stream().anyMatch(p -> withTag(p.reference()).equals(withTag(read)));
    }

    /** Whether {@code reference}'s FROM vertex is one BuildKit shares with a pulled image's (see {@link #used}). */
    private static boolean sharedVertex(BuildKitTrace trace, String reference, List<PulledImage> pulled,
            java.util.function.Function<String, List<String>> layers) {
        java.util.Set<String> steps = trace.stepsOf(reference);
        int at = reference.indexOf('@');
        String name = withTag(reference);
        if (steps.isEmpty() || trace.resolved().stream().anyMatch(r -> withTag(r).equals(name))) {
            return false;
        }
        // the pulled images whose FROM vertex is in one of the same steps
        List<PulledImage> beside = new ArrayList<>();
        for (String other : trace.used()) {
            if (other.equals(reference) || java.util.Collections.disjoint(steps, trace.stepsOf(other))) {
                continue;
            }
            pulled.stream().filter(p -> withTag(p.reference()).equals(withTag(other))).forEach(beside::add);
        }
        // alone in its step: compared only with the pulled images whose config the frontend read (the stages' bases
        // and sources), never with any pull
        List<PulledImage> candidates = !beside.isEmpty() ? beside : at > 0 ? pulled.stream()
                .filter(p -> trace.resolved().stream().anyMatch(r -> readOfPull(r, List.of(p)))).toList() : List.of();
        if (candidates.isEmpty()) {
            return false;
        }
        List<String> mine = layers.apply(reference);
        if (mine.isEmpty()) {
            return false;
        }
        for (PulledImage p : candidates) {
            List<String> theirs = layers.apply(io.buildgateway.shared.ImageReference.split(p.reference()).name()
                    + "@" + p.digest());
            if (mine.equals(theirs)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Why the build did not use the images it was pinned to, or null when it did: every FROM the trace shows of an
     * image pulled by digest ({@code name:tag@sha256:…}, the digest of the manifest the policy read: a base whose
     * config it judged, or an image a {@code COPY --from} or a mount's {@code from=} copies from) must name that
     * digest; one without a digest, or with another, built from an image nobody judged (a tag moved, another build's
     * image in the host's store). BuildKit shows a copy or mount source as a FROM vertex of its own, outside the
     * stages' steps, named as the Dockerfile names it: {@code FROM name:tag@sha256:…} for a pinned one (seen on
     * dockerd 26, SourcePinIT), {@code FROM name:tag} for one by tag. One name may be pinned to more than one digest
     * (two sources named by digest under one tag): each FROM of it must name one of them.
     */
    static String pinViolation(BuildKitTrace trace, List<String> pulls) {
        // names the build also pulls by tag: a source the gateway does not pin (an ONBUILD trigger's COPY --from,
        // run as the image's config has it), pulled as written, which BuildKit shows as a FROM of its own, without a
        // digest and outside the stages' steps
        java.util.Set<String> byTag = new java.util.HashSet<>();
        java.util.Map<String, java.util.Set<String>> pinned = new java.util.LinkedHashMap<>();
        java.util.Map<String, String> pins = new java.util.LinkedHashMap<>();
        for (String pull : pulls) {
            int pinAt = pull.indexOf("@sha256:");
            if (pull.indexOf('@') < 0) {
                byTag.add(withTag(pull));
            } else if (pinAt > 0) {
                String name = withTag(pull.substring(0, pinAt));
                pinned.computeIfAbsent(name, n -> new java.util.TreeSet<>()).add(pull.substring(pinAt + 1));
                pins.merge(name, pull, (a, b) -> a + " or " + b);
            }
        }
        for (java.util.Map.Entry<String, java.util.Set<String>> pin : pinned.entrySet()) {
            String pinName = pin.getKey();
            java.util.Set<String> pinDigests = pin.getValue();
            java.util.Set<String> pinnedSteps = new java.util.HashSet<>();
            for (String reference : trace.used()) {
                int at = reference.indexOf('@');
                if (at > 0 && withTag(reference.substring(0, at)).equals(pinName)
                        && pinDigests.contains(reference.substring(at + 1))) {
                    pinnedSteps.addAll(trace.stepsOf(reference));
                }
            }
            for (String reference : trace.used()) {
                int at = reference.indexOf('@');
                String name = at > 0 ? reference.substring(0, at) : reference;
                if (!withTag(name).equals(pinName)) {
                    continue;
                }
                boolean exact = at > 0 && pinDigests.contains(reference.substring(at + 1));
                // Another name of a FROM vertex BuildKit shares with the pinned FROM (images of the same layers:
                // see used()) in the same step: the step's FROM is the pinned one, whose config the frontend read.
                boolean shared = !exact && !trace.stepsOf(reference).isEmpty()
                        && !java.util.Collections.disjoint(trace.stepsOf(reference), pinnedSteps);
                boolean source = at < 0 && trace.stepsOf(reference).isEmpty() && byTag.contains(pinName);
                if (!exact && !shared && !source) {
                    return "the build used " + reference + " where it was judged as " + pins.get(pinName)
                            + " (pinned to the digest the policy read: a base's ONBUILD triggers and Env, or the"
                            + " image a COPY --from or a mount copies from): it is refused as an image the policy"
                            + " did not judge";
                }
            }
            // The configs the frontend read of that name: the pinned digest, or by tag only where the build also
            // pulls the name by tag (a source the gateway does not pin). A FROM vertex shared with another build can
            // stand in for the stage's own, so the read is where the stage's config shows (used()).
            for (String read : trace.resolved()) {
                int at = read.indexOf('@');
                if (!withTag(read).equals(pinName)) {
                    continue;
                }
                boolean exact = at > 0 && pinDigests.contains(read.substring(at + 1));
                if (!exact && !(at < 0 && byTag.contains(pinName))) {
                    return "the build read the config of " + read + " where it was judged as " + pins.get(pinName)
                            + " (pinned to the digest the policy read): it is refused as an image the policy did"
                            + " not judge";
                }
            }
        }
        return null;
    }

    /** {@code repo} and {@code repo:latest} name the same image (BuildKit's vertex names always carry the tag). */
    private static String withTag(String reference) {
        int at = reference.indexOf('@');
        String name = at > 0 ? reference.substring(0, at) : reference;
        return name.lastIndexOf(':') > name.lastIndexOf('/') ? name : name + ":latest";
    }
}
