package io.buildgateway.scanning;

import io.buildgateway.policy.ImagePolicy;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Reads {@code docker save} output as a stream and inspects every layer tar in it: setuid/setgid files, world-writable
 * files, credential files, and changes to protected paths (writes, whiteouts, opaque directories). Layers are
 * identified by the SHA-256 of their uncompressed tar, which is the diff id the image configuration lists, so the
 * caller can keep only the observations of the layers the build added. Pure: no daemon, no Spring.
 */
final class LayerAudit {

    /** What one layer shows. {@code kind} is an image rule id. */
    record Observation(String kind, String path, String message) {
    }

    /**
     * One layer as the checks and the SBOM need it: its observations, the small files the SBOM and the user check
     * read (by absolute path), the packages of the archives it holds (by path), and what it removes — whiteouts,
     * opaque directories, and links or directories put where a kept file was.
     */
    record Layer(List<Observation> observations, Map<String, byte[]> files, Map<String, List<Packages.Package>> archives,
            List<String> removed, List<String> opaqueDirs) {
    }

    /** The image's files as its last layer leaves them (for the kept files and archives only). */
    record Flattened(Map<String, byte[]> files, List<Packages.Package> javaPackages) {
    }

    /** Applies the layers in the image's order, as the daemon's overlay does, to the kept files and archives. */
    static Flattened flatten(List<String> order, Map<String, Layer> layers) {
        Map<String, byte[]> files = new java.util.TreeMap<>();
        Map<String, List<Packages.Package>> archives = new java.util.TreeMap<>();
        for (String id : order) {
            Layer layer = layers.get(id);
            if (layer == null) {
                continue;
            }
            for (String dir : layer.opaqueDirs()) {
                String prefix = dir.equals("/") ? "/" : dir + "/";
                files.keySet().removeIf(k -> k.startsWith(prefix));
                archives.keySet().removeIf(k -> k.startsWith(prefix));
            }
            for (String gone : layer.removed()) {
                files.keySet().removeIf(k -> k.equals(gone) || k.startsWith(gone + "/"));
                archives.keySet().removeIf(k -> k.equals(gone) || k.startsWith(gone + "/"));
            }
            files.putAll(layer.files());
            archives.putAll(layer.archives());
        }
        List<Packages.Package> java = new ArrayList<>();
        archives.values().forEach(java::addAll);
        return new Flattened(files, java);
    }

    private static final Set<String> TMP_DIRS = Set.of("/tmp", "/var/tmp", "/dev/shm", "/run/lock");
    private static final Set<String> CREDENTIAL_NAMES = Set.of("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519",
            ".netrc", ".pgpass", ".git-credentials", "credentials.json", ".dockercfg", ".s3cfg", ".htpasswd");
    // DOTALL ((?s)) in every pattern of file paths below: a path is the image's, and java.util.regex's '.' stops at a
    // line break, so a folder named "x\n" would have hidden a credential, a package database or a jar from them.
    private static final Pattern CREDENTIAL_PATHS = Pattern.compile(
            "(?s).*/(\\.aws/credentials|\\.docker/config\\.json|\\.kube/config|\\.config/gcloud/credentials\\.db"
                    + "|\\.azure/accessTokens\\.json|\\.ssh/id_[a-z0-9]+)$");
    private static final Pattern KEYSTORE = Pattern.compile("(?s).*\\.(p12|pfx|jks|keystore|ppk)");
    private static final Pattern MAYBE_KEY = Pattern.compile(
            "(?s).*(\\.(pem|key|npmrc|env|pypirc)|/\\.npmrc|/\\.pypirc)");
    private static final Pattern PRIVATE_KEY = Pattern.compile("-----BEGIN ([A-Z0-9]+ )?PRIVATE KEY( BLOCK)?-----");
    private static final Pattern TOKEN_LINE = Pattern.compile("(?m)(_authToken|_auth|password)\\s*[=:]\\s*\\S+");
    private static final int CONTENT_PEEK = 64 * 1024;
    /**
     * How much of every other file is looked at for a PEM private key: a key needs no telling name to be read by
     * whoever pulls the image ({@code echo … | base64 -d > /opt/app/deploy.dat}, then a later {@code rm}: ScanningIT,
     * 2026-12-07). The start of a file, where a PEM key (or openssl's "Bag Attributes" before it) is; a key further in
     * is not looked for. The tar stream is read through these bytes anyway.
     */
    static final int KEY_PEEK = 4 * 1024;
    private static final byte[] PEM_BEGIN = "-----BEGIN ".getBytes(StandardCharsets.ISO_8859_1);

