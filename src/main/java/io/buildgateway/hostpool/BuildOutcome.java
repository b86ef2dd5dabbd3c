package io.buildgateway.hostpool;

/**
 * How a build on a host ended: pushed with a manifest digest, failed with a reason, cancelled, or timed out.
 */
public record BuildOutcome(Result result, String imageId, String imageDigest, String imageRef, String reason) {

    public enum Result { PUSHED, FAILED, CANCELLED, TIMED_OUT }

    static BuildOutcome failed(String reason) {
        return new BuildOutcome(Result.FAILED, null, null, null, reason);
    }
}
