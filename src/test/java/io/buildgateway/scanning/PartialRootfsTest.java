package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.scanning.LayerCacheTest.E;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The partial merged view ({@link PartialRootfs}) serves a composed evaluation exactly as the whole one does: the delta
 * view ({@link DeltaView}) built from it equals, entry for entry (type, mode, owner, link text, the very inode of each
 * file), the delta view built from the whole merged view ({@link RootfsView}), for the usrmerge and link cases a base
 * really has and for hundreds of generated layer stacks (links relative, absolute, dangling, looping and out of the
 * root; whiteouts and opaque directories; writes through links of lower layers). Where the whole view cannot be laid
 * out (a write through a link out of the root), the partial one does not settle either, so the caller's whole layout
 * fails as before.
 */
class PartialRootfsTest {

    private static final Set<String> NAMED = Set.of("/etc/shadow", "/etc/passwd", "/etc/group", "/etc/os-release",
            "/usr/lib/os-release");

    @TempDir
    Path tmp;
    private LayerCache cache;

    @BeforeEach
    void setUp() throws IOException {
        cache = new LayerCache(tmp.resolve("layers"), Long.MAX_VALUE);
    }

    /** A usrmerged base: /bin, /sbin and /lib are links into /usr, os-release is a link, thousands of other files. */
    private static E[] usrmergedBase() {
        List<E> base = new ArrayList<>(List.of(E.dir("etc/"), E.file("etc/passwd", 0644, "root:x:0:0::/root:/bin/sh\n"),
                E.file("etc/group", 0644, "root:x:0:\n"), E.file("etc/shadow", 0640, "root:*:1::::::\n"),
                E.symlink("etc/os-release", "../usr/lib/os-release"), E.dir("usr/"), E.dir("usr/lib/"),
                E.file("usr/lib/os-release", 0644, "ID=test\n"), E.dir("usr/bin/"), E.dir("usr/sbin/"),
                E.symlink("bin", "usr/bin"), E.symlink("sbin", "usr/sbin"), E.symlink("lib", "usr/lib"),
                new E("tmp/", '5', 01777, null, null), E.dir("usr/share/"), E.dir("usr/share/doc/")));
        for (int i = 0; i < 300; i++) {
            base.add(E.file("usr/bin/tool" + i, 0755, "ELF" + i));
            base.add(E.file("usr/share/doc/readme" + i, 0644, "doc" + i));
        }
        return base.toArray(E[]::new);
    }

    @Test
    void aDerivedLayerOnAUsrmergedBaseGetsTheSameDeltaViewFromAFractionOfTheBase() throws Exception {
        List<String> chain = List.of(store(LayerCacheTest.tar(usrmergedBase())), store(LayerCacheTest.tar(
                E.dir("srv/"), E.file("srv/app", 0755, "ELF"), E.dir("usr/"), E.dir("usr/bin/"),
                E.file("usr/bin/tool7", 04755, "ELF7"), E.dir("etc/"), E.file("etc/.wh.shadow", 0644, ""))));
        Compared c = compare(chain, 1, NAMED);
        assertThat(c.partial().settled()).isTrue();
        assertThat(c.fullDelta()).isEqualTo(c.partialDelta()).containsKeys("/srv/app", "/usr/bin/tool7",
                "/etc/os-release", "/usr/lib/os-release").doesNotContainKey("/etc/shadow");
        // the base's 600 files are not laid out: a few dozen paths are
        assertThat(c.partial().paths()).isLessThan(40);
    }

    @Test
    void aFileWrittenThroughTheBinLinkOfTheBaseIsWhereTheWholeViewHasIt() throws Exception {
        List<String> chain = List.of(store(LayerCacheTest.tar(usrmergedBase())),
                store(LayerCacheTest.tar(E.dir("bin/"), E.file("bin/sneaky", 04755, "ELF"))));
        Compared c = compare(chain, 1, NAMED);
        assertThat(c.fullDelta()).isEqualTo(c.partialDelta());
    }

    @Test
    void anOwnLayerReplacingALinkOfTheBaseWithADirectoryIsSeenAsInTheWholeView() throws Exception {
        List<String> chain = List.of(store(LayerCacheTest.tar(usrmergedBase())),
                store(LayerCacheTest.tar(E.dir("lib/"), E.file("lib/os-release", 0666, "ID=other\n"), E.dir("etc/"),
                        E.symlink("etc/os-release", "/lib/os-release"))));
        Compared c = compare(chain, 1, NAMED);
        assertThat(c.fullDelta()).isEqualTo(c.partialDelta()).containsKey("/lib/os-release");
    }

