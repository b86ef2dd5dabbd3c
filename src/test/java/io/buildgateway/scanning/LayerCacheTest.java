package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.policy.ImagePolicy;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The layer cache and the root filesystem view built from it, on layer tars written here: whiteouts and opaque
 * directories as the daemon's overlay applies them, hard links, setuid bits kept, hostile entries refused, the cache
 * left intact by a view and by a later layer, pruning, and layers recognised (or not) while the save stream is read.
 */
class LayerCacheTest {

    private Path tmp;
    private LayerCache cache;

    @BeforeEach
    void setUp() throws IOException {
        tmp = Files.createTempDirectory("layer-cache-test-");
        cache = new LayerCache(tmp.resolve("layers"), Long.MAX_VALUE);
    }

    @AfterEach
    void tearDown() {
        LayerCache.deleteTree(tmp);
    }

    /** One tar entry. */
    record E(String name, char type, int mode, String content, String link) {
        static E dir(String name) {
            return new E(name, '5', 0755, null, null);
        }

        static E file(String name, int mode, String content) {
            return new E(name, '0', mode, content, null);
        }

        static E symlink(String name, String target) {
            return new E(name, '2', 0777, null, target);
        }

        static E hardlink(String name, String target) {
            return new E(name, '1', 0755, null, target);
        }

        static E device(String name) {
            return new E(name, '3', 0666, null, null);
        }
    }

