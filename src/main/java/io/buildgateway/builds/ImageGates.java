package io.buildgateway.builds;

import io.buildgateway.hostpool.BuildOutcome;
import io.buildgateway.hostpool.BuiltImage;
import io.buildgateway.hostpool.ImageGate;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * The image checks run in order over a built image, for both ways of pushing (after the checks, or beside them into
 * the quarantine): the first gate that refuses ends the build FAILED with its reason, a cancel between two gates ends
 * it CANCELLED. What to do with the image then (remove it, let a quarantine push end first) is the caller's.
 */
final class ImageGates {

    private ImageGates() {
    }

    /** Empty when every gate passed and the build was not cancelled; else the outcome that ends the build. */
    static Optional<BuildOutcome> examine(List<ImageGate> gates, BuiltImage built, String imageId,
            BooleanSupplier cancelled) throws InterruptedException {
        for (ImageGate gate : gates) {
            ImageGate.Verdict verdict = gate.examine(built);
            if (!verdict.passed()) {
                return Optional.of(new BuildOutcome(BuildOutcome.Result.FAILED, imageId, null, null, verdict.reason()));
            }
            if (cancelled.getAsBoolean()) {
                return Optional.of(new BuildOutcome(BuildOutcome.Result.CANCELLED, imageId, null, null,
                        "cancelled while verifying"));
            }
        }
        return Optional.empty();
    }
}
