package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RootfsReaderTest {

    @TempDir
    Path sandbox;

    /** An export: entries of (name, type flag, link name or content). */
    private static byte[] export(Object... entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            for (int i = 0; i < entries.length; i += 3) {
                byte type = (Byte) entries[i + 1];
                TarArchiveEntry e = new TarArchiveEntry((String) entries[i], type);
                byte[] content = new byte[0];
                if (type == TarConstants.LF_NORMAL) {
                    content = ((String) entries[i + 2]).getBytes(StandardCharsets.UTF_8);
                    e.setMode(0100644);
                } else {
                    e.setLinkName((String) entries[i + 2]);
                }
                e.setSize(content.length);
                tar.putArchiveEntry(e);
                tar.write(content);
                tar.closeArchiveEntry();
            }
        }
        return out.toByteArray();
    }

    // LayerFuzzTest's seed hardlink-through-symlink: "up" -> "..", then a hard link to "up/outside" made a second
    // name, inside the folder OpenSCAP reads and reports on, for a file of the gateway's host.
    @Test
    void aHardLinkThroughASymlinkTheImagePlantedIsNotMade() throws IOException {
        Path root = Files.createDirectory(sandbox.resolve("root"));
        Path outside = Files.writeString(sandbox.resolve("outside"), "host file\n");

        new RootfsReader().read(new ByteArrayInputStream(export(
                "up", TarConstants.LF_SYMLINK, "..",
                "stolen", TarConstants.LF_LINK, "up/outside")), root);

        assertThat(root.resolve("stolen")).doesNotExist();
        assertThat((int) Files.getAttribute(outside, "unix:nlink")).isEqualTo(1);
        assertThat(Files.isSymbolicLink(root.resolve("up"))).isTrue();
    }

    @Test
    void aHardLinkToAFileTheExportWroteIsMade() throws IOException {
        Path root = Files.createDirectory(sandbox.resolve("root"));

        new RootfsReader().read(new ByteArrayInputStream(export(
                "bin/busybox", TarConstants.LF_NORMAL, "#!busybox\n",
                "bin/sh", TarConstants.LF_LINK, "bin/busybox",
                "sbin", TarConstants.LF_SYMLINK, "bin",
                "via-link", TarConstants.LF_LINK, "sbin/busybox")), root);

        assertThat(Files.isSameFile(root.resolve("bin/sh"), root.resolve("bin/busybox"))).isTrue();
        assertThat(Files.readString(root.resolve("bin/sh"))).isEqualTo("#!busybox\n");
        // through a symlink that stays inside the root, as before
        assertThat(Files.isSameFile(root.resolve("via-link"), root.resolve("bin/busybox"))).isTrue();
    }
}
