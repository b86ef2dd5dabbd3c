package io.buildgateway.scanning;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * An image's root filesystem for OpenSCAP, built from its cached layers ({@link LayerCache}) in the image's order as
 * the daemon's overlay stacks them: each layer's opaque directories and whiteouts remove what the layers below put
 * there, then its directories, files and symbolic links are laid over. Files are hard links to the cache's copies
 * (owners, modes and setuid bits are the cache's, no bytes are copied); directories are made fresh, with the mode and
 * owner the last layer that lists them gave them, set at the end so that a read-only directory does not stop its own
 * content.
 *
 * <p>Nothing is ever written through a name: a path is unlinked before a link is put there, so the cached file a
 * lower layer's link pointed at is left as it was; and a parent directory must resolve inside the root (a link a layer
 * planted cannot send a write outside it). Removing the view (deleting its names) leaves the cache intact.
 */
final class RootfsView {

    private final boolean canChown;
    private Path root; // set by the first layer laid out
    private final Map<Path, DirAttributes> dirs = new LinkedHashMap<>();
    private long entries;
    private boolean finished;

    RootfsView() {
        this.canChown = "root".equals(System.getProperty("user.name"));
    }

    record DirAttributes(int mode, long uid, long gid) {
    }

    /** Builds the view of {@code diffIds} (bottom first) in the empty folder {@code rootfs}; returns its entries. */
    long build(LayerCache cache, List<String> diffIds, Path rootfs, ScanBudget budget) throws IOException {
        add(cache, diffIds, rootfs, budget);
        return finish();
    }

    /**
     * Lays {@code diffIds} over what this view holds so far (bottom first), in {@code rootfs}: the same empty folder
     * on the first call, the same folder on every later one. Directory modes and owners wait for {@link #finish}, so
     * that a later layer can still write into a directory a lower one made read-only; a scan lays out the layers the
     * cache already holds (its base's) while the image's own layers are still being read, and the rest after.
     */
    void add(LayerCache cache, List<String> diffIds, Path rootfs, ScanBudget budget) throws IOException {
        add(cache, diffIds, rootfs, budget, path -> true);
    }

    /**
     * As {@link #add(LayerCache, List, Path, ScanBudget)}, with only the operations whose path {@code wanted} accepts
     * (opaque directories and whiteouts included): {@link PartialRootfs} lays out the few paths a composed evaluation
     * reads.
     */
    void add(LayerCache cache, List<String> diffIds, Path rootfs, ScanBudget budget, Predicate<String> wanted)
            throws IOException {
        if (finished) {
            throw new IllegalStateException("the view is finished");
        }
        Path real = rootfs.toRealPath();
        if (root == null) {
            root = real;
        } else if (!root.equals(real)) {
            throw new IllegalArgumentException("a view is laid out in one folder: " + root + ", not " + rootfs);
        }
        for (String id : diffIds) {
            budget.check();
            layer(cache, id, wanted);
        }
    }

    /** Gives the directories their modes and owners (the last layer that lists one wins); returns the entries. */
    long finish() throws IOException {
        if (finished) {
            return entries;
        }
        finished = true;
        for (Map.Entry<Path, DirAttributes> d : dirs.entrySet()) {
            if (canChown) {
                Files.setAttribute(d.getKey(), "unix:uid", (int) d.getValue().uid(), LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(d.getKey(), "unix:gid", (int) d.getValue().gid(), LinkOption.NOFOLLOW_LINKS);
            }
            Files.setAttribute(d.getKey(), "unix:mode", d.getValue().mode(), LinkOption.NOFOLLOW_LINKS);
        }
        return entries;
    }

    private void layer(LayerCache cache, String id, Predicate<String> wanted) throws IOException {
        Path tree = cache.tree(id).toRealPath();
        List<Op> ops = read(cache.ops(id));
        ops.removeIf(op -> !wanted.test(op.path()));
        for (Op op : ops) { // what this layer removes from the layers below, before what it adds
            if (op.kind() == LayerCache.OP_OPAQUE) {
                Path d = inside(root, op.path());
                if (d != null && Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
                    try (var children = Files.list(d)) {
                        for (Path c : children.toList()) {
                            remove(c, dirs);
                        }
                    }
                }
            } else if (op.kind() == LayerCache.OP_WHITEOUT) {
                Path p = inside(root, op.path());
                if (p != null) {
                    remove(p, dirs);
                }
            }
        }
        for (Op op : ops) {
            if (op.kind() == LayerCache.OP_OPAQUE || op.kind() == LayerCache.OP_WHITEOUT) {
                continue;
            }
            entries++;
            if (op.path().equals("/")) {
                dirs.put(root, op.attributes());
                continue;
            }
            Path target = inside(root, op.path());
            if (target == null) {
                throw new IOException("layer " + id + " has an entry outside the root: " + op.path());
            }
            Path parent = Files.createDirectories(target.getParent());
            if (!parent.toRealPath().startsWith(root)) {
                throw new IOException("layer " + id + " writes through a link out of the root: " + op.path());
            }
            if (op.kind() == LayerCache.OP_DIR) {
                if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                    Files.deleteIfExists(target);
                    Files.createDirectory(target);
                }
                dirs.put(target, op.attributes());
                continue;
            }
            if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                remove(target, dirs);
            } else {
                Files.deleteIfExists(target); // unlink before write
            }
            if (op.kind() == LayerCache.OP_SYMLINK) {
                Files.createSymbolicLink(target, Path.of(op.link()));
            } else {
                Files.createLink(target, tree.resolve(op.path().substring(1)));
            }
        }
    }

    /** The path under the root, or null when it names the root itself or leaves it. */
    private static Path inside(Path root, String path) {
        if (path.equals("/") || ("/" + path + "/").contains("/../") || ("/" + path + "/").contains("/./")) {
            return null;
        }
        Path p = root.resolve(path.substring(1)).normalize();
        return p.startsWith(root) && !p.equals(root) ? p : null;
    }

    /** Deletes a name, and a directory with everything in it (links are removed, never followed). */
    private static void remove(Path p, Map<Path, DirAttributes> dirs) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            dirs.keySet().removeIf(d -> d.startsWith(p));
        }
        LayerCache.deleteTree(p);
        if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("could not remove " + p + " from the root filesystem view");
        }
    }

    record Op(byte kind, String path, String link, DirAttributes attributes) {
    }

    /** A cached layer's operations in tar order ({@link LayerCache#ops}). */
    static List<Op> read(Path opsFile) throws IOException {
        List<Op> ops = new ArrayList<>();
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(opsFile)))) {
            while (true) {
                byte kind;
                try {
                    kind = in.readByte();
                } catch (EOFException end) {
                    return ops;
                }
                String path = in.readUTF();
                switch (kind) {
                    case LayerCache.OP_DIR -> ops.add(new Op(kind, path, null,
                            new DirAttributes(in.readInt(), in.readLong(), in.readLong())));
                    case LayerCache.OP_SYMLINK -> ops.add(new Op(kind, path, in.readUTF(), null));
                    case LayerCache.OP_FILE, LayerCache.OP_WHITEOUT, LayerCache.OP_OPAQUE ->
                            ops.add(new Op(kind, path, null, null));
                    default -> throw new IOException("layer cache operations file " + opsFile + " is corrupt");
                }
            }
        }
    }
}
