package io.buildgateway.intake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.support.Tars;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ArchiveInspectorTest {

    private static final ArchiveInspector.Limits LIMITS = new ArchiveInspector.Limits(1 << 20, 10, 1 << 20, 256,
            64 * 1024);

    private static ArchiveInspector.Inspection inspect(byte[] archive, String dockerfile)
            throws UnsafeArchiveException {
        return ArchiveInspector.inspect(new ByteArrayInputStream(archive), dockerfile, LIMITS);
    }

    private static String kind(byte[] archive) {
        try {
            inspect(archive, "Dockerfile");
            return "accepted";
        } catch (UnsafeArchiveException e) {
            return e.kind();
        }
    }

    @Test
    void acceptsAnOrdinaryContextWithLinksInsideIt() throws Exception {
        byte[] archive = Tars.tar().dir("app").file("./Dockerfile", "FROM x\n").file("app/run.sh", "echo")
                .symlink("app/current", "run.sh").symlink("app/up", "../Dockerfile").hardlink("app/again", "app/run.sh")
                .file(".dockerignore", ".git").bytes();

        ArchiveInspector.Inspection inspection = inspect(archive, "Dockerfile");

        assertThat(inspection.dockerfile()).isEqualTo("FROM x\n");
        assertThat(inspection.gzip()).isFalse();
        assertThat(inspection.hasDockerignore()).isTrue();
        assertThat(inspection.entries()).isEqualTo(7);
    }

    @Test
    void detectsGzipByMagicBytesAndFindsANestedDockerfile() throws Exception {
        byte[] archive = Tars.gzip(Tars.tar().file("build/Dockerfile.prod", "FROM y\n").bytes());

        ArchiveInspector.Inspection inspection = inspect(archive, "./build//Dockerfile.prod");

        assertThat(inspection.gzip()).isTrue();
        assertThat(inspection.dockerfile()).isEqualTo("FROM y\n");
    }

    @Test
    void refusesEscapesAndSpecialFiles() {
        assertThat(kind(Tars.tar().file("Dockerfile", "x").file("/abs", "x").bytes())).isEqualTo("path-traversal");
        assertThat(kind(Tars.tar().file("Dockerfile", "x").file("a/../../b", "x").bytes())).isEqualTo("path-traversal");
        assertThat(kind(Tars.tar().file("Dockerfile", "x").symlink("a/b/c", "../../../x").bytes()))
                .isEqualTo("link-escape");
        assertThat(kind(Tars.tar().file("Dockerfile", "x").symlink("a", "/etc").bytes())).isEqualTo("link-escape");
        assertThat(kind(Tars.tar().file("Dockerfile", "x").hardlink("a", "../b").bytes())).isEqualTo("link-escape");
        assertThat(kind(Tars.tar().file("Dockerfile", "x").special("c", TarConstants.LF_CHR).bytes()))
                .isEqualTo("special-file");
        assertThat(kind(Tars.tar().file("Dockerfile", "x").special("f", TarConstants.LF_FIFO).bytes()))
                .isEqualTo("special-file");
    }

    @Test
    void symlinkThatClimbsButStaysInsideIsAccepted() {
        assertThat(kind(Tars.tar().file("Dockerfile", "x").symlink("a/b/c", "../../Dockerfile").bytes()))
                .isEqualTo("accepted");
    }

    @Test
    void enforcesCountAndSizeLimits() {
        Tars many = Tars.tar().file("Dockerfile", "x");
        for (int i = 0; i < 10; i++) {
            many.file("f" + i, "");
        }
        assertThat(kind(many.bytes())).isEqualTo("too-many-entries");
        assertThat(kind(Tars.tar().file("Dockerfile", "x").file("big", new byte[(1 << 20) + 1]).bytes()))
                .isEqualTo("entry-too-large");
        assertThat(kind(Tars.tar().file("Dockerfile", "x").file("a", new byte[600_000]).file("b", new byte[600_000])
                .bytes())).isEqualTo("too-large-uncompressed");
        assertThat(kind(Tars.tar().file("Dockerfile", new byte[64 * 1024 + 1]).bytes()))
                .isEqualTo("dockerfile-too-large");
        assertThat(kind(Tars.tar().file("x".repeat(300), "x").bytes())).isEqualTo("path-too-long");
    }

    @Test
    void refusesMissingDockerfileAndGarbage() {
        assertThat(kind(Tars.tar().file("Containerfile", "x").bytes())).isEqualTo("missing-dockerfile");
        assertThat(kind("garbage ".repeat(200).getBytes())).isEqualTo("unreadable-archive");
        assertThat(kind(new byte[0])).isEqualTo("unreadable-archive");
    }

    @Test
    void dockerfileParameterMustStayInsideTheContext() {
        assertThatThrownBy(() -> ArchiveInspector.normalizeDockerfilePath("../Dockerfile"))
                .isInstanceOf(UnsafeArchiveException.class);
        assertThatThrownBy(() -> ArchiveInspector.normalizeDockerfilePath("/etc/passwd"))
                .isInstanceOf(UnsafeArchiveException.class);
        assertThatThrownBy(() -> ArchiveInspector.normalizeDockerfilePath("."))
                .isInstanceOf(UnsafeArchiveException.class);
    }

    private static final String DF = "FROM x\n";

    private static String wideKind(byte[] archive) {
        try {
            ArchiveInspector.inspect(new ByteArrayInputStream(archive), "Dockerfile",
                    new ArchiveInspector.Limits(1 << 20, 1000, 1 << 20, 4096, 64 * 1024));
            return "accepted";
        } catch (UnsafeArchiveException e) {
            return e.kind();
        }
    }

    /**
     * Deep paths under distinct roots each add every ancestor as a new folder: 400 such entries of 4,096 characters
     * held ~1.6 GB of prefixes (a review's finding, 2026-12-06). Refused once the paths and their folders add up to
     * more than ArchiveInspector.MAX_NAME_CHARS; the same depth under one root is a few folders and stays accepted.
     */
    @Test
    void aTreeOfDeepPathsUnderDistinctRootsIsRefusedBeforeItFillsTheHeap() {
        String deep = "a/".repeat(2_000) + "f";
        Tars wide = Tars.tar().file("Dockerfile", DF);
        for (int i = 0; i < 20; i++) {
            wide.file("r" + i + "/" + deep, "x");
        }
        assertThat(wideKind(wide.bytes())).isEqualTo("too-many-names");

        Tars narrow = Tars.tar().file("Dockerfile", DF);
        for (int i = 0; i < 20; i++) {
            narrow.file("r/" + deep + i, "x");
        }
        assertThat(wideKind(narrow.bytes())).isEqualTo("accepted");
    }

    private static String rawKind(RawTar tar) {
        return kind(tar.bytes());
    }

    private static String message(byte[] archive) {
        try {
            inspect(archive, "Dockerfile");
            return "accepted";
        } catch (UnsafeArchiveException e) {
            return e.getMessage();
        }
    }

    @Test
    void dockerfileMustBeARegularFile() {
        assertThat(kind(Tars.tar().file("real", DF).symlink("Dockerfile", "real").bytes()))
                .isEqualTo("dockerfile-not-regular");
        assertThat(kind(Tars.tar().file("real", DF).hardlink("Dockerfile", "real").bytes()))
                .isEqualTo("dockerfile-not-regular");
        assertThat(kind(Tars.tar().dir("Dockerfile").file("Dockerfile/x", DF).bytes()))
                .isEqualTo("dockerfile-not-regular");
        assertThat(kind(Tars.tar().file("Dockerfile/x", DF).bytes())).isEqualTo("dockerfile-not-regular");
        assertThat(message(Tars.tar().file("real", DF).symlink("Dockerfile", "real").bytes()))
                .contains("'Dockerfile' is a symlink");
    }

    @Test
    void refusesAPathThatAppearsTwice() {
        // The classic differential: the policy reads the first Dockerfile, the daemon keeps the last.
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).file("Dockerfile", "FROM evil\n").end()))
                .isEqualTo("duplicate-path");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).file("./Dockerfile", "FROM evil\n").end()))
                .isEqualTo("duplicate-path");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).file("a", "x").file(".//a", "y").end()))
                .isEqualTo("duplicate-path");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).file("a", "x").link("a/", '5', "").end()))
                .isEqualTo("duplicate-path");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).link("a/", '5', "").file("a", "x").end()))
                .isEqualTo("duplicate-path");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).file("a", "x").file("a/b", "y").end()))
                .isEqualTo("duplicate-path");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).file("a/b", "y").file("a", "x").end()))
                .isEqualTo("duplicate-path");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).file("a/b", "y").link("a", '2', "c").end()))
                .isEqualTo("duplicate-path");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).link("s", '2', "x").link("s", '2', "y").end()))
                .isEqualTo("duplicate-path");
        assertThat(rawKind(RawTar.tar().link("./", '5', "").link(".", '5', "").file("Dockerfile", DF).end()))
                .isEqualTo("duplicate-path");
        // A directory listed after what it holds is one path, as tar tools may write it.
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).file("a/b", "y").link("a/", '5', "").end()))
                .isEqualTo("accepted");
    }

    @Test
    void refusesEntriesBeneathASymlink() {
        // x -> . makes x/Dockerfile overwrite the Dockerfile the policy read.
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).link("x", '2', ".").file("x/Dockerfile", "evil").end()))
                .isEqualTo("path-through-link");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).link("a", '2', "sub").link("a/b", '2', "../x")
                .end())).isEqualTo("path-through-link");
    }

    @Test
    void refusesControlCharactersAndInvalidUtf8InNames() {
        assertThat(kind(Tars.tar().file("Dockerfile", DF).file("a\u0001b", "x").bytes())).isEqualTo("control-character");
        assertThat(kind(Tars.tar().file("Dockerfile", DF).file("esc\u001b[31m", "x").bytes()))
                .isEqualTo("control-character");
        assertThat(kind(Tars.tar().file("Dockerfile", DF).file("del\u007f", "x").bytes())).isEqualTo("control-character");
        assertThat(kind(Tars.tar().file("Dockerfile", DF).file("c1\u0085", "x").bytes())).isEqualTo("control-character");
        assertThat(kind(Tars.tar().file("Dockerfile", DF).file("new\nline", "x").bytes())).isEqualTo("control-character");
        assertThat(kind(Tars.tar().file("Dockerfile", DF).symlink("l", "a\u0007").bytes())).isEqualTo("control-character");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).pax('x', "path=a\u0002b").file("x", "y").end()))
                .isEqualTo("control-character");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF)
                .entry(new byte[] {'a', (byte) 0xff, 'b'}, '0', new byte[1], "", null).end())).isEqualTo("invalid-name");
        // Ordinary non-ASCII names are fine.
        assertThat(kind(Tars.tar().file("Dockerfile", DF).file("café/naïve ü€.txt", "x").bytes())).isEqualTo("accepted");
    }

    @Test
    void refusesDataAfterTheEndOfTheArchiveButAcceptsZeroPadding() {
        byte[] valid = Tars.tar().file("Dockerfile", DF).bytes();
        assertThat(kind(concat(valid, "trailing garbage".getBytes()))).isEqualTo("trailing-data");
        assertThat(kind(concat(valid, new byte[4096], new byte[] {1}))).isEqualTo("trailing-data");
        assertThat(kind(Tars.gzip(concat(valid, "x".getBytes())))).isEqualTo("trailing-data");
        assertThat(kind(concat(valid, new byte[20 * 512]))).isEqualTo("accepted");
        assertThat(kind(Tars.gzip(concat(valid, new byte[512])))).isEqualTo("accepted");
        // One zero block, then a header: commons-compress stops, Go reports a broken header.
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).raw(new byte[512]).file("hidden", "x").end()))
                .isEqualTo("trailing-data");
        // No end blocks at all is how some writers end; both readers stop at the end of the stream.
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF))).isEqualTo("accepted");
        // A header cut short: commons-compress would call it the end, Go an error.
        assertThat(kind(Arrays.copyOf(RawTar.tar().file("Dockerfile", DF).file("b", "x").bytes(), 1024 + 100)))
                .isEqualTo("unreadable-archive");
    }

    @Test
    void resolvesSymlinksPhysicallyInAnyOrder() {
        // Lexically esc stays inside (sub/link/.. = sub); physically sub/link is the root, and the root's parent
        // is outside.
        byte[] escapeLater = RawTar.tar().file("Dockerfile", DF).link("esc", '2', "sub/link/..")
                .link("sub/", '5', "").link("sub/link", '2', "..").end().bytes();
        byte[] escapeEarlier = RawTar.tar().file("Dockerfile", DF).link("sub/", '5', "").link("sub/link", '2', "..")
                .link("esc", '2', "sub/link/..").end().bytes();
        assertThat(kind(escapeLater)).isEqualTo("link-escape");
        assertThat(kind(escapeEarlier)).isEqualTo("link-escape");
        // A chain: s/l1 -> ../l2 -> s/l3 -> .. (the root); e -> s/l1/.. leaves.
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).link("e", '2', "s/l1/..").link("s/l1", '2', "../l2")
                .link("l2", '2', "s/l3").link("s/l3", '2', "..").end())).isEqualTo("link-escape");
        // The same chain ending inside is fine.
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).link("e", '2', "s/l1/Dockerfile")
                .link("s/l1", '2', "../l2").link("l2", '2', "s/l3").link("s/l3", '2', "..").end()))
                .isEqualTo("accepted");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).link("a", '2', "b").link("b", '2', "a").end()))
                .isEqualTo("link-loop");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).link("self", '2', "self").end())).isEqualTo("link-loop");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).link("d", '2', "d/x").end())).isEqualTo("link-loop");
        RawTar longChain = RawTar.tar().file("Dockerfile", DF);
        for (int i = 0; i < 45; i++) {
            longChain.link("c" + i, '2', "c" + (i + 1));
        }
        assertThat(wideKind(longChain.end().bytes())).isEqualTo("link-loop");
        RawTar shortChain = RawTar.tar().file("Dockerfile", DF);
        for (int i = 0; i < 10; i++) {
            shortChain.link("c" + i, '2', "c" + (i + 1));
        }
        assertThat(wideKind(shortChain.link("c10", '2', "Dockerfile").end().bytes())).isEqualTo("accepted");
    }

    @Test
    void hardLinksMustPointToAnEarlierRegularFile() {
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).link("h", '1', "f").file("f", "x").end()))
                .isEqualTo("link-escape");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).link("d/", '5', "").link("h", '1', "d").end()))
                .isEqualTo("link-escape");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).link("s", '2', "Dockerfile").link("h", '1', "s").end()))
                .isEqualTo("link-escape");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).file("f", "x").link("h1", '1', "f")
                .link("h2", '1', "h1").end())).isEqualTo("accepted");
    }

    @Test
    void refusesWhatGoAndCommonsCompressWouldReadDifferently() {
        // A global PAX header renames every later entry for commons-compress; Go ignores it.
        assertThat(rawKind(RawTar.tar().pax('g', "path=Dockerfile").file("Dockerfile", DF).end()))
                .isEqualTo("ambiguous-archive");
        // Two PAX headers: Go keeps the last, commons-compress merges both.
        assertThat(rawKind(RawTar.tar().pax('x', "path=Dockerfile").pax('x', "mtime=1").file("x", DF).end()))
                .isEqualTo("ambiguous-archive");
        // A GNU long name and a PAX path for one entry.
        assertThat(rawKind(RawTar.tar().gnuLong('L', "Dockerfile").pax('x', "path=other").file("x", DF).end()))
                .isEqualTo("ambiguous-archive");
        assertThat(rawKind(RawTar.tar().pax('x', "path=other").gnuLong('L', "Dockerfile").file("x", DF).end()))
                .isEqualTo("ambiguous-archive");
        assertThat(rawKind(RawTar.tar().gnuLong('L', "a").gnuLong('L', "Dockerfile").file("x", DF).end()))
                .isEqualTo("ambiguous-archive");
        assertThat(rawKind(RawTar.tar().pax('x', "path=a", "path=Dockerfile").file("x", DF).end()))
                .isEqualTo("ambiguous-archive");
        // A symlink with a data size: commons-compress skips the data, Go reads it as the next headers.
        byte[] hidden = RawTar.tar().file("Dockerfile", "FROM evil\n").bytes();
        assertThat(rawKind(RawTar.tar().file("x", DF).sized("l", '2', "x", hidden.length, hidden).end()))
                .isEqualTo("ambiguous-archive");
        // A regular-file type with a directory's name: a directory for commons-compress, a file for Go.
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).entry("d/", '0', "").end()))
                .isEqualTo("ambiguous-archive");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).entry("sparse", 'S', "").end()))
                .isEqualTo("special-file");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).pax('x', "GNU.sparse.size=10").file("s", "x").end()))
                .isEqualTo("special-file");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).entry("vol", 'V', "").end())).isEqualTo("special-file");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).pax('x', "path=x").end()))
                .isEqualTo("ambiguous-archive");
        // What both read the same way is fine: a PAX path, a GNU long name, a USTAR prefix.
        String longName = "d/" + "n".repeat(150);
        assertThat(rawKind(RawTar.tar().pax('x', "path=Dockerfile").file("ignored", DF).end())).isEqualTo("accepted");
        assertThat(rawKind(RawTar.tar().file("Dockerfile", DF).gnuLong('L', longName).file("cut", "x").end()))
                .isEqualTo("accepted");
        assertThat(rawKind(RawTar.tar().entry("Dockerfile".getBytes(), '0', DF.getBytes(), "", "sub").end()))
                .isEqualTo("missing-dockerfile");
        assertThat(kind(RawTar.tar().entry("Dockerfile".getBytes(), '0', DF.getBytes(), "", "sub").end().bytes()))
                .isEqualTo("missing-dockerfile");
    }

    @Test
    void ustarPrefixIsPartOfTheName() throws Exception {
        byte[] archive = RawTar.tar().entry("Dockerfile".getBytes(), '0', DF.getBytes(), "", "sub").end().bytes();
        assertThat(ArchiveInspector.inspect(new ByteArrayInputStream(archive), "sub/Dockerfile", LIMITS).dockerfile())
                .isEqualTo(DF);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /**
     * Archives written by real tools (GNU tar in gnu and posix formats, gzip; Python's tarfile in GNU and PAX
     * formats, with long names, non-ASCII names, hard links and symlinks) are accepted; the hostile seeds are not.
     */
    @ParameterizedTest
    @CsvSource({
            "gnu-tar-gnu-format, accepted", "gnu-tar-posix-format, accepted", "gnu-tar-gzip, accepted",
            "gnu-long-names-and-links, accepted", "pax-long-names, accepted", "plain, accepted",
            "duplicate-dockerfile, duplicate-path", "global-pax-header, ambiguous-archive",
            "trailing-data, trailing-data", "symlink-chain-escape, link-escape", "symlink-loop, link-loop"})
    void realToolsAreAcceptedAndHostileSeedsRefused(String seed, String expected) throws Exception {
        byte[] archive = Files.readAllBytes(Path.of("src/test/resources/io/buildgateway/"
                + "fuzz/ParserFuzzTestInputs/archiveInspectorOnlyAcceptsOrRefuses", seed));
        assertThat(wideKind(archive)).isEqualTo(expected);
    }

    @Test
    void aSinkFailureIsTheGatewaysAndATruncatedArchiveIsTheClients() {
        byte[] archive = Tars.tar().file("Dockerfile", DF).file("data", new byte[4096]).bytes();
        ArchiveInspector.EntrySink failing = (entry, data) -> {
            throw new IOException("disk full");
        };
        assertThatThrownBy(() -> ArchiveInspector.inspect(new ByteArrayInputStream(archive), "Dockerfile", LIMITS,
                failing)).isInstanceOf(UncheckedIOException.class);
        ArchiveInspector.EntrySink reading = (entry, data) -> {
            if (data != null) {
                data.readAllBytes();
            }
        };
        assertThatThrownBy(() -> ArchiveInspector.inspect(new ByteArrayInputStream(Arrays.copyOf(archive,
                3000)), "Dockerfile", LIMITS, reading)).isInstanceOf(UnsafeArchiveException.class)
                .extracting(e -> ((UnsafeArchiveException) e).kind()).isEqualTo("unreadable-archive");
    }
}
