package io.buildgateway.hostpool;

import java.util.List;
import java.util.Map;

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
     * @param hostInstance the ephemeral host started for this build alone (issue #16); null on a fixed host
     * @param daemonId the ephemeral host's daemon {@code ID} ({@code /info}), read when it was handed out
     * @param hostFacts what else identifies the ephemeral host (provider, Pod name and UID, node)
     */
    public record HostRun(String host, boolean usernsRemap, String networkMode, List<PulledImage> pulled,
            String hostInstance, String daemonId, Map<String, String> hostFacts) {
        public HostRun {
            pulled = List.copyOf(pulled);
            hostFacts = hostFacts == null ? Map.of() : Map.copyOf(hostFacts);
        }

        /** A run on a fixed, long-lived host. */
        public HostRun(String host, boolean usernsRemap, String networkMode, List<PulledImage> pulled) {
            this(host, usernsRemap, networkMode, pulled, null, null, null);
        }

        public boolean ephemeral() {
            return hostInstance != null;
        }
    }

    static BuildOutcome failed(String reason) {
        return new BuildOutcome(Result.FAILED, null, null, null, reason);
    }
}
