package io.buildgateway.hostpool;

import java.util.List;

/**
 * How a build on a host ended: pushed with a manifest digest, failed with a reason, cancelled, or timed out.
 *
 * @param run how the build ran on its host (for provenance); null when it never reached a host
 */
public record BuildOutcome(Result result, String imageId, String imageDigest, String imageRef, String reason,
        HostRun run) {

    public enum Result { PUSHED, FAILED, CANCELLED, TIMED_OUT }

    public BuildOutcome(Result result, String imageId, String imageDigest, String imageRef, String reason) {
        this(result, imageId, imageDigest, imageRef, reason, null);
    }

    /**
     * The facts of a build's run that only the host pool knows.
     *
     * @param usernsRemap whether the host's daemon reported user-namespace remapping ({@code name=userns}) in the
     *        health check that admitted this build (the pool never runs a build on a host without it)
     * @param networkMode the network mode of every build step ({@value BuildHosts#NETWORK_MODE})
     * @param pulled every image the daemon pulled for the build, in the order it pulled them
     */
    public record HostRun(String host, boolean usernsRemap, String networkMode, List<PulledImage> pulled) {
        public HostRun {
            pulled = List.copyOf(pulled);
        }
    }

    static BuildOutcome failed(String reason) {
        return new BuildOutcome(Result.FAILED, null, null, null, reason);
    }
}
