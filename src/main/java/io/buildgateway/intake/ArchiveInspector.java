package io.buildgateway.intake;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * Reads a build context archive once, as a pure function of its bytes and the limits, and either describes it or
 * says exactly why it is refused: absolute paths, {@code ..} components, names with control characters or that are
 * not UTF-8, a path that appears twice (after normalisation: {@code a} and {@code ./a}, a file and a directory of the
 * same name, an entry beneath a symlink or a file), symlinks whose target leaves the context once resolved physically
 * through the archive's other symlinks (in any order; loops too), hard links to anything but an earlier regular file,
 * device/fifo/other special entries, too many entries or bytes, a missing Dockerfile or one that is not a regular
 * file, data after the end-of-archive marker, or bytes that are not a tar archive at all. Every header is also read
 * the way the daemon's Go {@code archive/tar} reads it ({@link GoTarView}); an entry the two readers see differently
 * is refused. Nothing is extracted. With an {@link EntrySink}, every accepted entry is handed on in archive order
 * (the re-pack); the sink's output is valid only if the inspection returns.
 */
public final class ArchiveInspector {

    /** What the intake needs to know about an accepted archive. */
    public record Inspection(boolean gzip, int entries, long uncompressedBytes, String dockerfile,
            boolean hasDockerignore, Set<String> files, Set<String> hardlinkTargets) {
    }

    public record Limits(long maxUncompressedSize, int maxEntries, long maxEntrySize, int maxPathLength,
            long maxDockerfileSize) {
    }

    /** What an accepted entry is, for the re-pack. */
    enum Type { DIRECTORY, FILE, DOCKERFILE, SYMLINK, HARDLINK }

    /**
     * An accepted entry: {@code name} normalised (no {@code ./}, no trailing slash, empty for the context root);
     * {@code link} the symlink target as written, or the hard link's regular file (normalised); {@code mtime} in
     * seconds.
     */
    record Entry(Type type, String name, int mode, long mtime, long size, String link) {
    }

    /** Receives each accepted entry; {@code data} is the file's content (FILE and DOCKERFILE only). */
    interface EntrySink {
        void accept(Entry entry, InputStream data) throws IOException;
    }

    /** Linux gives up after 40 symlinks in one lookup (ELOOP); so does the check of a target. */
    private static final int MAX_LINK_DEPTH = 40;

    private ArchiveInspector() {
    }

    public static Inspection inspect(InputStream raw, String dockerfilePath, Limits limits)
            throws UnsafeArchiveException {
        return inspect(raw, dockerfilePath, limits, null);
    }

    static Inspection inspect(InputStream raw, String dockerfilePath, Limits limits, EntrySink sink)
            throws UnsafeArchiveException {
        String wanted = normalizeDockerfilePath(dockerfilePath);
        GoTarView view = new GoTarView();
        try {
            BufferedInputStream in = new BufferedInputStream(raw, 64 * 1024);
            in.mark(2);
            int b1 = in.read();
            int b2 = in.read();
            in.reset();
            boolean gzip = b1 == 0x1f && b2 == 0x8b;
            InputStream tarStream = gzip ? GzipCompressorInputStream.builder().setInputStream(in)
                    .setDecompressConcatenated(true).get() : in;
            GoTarView.Tee tee = new GoTarView.Tee(tarStream, view);
            @SuppressWarnings("deprecation")
            TarArchiveInputStream tar = new TarArchiveInputStream(tee, "UTF-8");
            return new Reading(tar, tee, view, gzip, wanted, limits, sink).read();
        } catch (IOException | IllegalArgumentException e) {
            if (view.problem() != null) {
                throw view.problem();
            }
            throw new UnsafeArchiveException("unreadable-archive",
                    "the body is not a readable tar or tar.gz archive (corrupt, truncated or another format)");
        }
    }

    /** The most characters of paths, and of the folders they imply, that one archive may hold (see Reading). */
    static final long MAX_NAME_CHARS = 32L * 1024 * 1024;

