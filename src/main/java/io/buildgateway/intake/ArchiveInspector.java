package io.buildgateway.intake;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * Reads a build context archive once, as a pure function of its bytes and the limits, and either describes it or
 * says exactly why it is refused: absolute paths, {@code ..} components, links whose target leaves the context,
 * device/fifo/other special entries, too many entries or bytes, a missing or irregular Dockerfile, or bytes that are
 * not a tar archive at all. Nothing is extracted.
 */
public final class ArchiveInspector {

    /** What the intake needs to know about an accepted archive. */
    public record Inspection(boolean gzip, int entries, long uncompressedBytes, String dockerfile,
            boolean hasDockerignore, Set<String> files) {
    }

    public record Limits(long maxUncompressedSize, int maxEntries, long maxEntrySize, int maxPathLength,
            long maxDockerfileSize) {
    }

    private ArchiveInspector() {
    }

    public static Inspection inspect(InputStream raw, String dockerfilePath, Limits limits)
            throws UnsafeArchiveException {
        String wanted = normalizeDockerfilePath(dockerfilePath);
        try {
            BufferedInputStream in = new BufferedInputStream(raw, 64 * 1024);
            in.mark(2);
            int b1 = in.read();
            int b2 = in.read();
            in.reset();
            boolean gzip = b1 == 0x1f && b2 == 0x8b;
            InputStream tarStream = gzip ? GzipCompressorInputStream.builder().setInputStream(in)
                    .setDecompressConcatenated(true).get() : in;
            return read(new TarArchiveInputStream(tarStream), gzip, wanted, limits);
        } catch (IOException | IllegalArgumentException e) {
            throw new UnsafeArchiveException("unreadable-archive",
                    "the body is not a readable tar or tar.gz archive (corrupt, truncated or another format)");
        }
    }

    private static Inspection read(TarArchiveInputStream tar, boolean gzip, String wanted, Limits limits)
            throws IOException, UnsafeArchiveException {
        Set<String> files = new HashSet<>();
        Set<String> names = new HashSet<>();
        String dockerfile = null;
        boolean dockerignore = false;
        int entries = 0;
        long total = 0;
        TarArchiveEntry entry;
        while ((entry = tar.getNextEntry()) != null) {
            entries++;
            if (entries > limits.maxEntries()) {
                throw new UnsafeArchiveException("too-many-entries",
                        "the archive has more than " + limits.maxEntries() + " entries");
            }
            String raw = entry.getName();
            if (raw.length() > limits.maxPathLength()) {
                throw new UnsafeArchiveException("path-too-long", "an entry name is longer than "
                        + limits.maxPathLength() + " characters");
            }
            String name = normalizeEntry(raw);
            if (!name.isEmpty()) {
                names.add(entry.isDirectory() ? name + "/" : name);
            }
            if (entry.isDirectory()) {
                continue;
            }
            if (entry.isSymbolicLink()) {
                checkLinkTarget(name, entry.getLinkName(), true);
                continue;
            }
            if (entry.isLink()) {
                String target = checkLinkTarget(name, entry.getLinkName(), false);
                if (!files.contains(target)) {
                    throw new UnsafeArchiveException("link-escape", "hard link '" + shown(name)
                            + "' points to '" + shown(entry.getLinkName())
                            + "', which is not a regular file earlier in the archive");
                }
                files.add(name);
                continue;
            }
            if (entry.isCharacterDevice() || entry.isBlockDevice() || entry.isFIFO()) {
                throw new UnsafeArchiveException("special-file", "entry '" + shown(name)
                        + "' is a device or fifo; build contexts may hold only files, directories and links");
            }
            if (!entry.isFile()) {
                throw new UnsafeArchiveException("special-file", "entry '" + shown(name)
                        + "' has an unsupported type (" + (char) entry.getLinkFlag() + ")");
            }
            long size = entry.getSize();
            if (size < 0 || size > limits.maxEntrySize()) {
                throw new UnsafeArchiveException("entry-too-large", "entry '" + shown(name) + "' is larger than "
                        + limits.maxEntrySize() + " bytes");
            }
            total += size;
            if (total > limits.maxUncompressedSize()) {
                throw new UnsafeArchiveException("too-large-uncompressed", "the archive unpacks to more than "
                        + limits.maxUncompressedSize() + " bytes");
            }
            files.add(name);
            if (name.equals(".dockerignore")) {
                dockerignore = true;
            }
            if (name.equals(wanted)) {
                if (size > limits.maxDockerfileSize()) {
                    throw new UnsafeArchiveException("dockerfile-too-large", "the Dockerfile is larger than "
                            + limits.maxDockerfileSize() + " bytes");
                }
                dockerfile = new String(tar.readNBytes((int) size), StandardCharsets.UTF_8);
            }
            // The rest of the entry is skipped by getNextEntry, reading (and so checking) every byte.
        }
        if (entries == 0) {
            throw new UnsafeArchiveException("unreadable-archive", "the archive is empty or not a tar archive");
        }
        if (dockerfile == null) {
            throw new UnsafeArchiveException("missing-dockerfile", "the context has no regular file '" + wanted
                    + "' (set ?dockerfile= to its path inside the context)");
        }
        return new Inspection(gzip, entries, total, dockerfile, dockerignore, Set.copyOf(names));
    }

