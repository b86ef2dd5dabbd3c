package io.buildgateway.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;

/** Builds tar archives for tests, including the hostile shapes a normal tar tool refuses to write. */
public final class Tars {

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final TarArchiveOutputStream tar;
    private final boolean ustar;

    private Tars(boolean ustar) {
        this.ustar = ustar;
        tar = new TarArchiveOutputStream(bytes);
        tar.setLongFileMode(ustar ? TarArchiveOutputStream.LONGFILE_ERROR : TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(ustar ? TarArchiveOutputStream.BIGNUMBER_ERROR : TarArchiveOutputStream.BIGNUMBER_POSIX);
    }

    public static Tars tar() {
        return new Tars(false);
    }

    /**
     * A plain ustar archive: whole-second times and no PAX header ever (a name too long for ustar fails). dockerd's
     * BuildKit reads a body that starts with a PAX header as a Dockerfile, not as a tar, and the POSIX mode of
     * {@link #tar()} writes one for the sub-second times of commons-compress.
     */
    public static Tars ustar() {
        return new Tars(true);
    }

    /** A context with just this Dockerfile. */
    public static byte[] dockerfile(String text) {
        return tar().file("Dockerfile", text).bytes();
    }

    public Tars file(String name, String content) {
        return file(name, content.getBytes(StandardCharsets.UTF_8));
    }

    public Tars file(String name, byte[] content) {
        return file(name, content, 0644);
    }

    /** A file with these permission bits (setuid included: COPY keeps them). */
    public Tars file(String name, byte[] content, int mode) {
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        e.setSize(content.length);
        e.setMode(mode);
        return put(e, content);
    }

    public Tars dir(String name) {
        TarArchiveEntry e = new TarArchiveEntry(name.endsWith("/") ? name : name + "/", true);
        e.setMode(0755);
        return put(e, null);
    }

    public Tars symlink(String name, String target) {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
        e.setLinkName(target);
        return put(e, null);
    }

    public Tars hardlink(String name, String target) {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_LINK, true);
        e.setLinkName(target);
        return put(e, null);
    }

    public Tars special(String name, byte type) {
        TarArchiveEntry e = new TarArchiveEntry(name, type, true);
        return put(e, null);
    }

    private Tars put(TarArchiveEntry entry, byte[] content) {
        if (ustar) {
            entry.setModTime(1_700_000_000_000L);
        }
        try {
            tar.putArchiveEntry(entry);
            if (content != null) {
                tar.write(content);
            }
            tar.closeArchiveEntry();
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public byte[] bytes() {
        try {
            tar.finish();
            tar.close();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static byte[] gzip(byte[] data) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (GzipCompressorOutputStream gz = new GzipCompressorOutputStream(out)) {
                gz.write(data);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
