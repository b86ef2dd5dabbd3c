package io.buildgateway.hostpool;

/**
 * An image the daemon pulled for a build, as the daemon reported it while building: the reference it pulled, the
 * registry manifest digest it resolved that reference to, and the Dockerfile step that needed it ({@code FROM …},
 * {@code COPY --from=…}). Taken from the daemon's own pull messages, so it names exactly what the build used, even
 * when a tag moves while the build runs.
 */
public record PulledImage(String reference, String digest, String step) {
}
