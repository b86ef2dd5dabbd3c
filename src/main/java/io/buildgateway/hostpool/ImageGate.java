package io.buildgateway.hostpool;

import java.util.List;

/**
 * What must pass between a build and its push. The host pool calls every gate with the built, labelled image while
 * it is still only on the build host; a gate that says no stops the push and fails the build with its reason. The
 * scanning module implements it (verification, SBOM, vulnerabilities, compliance), so the host pool does not
 * depend on it.
 */
public interface ImageGate {

    /**
     * The build is about to start on its host. {@code baseLayers} are the diff ids of the base the host holds under
     * the build's base reference now (empty when it holds none, or the build has no base); the build may still pull
     * a newer one, so a gate may prepare work from them but must check them against the built image. Must not
     * block: it runs before the build.
     */
    default void starting(String buildId, List<String> baseLayers) {
    }

    /** The build is over on its host, whatever its outcome: whatever {@link #starting} prepared and nobody took goes. */
    default void ended(String buildId) {
    }

    /** Examines the image; blocks while it reads the image from the host. */
    Verdict examine(BuiltImage image) throws InterruptedException;

    /** The image passed every gate and the registry now holds it under {@code manifestDigest}. */
    void pushed(BuiltImage image, String manifestDigest);

    /** The gate's answer: {@code reason} says why not, or is null. */
    record Verdict(boolean passed, String reason) {

        public static Verdict pass() {
            return new Verdict(true, null);
        }

        public static Verdict refuse(String reason) {
            return new Verdict(false, reason);
        }
    }
}
