package io.buildgateway.intake;

import io.buildgateway.shared.Digest;
import io.buildgateway.shared.Problem;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Function;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.LoggerFactory;
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
    private final Counter storeFull;

    ContextIntake(IntakeProperties properties, MeterRegistry meters) throws IOException {
        this.properties = properties;
        this.store = properties.storeDir().toAbsolutePath().normalize();
        this.incoming = store.resolve("incoming");
        Files.createDirectories(incoming);
        // Uploads that were in flight when the gateway last stopped are incomplete by definition.
        try (var leftovers = Files.newDirectoryStream(incoming)) {
            for (Path part : leftovers) {
                if (Files.isDirectory(part) && part.getFileName().toString().endsWith(".links")) {
                    try (var spilled = Files.list(part)) {
                        for (Path f : (Iterable<Path>) spilled::iterator) {
                            Files.deleteIfExists(f);
                        }
                    }
                    Files.deleteIfExists(part);
                } else if (part.getFileName().toString().endsWith(".part")) {
                    Files.deleteIfExists(part);
                }
            }
        }
        this.storeFull = Counter.builder("gateway.intake.store.full")
                .description("submissions refused 507 because the context store could not be written").register(meters);
        this.bytes = Counter.builder("gateway.intake.bytes").description("bytes of build context received")
                .baseUnit("bytes").register(meters);
    }

    /**
     * An accepted context in the store. {@code hardlinkTargets}: the regular files that hard links of the archive
     * share (the re-pack keeps their content to materialise the links).
     */
    public record StoredContext(Digest digest, Path path, long size, boolean gzip, int entries,
            long uncompressedBytes, String dockerfile, boolean hasDockerignore, Set<String> files,
            Set<String> hardlinkTargets) {
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
            } catch (UncheckedIOException e) {
                // the re-pack's own write, which the inspector keeps apart from the archive's faults: a full store
                // is a 507 below, like a full store during the upload, not an internal error
                throw e.getCause();
            }
            Digest digest = Digest.sha256(sha.digest());
            Path target = pathOf(digest);
            if (keep) {
                moveIntoStore(temp, target);
            }
            return new StoredContext(digest, target, size, inspection.gzip(), inspection.entries(),
                    inspection.uncompressedBytes(), inspection.dockerfile(), inspection.hasDockerignore(),
                    inspection.files(), inspection.hardlinkTargets());
        } catch (IOException e) {
            if (e instanceof StoreWriteFailure || isOutOfSpace(e)) {
                throw storeFull(e);
            }
            throw Problem.badRequest("unreadable-body", "the request body could not be read completely");
        } finally {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                // best effort: a leftover .part file is removed at the next start
            }
        }
    }

    /**
     * Re-packs an accepted upload into the archive the daemon builds: read once more through the same inspection
     * (so it is checked again), written as a fresh plain tar of directories, regular files (hard links
     * materialised) and in-context symlinks, each path once, in the upload's order, with deterministic headers, and
     * the Dockerfile at {@code dockerfilePath} replaced by {@code dockerfileBytes} (regular file, 0644). Streamed: the
     * only copies are the output and the content of hard-linked files. The result is stored under its own digest
     * (the same upload and Dockerfile always give the same digest); the upload stays where it is.
     */
    public StoredContext repack(StoredContext uploaded, String dockerfilePath, byte[] dockerfileBytes) {
        String dockerfile;
        try {
            dockerfile = ArchiveInspector.normalizeDockerfilePath(dockerfilePath);
        } catch (UnsafeArchiveException e) {
            throw Problem.badRequest(e.kind(), e.getMessage());
        }
        String id = UUID.randomUUID().toString();
        Path temp = incoming.resolve(id + ".part");
        Path spill = incoming.resolve(id + ".links");
        try {
            Files.createDirectories(spill);
            MessageDigest sha = sha256();
            ArchiveInspector.Inspection inspection;
            Repacker repacker;
            long size;
            try (InputStream in = Files.newInputStream(uploaded.path());
                    CountingOutputStream counted = new CountingOutputStream(new DigestOutputStream(
                            new BufferedOutputStream(Files.newOutputStream(temp), BUFFER), sha))) {
                repacker = new Repacker(counted, uploaded.hardlinkTargets(), dockerfileBytes, spill);
                inspection = ArchiveInspector.inspect(in, dockerfile, limits(), repacker);
                repacker.finish();
                counted.flush();
                size = counted.count;
            } catch (UnsafeArchiveException e) {
                throw Problem.badRequest(e.kind(), e.getMessage());
            } catch (UncheckedIOException e) {
                // the re-pack's own write, which the inspector keeps apart from the archive's faults: a full store
                // is a 507 below, like a full store during the upload, not an internal error
                throw e.getCause();
            }
            Digest digest = Digest.sha256(sha.digest());
            Path target = pathOf(digest);
            moveIntoStore(temp, target);
            return new StoredContext(digest, target, size, false, repacker.entries(), repacker.uncompressedBytes(),
                    new String(dockerfileBytes, StandardCharsets.UTF_8), inspection.hasDockerignore(),
                    inspection.files(), Set.of());
        } catch (IOException e) {
            if (isOutOfSpace(e)) {
                throw storeFull(e);
            }
            throw new UncheckedIOException("re-packing context " + uploaded.digest() + " failed", e);
        } finally {
            try {
                Files.deleteIfExists(temp);
                if (Files.isDirectory(spill)) {
                    try (var files = Files.list(spill)) {
                        for (Path f : (Iterable<Path>) files::iterator) {
                            Files.deleteIfExists(f);
                        }
                    }
                    Files.deleteIfExists(spill);
                }
            } catch (IOException ignored) {
                // best effort: leftovers in incoming/ are removed at the next start
            }
        }
    }

    /**
     * The warm-up's run of {@link #receive} and {@link #repack} over an archive in memory (docs/operations.md,
     * "Warm-up before readiness"): the same inspection, digest and re-pack code, but nothing is written to the store,
     * nothing is kept and no metric counts it. Returns the re-packed archive's digest. Only for archives without hard
     * links (the re-pack would spill their content to disk), which the warm-up's own archives are; one with links is
     * refused.
     */
    public Digest rehearse(byte[] archive, String dockerfilePath, Function<StoredContext,
            byte[]> dockerfileFor) {
        try {
            String dockerfile = ArchiveInspector.normalizeDockerfilePath(dockerfilePath);
            MessageDigest sha = sha256();
            ArchiveInspector.Inspection inspection = ArchiveInspector.inspect(
                    new DigestInputStream(new ByteArrayInputStream(archive), sha), dockerfile, limits());
            if (!inspection.hardlinkTargets().isEmpty()) {
                throw new IllegalArgumentException("a rehearsal's archive has no hard links");
            }
            StoredContext uploaded = new StoredContext(Digest.sha256(sha.digest()), null, archive.length,
                    inspection.gzip(), inspection.entries(), inspection.uncompressedBytes(), inspection.dockerfile(),
                    inspection.hasDockerignore(), inspection.files(), inspection.hardlinkTargets());
            MessageDigest repacked = sha256();
            Repacker repacker = new Repacker(new DigestOutputStream(OutputStream.nullOutputStream(), repacked),
                    Set.of(), dockerfileFor.apply(uploaded), incoming);
            ArchiveInspector.inspect(new ByteArrayInputStream(archive), dockerfile, limits(), repacker);
            repacker.finish();
            return Digest.sha256(repacked.digest());
        } catch (UnsafeArchiveException e) {
            throw Problem.badRequest(e.kind(), e.getMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A folder of its own under the store's {@code incoming/} for a build's temporary files (removed by the caller;
     * leftovers at the next start): the store's disk, not {@code /tmp}.
     */
    public Path scratch() throws IOException {
        Path dir = incoming.resolve(UUID.randomUUID() + ".links");
        Files.createDirectories(dir);
        return dir;
    }

    /** The Dockerfile of a stored re-packed context, as the daemon will read it (at most 4 MiB). */
    public String dockerfileOf(Path built, String dockerfilePath) throws IOException {
        String name = dockerfileEntry(dockerfilePath);
        try (var tar = new TarArchiveInputStream(
                new BufferedInputStream(Files.newInputStream(built), BUFFER), StandardCharsets.UTF_8.name())) {
            for (var e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
                if (e.isFile() && e.getName().equals(name)) {
                    if (e.getSize() > 4L * 1024 * 1024) {
                        throw new IOException("the Dockerfile of " + built.getFileName() + " is over 4 MiB");
                    }
                    return new String(tar.readAllBytes(), StandardCharsets.UTF_8);
                }
            }
        }
        throw new IOException("the stored context " + built.getFileName() + " has no " + name);
    }

    /** A file fetched for a build, to add to its context at {@code name} (mode and whole-second mtime as given). */
    public record FetchedFile(String name, Path file, int mode, long mtime) {
    }

    /**
     * The build's context as the daemon receives it when the gateway fetched files for it ({@code ADD <url>},
     * docs/egress.md): the stored re-packed context {@code built} read again (so it is checked again), the Dockerfile
     * at {@code dockerfilePath} replaced by {@code dockerfileBytes}, the folder {@code folder} and the fetched files
     * in it added after the context's entries, and {@code .dockerignore} (when the context has one) told not to
     * exclude that folder. Written to {@code out}, not into the store: it lives as long as the build's run.
     *
     * @return the digest of what was written
     */
    public Digest withFetched(Path built, String dockerfilePath, byte[] dockerfileBytes, String folder,
            List<FetchedFile> files, Path out) throws IOException {
        String dockerfile;
        try {
            dockerfile = ArchiveInspector.normalizeDockerfilePath(dockerfilePath);
        } catch (UnsafeArchiveException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        MessageDigest sha = sha256();
        Path spill = scratch();
        try (InputStream in = Files.newInputStream(built);
                OutputStream o = new DigestOutputStream(new BufferedOutputStream(Files.newOutputStream(out),
                        BUFFER), sha)) {
            Repacker repacker = new Repacker(o, Set.of(), dockerfileBytes, spill);
            repacker.appendToDockerignore(("!" + folder + "\n!" + folder + "/**\n")
                    .getBytes(StandardCharsets.UTF_8));
            ArchiveInspector.Inspection inspection = ArchiveInspector.inspect(in, dockerfile, limits(), repacker);
            if (inspection.files().stream().anyMatch(f -> f.equals(folder) || f.startsWith(folder + "/"))) {
                throw new IOException("the context already has " + folder);
            }
            Set<String> folders = new TreeSet<>();
            for (FetchedFile f : files) {
                for (int slash = f.name().indexOf('/'); slash > 0; slash = f.name().indexOf('/', slash + 1)) {
                    folders.add(f.name().substring(0, slash));
                }
            }
            long now = Instant.now().getEpochSecond();
            for (String d : folders) {
                repacker.addDirectory(d, now);
            }
            for (FetchedFile f : files) {
                repacker.addFile(f.name(), f.mode(), f.mtime(), f.file());
            }
            repacker.finish();
        } catch (UnsafeArchiveException e) {
            throw new IOException("the stored context " + built.getFileName() + " no longer reads: "
                    + e.getMessage(), e);
        } finally {
            try (var left = Files.list(spill)) {
                for (Path f : (Iterable<Path>) left::iterator) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(spill);
        }
        return Digest.sha256(sha.digest());
    }

    /**
     * The Dockerfile's entry name in a re-packed context: the request's path normalised as the re-pack wrote it
     * ({@code ./build//Dockerfile.prod} is {@code build/Dockerfile.prod}). The path was checked at submission.
     */
    public static String dockerfileEntry(String dockerfilePath) {
        try {
            return ArchiveInspector.normalizeDockerfilePath(dockerfilePath);
        } catch (UnsafeArchiveException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * Removes a stored context at once (a REJECTED build's upload: its digest and findings stay in the build record
     * and the audit trail). The store is content-addressed: the caller makes sure no other build still needs the
     * same digest. Returns whether a file was removed.
     */
    public boolean delete(Digest digest) {
        try {
            return Files.deleteIfExists(pathOf(digest));
        } catch (IOException e) {
            throw new UncheckedIOException("deleting context " + digest + " failed", e);
        }
    }

    private static final class CountingOutputStream extends FilterOutputStream {
        private long count;

        CountingOutputStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
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
        OutputStream out;
        try {
            out = new DigestOutputStream(Files.newOutputStream(temp), sha);
        } catch (IOException e) {
            throw new StoreWriteFailure(e);
        }
        try (OutputStream closing = out) {
            int n;
            while ((n = body.read(buffer)) > 0) {
                total += n;
                if (total > max) {
                    throw tooLarge(max);
                }
                try {
                    out.write(buffer, 0, n);
                } catch (IOException e) {
                    throw new StoreWriteFailure(e);
                }
            }
            try {
                out.flush();
            } catch (IOException e) {
                throw new StoreWriteFailure(e);
            }
        }
        if (total == 0) {
            throw Problem.badRequest("unreadable-archive", "the request body is empty; send the build context as "
                    + "a tar or tar.gz archive");
        }
        return total;
    }

    /** A write to the store failed (not a read of the request body): the gateway's fault, never the client's. */
    private static final class StoreWriteFailure extends IOException {
        StoreWriteFailure(IOException cause) {
            super(cause.getMessage(), cause);
        }
    }

    /** ENOSPC or EDQUOT, as the JDK reports them in the message of a write's IOException (there is no subclass). */
    static boolean isOutOfSpace(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String message = t.getMessage();
            if (message != null && (message.contains("No space left on device")
                    || message.contains("Disk quota exceeded"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * 507 when the store is full (or a write to it failed): nothing of the submission was kept (the partial file is
     * removed by the caller's finally) and no build row is written; the client may retry once space returns.
     */
    private Problem storeFull(IOException e) {
        storeFull.increment();
        boolean full = isOutOfSpace(e);
        LoggerFactory.getLogger(ContextIntake.class).error("the context store {} cannot take a context: {}",
                store, e.getMessage());
        return new Problem(507, "insufficient-storage", "Insufficient storage", full
                ? "the gateway's context store is full; nothing of this submission was kept; retry later"
                : "the gateway could not write to its context store; nothing of this submission was kept; retry later")
                .with("retryAfterSeconds", 60).auditedAsRefusal();
    }

    /**
     * Puts a written context in place durably: its bytes are on disk before the rename, and the rename is on disk
     * (the folder synced) before the caller commits the build row and answers 202, so a machine that crashes after
     * the answer still has the context of every build it accepted. A file already in place was stored this way.
     */
    private static void moveIntoStore(Path temp, Path target) throws IOException {
        if (Files.exists(target)) {
            // The same bytes again (a re-upload of one commit): made young again, so that context retention, which
            // deletes files older than its period that no build row it read names, does not delete it while this
            // submission's row is not yet committed (a review's finding, 2026-12-06).
            try {
                Files.setLastModifiedTime(target, java.nio.file.attribute.FileTime.from(java.time.Instant.now()));
            } catch (IOException e) {
                // deleted meanwhile: stored again below
            }
            if (Files.exists(target)) {
                return;
            }
        }
        try (FileChannel file = FileChannel.open(temp, StandardOpenOption.WRITE)) {
            file.force(true);
        }
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException e) {
            // another request stored the same bytes first
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        try (FileChannel folder = FileChannel.open(target.getParent(), StandardOpenOption.READ)) {
            folder.force(true);
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
