package io.buildgateway.scanning;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The part of an image's merged root filesystem that a composed evaluation reads ({@link DeltaView}), laid out without
 * the rest: for an image on a base whose evaluation is stored, the base's thousands of files need no link each, only
 * the paths the image's own layers write, the content's named paths and whatever resolving them meets (docs/scanning.md,
 * "The partial merged view").
 *
 * <p>The view holds every path of a set {@code W} exactly as the whole merged view holds it, when {@code W} is closed
 * under three rules, which the layout enforces in rounds:
 * <ul>
 *   <li>the parents of each path are in {@code W} (so are the opaque directories, whiteouts and replacements above
 *       it);</li>
 *   <li>an operation of any layer whose path lies below the path of a symbolic link that any layer of the chain
 *       makes is in {@code W} (it may write through that link into a path of {@code W});</li>
 *   <li>every path met while resolving a path of {@code W} in the view, symbolic links followed inside the root as
 *       the kernel follows them, is in {@code W}.</li>
 * </ul>
 * A round lays out the operations whose path is in {@code W} ({@link RootfsView} with a filter), resolves every path of
 * {@code W} in it, and ends the layout when nothing new was met; otherwise {@code W} grows and the next round starts
 * from an empty folder. A round that fails (a write through a link whose target is not laid out yet) counts as one
 * that met something new only if it did; after {@link #MAX_ROUNDS} rounds, or a failed round that met nothing new,
 * the caller lays out the whole view instead.
 */
final class PartialRootfs {

    /** Rounds before giving up; a usrmerged Debian base settles in two or three. */
    static final int MAX_ROUNDS = 8;

    /** What a layout did: whether it settled (else the caller lays out in full), its rounds and the paths it holds. */
    record Layout(boolean settled, int rounds, int paths) {
    }

    private PartialRootfs() {
    }

    /**
     * Lays out in the empty folder {@code rootfs} the merged state of the chain {@code chain} (bottom first, leased
     * by the caller) for the paths the own layers {@code ownLayers} write and the named paths {@code named}, closed
     * as the class comment says.
     */
    static Layout build(LayerCache cache, List<String> chain, List<String> ownLayers, Collection<String> named,
            Path rootfs, ScanBudget budget) throws IOException {
        Set<String> need = new LinkedHashSet<>();
        for (String id : ownLayers) {
            for (RootfsView.Op op : RootfsView.read(cache.ops(id))) {
                need.add(op.path());
            }
        }
        for (String p : named) {
            need.add(normalise(p));
        }
        need.addAll(belowLinks(cache, chain));
        for (int round = 1; round <= MAX_ROUNDS; round++) {
            budget.check();
            Set<String> wanted = withParents(need);
            if (round > 1) {
                LayerCache.deleteTree(rootfs);
                Files.createDirectories(rootfs);
            }
            boolean failed = false;
            try {
                RootfsView view = new RootfsView();
                view.add(cache, chain, rootfs, budget, wanted::contains);
                view.finish();
            } catch (ScanBudget.Exceeded e) {
                throw e;
            } catch (IOException e) {
                failed = true;
            }
            Set<String> met = new LinkedHashSet<>();
            Path root = rootfs.toRealPath();
            for (String p : wanted) {
                DeltaView.resolve(root, p, met::add); // every path resolving it looks at
            }
            met.removeAll(wanted);
            if (met.isEmpty()) {
                return new Layout(!failed, round, wanted.size());
            }
            need.addAll(met);
        }
        return new Layout(false, MAX_ROUNDS, need.size());
    }

    /**
     * The paths of the chain's operations that lie below the path of a symbolic link some layer of the chain makes:
     * laid out, such an operation may write through the link anywhere in the view.
     */
    static Set<String> belowLinks(LayerCache cache, List<String> chain) throws IOException {
        List<List<RootfsView.Op>> layers = new ArrayList<>();
        Set<String> links = new HashSet<>();
        for (String id : chain) {
            List<RootfsView.Op> ops = RootfsView.read(cache.ops(id));
            layers.add(ops);
            for (RootfsView.Op op : ops) {
                if (op.kind() == LayerCache.OP_SYMLINK) {
                    links.add(op.path());
                }
            }
        }
        Set<String> out = new LinkedHashSet<>();
        if (links.isEmpty()) {
            return out;
        }
        for (List<RootfsView.Op> ops : layers) {
            for (RootfsView.Op op : ops) {
                for (String parent = parent(op.path()); parent != null; parent = parent(parent)) {
                    if (links.contains(parent)) {
                        out.add(op.path());
                        break;
                    }
                }
            }
        }
        return out;
    }

    /** {@code paths} with every parent of each, up to {@code /}. */
    static Set<String> withParents(Collection<String> paths) {
        Set<String> out = new HashSet<>();
        out.add("/");
        for (String p : paths) {
            for (String at = p; at != null && out.add(at); at = parent(at)) {
                // each parent once
            }
        }
        return out;
    }

    /** The parent of an absolute normalised path; null for {@code /}. */
    static String parent(String path) {
        if (path.equals("/")) {
            return null;
        }
        int slash = path.lastIndexOf('/');
        return slash == 0 ? "/" : path.substring(0, slash);
    }

    private static String normalise(String path) {
        Deque<String> parts = new ArrayDeque<>();
        for (String c : DeltaView.components(path)) {
            if (c.equals("..")) {
                parts.pollLast();
            } else {
                parts.addLast(c);
            }
        }
        return "/" + String.join("/", parts);
    }
}
