package io.buildgateway.hostpool;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A built image still on its build host, as the gates see it: its facts, its base's facts, and its content as
 * streams from the daemon ({@code docker save} for the layers, {@code docker export} of a created — never started —
 * container for the flattened filesystem). Nothing here runs the image.
 */
public interface BuiltImage {

    BuildJob job();

    /** Where the image will be pushed: {@code <registry>/<team>/<name>:<tag>}. */
    String reference();

    ImageFacts facts();

    /** The facts of the image the build's final stage started from, as the host has it; empty for scratch. */
    Optional<ImageFacts> base() throws IOException;

    /**
     * When the build's timeout ends ({@code gateway.hostpool.build.timeout} after the build started): a gate must
     * have answered by then.
     */
    Instant deadline();

    /** Appends a line to the build's log. */
    Consumer<String> output();

    /** Streams {@code docker save} of the image (a tar of layer tars with a {@code manifest.json}). */
    void save(StreamReader reader) throws IOException;

    /** Streams the flattened root filesystem of the image as a tar. */
    void export(StreamReader reader) throws IOException;

    /**
     * The image as the push beside the checks stored it in the registry, once that push has ended (waited for up to
     * {@code wait}); empty when the image is not pushed beside the checks, or its push failed or did not end in time.
     */
    default Optional<RegistryCopy> registryCopy(java.time.Duration wait) throws InterruptedException {
        return Optional.empty();
    }

    @FunctionalInterface
    interface StreamReader {
        void read(InputStream in) throws IOException;
    }
}