    @Test
    void aBaseWhoseLinkLeadsOutOfTheRootWithAWriteThroughItIsNotLaidOutPartially() throws Exception {
        // the base plants the link; the image's own layer writes through it (no directory entry of its own)
        List<String> chain = List.of(store(LayerCacheTest.tar(E.symlink("up", "../../.."), E.dir("etc/"),
                E.file("etc/passwd", 0644, "root:x:0:0::/:/bin/sh\n"))),
                store(LayerCacheTest.tar(E.dir("srv/"), E.file("srv/a", 0644, "a"))),
                store(LayerCacheTest.tar(E.file("up/escape", 0644, "x"))));
        Path full = Files.createDirectories(tmp.resolve("full"));
        boolean fullFailed = false;
        try {
            new RootfsView().build(cache, chain, full, ScanBudget.unlimited());
        } catch (IOException e) {
            fullFailed = true;
        }
        Path partial = Files.createDirectories(tmp.resolve("partial"));
        PartialRootfs.Layout laid = PartialRootfs.build(cache, chain, chain.subList(2, 3), NAMED, partial,
                ScanBudget.unlimited());
        assertThat(fullFailed).as("the whole view refuses the write out of the root").isTrue();
        assertThat(laid.settled()).as("a partial view must not succeed where the whole one fails").isFalse();
    }

    @Test
    void generatedLayerStacksGiveTheSameDeltaViewFromThePartialAndTheWholeView() throws Exception {
        Random random = new Random(20261204);
        int compared = 0;
        int refused = 0;
        for (int i = 0; i < 400; i++) {
            int layers = 2 + random.nextInt(3);
            List<String> chain = new ArrayList<>();
            boolean stored = true;
            for (int l = 0; l < layers && stored; l++) {
                try {
                    chain.add(store(LayerCacheTest.tar(randomLayer(random))));
                } catch (IOException e) {
                    stored = false; // the cache refuses the layer itself (a write through its own link): not a stack
                }
            }
            if (!stored) {
                continue;
            }
            int base = 1 + random.nextInt(layers - 1);
            Set<String> named = new java.util.LinkedHashSet<>(List.of("/etc/passwd", "/etc/os-release", "/"
                    + NAMES[random.nextInt(NAMES.length)] + "/" + NAMES[random.nextInt(NAMES.length)]));
            Path run = Files.createTempDirectory(tmp, "case-");
            Path full = Files.createDirectories(run.resolve("full"));
            try {
                new RootfsView().build(cache, chain, full, ScanBudget.unlimited());
            } catch (IOException e) {
                if (!baseLaysOut(chain.subList(0, base), run)) {
                    // the base's own evaluation fails the same way: no result is stored, nothing is composed
                    LayerCache.deleteTree(run);
                    continue;
                }
                PartialRootfs.Layout laid = PartialRootfs.build(cache, chain, chain.subList(base, layers), named,
                        Files.createDirectories(run.resolve("partial")), ScanBudget.unlimited());
                assertThat(laid.settled()).as("case %d: the whole view failed (%s), the partial one must not settle",
                        i, e.getMessage()).isFalse();
                refused++;
                LayerCache.deleteTree(run);
                continue;
            }
            Compared c = compare(chain, base, named, run, full);
            if (c.partial().settled()) {
                assertThat(c.partialDelta()).as("case %d", i).isEqualTo(c.fullDelta());
                compared++;
            }
            LayerCache.deleteTree(run);
        }
        assertThat(compared).as("stacks compared").isGreaterThan(200);
        assertThat(refused).as("stacks whose whole view fails").isPositive();
    }