    /** One pass over one archive. */
    private static final class Reading {
        private final TarArchiveInputStream tar;
        private final GoTarView.Tee tee;
        private final GoTarView view;
        private final boolean gzip;
        private final String wanted;
        private final Limits limits;
        private final EntrySink sink;
        /** Every path seen, normalised, with what it is: 'd' directory, 'f' file (or hard link), 'l' symlink. */
        private final Map<String, Character> paths = new HashMap<>();
        /** Directories that exist because something lies beneath them. */
        private final Set<String> parents = new HashSet<>();
        /**
         * Characters of every path and parent held in {@link #paths} and {@link #parents}: each entry adds its own
         * name and each ancestor not seen before, so 400 entries of 4,096-character paths of one-letter folders under
         * distinct roots held ~1.6 GB of prefixes (a review's finding, 2026-12-06: a ~50 KB gzip that ended the
         * replica). Bounded by {@link #MAX_NAME_CHARS}, far above any source tree's (100,000 files under 10,000
         * folders of 100 characters is 11 M).
         */
        private long nameChars;
        /** Regular files and hard links, each mapped to the regular file whose content it has. */
        private final Map<String, String> regular = new HashMap<>();
        private final Map<String, String> symlinks = new HashMap<>();
        private final Set<String> hardlinkTargets = new HashSet<>();
        private final Set<String> names = new HashSet<>();

        Reading(TarArchiveInputStream tar, GoTarView.Tee tee, GoTarView view, boolean gzip, String wanted,
                Limits limits, EntrySink sink) {
            this.tar = tar;
            this.tee = tee;
            this.view = view;
            this.gzip = gzip;
            this.wanted = wanted;
            this.limits = limits;
            this.sink = sink;
        }

        Inspection read() throws IOException, UnsafeArchiveException {
            String dockerfile = null;
            boolean dockerignore = false;
            int entries = 0;
            long total = 0;
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                checkView();
                entries++;
                if (entries > limits.maxEntries()) {
                    throw new UnsafeArchiveException("too-many-entries",
                            "the archive has more than " + limits.maxEntries() + " entries");
                }
                String raw = entry.getName();
                if (raw.length() > limits.maxPathLength()) {
                    throw new UnsafeArchiveException("path-too-long", "an entry name is longer than "
                            + limits.maxPathLength() + " characters");
                }
                checkChars(raw, "entry name");
                compareWithGo(entry, view.next());
                String name = normalizeEntry(raw);
                int mode = entry.getMode() & 07777;
                long mtime = entry.getLastModifiedTime() == null ? 0
                        : entry.getLastModifiedTime().to(TimeUnit.SECONDS);
                if (entry.isDirectory()) {
                    claim(name, 'd');
                    if (!name.isEmpty()) {
                        names.add(name + "/");
                    }
                    emit(new Entry(Type.DIRECTORY, name, mode, mtime, 0, null), null);
                    continue;
                }
                if (name.isEmpty()) {
                    throw new UnsafeArchiveException("invalid-name", "entry '" + shown(raw)
                            + "' names the context root but is not a directory");
                }
                if (entry.isSymbolicLink() || entry.isLink()) {
                    String target = entry.getLinkName();
                    if (target != null && target.length() > limits.maxPathLength()) {
                        throw new UnsafeArchiveException("path-too-long", "the target of link '" + shown(name)
                                + "' is longer than " + limits.maxPathLength() + " characters");
                    }
                    if (target != null) {
                        checkChars(target, "link target");
                    }
                    if (name.equals(wanted)) {
                        throw notRegularDockerfile(entry.isSymbolicLink() ? "a symlink" : "a hard link");
                    }
                }
                if (entry.isSymbolicLink()) {
                    checkLinkTarget(name, entry.getLinkName(), true);
                    claim(name, 'l');
                    names.add(name);
                    symlinks.put(name, entry.getLinkName());
                    emit(new Entry(Type.SYMLINK, name, 0777, mtime, 0, entry.getLinkName()), null);
                    continue;
                }
                if (entry.isLink()) {
                    String target = checkLinkTarget(name, entry.getLinkName(), false);
                    String origin = regular.get(target);
                    if (origin == null) {
                        throw new UnsafeArchiveException("link-escape", "hard link '" + shown(name)
                                + "' points to '" + shown(entry.getLinkName())
                                + "', which is not a regular file earlier in the archive");
                    }
                    claim(name, 'f');
                    names.add(name);
                    regular.put(name, origin);
                    hardlinkTargets.add(origin);
                    emit(new Entry(Type.HARDLINK, name, mode, mtime, 0, origin), null);
                    continue;
                }
                if (entry.isCharacterDevice() || entry.isBlockDevice() || entry.isFIFO()) {
                    throw new UnsafeArchiveException("special-file", "entry '" + shown(name)
                            + "' is a device or fifo; build contexts may hold only files, directories and links");
                }
                if (!entry.isFile()) {
                    throw new UnsafeArchiveException("special-file", "entry '" + shown(name)
                            + "' has an unsupported type (" + (char) entry.getLinkFlag() + ")");
                }
                long size = entry.getSize();
                if (size < 0 || size > limits.maxEntrySize()) {
                    throw new UnsafeArchiveException("entry-too-large", "entry '" + shown(name)
                            + "' is larger than " + limits.maxEntrySize() + " bytes");
                }
                total += size;
                if (total > limits.maxUncompressedSize()) {
                    throw new UnsafeArchiveException("too-large-uncompressed", "the archive unpacks to more than "
                            + limits.maxUncompressedSize() + " bytes");
                }
                claim(name, 'f');
                names.add(name);
                regular.put(name, name);
                if (name.equals(".dockerignore")) {
                    dockerignore = true;
                }
                if (name.equals(wanted)) {
                    if (size > limits.maxDockerfileSize()) {
                        throw new UnsafeArchiveException("dockerfile-too-large", "the Dockerfile is larger than "
                                + limits.maxDockerfileSize() + " bytes");
                    }
                    byte[] bytes = tar.readNBytes((int) size);
                    dockerfile = new String(bytes, StandardCharsets.UTF_8);
                    emit(new Entry(Type.DOCKERFILE, name, mode, mtime, size, null), new ByteArrayInputStream(bytes));
                } else {
                    emit(new Entry(Type.FILE, name, mode, mtime, size, null), tar);
                }
                // The rest of the entry is skipped by getNextEntry, reading (and so checking) every byte.
            }
            tee.drain();
            view.end();
            checkView();
            if (view.next() != null) {
                throw new UnsafeArchiveException("ambiguous-archive", "the archive holds entries after what "
                        + "commons-compress reads as its end");
            }
            if (entries == 0) {
                throw new UnsafeArchiveException("unreadable-archive", "the archive is empty or not a tar archive");
            }
            if (paths.get(wanted) != null && paths.get(wanted) == 'd' || parents.contains(wanted)) {
                throw notRegularDockerfile("a directory");
            }
            if (dockerfile == null) {
                throw new UnsafeArchiveException("missing-dockerfile", "the context has no regular file '" + wanted
                        + "' (set ?dockerfile= to its path inside the context)");
            }
            resolveSymlinks();
            return new Inspection(gzip, entries, total, dockerfile, dockerignore, Set.copyOf(names),
                    Set.copyOf(hardlinkTargets));
        }