    /**
     * Files the SBOM and the user check read by content, each within the budget's {@code max-metadata-bytes} (a
     * larger one stops the scan).
     */
    static final Pattern KEEP = Pattern.compile(
            "(?s)/etc/(passwd|group|os-release|alpine-release|debian_version)|/usr/lib/os-release"
                    + "|/var/lib/dpkg/status|/var/lib/dpkg/status\\.d/[^/]+|/lib/apk/db/installed"
                    + "|.*/node_modules/(@[^/]+/)?[^/]+/package\\.json|.*/package-lock\\.json"
                    + "|.*\\.dist-info/METADATA|.*\\.egg-info/PKG-INFO|.*\\.egg-info");
    /** Archives whose Maven coordinates go into the SBOM. */
    static final Pattern ARCHIVE = Pattern.compile("(?s).*\\.(jar|war|ear)");

    private final ImagePolicy policy;
    private final ScanBudget budget;

    /** Without limits (the parsers' own tests). */
    LayerAudit(ImagePolicy policy) {
        this(policy, ScanBudget.unlimited());
    }

    /** Counts every layer entry and every kept file against {@code budget}; throws its {@code Exceeded} when over. */
    LayerAudit(ImagePolicy policy, ScanBudget budget) {
        this.policy = policy;
        this.budget = budget;
    }

    /**
     * One layer read to its end: its audit, its diff id (the SHA-256 of the bytes read), and what reading it counted
     * against the scan's limits (entries, package-metadata bytes, tar bytes), so that a kept result can count the same
     * when it is reused ({@link LayerAuditCache}).
     */
    record Read(String diffId, Layer layer, long entries, long metadataBytes, long tarBytes) {
    }

    /**
     * Reads the whole save stream. Returns observations per layer diff id ({@code sha256:…}); layers the stream
     * holds twice are read once.
     */
    Map<String, Layer> read(InputStream save) throws IOException {
        return read(save, null);
    }

    /**
     * As {@link #read(InputStream)}, and the layers the cache does not hold yet are captured for it as they are
     * read (the stream is read once for both).
     */
    Map<String, Layer> read(InputStream save, LayerCache.Capture captureOrNull) throws IOException {
        Map<String, Layer> byLayer = new HashMap<>();
        readAll(save, captureOrNull).forEach((id, r) -> byLayer.put(id, r.layer()));
        return byLayer;
    }

    /** As {@link #read(InputStream, LayerCache.Capture)}, with what each layer's reading counted. */
    Map<String, Read> readAll(InputStream save, LayerCache.Capture captureOrNull) throws IOException {
        Map<String, Read> byLayer = new HashMap<>();
        TarArchiveInputStream outer = new TarArchiveInputStream(budget.save(save));
        TarArchiveEntry entry;
        while ((entry = outer.getNextEntry()) != null) {
            if (!regular(entry) || !isLayerName(entry.getName())) {
                continue;
            }
            BufferedInputStream in = new BufferedInputStream(outer, 8192);
            if (!looksLikeTar(in)) {
                continue;
            }
            InputStream source = captureOrNull == null ? in : captureOrNull.layer(entry.getSize(), in);
            Read found = readOne(source);
            if (captureOrNull != null) {
                captureOrNull.read(found.diffId());
            }
            byLayer.putIfAbsent(found.diffId(), found);
        }
        return byLayer;
    }

    /**
     * Reads one layer tar to its end (what follows the tar's end too, as it is part of the digest): its audit and its
     * diff id, computed from these bytes.
     */
    Read readOne(InputStream layerTar) throws IOException {
        long entries = budget.layerEntries();
        long metadata = budget.metadataRead();
        MessageDigest sha = sha256();
        long[] bytes = {0};
        InputStream counting = new java.io.FilterInputStream(layerTar) {
            @Override
            public int read() throws IOException {
                int b = super.read();
                if (b >= 0) {
                    bytes[0]++;
                }
                return b;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = super.read(b, off, len);
                if (n > 0) {
                    bytes[0] += n;
                }
                return n;
            }

        };
        DigestInputStream digesting = new DigestInputStream(counting, sha);
        Layer found = readLayer(digesting);
        digesting.transferTo(OutputStream.nullOutputStream());
        String diffId = "sha256:" + HexFormat.of().formatHex(sha.digest());
        return new Read(diffId, found, budget.layerEntries() - entries, budget.metadataRead() - metadata, bytes[0]);
    }