    /** Normalises an entry name and refuses absolute paths and {@code ..} components. */
    static String normalizeEntry(String raw) throws UnsafeArchiveException {
        if (raw.indexOf('\0') >= 0) {
            throw new UnsafeArchiveException("path-traversal", "an entry name contains a NUL byte");
        }
        if (raw.startsWith("/")) {
            throw new UnsafeArchiveException("path-traversal", "entry '" + shown(raw) + "' has an absolute path");
        }
        Deque<String> parts = new ArrayDeque<>();
        for (String part : raw.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                throw new UnsafeArchiveException("path-traversal", "entry '" + shown(raw)
                        + "' has a '..' component");
            }
            parts.add(part);
        }
        return String.join("/", parts);
    }

    /** Resolves a link target against the link's folder; refuses targets that leave the context. */
    static String checkLinkTarget(String linkName, String target, boolean symbolic) throws UnsafeArchiveException {
        String kind = symbolic ? "symlink" : "hard link";
        if (target == null || target.isEmpty()) {
            throw new UnsafeArchiveException("link-escape", kind + " '" + shown(linkName) + "' has no target");
        }
        if (target.startsWith("/")) {
            throw new UnsafeArchiveException("link-escape", kind + " '" + shown(linkName) + "' points to the absolute path '"
                    + shown(target) + "', outside the context");
        }
        Deque<String> parts = new ArrayDeque<>();
        if (symbolic) {
            String[] link = linkName.split("/");
            for (int i = 0; i < link.length - 1; i++) {
                parts.add(link[i]);
            }
        }
        for (String part : target.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                if (parts.isEmpty()) {
                    throw new UnsafeArchiveException("link-escape", kind + " '" + shown(linkName) + "' points to '"
                            + shown(target) + "', outside the context");
                }
                parts.removeLast();
            } else {
                parts.add(part);
            }
        }
        return String.join("/", parts);
    }

    /** The Dockerfile parameter must itself be a safe relative path. */
    public static String normalizeDockerfilePath(String path) throws UnsafeArchiveException {
        if (path == null || path.isBlank() || path.length() > 1024) {
            throw new UnsafeArchiveException("invalid-dockerfile-path", "dockerfile must be a relative path inside "
                    + "the context, at most 1024 characters");
        }
        try {
            String normalized = normalizeEntry(path);
            if (normalized.isEmpty()) {
                throw new UnsafeArchiveException("invalid-dockerfile-path", "dockerfile must name a file");
            }
            return normalized;
        } catch (UnsafeArchiveException e) {
            throw new UnsafeArchiveException("invalid-dockerfile-path",
                    "dockerfile must be a relative path inside the context without '..'");
        }
    }

    private static String shown(String s) {
        String clean = s.replaceAll("\\p{Cntrl}", "?");
        return clean.length() > 200 ? clean.substring(0, 200) + "…" : clean;
    }
}
