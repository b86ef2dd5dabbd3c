package io.buildgateway.intake;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Writes the re-packed context while the inspector reads the upload: a plain tar of directories, regular files and
 * symlinks, in the upload's order, each path once, with fixed headers (the file's mode and whole-second mtime, uid and
 * gid 0, no user or group names, no xattrs) so the same upload always gives the same bytes. Hard links become regular
 * files with their content (kept from the earlier file in a spill file, as the upload may be gzip and cannot be read
 * backwards); the Dockerfile is replaced by the gateway's bytes, mode 0644. Names or link targets of 100 bytes or more
 * get a PAX {@code path}/{@code linkpath} record written here, as Go's and commons-compress's readers both read it.
 */
final class Repacker implements ArchiveInspector.EntrySink {

    private static final String PAX_NAME = "././@PaxHeader";

    private final TarArchiveOutputStream tar;
    private final Set<String> hardlinkTargets;
    private final byte[] dockerfile;
    private final Path spillDir;
    private final Map<String, Spilled> spilled = new HashMap<>();
    private final byte[] buffer = new byte[256 * 1024];
    private int entries;
    private long bytes;

    private record Spilled(Path path, int mode, long mtime, long size) {
    }

    Repacker(OutputStream out, Set<String> hardlinkTargets, byte[] dockerfile, Path spillDir) {
        this.tar = new TarArchiveOutputStream(out, TarConstants.DEFAULT_BLKSIZE, StandardCharsets.UTF_8.name());
        this.tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_TRUNCATE);
        this.tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_STAR);
        this.hardlinkTargets = hardlinkTargets;
        this.dockerfile = dockerfile;
        this.spillDir = spillDir;
    }

    int entries() {
        return entries;
    }

    long uncompressedBytes() {
        return bytes;
    }

    @Override
    public void accept(ArchiveInspector.Entry e, InputStream data) throws IOException {
        switch (e.type()) {
            case DIRECTORY -> put(header(e.name().isEmpty() ? "./" : e.name() + "/", TarConstants.LF_DIR, e.mode(),
                    e.mtime(), 0, null), null);
            case SYMLINK -> put(header(e.name(), TarConstants.LF_SYMLINK, 0777, e.mtime(), 0, e.link()), null);
            case DOCKERFILE -> {
                put(header(e.name(), TarConstants.LF_NORMAL, 0644, e.mtime(), dockerfile.length, null),
                        new ByteArrayInputStream(dockerfile));
                if (hardlinkTargets.contains(e.name())) {
                    spilled.put(e.name(), new Spilled(null, 0644, e.mtime(), dockerfile.length));
                }
            }
            case FILE -> {
                if (dockerignoreSuffix != null && e.name().equals(".dockerignore")) {
                    byte[] content = data.readNBytes((int) Math.min(e.size(), 16 * 1024 * 1024));
                    byte[] joined = new byte[content.length + 1 + dockerignoreSuffix.length];
                    System.arraycopy(content, 0, joined, 0, content.length);
                    joined[content.length] = '\n';
                    System.arraycopy(dockerignoreSuffix, 0, joined, content.length + 1, dockerignoreSuffix.length);
                    put(header(e.name(), TarConstants.LF_NORMAL, e.mode(), e.mtime(), joined.length, null),
                            new ByteArrayInputStream(joined));
                } else if (hardlinkTargets.contains(e.name())) {
                    Path spill = spillDir.resolve(spilled.size() + ".spill");
                    try (OutputStream out = Files.newOutputStream(spill)) {
                        copy(data, out, e.size());
                    }
                    spilled.put(e.name(), new Spilled(spill, e.mode(), e.mtime(), e.size()));
                    try (InputStream in = Files.newInputStream(spill)) {
                        put(header(e.name(), TarConstants.LF_NORMAL, e.mode(), e.mtime(), e.size(), null), in);
                    }
                } else {
                    put(header(e.name(), TarConstants.LF_NORMAL, e.mode(), e.mtime(), e.size(), null), data);
                }
            }
            case HARDLINK -> {
                // A hard link shares its file's inode: the same content, mode and mtime.
                Spilled origin = spilled.get(e.link());
                if (origin == null) {
                    throw new IllegalStateException("hard link target " + e.link() + " was not kept; the context "
                            + "passed to repack is not the one that was inspected");
                }
                try (InputStream in = origin.path() == null ? new ByteArrayInputStream(dockerfile)
                        : Files.newInputStream(origin.path())) {
                    put(header(e.name(), TarConstants.LF_NORMAL, origin.mode(), origin.mtime(), origin.size(), null),
                            in);
                }
            }
        }
    }

    /** Text added to the end of the context's {@code .dockerignore} (null: none). */
    private byte[] dockerignoreSuffix;

    void appendToDockerignore(byte[] suffix) {
        this.dockerignoreSuffix = suffix;
    }

    /** A directory after the upload's entries (files fetched for the build: {@link ContextIntake#withFetched}). */
    void addDirectory(String name, long mtime) throws IOException {
        put(header(name + "/", TarConstants.LF_DIR, 0755, mtime, 0, null), null);
    }

    /** A regular file after the upload's entries, its content from {@code file}. */
    void addFile(String name, int mode, long mtime, Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            put(header(name, TarConstants.LF_NORMAL, mode, mtime, Files.size(file), null), in);
        }
    }

    /** Writes the end-of-archive blocks and flushes; the stream underneath is left open. */
    void finish() throws IOException {
        tar.finish();
        tar.flush();
    }

    private static TarArchiveEntry header(String name, byte type, int mode, long mtime, long size, String link) {
        TarArchiveEntry entry = new TarArchiveEntry(name, type, true);
        entry.setMode(mode);
        entry.setModTime(FileTime.from(mtime, TimeUnit.SECONDS));
        entry.setUserId(0);
        entry.setGroupId(0);
        entry.setUserName("");
        entry.setGroupName("");
        entry.setSize(size);
        if (link != null) {
            entry.setLinkName(link);
        }
        return entry;
    }

    private void put(TarArchiveEntry entry, InputStream data) throws IOException {
        StringBuilder pax = new StringBuilder();
        if (utf8Length(entry.getName()) >= TarConstants.NAMELEN) {
            pax.append(record("path", entry.getName()));
        }
        if (entry.getLinkName() != null && utf8Length(entry.getLinkName()) >= TarConstants.NAMELEN) {
            pax.append(record("linkpath", entry.getLinkName()));
        }
        if (!pax.isEmpty()) {
            byte[] records = pax.toString().getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry header = header(PAX_NAME, TarConstants.LF_PAX_EXTENDED_HEADER_LC, 0644,
                    entry.getLastModifiedTime().to(TimeUnit.SECONDS), records.length, null);
            tar.putArchiveEntry(header);
            tar.write(records);
            tar.closeArchiveEntry();
            // The header's own fields get the names cut at a character boundary; the PAX records are the names.
            String cut = cut(entry.getName());
            // commons-compress writes a name ending in '/' as a directory: a cut file name must not end so.
            while (!entry.isDirectory() && cut.endsWith("/")) {
                cut = cut.substring(0, cut.length() - 1);
            }
            entry.setName(cut);
            if (entry.getLinkName() != null) {
                entry.setLinkName(cut(entry.getLinkName()));
            }
        }
        tar.putArchiveEntry(entry);
        if (data != null) {
            copy(data, tar, entry.getSize());
            bytes += entry.getSize();
        }
        tar.closeArchiveEntry();
        entries++;
    }

    private void copy(InputStream in, OutputStream out, long size) throws IOException {
        long left = size;
        while (left > 0) {
            int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
            if (n < 0) {
                throw new IOException("entry data ended early");
            }
            out.write(buffer, 0, n);
            left -= n;
        }
    }

    /** A PAX record: its decimal length (counting itself), a space, key=value and a newline. */
    static String record(String key, String value) {
        int body = utf8Length(" " + key + "=" + value + "\n");
        int length = body + String.valueOf(body).length();
        if (String.valueOf(length).length() != String.valueOf(body).length()) {
            length = body + String.valueOf(length).length();
        }
        return length + " " + key + "=" + value + "\n";
    }

    private static String cut(String s) {
        String cut = s;
        while (utf8Length(cut) >= TarConstants.NAMELEN) {
            cut = cut.substring(0, cut.offsetByCodePoints(cut.length(), -1));
        }
        return cut;
    }

    private static int utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }
}