        /** A sink's own failure (the disk it writes to) is the gateway's problem, not the archive's. */
        private void emit(Entry entry, InputStream data) throws IOException {
            if (sink != null) {
                try {
                    sink.accept(entry, data == null ? null : new ArchiveData(data));
                } catch (ArchiveReadFailure e) {
                    throw e.getCause();
                } catch (IOException e) {
                    throw new UncheckedIOException("writing the re-packed context failed", e);
                }
            }
        }

        private void checkView() throws UnsafeArchiveException {
            if (view.problem() != null) {
                throw view.problem();
            }
        }

        private UnsafeArchiveException notRegularDockerfile(String what) {
            return new UnsafeArchiveException("dockerfile-not-regular", "the Dockerfile '" + shown(wanted)
                    + "' is " + what + " in the archive; it must be a regular file, so that the file the policy "
                    + "checks is the file the daemon builds");
        }

        /** commons-compress and Go must agree on the entry's name, type, link target and size. */
        private void compareWithGo(TarArchiveEntry entry, GoTarView.Header go) throws UnsafeArchiveException {
            String name = entry.getName();
            if (go == null) {
                throw ambiguous(name, "the daemon's reader finds no entry here");
            }
            char type = entry.isDirectory() ? '5' : entry.isSymbolicLink() ? '2' : entry.isLink() ? '1'
                    : entry.isCharacterDevice() ? '3' : entry.isBlockDevice() ? '4' : entry.isFIFO() ? '6'
                    : entry.isFile() ? '0' : '?';
            if (type != go.type()) {
                throw ambiguous(name, "its type is read differently ('" + type + "' here, '" + go.type()
                        + "' by the daemon)");
            }
            if (!stripSlashes(name).equals(stripSlashes(go.name()))) {
                throw ambiguous(name, "the daemon reads its name as '" + shown(go.name()) + "'");
            }
            if ((type == '1' || type == '2') && !entry.getLinkName().equals(go.linkName())) {
                throw ambiguous(name, "the daemon reads its link target as '" + shown(go.linkName()) + "'");
            }
            if (type == '0' && entry.getSize() != go.size()) {
                throw ambiguous(name, "the daemon reads its size as " + go.size());
            }
        }

