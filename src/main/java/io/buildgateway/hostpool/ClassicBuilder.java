package io.buildgateway.hostpool;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.BuildImageCmd;
import com.github.dockerjava.api.model.AuthConfigurations;
import com.github.dockerjava.api.model.BuildResponseItem;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A build with the classic builder ({@code builder: classic} hosts): docker-java's build with network {@code none},
 * the base pulled afresh, the configured limits and the build's pull credentials, then the label step.
 */
final class ClassicBuilder {

    private static final Pattern BUILT = Pattern.compile("Successfully built ([0-9a-f]{12,64})");

    private final HostPoolProperties properties;
    private final Clock clock;

    ClassicBuilder(HostPoolProperties properties, Clock clock) {
        this.properties = properties;
        this.clock = clock;
    }

    /**
     * A build step's result: the full image id, or the outcome that ended it; either way what the daemon pulled,
     * the steps in which it downloaded a remote source, and its error.
     */
    private record Step(String imageId, BuildOutcome outcome, List<PulledImage> pulled, List<String> fetched,
            String error, String failedStep) {
        Step(String imageId, BuildOutcome outcome) {
            this(imageId, outcome, List.of(), List.of(), null, null);
        }

        Step(String imageId, BuildOutcome outcome, List<PulledImage> pulled, List<String> fetched, String error) {
            this(imageId, outcome, pulled, fetched, error, null);
        }
    }

    /** The classic builder's build, then the label step; the evidence of both for the confinement check. */
    HostBuild build(DockerClient docker, boolean userns, BuildJob job, AuthConfigurations pullAuth,
            Consumer<String> stepOutput, BooleanSupplier cancelled, Instant deadline) throws Exception {
        Step build;
        try (InputStream context = Files.newInputStream(job.context())) {
            build = build(docker, context, job.dockerfile(), job.target(), job.buildArgs(), Map.of(),
                    job.noCache(), true, pullAuth, stepOutput, cancelled, deadline);
        }
        BuildOutcome.HostRun run = new BuildOutcome.HostRun(job.host(), userns, BuildHosts.NETWORK_MODE,
                build.pulled());
        if (build.outcome() != null) {
            return new HostBuild(null, build.outcome(), run, userns, build.pulled(), build.fetched(), build.error(),
                    build.failedStep(), build.outcome().reason(), List.of(), 0);
        }
        long t1 = System.nanoTime();
        Step labelled = label(docker, build.imageId(), job, pullAuth, stepOutput, cancelled, deadline);
        List<PulledImage> pulled = new ArrayList<>(build.pulled());
        pulled.addAll(labelled.pulled());
        List<String> fetched = new ArrayList<>(build.fetched());
        fetched.addAll(labelled.fetched());
        String error = build.error();
        String failedStep = build.failedStep();
        if (error == null) {
            error = labelled.error();
            failedStep = labelled.failedStep();
        }
        List<String> images = new ArrayList<>(List.of(build.imageId()));
        if (labelled.imageId() != null) {
            images.add(labelled.imageId());
        }
        return new HostBuild(labelled.outcome() == null ? labelled.imageId() : null, labelled.outcome(), run, userns,
                pulled, fetched, error, failedStep, null, images, t1);
    }