    /** Legacy save ({@code <id>/layer.tar}) and OCI layout ({@code blobs/sha256/<hex>}). */
    private static boolean isLayerName(String name) {
        return name.endsWith("/layer.tar") || name.startsWith("blobs/sha256/");
    }

    /** A tar's first header carries "ustar" at offset 257; configs and manifests in blobs/ do not. */
    private static boolean looksLikeTar(BufferedInputStream in) throws IOException {
        in.mark(512);
        byte[] head = in.readNBytes(512);
        in.reset();
        return head.length == 512 && new String(head, 257, 5, StandardCharsets.US_ASCII).equals("ustar");
    }

    Layer readLayer(InputStream layer) throws IOException {
        List<Observation> found = new ArrayList<>();
        Map<String, byte[]> files = new HashMap<>();
        Map<String, List<Packages.Package>> archives = new HashMap<>();
        List<String> removed = new ArrayList<>();
        List<String> opaque = new ArrayList<>();
        // Not closed: closing would close the outer stream too.
        TarArchiveInputStream tar = new TarArchiveInputStream(layer);
        TarArchiveEntry e;
        while ((e = tar.getNextEntry()) != null) {
            budget.layerEntry();
            String path = normalise(e.getName());
            String name = path.substring(path.lastIndexOf('/') + 1);
            String dir = path.substring(0, Math.max(path.lastIndexOf('/'), 0));
            if (name.equals(".wh..wh..opq")) {
                opaque(dir.isEmpty() ? "/" : dir, found);
                opaque.add(dir.isEmpty() ? "/" : dir);
                continue;
            }
            if (name.startsWith(".wh.")) {
                deleted((dir.isEmpty() ? "" : dir) + "/" + name.substring(4), found);
                removed.add((dir.isEmpty() ? "" : dir) + "/" + name.substring(4));
                continue;
            }
            if (!regular(e) && KEEP.matcher(path).matches()) {
                removed.add(path); // a link or directory where a kept file was: its old content no longer counts
            }
            int mode = e.getMode();
            for (ImagePolicy.ProtectedPath p : policy.protectedPaths()) {
                if (p.refuseModify() && !e.isDirectory() && p.covers(path)) {
                    found.add(new Observation(io.buildgateway.policy.ImageRules.PROTECTED_PATH, path,
                            "the build writes protected path " + path + " (protected: " + p.path() + ")"));
                    break;
                }
            }
            if (regular(e) && (mode & 06000) != 0 && policy.setuidAllowed().stream()
                    .noneMatch(a -> a.matcher(path).matches())) {
                found.add(new Observation(io.buildgateway.policy.ImageRules.SETUID_ADDED, path, String.format(
                        Locale.ROOT, "the build adds %s %s (mode %04o, uid %d)",
                        (mode & 04000) != 0 ? "setuid" : "setgid", path, mode & 07777, e.getLongUserId())));
            }
            if (worldWritable(e, path, mode)) {
                found.add(new Observation(io.buildgateway.policy.ImageRules.WORLD_WRITABLE, path, String.format(
                        Locale.ROOT, "the build adds world-writable %s %s (mode %04o)",
                        e.isDirectory() ? "directory" : "file", path, mode & 07777)));
            }
            byte[] kept = null;
            if (regular(e) && KEEP.matcher(path).matches()) {
                kept = budget.metadata(path, e.getSize(), tar);
                files.put(path, kept);
            } else if (regular(e) && ARCHIVE.matcher(path).matches()) {
                // A name is no proof: a key written as deploy.jar is no zip and held nothing the archive reader saw
                // (a reviewer's find). Its start is looked at as any file's, then read as the archive it may be.
                java.io.BufferedInputStream in = new java.io.BufferedInputStream(tar, KEY_PEEK);
                in.mark(KEY_PEEK);
                String why = privateKeyAtStart(in.readNBytes((int) Math.min(e.getSize(), KEY_PEEK)));
                if (why != null) {
                    found.add(new Observation(io.buildgateway.policy.ImageRules.PRIVATE_KEY, path,
                            "the build adds " + why + " at " + path));
                }
                in.reset();
                archives.put(path, Packages.fromArchive(path, in, budget));
                continue;
            }
            if (regular(e)) {
                String why = credential(path, name, e.getSize(),
                        kept != null ? new java.io.ByteArrayInputStream(kept) : tar);
                if (why != null) {
                    found.add(new Observation(io.buildgateway.policy.ImageRules.PRIVATE_KEY, path,
                            "the build adds " + why + " at " + path));
                }
            }
        }
        return new Layer(found, files, archives, removed, opaque);
    }

