package io.buildgateway.scanning;

import io.buildgateway.policy.ImagePolicy;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the layer audit found in each layer, kept in memory so that a layer read once is not read again for it: a
 * derived image's scan then needs only its own layers (read from the registry: docs/scanning.md). Keyed by the
 * layer's diff id — the SHA-256 of the uncompressed layer tar, computed by the audit from the bytes it read, never a
 * name the image or the daemon chose — and by what of the policy the audit reads (its protected paths and accepted
 * setuid files, {@link #policyKey}), so a policy change reads the layers again. Each entry keeps what its reading
 * counted against the scan's limits, so that a reused layer counts as a read one ({@link ScanBudget#reusedLayer}).
 * Bounded by an estimate of the bytes held ({@code gateway.scanning.layer-audit-cache}): the least recently used
 * entries go beyond it. Thread-safe.
 */
final class LayerAuditCache {

    /** One layer's audit and what reading it counted: entries, package-metadata bytes, layer tar bytes. */
    record Entry(LayerAudit.Layer layer, long entries, long metadataBytes, long tarBytes) {
    }

    /** What an entry costs besides its kept files' bytes: its key, maps, lists, records. */
    static final long ENTRY_OVERHEAD = 512;

    private final long maxBytes;
    private final Map<String, Sized> entries = new LinkedHashMap<>(16, 0.75f, true); // guarded by this
    private long bytes; // guarded by this

    private record Sized(Entry entry, long weight) {
    }

    /** @param maxBytes the most (estimated) bytes kept; 0 keeps nothing */
    LayerAuditCache(long maxBytes) {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("gateway.scanning.layer-audit-cache must not be negative: " + maxBytes);
        }
        this.maxBytes = maxBytes;
    }

    /**
     * The part of the policy the layer audit reads, as a digest: protected paths (with what they refuse) and the
     * setuid files a build may add (pattern and flags).
     */
    static String policyKey(ImagePolicy policy) {
        StringBuilder s = new StringBuilder();
        for (ImagePolicy.ProtectedPath p : policy.protectedPaths()) {
            s.append("protected\0").append(p.path()).append('\0').append(p.refuseModify()).append('\0')
                    .append(p.refuseDelete()).append('\n');
        }
        for (com.google.re2j.Pattern p : policy.setuidAllowed()) {
            s.append("setuid\0").append(p.pattern()).append('\0').append(p.flags()).append('\n');
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(s.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    synchronized Optional<Entry> get(String diffId, String policyKey) {
        Sized s = entries.get(diffId + "|" + policyKey);
        return s == null ? Optional.empty() : Optional.of(s.entry());
    }

    synchronized boolean has(String diffId, String policyKey) {
        return entries.containsKey(diffId + "|" + policyKey);
    }

    /** Keeps {@code entry} (the first kept stays), then drops the least recently used beyond the bound. */
    synchronized void put(String diffId, String policyKey, Entry entry) {
        long weight = weight(entry.layer());
        if (weight > maxBytes) {
            return;
        }
        String key = diffId + "|" + policyKey;
        if (entries.containsKey(key)) {
            return;
        }
        entries.put(key, new Sized(entry, weight));
        bytes += weight;
        var oldest = entries.entrySet().iterator();
        while (bytes > maxBytes && oldest.hasNext()) {
            Map.Entry<String, Sized> e = oldest.next();
            bytes -= e.getValue().weight();
            oldest.remove();
        }
    }

    synchronized int entries() {
        return entries.size();
    }

    /** The estimated bytes held. */
    synchronized long bytes() {
        return bytes;
    }

    /** Forgets everything (for tests that need a scan to read every layer again). */
    synchronized void clear() {
        entries.clear();
        bytes = 0;
    }

    /** An estimate of the heap an audit result holds: its kept files, paths, messages and packages. */
    static long weight(LayerAudit.Layer layer) {
        long w = ENTRY_OVERHEAD;
        for (Map.Entry<String, byte[]> f : layer.files().entrySet()) {
            w += 64 + 2L * f.getKey().length() + f.getValue().length;
        }
        for (Map.Entry<String, List<Packages.Package>> a : layer.archives().entrySet()) {
            w += 64 + 2L * a.getKey().length() + 256L * a.getValue().size();
        }
        for (LayerAudit.Observation o : layer.observations()) {
            w += 64 + 2L * (o.path().length() + o.message().length());
        }
        for (String r : layer.removed()) {
            w += 48 + 2L * r.length();
        }
        for (String r : layer.opaqueDirs()) {
            w += 48 + 2L * r.length();
        }
        return w;
    }
}
