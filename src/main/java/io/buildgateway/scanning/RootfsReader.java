package io.buildgateway.scanning;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Reads an image's flattened filesystem ({@code docker export}) once: keeps the small files the SBOM and the
 * configuration checks need (account databases, os-release, package databases, language manifests), reads the
 * manifests inside jars as they stream past, and — when asked — extracts the tree into a folder for OpenSCAP, with
 * owners and modes (setuid bits included) but no device nodes, and never writing outside the folder.
 */
final class RootfsReader {

    /** Files the scan keeps by content, at most this large each. */
    private static final long KEEP_LIMIT = 32L * 1024 * 1024;
    private static final Pattern KEEP = Pattern.compile(
            "/etc/(passwd|group|os-release|alpine-release|debian_version)|/usr/lib/os-release"
                    + "|/var/lib/dpkg/status|/var/lib/dpkg/status\\.d/[^/]+|/lib/apk/db/installed"
                    + "|.*/node_modules/(@[^/]+/)?[^/]+/package\\.json|.*/package-lock\\.json"
                    + "|.*\\.dist-info/METADATA|.*\\.egg-info/PKG-INFO|.*\\.egg-info");

    private static final Pattern ARCHIVE = Pattern.compile(".*\\.(jar|war|ear)$");

    /** What the read kept: file contents by absolute path, and the Java packages found in archives. */
    record Contents(Map<String, byte[]> files, List<Packages.Package> javaPackages, long entries, long bytes) {
    }

    private final boolean canChown;

    RootfsReader() {
        this.canChown = "root".equals(System.getProperty("user.name"));
    }

    Contents read(InputStream export, Path extractTo) throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        List<Packages.Package> java = new ArrayList<>();
        Map<Path, Integer> dirModes = new LinkedHashMap<>();
        Path root = extractTo == null ? null : extractTo.toRealPath();
        long entries = 0;
        long bytes = 0;
        TarArchiveInputStream tar = new TarArchiveInputStream(export);
        TarArchiveEntry e;
        while ((e = tar.getNextEntry()) != null) {
            entries++;
            String path = LayerAudit.normalise(e.getName());
            if (path.contains("/../") || path.endsWith("/..")) {
                throw new IOException("the exported filesystem has an entry outside its root: " + e.getName());
            }
            bytes += LayerAudit.regular(e) ? e.getSize() : 0;
            if (LayerAudit.regular(e) && e.getSize() <= KEEP_LIMIT && KEEP.matcher(path).matches()) {
                byte[] content = tar.readAllBytes();
                files.put(path, content);
                if (root != null) {
                    write(root, path, e, new java.io.ByteArrayInputStream(content), dirModes);
                }
                continue;
            }
            if (LayerAudit.regular(e) && ARCHIVE.matcher(path).matches()) {
                if (root == null) {
                    java.addAll(Packages.fromArchive(path, tar));
                } else {
                    Path target = write(root, path, e, tar, dirModes);
                    try (InputStream in = Files.newInputStream(target)) {
                        java.addAll(Packages.fromArchive(path, in));
                    }
                }
                continue;
            }
            if (root != null) {
                write(root, path, e, tar, dirModes);
            }
        }
        // Directory modes last: a read-only directory must not stop its own content from being written.
        for (Map.Entry<Path, Integer> d : dirModes.entrySet()) {
            Files.setAttribute(d.getKey(), "unix:mode", d.getValue(), LinkOption.NOFOLLOW_LINKS);
        }
        return new Contents(files, java, entries, bytes);
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
            if (!linked.startsWith(root) || !Files.isRegularFile(linked, LinkOption.NOFOLLOW_LINKS)) {
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

    static void drain(InputStream in) throws IOException {
        in.transferTo(OutputStream.nullOutputStream());
    }
}
