package io.buildgateway.hostpool;

import java.io.IOException;
import java.util.Optional;

/**
 * A built image as its push beside the checks (the quarantine push) stored it in the registry: the manifest the
 * daemon reported and its blobs, read with the gateway's own credentials. What is read here is only as good as the
 * reader's checks: the scanner anchors it on the image id the daemon reported (docs/security.md, "Reading the
 * image's own layers from the registry").
 */
public final class RegistryCopy {

    private final ImageRegistry registry;
    private final String repository;
    private final String digest;

    public RegistryCopy(ImageRegistry registry, String repository, String digest) {
        this.registry = registry;
        this.repository = repository;
        this.digest = digest;
    }

    /** The repository the image was pushed to. */
    public String repository() {
        return repository;
    }

    /** The manifest digest the daemon reported for its push. */
    public String digest() {
        return digest;
    }

    /** The manifest stored under {@link #digest()}, if the registry has it (its digest is not checked here). */
    public Optional<ImageRegistry.Manifest> manifest(String... accept) throws IOException {
        return registry.manifest(repository, digest, accept);
    }

    /** A small blob (the image configuration), read whole; the registry's answer is checked against its digest. */
    public byte[] blob(String blobDigest) throws IOException {
        return registry.blob(repository, blobDigest);
    }

    /** A blob as a stream; NOT checked against its digest here: the reader checks what it read. */
    public void stream(String blobDigest, BuiltImage.StreamReader reader) throws IOException {
        registry.streamBlob(repository, blobDigest, reader);
    }
}
