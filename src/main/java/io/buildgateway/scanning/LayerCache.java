package io.buildgateway.scanning;

import io.buildgateway.shared.ReadTee;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Extracted image layers, content addressed by their diff id (the SHA-256 of the uncompressed layer tar, computed by
 * the gateway from the bytes it extracted — never taken from a name the image or the daemon chose), so that a base
 * layer is extracted once for every image built on it. Each entry holds the layer's files as a tree ({@code tree/}),
 * and the layer's operations in tar order ({@code ops}: directories with their modes and owners, files, links,
 * whiteouts and opaque directories), from which {@link RootfsView} builds an image's root filesystem out of hard
 * links.
 *
 * <p>What an image's layers could do to the cache, and why they cannot: an entry is only ever stored under the digest
 * of the bytes it was extracted from, in a folder of its own that is renamed into place when complete (a reader never
 * sees half a layer, two scans extracting the same layer keep the first); entries outside the layer's root
 * ({@code ..}) or written through a link the layer planted make the layer unusable (an {@link IOException}); device
 * nodes and fifos are not created; setuid and setgid bits are kept as data for OpenSCAP to see, in a cache folder only
 * its owner can enter (0700). Views link the cached files and never write through them ({@link RootfsView} unlinks
 * before it writes). The cache is bounded ({@code gateway.scanning.layer-cache-size}): after each store the least
 * recently used layers that no scan is using are removed until it fits.
 *
 * <p>Layers are recognised before they are read by a fingerprint (the layer tar's size and the SHA-256 of its first
 * 64 KiB), which only decides whether to copy the stream aside; whether the layer really is the cached one is decided
 * by its full digest when it has been read ({@link Capture#missing()} names the layers that turned out not to be).
 * Thread-safe.
 */
final class LayerCache {

    private static final Logger log = LoggerFactory.getLogger(LayerCache.class);
    static final int FINGERPRINT_BYTES = 64 * 1024;
    private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

    static final byte OP_DIR = 'D';
    static final byte OP_FILE = 'F';
    static final byte OP_SYMLINK = 'L';
    static final byte OP_WHITEOUT = 'W';
    static final byte OP_OPAQUE = 'O';

    private final Path dir;
    private final long maxBytes;
    private final boolean canChown;

    private final Object lock = new Object();
    private final Map<String, String> byFingerprint = new HashMap<>(); // guarded by lock
    private final Map<String, Long> sizes = new HashMap<>(); // guarded by lock: diff id hex → layer tar bytes
    private final Map<String, Integer> inUse = new HashMap<>(); // guarded by lock

    LayerCache(Path dir, long maxBytes) throws IOException {
        this.dir = dir;
        this.maxBytes = maxBytes;
        this.canChown = "root".equals(System.getProperty("user.name"));
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                if (name.startsWith(".")) {
                    if (!ownedByALiveProcess(name)) {
                        deleteTree(p); // an extraction or removal a stopped gateway left behind
                    }
                } else if (HEX.matcher(name).matches() && Files.isRegularFile(p.resolve("meta"))) {
                    try (DataInputStream in = new DataInputStream(Files.newInputStream(p.resolve("meta")))) {
                        String fingerprint = in.readUTF();
                        long size = in.readLong();
                        byFingerprint.put(fingerprint, name);
                        sizes.put(name, size);
                    } catch (IOException e) {
                        log.warn("layer cache entry {} is unreadable; removed", p, e);
                        deleteTree(p);
                    }
                } else {
                    deleteTree(p);
                }
            }
        }
    }

    Path dir() {
        return dir;
    }

    boolean has(String diffId) {
        synchronized (lock) {
            return sizes.containsKey(hex(diffId));
        }
    }

    /** The layers' bytes in the cache, for the operators' view and the tests. */
    long size() {
        synchronized (lock) {
            return sizes.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    Path tree(String diffId) {
        return dir.resolve(hex(diffId)).resolve("tree");
    }

    Path ops(String diffId) {
        return dir.resolve(hex(diffId)).resolve("ops");
    }

    /**
     * Marks the layers in use (pruning leaves them alone) and as recently used, until the lease is closed. Throws when
     * one is not cached.
     */
    Lease lease(List<String> diffIds) throws IOException {
        List<String> held = new ArrayList<>();
        synchronized (lock) {
            for (String id : diffIds) {
                if (!sizes.containsKey(hex(id))) {
                    throw new IOException("layer " + id + " is not in the layer cache");
                }
            }
            for (String id : diffIds) {
                inUse.merge(hex(id), 1, Integer::sum);
                held.add(hex(id));
            }
        }
        FileTime now = FileTime.from(Instant.now());
        for (String h : held) {
            try {
                Files.setLastModifiedTime(dir.resolve(h).resolve("meta"), now);
            } catch (IOException ignored) {
                // only the pruning order suffers
            }
        }
        return new Lease(held);
    }

    final class Lease implements AutoCloseable {
        private final List<String> held;
        private boolean closed;

        private Lease(List<String> held) {
            this.held = held;
        }

        @Override
        public void close() {
            synchronized (lock) {
                if (closed) {
                    return;
                }
                closed = true;
                for (String h : held) {
                    inUse.computeIfPresent(h, (k, n) -> n == 1 ? null : n - 1);
                }
            }
        }
    }

    /** A layer tar's fingerprint: the SHA-256 of its size and its first {@link #FINGERPRINT_BYTES} bytes. */
    static String fingerprint(long size, byte[] head) {
        MessageDigest sha = sha256();
        sha.update(Long.toString(size).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        sha.update((byte) ':');
        sha.update(head, 0, Math.min(head.length, FINGERPRINT_BYTES));
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Starts capturing the layers of one {@code docker save} stream; temporary copies go to {@code scratch}. */
    Capture capture(Path scratch, boolean always) {
        return new Capture(scratch, always);
    }

    /**
     * The layers of one save stream that are not cached yet: each is copied aside while it is read ({@link #layer}),
     * and stored ({@link #store()}) once its digest is known. Closing removes the copies left.
     */
    final class Capture implements AutoCloseable {

        private final Path scratch;
        private final boolean always;
        private final Map<String, Copied> pending = new LinkedHashMap<>();
        private final List<String> missing = new ArrayList<>();
        private Copied current;
        private OutputStream currentOut;
        private String candidate;
        private byte[] currentHead;
        private long currentCopied;

        private record Copied(Path tar, String fingerprint, long size) {
        }

        private Capture(Path scratch, boolean always) {
            this.scratch = scratch;
            this.always = always;
        }

        /**
         * The stream to read the next layer from: the same stream when its fingerprint names a cached layer, else a
         * stream that copies what is read into a scratch file. {@code in} must support mark and reset.
         */
        InputStream layer(long size, BufferedInputStream in) throws IOException {
            in.mark(FINGERPRINT_BYTES + 1);
            byte[] head = in.readNBytes(FINGERPRINT_BYTES);
            in.reset();
            String fingerprint = size < 0 ? null : fingerprint(size, head);
            synchronized (lock) {
                candidate = always || fingerprint == null ? null : byFingerprint.get(fingerprint);
            }
            current = null;
            if (candidate != null) {
                return in;
            }
            Files.createDirectories(scratch);
            Path tar = scratch.resolve("layer-" + UUID.randomUUID() + ".tar");
            OutputStream out = Files.newOutputStream(tar, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            current = new Copied(tar, fingerprint, size);
            currentHead = head;
            currentCopied = 0;
            OutputStream copy = new java.io.BufferedOutputStream(out, 64 * 1024);
            currentOut = copy;
            return new ReadTee(in, (b, off, len) -> {
                copy.write(b, off, len);
                currentCopied += len;
            });
        }

        /**
         * The stream to read the next layer from when its size is not known before it was read (a layer decompressed
         * from the registry): always copied aside; its fingerprint is taken once it was read to the end.
         */
        InputStream layer(BufferedInputStream in) throws IOException {
            return layer(-1, in);
        }

        /** The layer just read had this diff id. */
        void read(String diffId) throws IOException {
            if (current != null && current.fingerprint() == null) {
                current = new Copied(current.tar(), fingerprint(currentCopied, currentHead), currentCopied);
            }
            currentHead = null;
            if (current != null) {
                currentOut.close();
                if (has(diffId) || pending.containsKey(diffId)) {
                    Files.deleteIfExists(current.tar());
                } else {
                    pending.put(diffId, current);
                }
            } else if (candidate != null && !candidate.equals(hex(diffId)) && !has(diffId)) {
                missing.add(diffId); // the fingerprint matched another layer: read it again
            }
            current = null;
            currentOut = null;
            candidate = null;
        }

        /** Layers recognised by fingerprint whose digest showed another layer; not captured. */
        List<String> missing() {
            return List.copyOf(missing);
        }

        /** Extracts every captured layer into the cache (within the budget's deadline). */
        void store(ScanBudget budget) throws IOException {
            for (Map.Entry<String, Copied> p : pending.entrySet()) {
                budget.check();
                Copied c = p.getValue();
                try (InputStream in = Files.newInputStream(c.tar())) {
                    LayerCache.this.store(p.getKey(), c.fingerprint(), c.size(), in, budget);
                } finally {
                    Files.deleteIfExists(c.tar());
                }
            }
            pending.clear();
        }

        /** Removes the copies not stored, the one a stopped read left half-written, and the scratch folder. */
        @Override
        public void close() {
            if (current != null) {
                try {
                    currentOut.close();
                    Files.deleteIfExists(current.tar());
                } catch (IOException ignored) {
                    // the scratch folder is removed with the scan's work folder
                }
                current = null;
            }
            for (Copied c : pending.values()) {
                try {
                    Files.deleteIfExists(c.tar());
                } catch (IOException ignored) {
                    // the scratch folder is removed with the scan's work folder
                }
            }
            pending.clear();
            try {
                Files.deleteIfExists(scratch);
            } catch (IOException ignored) {
                // not empty (another capture of the same scan) or gone: removed with the scan's work folder
            }
        }
    }

    /**
     * Extracts one layer tar into the cache under {@code diffId}, which the caller computed from these same bytes.
     * Keeps the first copy when another scan stored it meanwhile. Prunes afterwards.
     */
    void store(String diffId, String fingerprint, long size, InputStream layerTar, ScanBudget budget)
            throws IOException {
        String h = hex(diffId);
        if (has(diffId)) {
            return;
        }
        Path staging = dir.resolve(".new-" + PID + "-" + UUID.randomUUID());
        try {
            Path tree = Files.createDirectories(staging.resolve("tree"));
            try (DataOutputStream ops = new DataOutputStream(new java.io.BufferedOutputStream(
                    Files.newOutputStream(staging.resolve("ops"), StandardOpenOption.CREATE_NEW)))) {
                extract(layerTar, tree.toRealPath(), ops, budget);
            }
            try (DataOutputStream meta = new DataOutputStream(Files.newOutputStream(staging.resolve("meta"),
                    StandardOpenOption.CREATE_NEW))) {
                meta.writeUTF(fingerprint);
                meta.writeLong(size);
            }
            synchronized (lock) {
                if (!sizes.containsKey(h)) {
                    try {
                        Files.move(staging, dir.resolve(h), StandardCopyOption.ATOMIC_MOVE);
                        sizes.put(h, size);
                        byFingerprint.put(fingerprint, h);
                    } catch (AtomicMoveNotSupportedException e) {
                        throw new IOException("layer cache entry " + h + " cannot be put in place: " + e, e);
                    } catch (FileSystemException e) {
                        // the JDK reports a rename onto a non-empty folder as "Directory not empty", not as one of
                        // its subclasses
                        if (!Files.isDirectory(dir.resolve(h), LinkOption.NOFOLLOW_LINKS)) {
                            throw e;
                        }
                        adopt(h, e);
                    }
                }
            }
        } finally {
            deleteTree(staging);
        }
        prune();
    }

    /**
     * Another cache on the same folder (another gateway process, or a second instance in one JVM) put the entry in
     * place first, complete (renamed into place whole): it is kept, as when another scan of this cache stored it.
     */
    private void adopt(String h, IOException collision) throws IOException {
        try (DataInputStream in = new DataInputStream(Files.newInputStream(dir.resolve(h).resolve("meta")))) {
            String fingerprint = in.readUTF();
            sizes.put(h, in.readLong());
            byFingerprint.put(fingerprint, h);
        } catch (IOException e) {
            IOException failure = new IOException("layer cache entry " + h + " cannot be put in place: " + collision
                    + "; the entry there is unreadable: " + e, collision);
            failure.addSuppressed(e);
            throw failure;
        }
    }

    private static final long PID = ProcessHandle.current().pid();

    /**
     * Whether a staging or trash folder ({@code .new-<pid>-…}, {@code .old-<pid>-…}) belongs to a process that still
     * runs: another gateway on the same folder is extracting or removing there. Older names carry no pid.
     */
    static boolean ownedByALiveProcess(String name) {
        String[] parts = name.split("-", 3);
        if (parts.length < 3) {
            return false;
        }
        try {
            long pid = Long.parseLong(parts[1]);
            return pid != PID && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /**
     * One layer tar into {@code tree}: regular files with their owners and modes (setuid bits included), hard links
     * to files of the same layer, symbolic links as they are (never followed here); directories, whiteouts and
     * opaque directories recorded as operations. Device nodes and fifos are skipped.
     */
    private void extract(InputStream layerTar, Path tree, DataOutputStream ops, ScanBudget budget)
            throws IOException {
        TarArchiveInputStream tar = new TarArchiveInputStream(layerTar);
        TarArchiveEntry e;
        while ((e = tar.getNextEntry()) != null) {
            budget.check();
            String path = LayerAudit.normalise(e.getName());
            if (path.equals("/")) {
                ops.writeByte(OP_DIR);
                ops.writeUTF("/");
                attributes(ops, e);
                continue;
            }
            if (("/" + path + "/").contains("/../") || path.contains("/./") || path.contains("//")) {
                throw new IOException("layer entry outside its root: " + e.getName());
            }
            String name = path.substring(path.lastIndexOf('/') + 1);
            String parentPath = path.substring(0, path.lastIndexOf('/'));
            if (name.equals(".wh..wh..opq")) {
                ops.writeByte(OP_OPAQUE);
                ops.writeUTF(parentPath.isEmpty() ? "/" : parentPath);
                continue;
            }
            if (name.startsWith(".wh.")) {
                ops.writeByte(OP_WHITEOUT);
                ops.writeUTF(parentPath + "/" + name.substring(4));
                continue;
            }
            if (e.isDirectory()) {
                ops.writeByte(OP_DIR);
                ops.writeUTF(path);
                attributes(ops, e);
                continue;
            }
            if (e.isSymbolicLink()) {
                ops.writeByte(OP_SYMLINK);
                ops.writeUTF(path);
                ops.writeUTF(e.getLinkName());
                continue;
            }
            boolean hardLink = e.isLink();
            if (!hardLink && !LayerAudit.regular(e)) {
                continue; // devices, fifos: not needed to evaluate content, and not creatable without privileges
            }
            Path target = tree.resolve(path.substring(1));
            Path parent = Files.createDirectories(target.getParent());
            if (!parent.toRealPath().equals(parent)) {
                throw new IOException("layer entry written through a link: " + e.getName());
            }
            if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                deleteTree(target);
            } else {
                Files.deleteIfExists(target); // unlink before write: never write into a file another name shares
            }
            if (hardLink) {
                String linkPath = LayerAudit.normalise(e.getLinkName());
                if (("/" + linkPath + "/").contains("/../")) {
                    throw new IOException("layer hard link outside its root: " + e.getLinkName());
                }
                Path linked = tree.resolve(linkPath.substring(1));
                if (!Files.isRegularFile(linked, LinkOption.NOFOLLOW_LINKS)
                        || !linked.getParent().toRealPath().equals(linked.getParent())) {
                    continue; // a hard link to nothing this layer holds: skipped, as the extraction before did
                }
                Files.createLink(target, linked);
            } else {
                Files.copy(tar, target);
                if (canChown) { // owner before mode: changing the owner clears setuid bits
                    Files.setAttribute(target, "unix:uid", (int) e.getLongUserId(), LinkOption.NOFOLLOW_LINKS);
                    Files.setAttribute(target, "unix:gid", (int) e.getLongGroupId(), LinkOption.NOFOLLOW_LINKS);
                }
                Files.setAttribute(target, "unix:mode", e.getMode() & 07777, LinkOption.NOFOLLOW_LINKS);
            }
            ops.writeByte(OP_FILE);
            ops.writeUTF(path);
        }
    }

    private static void attributes(DataOutputStream ops, TarArchiveEntry e) throws IOException {
        ops.writeInt(e.getMode() & 07777);
        ops.writeLong(e.getLongUserId());
        ops.writeLong(e.getLongGroupId());
    }

    /** Removes least recently used layers no scan holds until the cache fits its bound. */
    void prune() {
        List<Path> doomed = new ArrayList<>();
        synchronized (lock) {
            long total = sizes.values().stream().mapToLong(Long::longValue).sum();
            if (total <= maxBytes) {
                return;
            }
            List<String> order = new ArrayList<>(sizes.keySet());
            Map<String, Long> used = new HashMap<>();
            for (String h : order) {
                try {
                    used.put(h, Files.getLastModifiedTime(dir.resolve(h).resolve("meta")).toMillis());
                } catch (IOException e) {
                    used.put(h, 0L);
                }
            }
            order.sort(Comparator.comparing(used::get));
            for (String h : order) {
                if (total <= maxBytes) {
                    break;
                }
                if (inUse.containsKey(h)) {
                    continue;
                }
                Path trash = dir.resolve(".old-" + PID + "-" + UUID.randomUUID());
                try {
                    Files.move(dir.resolve(h), trash, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    log.warn("layer cache entry {} could not be removed", h, e);
                    continue;
                }
                total -= sizes.remove(h);
                byFingerprint.values().remove(h);
                doomed.add(trash);
            }
        }
        doomed.forEach(LayerCache::deleteTree);
    }

    static String hex(String diffId) {
        String h = diffId.startsWith("sha256:") ? diffId.substring(7) : diffId;
        if (!HEX.matcher(h).matches()) {
            throw new IllegalArgumentException("not a sha256 digest: " + diffId);
        }
        return h;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Removes a tree without following links out of it; what cannot be removed is left for the next clean-up and
     * logged. Each directory is made the owner's to list, enter and write before its entries are read: a directory
     * the image made read-only must not keep its content from a gateway that is not root (made writable after its
     * children, as before, it did).
     */
    static void deleteTree(Path root) {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            deleteEntry(root);
        } catch (IOException e) {
            log.warn("could not remove {}", root, e);
        }
    }

    private static void deleteEntry(Path entry) throws IOException {
        if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.setPosixFilePermissions(entry, PosixFilePermissions.fromString("rwx------"));
            } catch (IOException | UnsupportedOperationException notOwner) {
                // not the owner (and not root), or no POSIX modes: the listing or the deletes below say what stays
            }
            try (DirectoryStream<Path> children = Files.newDirectoryStream(entry)) {
                for (Path child : children) {
                    deleteEntry(child);
                }
            }
        }
        Files.deleteIfExists(entry);
    }

    static Set<String> hexes(List<String> diffIds) {
        return Set.copyOf(diffIds.stream().map(LayerCache::hex).toList());
    }
}
