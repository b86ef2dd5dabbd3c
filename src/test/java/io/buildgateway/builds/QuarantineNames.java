package io.buildgateway.builds;

/**
 * The quarantine's names as production makes them ({@link QuarantinePush}, package-private there), for tests in other
 * packages: a test that mints a run's push token must name the repository the way the push does, so that a change of
 * the naming is seen by it.
 */
public final class QuarantineNames {

    /** The tag of an image in its run's quarantine repository. */
    public static final String TAG = QuarantinePush.QUARANTINE_TAG;

    private QuarantineNames() {
    }

    /** The quarantine repository of one run of a build ({@code <quarantine>/<build id>/run-<attempt>}). */
    public static String of(String quarantine, String buildId, int attempt) {
        return QuarantinePush.quarantineOf(quarantine, buildId, attempt);
    }
}
