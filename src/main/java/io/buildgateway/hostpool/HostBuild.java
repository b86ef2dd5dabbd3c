package io.buildgateway.hostpool;

import java.util.List;

/**
 * What {@link BuildHost#build} did on the host: the built, labelled image (or the outcome that ended the build), the
 * host's facts for the record, and the evidence of the confinement check ({@link BuildHost#violations}): every image
 * the daemon pulled or used, what it fetched itself, its error and the step that failed.
 *
 * @param imageId the full id of the built and labelled image; null when {@code ended} is set
 * @param ended the outcome that ended the build on the host (failed, cancelled, timed out); null when it built
 * @param run how the build ran on its host
 * @param usernsRemap whether the host was admitted with user-namespace remapping
 * @param stepReason the reason of the build step's own outcome, named in a confinement violation's reason
 * @param images every image this build left on the host, removed when the confinement check refuses it
 * @param labelledFrom {@link System#nanoTime()} when the label step began (the classic builder), else 0
 */
public record HostBuild(String imageId, BuildOutcome ended, BuildOutcome.HostRun run, boolean usernsRemap,
        List<PulledImage> pulled, List<String> fetched, String error, String failedStep, String stepReason,
        List<String> images, long labelledFrom) {

    public HostBuild {
        pulled = List.copyOf(pulled);
        fetched = List.copyOf(fetched);
        images = List.copyOf(images);
    }

    /**
     * The run as the confinement check records it for a refused build: the host's name in the queue, every image
     * the evidence names by digest, the steps' network mode {@value BuildHosts#NETWORK_MODE}.
     */
    public BuildOutcome.HostRun refusedRun(String host) {
        return new BuildOutcome.HostRun(host, usernsRemap, BuildHosts.NETWORK_MODE, digested(pulled));
    }

    /** Only images known by a digest go into the build's record (provenance names every one by digest). */
    static List<PulledImage> digested(List<PulledImage> images) {
        return images.stream().filter(p -> p.digest().startsWith("sha256:")).toList();
    }
}