        private static UnsafeArchiveException ambiguous(String name, String why) {
            return new UnsafeArchiveException("ambiguous-archive", "entry '" + shown(name) + "' is ambiguous: "
                    + why);
        }

        private static String stripSlashes(String s) {
            int end = s.length();
            while (end > 0 && s.charAt(end - 1) == '/') {
                end--;
            }
            return s.substring(0, end);
        }

        /**
         * Records a path once: the same path twice, a directory where a file or link is (or beneath one), or a file
         * or link where something lies beneath it, is refused.
         */
        private void claim(String name, char kind) throws UnsafeArchiveException {
            countName(name);
            Character before = paths.putIfAbsent(name, kind);
            if (before != null) {
                throw new UnsafeArchiveException("duplicate-path", "'" + (name.isEmpty() ? "." : shown(name))
                        + "' appears twice in the archive (after normalisation); readers disagree on which one wins");
            }
            if (kind != 'd' && parents.contains(name)) {
                throw new UnsafeArchiveException("duplicate-path", "'" + shown(name) + "' is both a "
                        + (kind == 'l' ? "symlink" : "file") + " and a directory holding other entries");
            }
            int slash = name.lastIndexOf('/');
            while (slash > 0) {
                String parent = name.substring(0, slash);
                Character what = paths.get(parent);
                if (what != null && what == 'l') {
                    throw new UnsafeArchiveException("path-through-link", "entry '" + shown(name)
                            + "' lies beneath the symlink '" + shown(parent) + "'; the daemon would write it "
                            + "wherever that link points");
                }
                if (what != null && what == 'f') {
                    throw new UnsafeArchiveException("duplicate-path", "'" + shown(parent) + "' is both a file and "
                            + "a directory holding other entries");
                }
                if (!parents.add(parent)) {
                    break;
                }
                countName(parent);
                slash = parent.lastIndexOf('/');
            }
        }

        private void countName(String name) throws UnsafeArchiveException {
            nameChars += name.length();
            if (nameChars > MAX_NAME_CHARS) {
                throw new UnsafeArchiveException("too-many-names", "the archive's paths and the folders they imply"
                        + " add up to more than " + MAX_NAME_CHARS + " characters (a tree this deep or this wide is"
                        + " no build context)");
            }
        }

        /**
         * Resolves every symlink physically, through the other symlinks of the archive, as the kernel would once
         * extracted: a target that leaves the context at any step, or a chain deeper than 40 or circular, is refused.
         */
        private void resolveSymlinks() throws UnsafeArchiveException {
            Map<String, Resolved> resolved = new HashMap<>();
            for (String link : symlinks.keySet()) {
                resolve(link, resolved, new HashSet<>(), 1);
            }
        }

        /** Where a symlink leads, and how many links deep its resolution goes (itself included). */
        private record Resolved(List<String> path, int depth) {
        }

        private Resolved resolve(String link, Map<String, Resolved> resolved, Set<String> inProgress, int nesting)
                throws UnsafeArchiveException {
            Resolved done = resolved.get(link);
            if (done != null) {
                return done;
            }
            if (nesting > MAX_LINK_DEPTH || !inProgress.add(link)) {
                throw loop(link);
            }
            String target = symlinks.get(link);
            if (target.startsWith("/")) {
                throw escape(link, target);
            }
            List<String> path = new ArrayList<>(List.of(link.split("/")));
            path.remove(path.size() - 1);
            int depth = 1;
            for (String part : target.split("/")) {
                if (part.isEmpty() || part.equals(".")) {
                    continue;
                }
                if (part.equals("..")) {
                    if (path.isEmpty()) {
                        throw escape(link, target);
                    }
                    path.remove(path.size() - 1);
                    continue;
                }
                path.add(part);
                String here = String.join("/", path);
                if (symlinks.containsKey(here)) {
                    Resolved through = resolve(here, resolved, inProgress, nesting + 1);
                    depth = Math.max(depth, through.depth() + 1);
                    if (depth > MAX_LINK_DEPTH) {
                        throw loop(link);
                    }
                    path = new ArrayList<>(through.path());
                }
            }
            inProgress.remove(link);
            Resolved result = new Resolved(List.copyOf(path), depth);
            resolved.put(link, result);
            return result;
        }

        private static UnsafeArchiveException loop(String link) {
            return new UnsafeArchiveException("link-loop", "symlink '" + shown(link) + "' is part of a loop or a "
                    + "chain of more than " + MAX_LINK_DEPTH + " links");
        }

