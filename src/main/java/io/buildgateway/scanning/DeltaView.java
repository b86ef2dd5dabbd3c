package io.buildgateway.scanning;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The part of an image's merged root filesystem ({@link RootfsView}) that OpenSCAP must see again when the image's
 * base was evaluated before and passed every composable rule (docs/scanning.md, "Composed over the base's
 * evaluation"):
 *
 * <ul>
 *   <li>every entry the image's own layers write that is still there in the merged tree, with its final attributes
 *       (an entry a later layer deletes is absent; a directory brings itself, not the base's files in it);</li>
 *   <li>the directories above each of them, with their merged attributes (so a walk reaches the entry exactly as it
 *       reaches it in the merged tree);</li>
 *   <li>the named paths the content declares, component by component as the merged tree resolves them: directories,
 *       symbolic links (as links, with the same target text) and what those links resolve to inside the root.</li>
 * </ul>
 *
 * <p>Files are hard links to the merged tree's (which are hard links into the layer cache: no bytes copied);
 * directories are made fresh and get the merged tree's mode and owner at the end; links are recreated. The view is
 * built in a folder of its own on the same file system as the merged tree.
 */
final class DeltaView {

    private static final int MAX_LINKS = 40; // as the kernel's path resolution

    private final Path merged;
    private final Path delta;
    private final boolean canChown;
    private final Map<Path, PosixFileAttributes> dirs = new LinkedHashMap<>();
    private long entries;

    private DeltaView(Path merged, Path delta) throws IOException {
        this.merged = merged.toRealPath();
        this.delta = delta.toRealPath();
        this.canChown = "root".equals(System.getProperty("user.name"));
    }

    /**
     * Builds in the empty folder {@code delta} the delta view of the merged tree {@code merged} for the image's own
     * layers {@code ownLayers} (bottom first, in the cache) and the named paths; returns the entries it holds.
     */
    static long build(Path merged, LayerCache cache, List<String> ownLayers, Collection<String> namedPaths,
            Path delta, ScanBudget budget) throws IOException {
        DeltaView view = new DeltaView(merged, delta);
        view.dirs.put(view.delta, attributes(view.merged));
        for (String id : ownLayers) {
            for (RootfsView.Op op : RootfsView.read(cache.ops(id))) {
                budget.check();
                if (op.kind() != LayerCache.OP_WHITEOUT) { // an opaque directory is named by its own path
                    view.written(op.path());
                }
            }
        }
        for (String p : namedPaths) {
            view.named(p);
        }
        return view.finish();
    }

    /** An entry an own layer writes: copied when the merged tree still has it, under its real parent. */
    private void written(String path) throws IOException {
        if (path.equals("/")) {
            return; // the root's attributes are copied always
        }
        String parent = path.substring(0, path.lastIndexOf('/'));
        String name = path.substring(path.lastIndexOf('/') + 1);
        Path mergedParent = merged.resolve(parent.isEmpty() ? "." : parent.substring(1)).normalize();
        if (!mergedParent.startsWith(merged) || !Files.isDirectory(mergedParent)) {
            return; // gone from the merged tree (a later layer deleted it or replaced its parent)
        }
        Path real = mergedParent.toRealPath(); // the view wrote through a link an earlier layer made: where it is now
        if (!real.startsWith(merged)) {
            return;
        }
        Path entry = real.resolve(name);
        if (!Files.exists(entry, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        copy(merged.relativize(entry));
    }

    /**
     * A named path, resolved in the merged tree one component at a time: each directory and link met on the way is
     * copied, a link is followed inside the root (an absolute target from the root, as oscap's probes resolve it
     * under {@code OSCAP_PROBE_ROOT}), and the resolution stops where the merged tree has nothing.
     */
    private void named(String path) throws IOException {
        resolve(merged, path, here -> {
            Path rel = Path.of(here.substring(1));
            if (Files.exists(merged.resolve(rel), LinkOption.NOFOLLOW_LINKS)) {
                copy(rel);
            }
        });
    }

    /** What {@link #resolve} reports each path it looks at to. */
    interface Visit {
        void at(String path) throws IOException;
    }

    /**
     * Resolves {@code path} in the tree rooted at {@code root} one component at a time, as the kernel does with the
     * root as {@code /}: symbolic links are followed (an absolute target from the root, {@code ..} stopping at it, at
     * most 40), and {@code visit} hears every path looked at, as {@code /a/b} below the root, before it is looked at.
     * It stops where the tree has nothing, or a file stands where a directory is needed.
     */
    static void resolve(Path root, String path, Visit visit) throws IOException {
        Deque<String> todo = new ArrayDeque<>(components(path));
        List<String> at = new ArrayList<>(); // the resolved directory so far, as components below the root
        int links = 0;
        while (!todo.isEmpty()) {
            String c = todo.pop();
            if (c.equals("..")) {
                if (!at.isEmpty()) {
                    at.remove(at.size() - 1);
                }
                continue;
            }
            String here = (at.isEmpty() ? "" : "/" + String.join("/", at)) + "/" + c;
            visit.at(here);
            Path m = root.resolve(here.substring(1));
            if (Files.isSymbolicLink(m)) {
                if (++links > MAX_LINKS) {
                    return;
                }
                String target = Files.readSymbolicLink(m).toString();
                if (target.startsWith("/")) {
                    at.clear();
                }
                List<String> next = components(target);
                for (int i = next.size() - 1; i >= 0; i--) {
                    todo.push(next.get(i));
                }
            } else if (Files.isDirectory(m, LinkOption.NOFOLLOW_LINKS)) {
                at.add(c);
            } else {
                return; // nothing there, or a file where a directory was needed: the path does not resolve further
            }
        }
    }

    static List<String> components(String path) {
        List<String> out = new ArrayList<>();
        for (String c : path.split("/")) {
            if (!c.isEmpty() && !c.equals(".")) {
                out.add(c);
            }
        }
        return out;
    }

    /** Copies {@code rel} (a path below the root whose parents are directories in the merged tree) and its parents. */
    private void copy(Path rel) throws IOException {
        Path target = delta.resolve(rel);
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (rel.getParent() != null) {
            Path parentTarget = delta.resolve(rel.getParent());
            if (!Files.exists(parentTarget, LinkOption.NOFOLLOW_LINKS)) {
                copy(rel.getParent());
            }
            if (!Files.isDirectory(parentTarget, LinkOption.NOFOLLOW_LINKS)) {
                throw new IOException("the delta view's parent of /" + rel + " is not a directory");
            }
        }
        Path source = merged.resolve(rel);
        entries++;
        if (Files.isSymbolicLink(source)) {
            Files.createSymbolicLink(target, Files.readSymbolicLink(source));
        } else if (Files.isDirectory(source, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectory(target);
            dirs.put(target, attributes(source));
        } else if (Files.isRegularFile(source, LinkOption.NOFOLLOW_LINKS)) {
            Files.createLink(target, source);
        } else {
            entries--; // nothing else is laid out in the merged tree
        }
    }

    private static PosixFileAttributes attributes(Path p) throws IOException {
        return Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    }

    /** The directories' modes and owners, as the merged tree has them (deepest first does not matter: as root). */
    private long finish() throws IOException {
        for (Map.Entry<Path, PosixFileAttributes> d : dirs.entrySet()) {
            Path source = d.getKey().equals(delta) ? merged : merged.resolve(delta.relativize(d.getKey()));
            int mode = (Integer) Files.getAttribute(source, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
            if (canChown) {
                Files.setAttribute(d.getKey(), "unix:uid", Files.getAttribute(source, "unix:uid",
                        LinkOption.NOFOLLOW_LINKS), LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(d.getKey(), "unix:gid", Files.getAttribute(source, "unix:gid",
                        LinkOption.NOFOLLOW_LINKS), LinkOption.NOFOLLOW_LINKS);
            }
            Files.setAttribute(d.getKey(), "unix:mode", mode, LinkOption.NOFOLLOW_LINKS);
        }
        return entries;
    }
}
