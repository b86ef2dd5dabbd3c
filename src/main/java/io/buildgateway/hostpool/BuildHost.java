package io.buildgateway.hostpool;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.AuthConfigurations;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * One build's host, as {@link BuildHosts#lease} hands it out (a fixed host, or an ephemeral one started for this
 * build alone), with the operations the build sequence (builds.BuildSequence) calls on it: build (with the build's
 * pull credentials, the confinement's evidence and, on BuildKit hosts, the cache cap afterwards), read the image,
 * tag, push with a push token minted for that push, remove and untag. Closing it returns the host (an ephemeral one
 * is destroyed). Not shared between threads, except that {@link #tag} and {@link #untag} may run on another thread
 * beside the build's own (the host's tags change while the registry names the image: builds.QuarantinePush).
 */
public final class BuildHost implements AutoCloseable {

    private final HostPoolProperties properties;
    private final DockerClients clients;
    private final RegistryAuth auth;
    private final ClassicBuilder classic;
    private final BuildKitBuilder buildKit;
    private final BuildCacheCap cache;
    private final Clock clock;
    private final BuildHostProvider.Lease lease;
    private final boolean userns;
    private final BuildJob job;
    /** The ephemeral pool's provider kind; null for a fixed host. */
    private final String ephemeralKind;
    private final Runnable release;
    private Confinement.Plan plan;
    private DockerClient docker;
    private AuthConfigurations pullAuth;

    BuildHost(HostPoolProperties properties, DockerClients clients, RegistryAuth auth, ImageRegistry registry,
            BuildCacheCap cache,
            Clock clock, BuildHostProvider.Lease lease, boolean userns, BuildJob job, String ephemeralKind,
            Runnable release) {
        this.properties = properties;
        this.clients = clients;
        this.auth = auth;
        this.cache = cache;
        this.clock = clock;
        this.lease = lease;
        this.userns = userns;
        this.job = job;
        this.ephemeralKind = ephemeralKind;
        this.release = release;
        this.classic = new ClassicBuilder(properties, clock);
        this.buildKit = new BuildKitBuilder(properties, clients, auth, clock, registry);
    }

    /** Whether this is an ephemeral host started for this build alone (issue #16). */
    public boolean ephemeral() {
        return ephemeralKind != null;
    }

    /** The ephemeral host's own id; null on a fixed host. */
    public String instance() {
        return lease.instance();
    }

    /** The ephemeral host's daemon {@code ID}; null on a fixed host. */
    public String daemonId() {
        return lease.daemonId();
    }

    /** Whether the build's steps can reach the egress proxy from this host (a BuildKit host with an egress address). */
    public boolean hasEgressPath() {
        HostPoolProperties.Host host = lease.host();
        return host.builder() == HostPoolProperties.Builder.BUILDKIT && host.egressAddress() != null;
    }

    /**
     * Before the build: what the daemon is granted to pull (the confinement plan; each refused reference is named in
     * {@code output}) and the build's pull credentials.
     */
    public void prepare(Consumer<String> output) {
        docker = clients.build(lease.host());
        String registry = properties.registry().address();
        plan = Confinement.plan(job, registry, RegistryAuth.pullablePrefixes(properties),
                properties.registry().quarantine());
        plan.refused().forEach((reference, why) -> output.accept("Not granted to the build daemon: " + reference
                + " (" + why + ")\n"));
        pullAuth = auth.buildAuth(job, plan);
    }

    /**
     * Builds the job on the host: BuildKit, or the classic builder and its label step. Blocks until built, failed,
     * cancelled ({@code cancelled} is polled) or past {@code deadline}; the daemon's build stream goes to
     * {@code stepOutput}, the host pool's own lines to {@code output}. A BuildKit host's build cache is checked
     * against its cap afterwards, whatever the outcome. {@code attempt} is this run's (builds.Build#attempts): a
     * BuildKit build runs under the daemon build id {@link BuildHosts#daemonBuildId} of the job's build and it, which
     * the lease recovery cancels when this run's replica is lost ({@link BuildHosts#cancelBuild}).
     */
    public HostBuild build(int attempt, Consumer<String> output, Consumer<String> stepOutput,
            BooleanSupplier cancelled, Instant deadline) throws Exception {
        if (plan == null) {
            prepare(output);
        }
        HostPoolProperties.Host host = lease.host();
        if (host.builder() == HostPoolProperties.Builder.BUILDKIT) {
            try {
                return buildKit.build(host, job, BuildHosts.daemonBuildId(job.buildId(), attempt), plan, output,
                        stepOutput, cancelled, deadline);
            } finally {
                cache.afterBuild(host, job.buildId());
            }
        }
        return classic.build(docker, userns, job, pullAuth, stepOutput, cancelled, deadline);
    }

    /**
     * The diff ids of the base image the host holds now under the build's base reference, bottom first; empty when
     * the build has no base, the host holds none (a new or ephemeral host) or the daemon does not answer. Read before
     * the build: the build's own pull may still replace it.
     */
    public List<String> baseLayers() {
        if (job.baseImage() == null) {
            return List.of();
        }
        try {
            var inspected = docker.inspectImageCmd(job.pinnedBaseImage()).exec();
            return inspected.getRootFS() == null || inspected.getRootFS().getLayers() == null ? List.of()
                    : List.copyOf(inspected.getRootFS().getLayers());
        } catch (RuntimeException e) {
            return List.of(); // not on the host (yet), or the daemon did not answer: the build will say which
        }
    }

    /** What the build did outside what was granted to it (empty when it stayed inside); see {@link Confinement}. */
    public List<String> violations(HostBuild built) {
        return Confinement.violations(plan, properties.registry().address(), built.pulled(), built.fetched(),
                built.error(), built.failedStep());
    }

    /** The repositories the build was granted to pull, sorted. */
    public List<String> granted() {
        return plan.granted().stream().sorted().toList();
    }

    /** The built image as the gates read it from the host (one save stream), named {@code reference} for them. */
    public BuiltImage image(String imageId, String reference, Consumer<String> output, Instant deadline) {
        return new DockerBuiltImage(docker, properties.apiVersion(), job, imageId, reference, output, deadline);
    }

    /** Tags the image {@code name:tag} on the host (replacing the tag's image). */
    public void tag(String imageId, String name, String tag) {
        docker.tagImageCmd(imageId, name, tag).withForce().exec();
    }

    /**
     * Starts the daemon's push of {@code name:tag} with a token minted now for {@code repository} (the build's own,
     * or its quarantine) and pull on the granted repositories.
     */
    public HostPush push(String name, String tag, String repository) {
        DaemonStreams.PushCallback push = new DaemonStreams.PushCallback();
        docker.pushImageCmd(name).withTag(tag).withAuthConfig(auth.pushAuth(job, plan, repository)).exec(push);
        return new HostPush(push, clock);
    }

    /** A refused image must not stay on the host under any name another build could pull or push. */
    public void remove(String imageId) {
        try {
            docker.removeImageCmd(imageId).withForce(true).exec();
        } catch (RuntimeException ignored) {
            // still in use by a concurrent build's cache, or already gone; it carries no tag either way
        }
    }

    /**
     * The names (tags and repository digests) on this host of the team repositories this build was granted or
     * pushed to, by repository: those under the registry outside the pullable prefixes such as {@code base/} (whose
     * images every build may read anyway), plus {@code ownQuarantine}, this run's quarantine repository (null: none).
     * Read with the host's control client (a bounded wait). Empty on an ephemeral host (destroyed with everything on
     * it), before {@link #prepare}, or when the daemon does not answer.
     */
    public Map<String, List<String>> teamImageNames(String ownQuarantine) {
        if (ephemeral() || plan == null) {
            return Map.of();
        }
        String registry = properties.registry().address();
        List<String> pullable = RegistryAuth.pullablePrefixes(properties);
        java.util.Set<String> repositories = new java.util.HashSet<>(plan.granted());
        repositories.add(job.repository());
        repositories.removeIf(r -> pullable.stream().anyMatch(r::startsWith));
        if (ownQuarantine != null) {
            repositories.add(ownQuarantine);
        }
        List<com.github.dockerjava.api.model.Image> images;
        try {
            images = clients.control(lease.host()).listImagesCmd().exec(); // one listing, matched here
        } catch (RuntimeException e) {
            return Map.of(); // the daemon does not answer: the next build's turn
        }
        return TeamImages.names(images, registry, repositories::contains);
    }

    /**
     * Takes these names off the host (with the control client: a bounded wait each). BuildKit builds with
     * {@code pull=0}, so a team's image left named on a shared host could be read by another team's build whose
     * {@code FROM} the policy misread (the post-build confinement check fails it, but only after its steps ran).
     * Docker deletes an image with its last name (its layers stay while BuildKit's cache holds them; the next build
     * of the team pulls it again). Best effort: a name already gone is skipped; a daemon that does not answer ends
     * the round. Returns the names taken off.
     */
    public List<String> forget(java.util.Collection<String> references) {
        return TeamImages.forget(clients.control(lease.host()), references);
    }

    /** Removes one tag, keeping the image (and its other tags). */
    public void untag(String reference) {
        try {
            docker.removeImageCmd(reference).withNoPrune(true).exec();
        } catch (RuntimeException ignored) {
            // already gone; the image keeps its real tag either way
        }
    }

    /** The outcome with the ephemeral host's identity in its run, for the record and the provenance. */
    public BuildOutcome identify(BuildOutcome outcome) {
        if (!ephemeral() || outcome.run() == null) {
            return outcome;
        }
        BuildOutcome.HostRun run = outcome.run();
        Map<String, String> facts = new LinkedHashMap<>(lease.facts());
        facts.put("provider", ephemeralKind);
        return new BuildOutcome(outcome.result(), outcome.imageId(), outcome.imageDigest(), outcome.imageRef(),
                outcome.reason(), new BuildOutcome.HostRun(job.host(), run.usernsRemap(), run.networkMode(),
                        run.pulled(), lease.instance(), lease.daemonId(), facts));
    }

    /** The build is over: a fixed host stays; an ephemeral one is destroyed whatever the outcome. */
    @Override
    public void close() {
        release.run();
    }
}
