package io.buildgateway.scanning.compliance;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OpenSCAP results by what decides them: the image's whole layer chain (every diff id, in order: the root filesystem
 * is a function of it) and {@link OpenScap#configurationDigest()} (oscap's version, the profile, the content files).
 * An identical rebuild, or another tag of the same layers, gets the stored result instead of an evaluation. Only
 * {@code PASSED} and {@code FAILED} results are kept: an error or a "not run" is never reused. Files on the gateway's
 * disk ({@code <work-dir>/compliance-results}, mode 0700), written to a temporary name and renamed; bounded by count,
 * the least recently used removed first. Thread-safe.
 */
public final class ComplianceCache {

    private static final Logger log = LoggerFactory.getLogger(ComplianceCache.class);
    private static final int FORMAT = 2; // 2: with the base a result was composed with

    private final Path dir;
    private final int maxEntries;

    public ComplianceCache(Path dir, int maxEntries) throws IOException {
        this.dir = dir;
        this.maxEntries = maxEntries;
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    }

    /** The key of a chain of layer diff ids under a configuration digest. */
    public static String key(List<String> diffIds, String configurationDigest) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        sha.update(("v" + FORMAT + "\n" + configurationDigest + "\n").getBytes(StandardCharsets.UTF_8));
        for (String id : diffIds) {
            sha.update((id + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Whether a result is kept under the key (without reading it). */
    public boolean has(String key) {
        return Files.isRegularFile(dir.resolve(key));
    }

    public Optional<ComplianceResult> get(String key) {
        Path file = dir.resolve(key);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try (DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(Files.newInputStream(file)))) {
            if (in.readInt() != FORMAT) {
                return Optional.empty();
            }
            ComplianceResult.Status status = ComplianceResult.Status.valueOf(in.readUTF());
            String message = in.readBoolean() ? in.readUTF() : null;
            int n = in.readInt();
            List<RuleResult> rules = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                rules.add(new RuleResult(in.readUTF(), in.readUTF(), in.readUTF(), in.readUTF(), in.readUTF()));
            }
            int a = in.readInt();
            List<ComplianceResult.Arf> arfs = new ArrayList<>(a);
            for (int i = 0; i < a; i++) {
                String content = in.readUTF();
                arfs.add(new ComplianceResult.Arf(content, in.readNBytes(in.readInt())));
            }
            ComplianceResult.ComposedWith composed = null;
            if (in.readBoolean()) {
                int layers = in.readInt();
                String baseKey = in.readUTF();
                int c = in.readInt();
                List<String> contents = new ArrayList<>(c);
                for (int i = 0; i < c; i++) {
                    contents.add(in.readUTF());
                }
                composed = new ComplianceResult.ComposedWith(layers, baseKey, contents);
            }
            Files.setLastModifiedTime(file, FileTime.from(Instant.now()));
            return Optional.of(new ComplianceResult(status, rules, arfs, message, composed));
        } catch (IOException | IllegalArgumentException e) {
            log.warn("compliance result {} is unreadable; evaluating again", file, e);
            return Optional.empty();
        }
    }

    /** Keeps a passed or failed result under the key; anything else is not kept. */
    public void put(String key, ComplianceResult result) {
        if (result.status() != ComplianceResult.Status.PASSED && result.status() != ComplianceResult.Status.FAILED) {
            return;
        }
        Path tmp = dir.resolve(".tmp-" + UUID.randomUUID());
        try {
            try (DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(
                    Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW)))) {
                out.writeInt(FORMAT);
                out.writeUTF(result.status().name());
                out.writeBoolean(result.message() != null);
                if (result.message() != null) {
                    out.writeUTF(result.message());
                }
                out.writeInt(result.rules().size());
                for (RuleResult r : result.rules()) {
                    for (String s : new String[] {r.benchmark(), r.ruleId(), r.title(), r.severity(), r.result()}) {
                        out.writeUTF(s == null ? "" : s);
                    }
                }
                out.writeInt(result.arfs().size());
                for (ComplianceResult.Arf arf : result.arfs()) {
                    out.writeUTF(arf.content());
                    out.writeInt(arf.xml().length);
                    out.write(arf.xml());
                }
                ComplianceResult.ComposedWith composed = result.composedWith();
                out.writeBoolean(composed != null);
                if (composed != null) {
                    out.writeInt(composed.baseLayers());
                    out.writeUTF(composed.baseKey());
                    out.writeInt(composed.contents().size());
                    for (String c : composed.contents()) {
                        out.writeUTF(c);
                    }
                }
            }
            Files.move(tmp, dir.resolve(key), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            log.warn("compliance result could not be kept", e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // removed by the next prune
            }
        }
        prune();
    }

    private void prune() {
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> all = files.toList();
            if (all.size() <= maxEntries) {
                return;
            }
            List<Path> byUse = new ArrayList<>(all);
            byUse.sort(Comparator.comparing(p -> {
                try {
                    return Files.getLastModifiedTime(p).toMillis();
                } catch (IOException e) {
                    return 0L;
                }
            }));
            for (Path p : byUse.subList(0, all.size() - maxEntries)) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            log.warn("compliance results could not be pruned", e);
        }
    }
}
