package io.buildgateway.scanning;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Extracts an image's flattened filesystem ({@code docker export}) into a folder for OpenSCAP: owners and modes
 * (setuid bits included) are kept, device nodes and fifos are skipped, and nothing is written outside the folder or
 * through a link the image planted. Every entry and every byte is counted against the scan's budget: over a limit
 * (or past the deadline) extraction stops with the budget's {@code Exceeded}, and the caller removes the folder.
 */
final class RootfsReader {

    private final boolean canChown;

    RootfsReader() {
        this.canChown = "root".equals(System.getProperty("user.name"));
    }

    /** Extracts the stream into {@code extractTo} without limits; returns the number of entries. */
    long read(InputStream export, Path extractTo) throws IOException {
        return read(export, extractTo, ScanBudget.unlimited());
    }

    /** Extracts the stream into {@code extractTo} within {@code budget}; returns the number of entries. */
    long read(InputStream export, Path extractTo, ScanBudget budget) throws IOException {
        Map<Path, Integer> dirModes = new LinkedHashMap<>();
        Path root = extractTo.toRealPath();
        long entries = 0;
        TarArchiveInputStream tar = new TarArchiveInputStream(budget.export(export));
        TarArchiveEntry e;
        while ((e = tar.getNextEntry()) != null) {
            budget.exportEntry();
            entries++;
            String path = LayerAudit.normalise(e.getName());
            if (path.contains("/../") || path.endsWith("/..")) {
                throw new IOException("the exported filesystem has an entry outside its root: " + e.getName());
            }
            write(root, path, e, tar, dirModes);
        }
        // Directory modes last: a read-only directory must not stop its own content from being written.
        for (Map.Entry<Path, Integer> d : dirModes.entrySet()) {
            Files.setAttribute(d.getKey(), "unix:mode", d.getValue(), LinkOption.NOFOLLOW_LINKS);
        }
        return entries;
    }

    private Path write(Path root, String path, TarArchiveEntry e, InputStream content, Map<Path, Integer> dirModes)
            throws IOException {
        if (path.equals("/")) {
            return root;
        }
        Path target = root.resolve(path.substring(1)).normalize();
        Path parent = target.getParent();
        if (!target.startsWith(root) || parent == null) {
            throw new IOException("the exported filesystem has an entry outside its root: " + e.getName());
        }
        Files.createDirectories(parent);
        // The parent must be a real directory inside the root, not reached through a symlink the image planted.
        if (!parent.toRealPath().startsWith(root)) {
            throw new IOException("the exported filesystem writes through a link out of its root: " + e.getName());
        }
        if (e.isDirectory()) {
            if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                Files.createDirectory(target);
            }
            owner(target, e);
            dirModes.put(target, e.getMode() & 07777);
            return target;
        }
        Files.deleteIfExists(target);
        if (e.isSymbolicLink()) {
            Files.createSymbolicLink(target, Path.of(e.getLinkName()));
            return target;
        }
        if (e.isLink()) {
            Path linked = root.resolve(LayerAudit.normalise(e.getLinkName()).substring(1)).normalize();
            Path linkedParent = linked.getParent();
            // The link's target must be a file we wrote: its folder is resolved physically, because a symlink the
            // image planted on the way ("up" -> "..") would otherwise hard-link a file of the gateway's host into the
            // folder OpenSCAP reads and reports on (found by LayerFuzzTest).
            if (!linked.startsWith(root) || linkedParent == null
                    || !Files.isDirectory(linkedParent)
                    || !linkedParent.toRealPath().startsWith(root)
                    || !Files.isRegularFile(linked, LinkOption.NOFOLLOW_LINKS)) {
                return target; // a hard link to nothing we wrote: skipped, as device nodes are
            }
            try {
                Files.createLink(target, linked);
            } catch (FileAlreadyExistsException ignored) {
                // written twice by the archive; the first wins
            }
            return target;
        }
        if (!LayerAudit.regular(e)) {
            return target; // devices, fifos: not needed to evaluate content, and not creatable without privileges
        }
        Files.copy(content, target, StandardCopyOption.REPLACE_EXISTING);
        owner(target, e);
        Files.setAttribute(target, "unix:mode", e.getMode() & 07777, LinkOption.NOFOLLOW_LINKS);
        return target;
    }

    /** Owner before mode: changing the owner clears setuid bits. */
    private void owner(Path target, TarArchiveEntry e) throws IOException {
        if (canChown) {
            Files.setAttribute(target, "unix:uid", (int) e.getLongUserId(), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(target, "unix:gid", (int) e.getLongGroupId(), LinkOption.NOFOLLOW_LINKS);
        }
    }

}