        private UnsafeArchiveException escape(String link, String target) {
            return new UnsafeArchiveException("link-escape", "symlink '" + shown(link) + "' points to '"
                    + shown(target) + "', which leaves the context once the archive's links are followed");
        }
    }

    /** Tells the archive's read failures (refused as unreadable) from the sink's write failures (a server error). */
    private static final class ArchiveReadFailure extends RuntimeException {
        ArchiveReadFailure(IOException cause) {
            super(cause);
        }

        @Override
        public synchronized IOException getCause() {
            return (IOException) super.getCause();
        }
    }

    private static final class ArchiveData extends FilterInputStream {
        ArchiveData(InputStream in) {
            super(in);
        }

        @Override
        public int read() {
            try {
                return in.read();
            } catch (IOException e) {
                throw new ArchiveReadFailure(e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) {
            try {
                return in.read(b, off, len);
            } catch (IOException e) {
                throw new ArchiveReadFailure(e);
            }
        }

        @Override
        public void close() {
            // the archive stream is closed by its owner
        }
    }

    /** C0 controls, DEL and C1 controls in a name are refused: they hide what a name is in logs and terminals. */
    static void checkChars(String s, String what) throws UnsafeArchiveException {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f)) {
                throw new UnsafeArchiveException("control-character", "an " + what + " contains the control "
                        + "character U+" + String.format("%04X", (int) c) + " ('" + shown(s) + "')");
            }
            if (c == '\uFFFD') {
                throw new UnsafeArchiveException("invalid-name", "an " + what + " is not valid UTF-8 ('"
                        + shown(s) + "')");
            }
        }
    }

    /** Normalises an entry name and refuses absolute paths and {@code ..} components. */
    static String normalizeEntry(String raw) throws UnsafeArchiveException {
        if (raw.indexOf('\0') >= 0) {
            throw new UnsafeArchiveException("path-traversal", "an entry name contains a NUL byte");
        }
        if (raw.startsWith("/")) {
            throw new UnsafeArchiveException("path-traversal", "entry '" + shown(raw) + "' has an absolute path");
        }
        Deque<String> parts = new ArrayDeque<>();
        for (String part : raw.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                throw new UnsafeArchiveException("path-traversal", "entry '" + shown(raw)
                        + "' has a '..' component");
            }
            parts.add(part);
        }
        return String.join("/", parts);
    }

    /** Resolves a link target against the link's folder; refuses targets that leave the context. */
    static String checkLinkTarget(String linkName, String target, boolean symbolic) throws UnsafeArchiveException {
        String kind = symbolic ? "symlink" : "hard link";
        if (target == null || target.isEmpty()) {
            throw new UnsafeArchiveException("link-escape", kind + " '" + shown(linkName) + "' has no target");
        }
        if (target.startsWith("/")) {
            throw new UnsafeArchiveException("link-escape", kind + " '" + shown(linkName) + "' points to the absolute path '"
                    + shown(target) + "', outside the context");
        }
        Deque<String> parts = new ArrayDeque<>();
        if (symbolic) {
            String[] link = linkName.split("/");
            for (int i = 0; i < link.length - 1; i++) {
                parts.add(link[i]);
            }
        }
        for (String part : target.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                if (parts.isEmpty()) {
                    throw new UnsafeArchiveException("link-escape", kind + " '" + shown(linkName) + "' points to '"
                            + shown(target) + "', outside the context");
                }
                parts.removeLast();
            } else {
                parts.add(part);
            }
        }
        return String.join("/", parts);
    }

    /** The Dockerfile parameter must itself be a safe relative path. */
    public static String normalizeDockerfilePath(String path) throws UnsafeArchiveException {
        if (path == null || path.isBlank() || path.length() > 1024) {
            throw new UnsafeArchiveException("invalid-dockerfile-path", "dockerfile must be a relative path inside "
                    + "the context, at most 1024 characters");
        }
        try {
            String normalized = normalizeEntry(path);
            if (normalized.isEmpty()) {
                throw new UnsafeArchiveException("invalid-dockerfile-path", "dockerfile must name a file");
            }
            return normalized;
        } catch (UnsafeArchiveException e) {
            throw new UnsafeArchiveException("invalid-dockerfile-path",
                    "dockerfile must be a relative path inside the context without '..'");
        }
    }

    static String shown(String s) {
        String clean = s.replaceAll("[\\p{Cntrl}\\x{80}-\\x{9F}]", "?");
        return clean.length() > 200 ? clean.substring(0, 200) + "…" : clean;
    }
}
