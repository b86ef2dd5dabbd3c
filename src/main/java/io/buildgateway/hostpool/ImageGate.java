package io.buildgateway.hostpool;

/**
 * What must pass between a build and its push. The host pool calls every gate with the built, labelled image while
 * it is still only on the build host; a gate that says no stops the push and fails the build with its reason. The
 * scanning module implements it (verification, SBOM, vulnerabilities, compliance), so the host pool does not
 * depend on it.
 */
public interface ImageGate {

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