    private static boolean worldWritable(TarArchiveEntry e, String path, int mode) {
        if ((mode & 0002) == 0 || e.isSymbolicLink()) {
            return false;
        }
        if (e.isDirectory()) {
            // A sticky world-writable directory is the /tmp pattern: fine there, nowhere else.
            return (mode & 01000) == 0 || !TMP_DIRS.contains(path);
        }
        return regular(e) && TMP_DIRS.stream().noneMatch(t -> path.startsWith(t + "/"));
    }

    private static String credential(String path, String name, long size, InputStream content) throws IOException {
        if (CREDENTIAL_NAMES.contains(name) || CREDENTIAL_PATHS.matcher(path).matches()) {
            return "credential file " + name;
        }
        if (KEYSTORE.matcher(name).matches()) {
            return "key store " + name;
        }
        if (MAYBE_KEY.matcher(path).matches() || path.contains("/.ssh/")) {
            String head = new String(content.readNBytes((int) Math.min(size, CONTENT_PEEK)),
                    StandardCharsets.ISO_8859_1);
            if (PRIVATE_KEY.matcher(head).find()) {
                return "a private key";
            }
            if ((name.equals(".npmrc") || name.equals(".pypirc")) && TOKEN_LINE.matcher(head).find()) {
                return "a registry token in " + name;
            }
        } else if (size > 0) {
            return privateKeyAtStart(content.readNBytes((int) Math.min(size, KEY_PEEK)));
        }
        return null;
    }

    /** "a private key" when a file's first bytes hold a PEM private key's header, else null. */
    private static String privateKeyAtStart(byte[] head) {
        return indexOf(head, PEM_BEGIN) >= 0
                && PRIVATE_KEY.matcher(new String(head, StandardCharsets.ISO_8859_1)).find() ? "a private key" : null;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private void deleted(String path, List<Observation> found) {
        for (ImagePolicy.ProtectedPath p : policy.protectedPaths()) {
            if (p.refuseDelete() && (p.covers(path) || p.under(path))) {
                found.add(new Observation(io.buildgateway.policy.ImageRules.PROTECTED_PATH, path,
                        "the build deletes " + path + " (whiteout; protected: " + p.path() + ")"));
                return;
            }
        }
    }

    private void opaque(String dir, List<Observation> found) {
        for (ImagePolicy.ProtectedPath p : policy.protectedPaths()) {
            if (p.refuseDelete() && (p.under(dir) || p.covers(dir))) {
                found.add(new Observation(io.buildgateway.policy.ImageRules.PROTECTED_PATH, dir,
                        "the build replaces directory " + dir + " wholesale (opaque whiteout), hiding protected "
                                + p.path()));
                return;
            }
        }
    }

    /**
     * A regular file by its type flag. (commons-compress's {@code isFile()} is true for every entry whose name does
     * not end in a slash, symlinks and hard links included.)
     */
    static boolean regular(TarArchiveEntry e) {
        byte t = e.getLinkFlag();
        return t == TarConstants.LF_NORMAL || t == TarConstants.LF_OLDNORM || t == TarConstants.LF_CONTIG;
    }

    /** {@code ./etc/passwd}, {@code etc/passwd/} → {@code /etc/passwd}. */
    static String normalise(String name) {
        String n = name;
        while (n.startsWith("./")) {
            n = n.substring(2);
        }
        if (n.endsWith("/")) {
            n = n.substring(0, n.length() - 1);
        }
        return n.startsWith("/") ? n : "/" + n;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
