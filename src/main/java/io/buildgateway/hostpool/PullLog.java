package io.buildgateway.hostpool;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Collects what the daemon pulled during a classic-builder build from its messages. Step headers arrive as
 * {@code stream} text ({@code Step 1/5 : FROM base AS a}); the daemon's pull progress arrives as {@code status}
 * messages, which build steps cannot produce: {@code Digest: sha256:…} and then
 * {@code Status: Image is up to date for <reference>} (or {@code Downloaded newer image for}). Not thread-safe: a
 * build stream is read by one thread.
 *
 * <p>It also notes remote sources the daemon itself fetched ({@code ADD <url>}): the classic builder reports their
 * download as a {@code Downloading} progress message without an id (a layer of a pull always has one), and it is the
 * only record of it, since the step header shows the instruction before build arguments are substituted.
 */
final class PullLog {

    private static final Pattern STEP = Pattern.compile("Step \\d+/\\d+ : (.*)", Pattern.DOTALL);
    private static final Pattern DIGEST = Pattern.compile("Digest: (sha256:[0-9a-f]{64})");
    private static final Pattern DONE = Pattern.compile("Status: .* for (\\S+)");

    private final List<PulledImage> pulled = new ArrayList<>();
    private final List<String> fetched = new ArrayList<>();
    private String step;
    private String digest;
    private String failedStep;

    /** A {@code stream} message of the build. */
    void stream(String text) {
        Matcher m = STEP.matcher(text.strip());
        if (m.matches()) {
            step = m.group(1).strip();
            digest = null;
        }
    }

    /** A {@code status} message of the build with its progress id (null or empty when it has none). */
    void status(String text, String id) {
        if ((id == null || id.isBlank()) && text.strip().equals("Downloading")) {
            String where = step == null ? "(before the first step)" : step;
            if (!fetched.contains(where)) {
                fetched.add(where);
            }
            return;
        }
        status(text);
    }

    /** A {@code status} message of the build. */
    void status(String text) {
        String line = text.strip();
        Matcher d = DIGEST.matcher(line);
        if (d.matches()) {
            digest = d.group(1);
            return;
        }
        Matcher done = DONE.matcher(line);
        if (done.matches()) {
            String reference = done.group(1);
            String resolved = digest;
            int at = reference.indexOf('@');
            if (resolved == null && at > 0 && reference.startsWith("sha256:", at + 1)) {
                resolved = reference.substring(at + 1);
            }
            if (resolved != null) {
                PulledImage image = new PulledImage(reference, resolved, step);
                if (!pulled.contains(image)) {
                    pulled.add(image);
                }
            }
            digest = null;
        }
    }

    /**
     * The daemon's error (an {@code errorDetail} message, which ends the build): notes the step that was running,
     * so that the confinement check can tell the error of an ADD (a fetch of a URL) from any other.
     */
    void error(String message) {
        if (failedStep == null) {
            failedStep = step == null ? "(before the first step)" : step;
        }
    }

    /** The step (as the daemon printed it) running when the daemon reported its error; null without an error. */
    String failedStep() {
        return failedStep;
    }

    List<PulledImage> pulled() {
        return List.copyOf(pulled);
    }

    /** The steps (as the daemon printed them) in which the daemon downloaded a remote source itself. */
    List<String> fetched() {
        return List.copyOf(fetched);
    }
}
