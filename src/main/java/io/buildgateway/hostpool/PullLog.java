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
 */
final class PullLog {

    private static final Pattern STEP = Pattern.compile("Step \\d+/\\d+ : (.*)", Pattern.DOTALL);
    private static final Pattern DIGEST = Pattern.compile("Digest: (sha256:[0-9a-f]{64})");
    private static final Pattern DONE = Pattern.compile("Status: .* for (\\S+)");

    private final List<PulledImage> pulled = new ArrayList<>();
    private String step;
    private String digest;

    /** A {@code stream} message of the build. */
    void stream(String text) {
        Matcher m = STEP.matcher(text.strip());
        if (m.matches()) {
            step = m.group(1).strip();
            digest = null;
        }
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

    List<PulledImage> pulled() {
        return List.copyOf(pulled);
    }
}
