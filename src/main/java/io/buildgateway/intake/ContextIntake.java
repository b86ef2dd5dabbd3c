package io.buildgateway.intake;

import io.buildgateway.shared.Digest;
import io.buildgateway.shared.Problem;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.UUID;
import org.springframework.stereotype.Service;

/**
 * Receives a build context: streams the body to a temporary file in the store while hashing and counting it (never
 * holding it in memory), inspects it, and only then moves it to its content address. A refused archive leaves
 * nothing behind.
 */
@Service
public class ContextIntake {

    private static final int BUFFER = 256 * 1024;

    private final IntakeProperties properties;
    private final Path store;
    private final Path incoming;
    private final Counter bytes;

    ContextIntake(IntakeProperties properties, MeterRegistry meters) throws IOException {
        this.properties = properties;
        this.store = properties.storeDir().toAbsolutePath().normalize();
        this.incoming = store.resolve("incoming");
        Files.createDirectories(incoming);
        // Uploads that were in flight when the gateway last stopped are incomplete by definition.
        try (var leftovers = Files.newDirectoryStream(incoming, "*.part")) {
            for (Path part : leftovers) {
                Files.deleteIfExists(part);
            }
        }
        this.bytes = Counter.builder("gateway.intake.bytes").description("bytes of build context received")
                .baseUnit("bytes").register(meters);
    }

    /** An accepted context in the store. */
    public record StoredContext(Digest digest, Path path, long size, boolean gzip, int entries,
            long uncompressedBytes, String dockerfile, boolean hasDockerignore, java.util.Set<String> files) {
    }

    /**
     * Refuses a declared length over the limit before reading a byte (so a client using
     * {@code Expect: 100-continue} never sends the body).
     */
    public void checkDeclaredLength(long contentLength) {
        long max = properties.maxContextSize().toBytes();
        if (contentLength > max) {
            throw tooLarge(max);
        }
    }

    private static Problem tooLarge(long max) {
        return new Problem(413, "context-too-large", "Payload too large",
                "the build context is larger than the configured limit of " + max + " bytes");
    }

    public StoredContext receive(InputStream body, String dockerfilePath) {
        return receive(body, dockerfilePath, true);
    }

    /** Checks a context exactly as {@link #receive} does, without keeping it (lint). */
    public StoredContext inspectOnly(InputStream body, String dockerfilePath) {
        return receive(body, dockerfilePath, false);
    }

    private StoredContext receive(InputStream body, String dockerfilePath, boolean keep) {
        String dockerfile;
        try {
            dockerfile = ArchiveInspector.normalizeDockerfilePath(dockerfilePath);
        } catch (UnsafeArchiveException e) {
            throw Problem.badRequest(e.kind(), e.getMessage());
        }
        Path temp = incoming.resolve(UUID.randomUUID() + ".part");
        try {
            MessageDigest sha = sha256();
            long size = copyBounded(body, temp, sha);
            bytes.increment(size);
            ArchiveInspector.Inspection inspection;
            try (InputStream in = Files.newInputStream(temp)) {
                inspection = ArchiveInspector.inspect(in, dockerfile, limits());
            } catch (UnsafeArchiveException e) {
                throw Problem.badRequest(e.kind(), e.getMessage());
            }
            Digest digest = Digest.sha256(sha.digest());
            Path target = pathOf(digest);
            if (keep) {
                moveIntoStore(temp, target);
            }
            return new StoredContext(digest, target, size, inspection.gzip(), inspection.entries(),
                    inspection.uncompressedBytes(), inspection.dockerfile(), inspection.hasDockerignore(),
                    inspection.files());
        } catch (IOException e) {
            throw Problem.badRequest("unreadable-body", "the request body could not be read completely");
        } finally {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                // best effort: a leftover .part file is removed at the next start
            }
        }
    }

    /** Where the archive with this digest lives (it may not exist). */
    public Path pathOf(Digest digest) {
        return store.resolve(digest.hex() + ".ctx");
    }

    private long copyBounded(InputStream body, Path temp, MessageDigest sha) throws IOException {
        long max = properties.maxContextSize().toBytes();
        long total = 0;
        byte[] buffer = new byte[BUFFER];
        try (OutputStream out = new DigestOutputStream(Files.newOutputStream(temp), sha)) {
            int n;
            while ((n = body.read(buffer)) > 0) {
                total += n;
                if (total > max) {
                    throw tooLarge(max);
                }
                out.write(buffer, 0, n);
            }
        }
        if (total == 0) {
            throw Problem.badRequest("unreadable-archive", "the request body is empty; send the build context as "
                    + "a tar or tar.gz archive");
        }
        return total;
    }

    private static void moveIntoStore(Path temp, Path target) throws IOException {
        if (Files.exists(target)) {
            return;
        }
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException e) {
            // another request stored the same bytes first
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private ArchiveInspector.Limits limits() {
        return new ArchiveInspector.Limits(properties.maxUncompressedSize().toBytes(), properties.maxEntries(),
                properties.maxEntrySize().toBytes(), properties.maxPathLength(),
                properties.maxDockerfileSize().toBytes());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