    private boolean baseLaysOut(List<String> base, Path run) throws IOException {
        try {
            new RootfsView().build(cache, base, Files.createDirectories(run.resolve("base")), ScanBudget.unlimited());
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static final String[] NAMES = {"etc", "usr", "bin", "lib", "a", "b", "passwd", "os-release"};

    private static E[] randomLayer(Random r) {
        List<E> out = new ArrayList<>();
        int n = 1 + r.nextInt(8);
        for (int k = 0; k < n; k++) {
            String dir = r.nextInt(3) == 0 ? "" : NAMES[r.nextInt(NAMES.length)] + "/";
            String deeper = dir.isEmpty() || r.nextBoolean() ? "" : NAMES[r.nextInt(NAMES.length)] + "/";
            String name = NAMES[r.nextInt(NAMES.length)];
            String path = dir + deeper + name;
            if (!dir.isEmpty()) {
                out.add(E.dir(dir));
            }
            if (!deeper.isEmpty()) {
                out.add(E.dir(dir + deeper));
            }
            switch (r.nextInt(7)) {
                case 0 -> out.add(E.dir(path + "/"));
                case 1, 2 -> out.add(E.file(path, r.nextBoolean() ? 0644 : (r.nextBoolean() ? 04755 : 0666),
                        "f" + r.nextInt(5)));
                case 3 -> out.add(E.symlink(path, switch (r.nextInt(5)) {
                    case 0 -> NAMES[r.nextInt(NAMES.length)];
                    case 1 -> "/" + NAMES[r.nextInt(NAMES.length)] + "/" + NAMES[r.nextInt(NAMES.length)];
                    case 2 -> "../" + NAMES[r.nextInt(NAMES.length)];
                    case 3 -> "../../..";
                    default -> name; // itself: a loop
                }));
                case 4 -> out.add(E.file(dir + deeper + ".wh." + name, 0644, ""));
                case 5 -> out.add(E.file(dir + deeper + ".wh..wh..opq", 0644, ""));
                default -> out.add(E.file(path, 0755, "x"));
            }
        }
        // one name once per layer (a tar may repeat a name; the cache keeps the last, as the daemon does)
        Map<String, E> last = new java.util.LinkedHashMap<>();
        for (E e : out) {
            last.remove(e.name());
            last.put(e.name(), e);
        }
        return last.values().toArray(E[]::new);
    }

    private record Compared(PartialRootfs.Layout partial, Map<String, String> fullDelta,
            Map<String, String> partialDelta) {
    }

    private Compared compare(List<String> chain, int base, Set<String> named) throws IOException {
        Path run = Files.createTempDirectory(tmp, "case-");
        Path full = Files.createDirectories(run.resolve("full"));
        new RootfsView().build(cache, chain, full, ScanBudget.unlimited());
        return compare(chain, base, named, run, full);
    }

    private Compared compare(List<String> chain, int base, Set<String> named, Path run, Path full)
            throws IOException {
        List<String> own = chain.subList(base, chain.size());
        Path fullDelta = Files.createDirectories(run.resolve("full-delta"));
        DeltaView.build(full, cache, own, named, fullDelta, ScanBudget.unlimited());
        Path partial = Files.createDirectories(run.resolve("partial"));
        PartialRootfs.Layout laid = PartialRootfs.build(cache, chain, own, named, partial, ScanBudget.unlimited());
        Map<String, String> partialTree = Map.of();
        if (laid.settled()) {
            Path partialDelta = Files.createDirectories(run.resolve("partial-delta"));
            DeltaView.build(partial, cache, own, named, partialDelta, ScanBudget.unlimited());
            partialTree = tree(partialDelta);
        }
        return new Compared(laid, tree(fullDelta), partialTree);
    }

    /** Every entry below {@code root}: type, mode, owner, link text, and a file's inode. */
    private static Map<String, String> tree(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.toList()) {
                String rel = "/" + root.relativize(p);
                Object mode = Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
                Object uid = Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
                String what;
                if (Files.isSymbolicLink(p)) {
                    what = "link " + Files.readSymbolicLink(p);
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    what = "dir " + Integer.toOctalString((Integer) mode & 07777) + " " + uid;
                } else {
                    what = "file " + Integer.toOctalString((Integer) mode & 07777) + " " + uid + " inode "
                            + Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS);
                }
                out.put(rel.equals("/") ? "/" : rel, what);
            }
        }
        return out;
    }

    private String store(byte[] layer) throws Exception {
        String id = LayerCacheTest.diffId(layer);
        if (!cache.has(id)) {
            cache.store(id, "fp-" + id, layer.length, new ByteArrayInputStream(layer), ScanBudget.unlimited());
        }
        return id;
    }
}