    private Step build(DockerClient docker, InputStream context, String dockerfile, String target,
            Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, boolean pull,
            AuthConfigurations auth, Consumer<String> output, BooleanSupplier cancelled, Instant deadline)
            throws InterruptedException {
        HostPoolProperties.Limits limits = properties.build();
        long memory = limits.memory().toBytes();
        BuildCallback callback = new BuildCallback(output);
        BuildImageCmd cmd = docker.buildImageCmd()
                .withTarInputStream(context)
                .withDockerfilePath(dockerfile)
                .withNetworkMode(BuildHosts.NETWORK_MODE)
                .withPull(pull)
                .withNoCache(noCache)
                .withRemove(true)
                .withForcerm(true)
                .withMemory(memory)
                .withMemswap(memory)
                .withLabels(labels)
                .withBuildAuthConfigs(auth);
        if (!limits.cpuset().isBlank()) {
            cmd.withCpusetcpus(limits.cpuset());
        }
        if (limits.cpuShares() > 0) {
            cmd.withCpushares(Integer.toString(limits.cpuShares()));
        }
        if (target != null && !target.isBlank()) {
            cmd.withTarget(target);
        }
        buildArgs.forEach(cmd::withBuildArg);
        cmd.exec(callback);
        BuildOutcome.Result waited = DaemonStreams.await(callback, cancelled, deadline, clock);
        if (waited != null) {
            return new Step(null, new BuildOutcome(waited, null, null, null, waited == BuildOutcome.Result.CANCELLED
                    ? "cancelled while building" : "build exceeded the timeout of " + limits.timeout()),
                    callback.pulled(), callback.fetched(), null);
        }
        if (callback.error != null) {
            return new Step(null, BuildOutcome.failed("build failed: " + callback.error), callback.pulled(),
                    callback.fetched(), callback.error, callback.failedStep());
        }
        if (callback.imageId == null) {
            return new Step(null, BuildOutcome.failed("the daemon reported no image id"), callback.pulled(),
                    callback.fetched(), null);
        }
        return new Step(docker.inspectImageCmd(callback.imageId).exec().getId(), null, callback.pulled(),
                callback.fetched(), null);
    }

    /**
     * Puts the caller's and the gateway's labels on the built image in one step: a second build
     * {@code FROM <image id>} with a single LABEL instruction. (Labels passed to the classic builder become one step,
     * with a container of its own, per label.) {@code FROM} would consume ONBUILD triggers, so an image that declares
     * them is labelled by rebuilding it with the labels as build options instead, from the cache just filled.
     */
    private Step label(DockerClient docker, String imageId, BuildJob job, AuthConfigurations auth,
            Consumer<String> output, BooleanSupplier cancelled, Instant deadline) throws Exception {
        if (job.labels().isEmpty()) {
            return new Step(imageId, null);
        }
        String[] onBuild = docker.inspectImageCmd(imageId).exec().getConfig().getOnBuild();
        if (onBuild != null && onBuild.length > 0) {
            try (InputStream context = Files.newInputStream(job.context())) {
                return build(docker, context, job.dockerfile(), job.target(), job.buildArgs(), job.labels(), false,
                        false, auth, output, cancelled, deadline);
            }
        }
        byte[] tar = LabelStep.context(imageId, job.labels());
        return build(docker, new ByteArrayInputStream(tar), "Dockerfile", null, Map.of(), Map.of(), true,
                false, new AuthConfigurations(), output, cancelled, deadline);
    }

    /**
     * Reads the daemon's build stream: output lines, the built image id, and the daemon's own pull messages
     * ({@code status} items, which a build step cannot write: step output arrives as {@code stream}). The classic
     * builder pulls for a step as {@code Digest: sha256:…} then {@code Status: … for <reference>}.
     */
    private static final class BuildCallback extends DaemonStreams.StreamCallback<BuildResponseItem> {
        private final Consumer<String> output;
        private final PullLog pulls = new PullLog();
        volatile String imageId;

        BuildCallback(Consumer<String> output) {
            this.output = output;
        }

        List<PulledImage> pulled() {
            return pulls.pulled();
        }

        List<String> fetched() {
            return pulls.fetched();
        }

        String failedStep() {
            return pulls.failedStep();
        }

        @Override
        public void onNext(BuildResponseItem item) {
            if (item.getStream() != null) {
                output.accept(item.getStream());
                Matcher m = BUILT.matcher(item.getStream());
                if (m.find()) {
                    imageId = m.group(1);
                }
                pulls.stream(item.getStream());
            }
            if (item.getStatus() != null) {
                pulls.status(item.getStatus(), item.getId());
            }
            if (item.isErrorIndicated()) {
                error = item.getErrorDetail() != null && item.getErrorDetail().getMessage() != null
                        ? item.getErrorDetail().getMessage() : item.getError();
                pulls.error(error);
                output.accept("ERROR: " + error + "\n");
            }
        }
    }
}