    static byte[] tar(E... entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (E e : entries) {
                byte flag = switch (e.type()) {
                    case '5' -> TarConstants.LF_DIR;
                    case '2' -> TarConstants.LF_SYMLINK;
                    case '1' -> TarConstants.LF_LINK;
                    case '3' -> TarConstants.LF_CHR;
                    default -> TarConstants.LF_NORMAL;
                };
                TarArchiveEntry entry = new TarArchiveEntry(e.name(), flag);
                entry.setMode(e.mode());
                if (e.link() != null) {
                    entry.setLinkName(e.link());
                }
                byte[] bytes = e.content() == null ? new byte[0] : e.content().getBytes(StandardCharsets.UTF_8);
                entry.setSize(bytes.length);
                tar.putArchiveEntry(entry);
                tar.write(bytes);
                tar.closeArchiveEntry();
            }
        }
        return out.toByteArray();
    }

    static String diffId(byte[] layer) throws Exception {
        return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(layer));
    }

    private String store(byte[] layer) throws Exception {
        String id = diffId(layer);
        cache.store(id, "fp-" + id, layer.length, new ByteArrayInputStream(layer), ScanBudget.unlimited());
        return id;
    }

    private Path view(List<String> ids) throws IOException {
        Path rootfs = Files.createDirectories(tmp.resolve("rootfs-" + System.nanoTime()));
        new RootfsView().build(cache, ids, rootfs, ScanBudget.unlimited());
        return rootfs;
    }

    private static final byte[] BASE = tarUnchecked(E.dir("etc/"), E.file("etc/passwd", 0644, "root:x:0:0\n"),
            E.dir("etc/conf.d/"), E.file("etc/conf.d/a", 0644, "a"), E.file("etc/conf.d/b", 0644, "b"),
            E.dir("bin/"), E.file("bin/busybox", 04755, "ELF"), E.hardlink("bin/sh", "bin/busybox"),
            E.dir("usr/"), E.dir("usr/lib/"), E.file("usr/lib/old", 0644, "old"), E.symlink("lib", "usr/lib"),
            E.dir("tmp/"), E.device("dev/null"));

    private static byte[] tarUnchecked(E... entries) {
        try {
            return tar(entries);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aViewAppliesWhiteoutsOpaqueDirectoriesAndReplacementsAsTheOverlayDoes() throws Exception {
        String base = store(BASE);
        String derived = store(tar(E.file("etc/conf.d/.wh.a", 0644, ""), E.dir("usr/lib/"),
                E.file("usr/lib/.wh..wh..opq", 0644, ""), E.file("usr/lib/new", 0644, "new"),
                E.file("etc/passwd", 0644, "root:x:0:0\nbackdoor:x:0:0\n"), E.file(".wh.tmp", 0644, "")));

        Path root = view(List.of(base, derived));

        assertThat(root.resolve("etc/conf.d/a")).doesNotExist();
        assertThat(root.resolve("etc/conf.d/b")).hasContent("b");
        assertThat(root.resolve("usr/lib/old")).doesNotExist();
        assertThat(root.resolve("usr/lib/new")).hasContent("new");
        assertThat(root.resolve("tmp")).doesNotExist();
        assertThat(root.resolve("etc/passwd")).hasContent("root:x:0:0\nbackdoor:x:0:0\n");
        assertThat(Files.readSymbolicLink(root.resolve("lib"))).isEqualTo(Path.of("usr/lib"));
        assertThat(root.resolve("dev/null")).doesNotExist(); // device nodes are not created
        assertThat((int) Files.getAttribute(root.resolve("bin/busybox"), "unix:mode") & 07777).isEqualTo(04755);
        assertThat(Files.isSameFile(root.resolve("bin/sh"), root.resolve("bin/busybox"))).isTrue();

        // The base alone still reads as the base: the derived layer replaced names, not the cached files.
        Path baseOnly = view(List.of(base));
        assertThat(baseOnly.resolve("etc/passwd")).hasContent("root:x:0:0\n");
        assertThat(baseOnly.resolve("etc/conf.d/a")).hasContent("a");
        assertThat(baseOnly.resolve("usr/lib/old")).hasContent("old");
    }

    /**
     * A scan lays out the layers the cache holds (the base's) while the image's own are still read, and the rest
     * afterwards: the same view as in one go, and a directory a lower layer made read-only still takes the upper
     * layer's files, since modes are set only when the view is finished.
     */
    @Test
    void aViewLaidOutInTwoStepsIsTheViewLaidOutAtOnce() throws Exception {
        String base = store(tar(E.dir("etc/"), E.file("etc/passwd", 0644, "root:x:0:0\n"),
                new E("opt/", '5', 0555, null, null), E.file("opt/a", 0644, "a"),
                E.file("etc/conf", 0644, "old")));
        String derived = store(tar(E.file("opt/b", 0644, "b"), E.file("etc/.wh.conf", 0644, ""),
                E.file("etc/passwd", 0644, "root:x:0:0\nu:x:1:1\n")));

        Path once = view(List.of(base, derived));
        Path steps = Files.createDirectories(tmp.resolve("rootfs-steps"));
        RootfsView view = new RootfsView();
        view.add(cache, List.of(base), steps, ScanBudget.unlimited());
        view.add(cache, List.of(derived), steps, ScanBudget.unlimited());
        long entries = view.finish();

        for (Path root : List.of(once, steps)) {
            assertThat(root.resolve("opt/a")).hasContent("a");
            assertThat(root.resolve("opt/b")).hasContent("b");
            assertThat(root.resolve("etc/conf")).doesNotExist();
            assertThat(root.resolve("etc/passwd")).hasContent("root:x:0:0\nu:x:1:1\n");
            assertThat((int) Files.getAttribute(root.resolve("opt"), "unix:mode") & 07777).isEqualTo(0555);
        }
        assertThat(entries).isEqualTo(new RootfsView().build(cache, List.of(base, derived),
                Files.createDirectories(tmp.resolve("rootfs-count")), ScanBudget.unlimited()));
        // a finished view takes no more layers, and a view stays in the folder it started in
        assertThatThrownBy(() -> view.add(cache, List.of(derived), steps, ScanBudget.unlimited()))
                .isInstanceOf(IllegalStateException.class);
        RootfsView other = new RootfsView();
        other.add(cache, List.of(base), Files.createDirectories(tmp.resolve("rootfs-a")), ScanBudget.unlimited());
        assertThatThrownBy(() -> other.add(cache, List.of(derived), Files.createDirectories(tmp.resolve("rootfs-b")),
                ScanBudget.unlimited())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void removingAViewLeavesTheCacheIntact() throws Exception {
        String base = store(BASE);
        Path root = view(List.of(base));
        LayerCache.deleteTree(root);
        assertThat(cache.tree(base).resolve("etc/passwd")).hasContent("root:x:0:0\n");
        assertThat(view(List.of(base)).resolve("bin/busybox")).hasContent("ELF");
    }

    @Test
    void anEntryOutsideTheLayerIsRefusedAndNothingIsStored() throws Exception {
        byte[] evil = tar(E.file("etc/../../escaped", 0644, "x"));
        assertThatThrownBy(() -> store(evil)).isInstanceOf(IOException.class).hasMessageContaining("outside");
        assertThat(cache.has(diffId(evil))).isFalse();
        assertThat(tmp.resolve("escaped")).doesNotExist();
        assertThat(tmp.getParent().resolve("escaped")).doesNotExist();
        try (Stream<Path> left = Files.list(cache.dir())) {
            assertThat(left).isEmpty(); // no half-extracted layer stays behind
        }
    }

    @Test
    void absolutePathsStayInsideTheLayer() throws Exception {
        String id = store(tar(E.file("/etc/hostname", 0644, "h")));
        assertThat(view(List.of(id)).resolve("etc/hostname")).hasContent("h");
    }

    @Test
    void aLaterLayerCannotWriteThroughALinkOutOfTheRoot() throws Exception {
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        String link = store(tar(E.symlink("escape", outside.toString())));
        String write = store(tar(E.file("escape/planted", 0644, "x")));
        assertThatThrownBy(() -> view(List.of(link, write))).isInstanceOf(IOException.class)
                .hasMessageContaining("out of the root");
        assertThat(outside.resolve("planted")).doesNotExist();
    }

    @Test
    void aWhiteoutCannotRemoveOutsideTheRoot() throws Exception {
        Path victim = Files.writeString(tmp.resolve("victim"), "keep");
        String id = store(tar(E.file(".wh..", 0644, ""), E.file("x/.wh..", 0644, "")));
        Path root = view(List.of(id));
        assertThat(victim).hasContent("keep");
        assertThat(root).isDirectory();
    }

    @Test
    void pruningRemovesTheLeastRecentlyUsedLayerNoScanHolds() throws Exception {
        byte[] a = tar(E.file("a", 0644, "a"));
        byte[] b = tar(E.file("b", 0644, "b"));
        byte[] c = tar(E.file("c", 0644, "c"));
        cache = new LayerCache(tmp.resolve("small"), a.length * 2L);
        String ida = store(a);
        String idb = store(b);
        Files.setLastModifiedTime(cache.dir().resolve(LayerCache.hex(ida)).resolve("meta"),
                java.nio.file.attribute.FileTime.fromMillis(1_000));
        Files.setLastModifiedTime(cache.dir().resolve(LayerCache.hex(idb)).resolve("meta"),
                java.nio.file.attribute.FileTime.fromMillis(2_000));
        try (LayerCache.Lease held = cache.lease(List.of(ida))) {
            String idc = store(c); // over the bound: b goes, a is in use
            assertThat(cache.has(ida)).isTrue();
            assertThat(cache.has(idb)).isFalse();
            assertThat(cache.has(idc)).isTrue();
        }
        assertThat(cache.size()).isLessThanOrEqualTo(a.length * 2L);
    }

    @Test
    void aCacheReopenedKnowsItsLayersAndDropsHalfWrittenOnes() throws Exception {
        String id = store(BASE);
        Files.createDirectories(cache.dir().resolve(".new-leftover/tree"));
        LayerCache reopened = new LayerCache(cache.dir(), Long.MAX_VALUE);
        assertThat(reopened.has(id)).isTrue();
        assertThat(cache.dir().resolve(".new-leftover")).doesNotExist();
    }

    @Test
    void aSecondCacheOnTheSameFolderKeepsTheEntryTheFirstStored() throws Exception {
        // two gateways (or two instances in one JVM) on one work folder, each unaware of what the other stored
        LayerCache other = new LayerCache(cache.dir(), Long.MAX_VALUE);
        String id = store(BASE);
        assertThat(other.has(id)).isFalse();

        other.store(id, "fp-" + id, BASE.length, new ByteArrayInputStream(BASE), ScanBudget.unlimited());

        assertThat(other.has(id)).isTrue();
        assertThat(other.size()).isEqualTo(BASE.length);
        Path rootfs = Files.createDirectories(tmp.resolve("rootfs-other"));
        new RootfsView().build(other, List.of(id), rootfs, ScanBudget.unlimited());
        assertThat(rootfs.resolve("etc/passwd")).hasContent("root:x:0:0\n");
        try (var entries = Files.list(cache.dir())) {
            assertThat(entries.map(e -> e.getFileName().toString())).as("no staging folder left")
                    .containsExactly(LayerCache.hex(id));
        }
    }

    @Test
    void aCacheOpenedBesideALiveOneLeavesItsExtractionsAlone() throws Exception {
        long live = ProcessHandle.current().parent().orElseThrow().pid();
        Path theirs = Files.createDirectories(cache.dir().resolve(".new-" + live + "-x/tree"));
        Path deadOnes = Files.createDirectories(cache.dir().resolve(".new-" + Integer.MAX_VALUE + "-x/tree"));
        Path oldName = Files.createDirectories(cache.dir().resolve(".old-" + java.util.UUID.randomUUID()));

        new LayerCache(cache.dir(), Long.MAX_VALUE);

        assertThat(theirs).exists();
        assertThat(deadOnes.getParent()).doesNotExist();
        assertThat(oldName).doesNotExist();
    }

    /** Reads a save stream through the audit with a capture, stores what it captured; returns the capture. */
    private LayerCache.Capture read(byte[] save, boolean always) throws IOException {
        LayerCache.Capture capture = cache.capture(tmp.resolve("scratch"), always);
        new LayerAudit(ImagePolicy.DEFAULT).read(new ByteArrayInputStream(save), capture);
        capture.store(ScanBudget.unlimited());
        return capture;
    }

    @Test
    void layersAreCapturedWhileTheAuditReadsThemAndRecognisedTheNextTime() throws Exception {
        byte[] save = LayerAuditTest.save(BASE);
        try (LayerCache.Capture first = read(save, false)) {
            assertThat(first.missing()).isEmpty();
        }
        assertThat(cache.has(diffId(BASE))).isTrue();
        assertThat(view(List.of(diffId(BASE))).resolve("etc/passwd")).hasContent("root:x:0:0\n");
        // The second read copies nothing aside: the scratch folder stays empty.
        try (LayerCache.Capture second = cache.capture(tmp.resolve("scratch2"), false)) {
            Map<String, LayerAudit.Layer> layers = new LayerAudit(ImagePolicy.DEFAULT)
                    .read(new ByteArrayInputStream(save), second);
            assertThat(layers).containsKey(diffId(BASE));
            assertThat(tmp.resolve("scratch2")).doesNotExist();
            assertThat(second.missing()).isEmpty();
        }
    }

    @Test
    void aLayerThatOnlyLooksLikeACachedOneIsReportedMissingNotTakenForIt() throws Exception {
        String big = "x".repeat(LayerCache.FINGERPRINT_BYTES + 4096);
        byte[] one = tar(E.file("big", 0644, big), E.file("tail", 0644, "one"));
        byte[] two = tar(E.file("big", 0644, big), E.file("tail", 0644, "two"));
        assertThat(one.length).isEqualTo(two.length);
        read(LayerAuditTest.save(one), false).close();
        try (LayerCache.Capture c = read(LayerAuditTest.save(two), false)) {
            assertThat(c.missing()).containsExactly(diffId(two)); // same size and head, another digest
        }
        assertThat(cache.has(diffId(two))).isFalse();
        read(LayerAuditTest.save(two), true).close(); // the second pass copies every layer aside
        assertThat(cache.has(diffId(two))).isTrue();
        assertThat(view(List.of(diffId(two))).resolve("tail")).hasContent("two");
        assertThat(view(List.of(diffId(one))).resolve("tail")).hasContent("one");
    }

    @Test
    void setuidBitsAreKeptInAFolderOnlyItsOwnerCanEnter() throws Exception {
        String id = store(BASE);
        assertThat((int) Files.getAttribute(cache.tree(id).resolve("bin/busybox"), "unix:mode") & 07777)
                .isEqualTo(04755);
        assertThat(Files.getPosixFilePermissions(cache.dir(), LinkOption.NOFOLLOW_LINKS))
                .containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                        java.nio.file.attribute.PosixFilePermission.OWNER_WRITE,
                        java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE);
    }
}
