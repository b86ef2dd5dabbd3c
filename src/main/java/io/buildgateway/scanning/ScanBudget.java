package io.buildgateway.scanning;

import java.io.Closeable;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The bounds of one image's scan: bytes and entries read from the daemon's streams, package metadata read into
 * memory, archive nesting, and the build's deadline. Checked while streaming, so an image over a limit is never read
 * or extracted in full: the first limit reached stops the scan (every later read of either stream fails at once)
 * and its reason — naming the limit's configuration key — is the image's failure reason. Thread-safe: the layer
 * audit and the extraction for OpenSCAP share one budget. Pure: no Spring, no daemon.
 */
final class ScanBudget {

    static final String DEADLINE = "scan did not finish before the build's deadline";

    /** A limit was reached or the deadline passed: the scan stops, and the image fails with this message. */
    static final class Exceeded extends IOException {
        Exceeded(String reason) {
            super(reason);
        }
    }

    /** The limits, as {@link ScanningProperties} configures them. */
    record Limits(long maxImageBytes, long maxFiles, long maxMetadataBytes, long maxMetadataTotal, int maxNesting) {

        /** No bound (tests of the parsers alone). */
        static final Limits NONE = new Limits(Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE,
                Integer.MAX_VALUE);

        static Limits of(ScanningProperties p) {
            return new Limits(p.maxImageSize().toBytes(), p.maxFiles(), p.maxMetadataBytes().toBytes(),
                    p.maxMetadataTotal().toBytes(), p.maxNesting());
        }
    }

    private final Limits limits;
    private final Instant deadline;
    private final Clock clock;
    private final AtomicLong layerFiles = new AtomicLong();
    private final AtomicLong exportFiles = new AtomicLong();
    private final AtomicLong metadataTotal = new AtomicLong();
    /** Layer bytes of a scan that reads its layers one by one (from the registry, or kept from earlier scans). */
    private final AtomicLong layerBytes = new AtomicLong();
    private final AtomicReference<String> stopped = new AtomicReference<>();
    private final Set<Closeable> open = ConcurrentHashMap.newKeySet();

    /** @param deadline when the scan must have finished, or null for none */
    ScanBudget(Limits limits, Instant deadline, Clock clock) {
        this.limits = limits;
        this.deadline = deadline;
        this.clock = clock;
    }

    /** A budget without limits or deadline. */
    static ScanBudget unlimited() {
        return new ScanBudget(Limits.NONE, null, Clock.systemUTC());
    }

    Limits limits() {
        return limits;
    }

    /** Why the scan stopped, or null while it may go on. */
    String stopped() {
        return stopped.get();
    }

    /** Time left before the deadline (never negative); null without a deadline. */
    Duration remaining() {
        if (deadline == null) {
            return null;
        }
        Duration left = Duration.between(clock.instant(), deadline);
        return left.isNegative() ? Duration.ZERO : left;
    }

    /** Throws when the scan has stopped or the deadline has passed. */
    void check() throws Exceeded {
        String reason = stopped.get();
        if (reason != null) {
            throw new Exceeded(reason);
        }
        if (deadline != null && !clock.instant().isBefore(deadline)) {
            throw stop(DEADLINE);
        }
    }

    /** Stops the scan (the first reason wins) and returns the exception to throw. */
    Exceeded stop(String reason) {
        stopped.compareAndSet(null, reason);
        return new Exceeded(stopped.get());
    }

    /**
     * The deadline passed (called by a timer): stops the scan and closes the streams still open, so that a read
     * blocked on a daemon that stopped sending ends too.
     */
    void expire() {
        stopped.compareAndSet(null, DEADLINE);
        for (Closeable c : open) {
            try {
                c.close();
            } catch (IOException | RuntimeException ignored) {
                // the reader sees the stream end or fail, and the stopped budget on its next read
            }
        }
    }

    /** One entry of a layer read from {@code docker save}. */
    void layerEntry() throws Exceeded {
        check();
        if (layerFiles.incrementAndGet() > limits.maxFiles()) {
            throw stop("image has more than " + limits.maxFiles() + " files (limit gateway.scanning.max-files)");
        }
    }

    /** The layer entries counted so far (the audit's own count, for what a cached layer's reading cost). */
    long layerEntries() {
        return layerFiles.get();
    }

    /** The package-metadata bytes read into memory so far. */
    long metadataRead() {
        return metadataTotal.get();
    }

    /**
     * A layer whose audit result was kept from an earlier scan, counted as if it were read again: its entries, its
     * package metadata and its bytes, against the same limits with the same reasons.
     */
    void reusedLayer(long entries, long metadataBytes, long tarBytes) throws Exceeded {
        check();
        if (layerFiles.addAndGet(entries) > limits.maxFiles()) {
            throw stop("image has more than " + limits.maxFiles() + " files (limit gateway.scanning.max-files)");
        }
        if (metadataTotal.addAndGet(metadataBytes) > limits.maxMetadataTotal()) {
            throw stop("image's package metadata is larger than " + size(limits.maxMetadataTotal())
                    + " in total (limit gateway.scanning.max-metadata-total)");
        }
        countLayerBytes(tarBytes);
    }

    /**
     * A layer read from the registry (uncompressed), counted against the image size limit with the other layers of
     * the same scan (the save stream counts every layer's bytes), checked on every read, and closed when the deadline
     * passes.
     */
    InputStream registryLayer(InputStream in) {
        return new Guarded(in, null);
    }

    private void countLayerBytes(long n) throws Exceeded {
        if (layerBytes.addAndGet(n) > limits.maxImageBytes()) {
            throw stop(IMAGE_TOO_LARGE.formatted(size(limits.maxImageBytes())));
        }
    }

    private static final String IMAGE_TOO_LARGE = "image is larger than %s (limit gateway.scanning.max-image-size)";

    /** One entry of the exported filesystem. */
    void exportEntry() throws Exceeded {
        check();
        if (exportFiles.incrementAndGet() > limits.maxFiles()) {
            throw stop("image's filesystem has more than " + limits.maxFiles()
                    + " files (limit gateway.scanning.max-files)");
        }
    }

    /** The {@code docker save} stream, counted against the image size limit and checked on every read. */
    InputStream save(InputStream in) {
        return new Guarded(in, IMAGE_TOO_LARGE.formatted(size(limits.maxImageBytes())));
    }

    /** The {@code docker export} stream, counted against the image size limit and checked on every read. */
    InputStream export(InputStream in) {
        return new Guarded(in, "image's filesystem is larger than " + size(limits.maxImageBytes())
                + " (limit gateway.scanning.max-image-size)");
    }

    /**
     * Reads one package-metadata file into memory: at most {@code max-metadata-bytes}, and within what is left of
     * {@code max-metadata-total}. {@code declaredSize} (the archive's header, or -1) refuses before reading.
     */
    byte[] metadata(String path, long declaredSize, InputStream in) throws IOException {
        check();
        long max = limits.maxMetadataBytes();
        String tooLarge = "package metadata file " + shown(path) + " is larger than " + size(max)
                + " (limit gateway.scanning.max-metadata-bytes)";
        if (declaredSize > max) {
            throw stop(tooLarge);
        }
        byte[] bytes = in.readNBytes(max >= Integer.MAX_VALUE - 16 ? Integer.MAX_VALUE - 16 : (int) max + 1);
        if (bytes.length > max) {
            throw stop(tooLarge);
        }
        if (metadataTotal.addAndGet(bytes.length) > limits.maxMetadataTotal()) {
            throw stop("image's package metadata is larger than " + size(limits.maxMetadataTotal())
                    + " in total (limit gateway.scanning.max-metadata-total)");
        }
        return bytes;
    }

    /** An archive found at {@code depth} levels inside another (1 = directly inside a jar of the image). */
    void nested(String location, int depth) throws Exceeded {
        check();
        if (depth > limits.maxNesting()) {
            throw stop("archive " + shown(location) + " is nested more than " + limits.maxNesting()
                    + " level(s) deep (limit gateway.scanning.max-nesting)");
        }
    }

    /** A path from the image in a reason: bounded, without control characters. */
    private static String shown(String path) {
        String clean = path.replaceAll("\\p{Cntrl}", "?");
        return clean.length() <= 200 ? clean : "…" + clean.substring(clean.length() - 199);
    }

    static String size(long bytes) {
        long gb = 1L << 30;
        long mb = 1L << 20;
        long kb = 1L << 10;
        if (bytes % gb == 0) {
            return bytes / gb + " GB";
        }
        if (bytes % mb == 0) {
            return bytes / mb + " MB";
        }
        if (bytes % kb == 0) {
            return bytes / kb + " KB";
        }
        return bytes + " bytes";
    }

    /** A daemon stream: counted, checked before every read, registered so that {@link #expire} can close it. */
    private final class Guarded extends FilterInputStream {

        private final String overLimit;
        private long read;

        Guarded(InputStream in, String overLimit) {
            super(in);
            this.overLimit = overLimit;
            open.add(in);
        }

        private void count(long n) throws Exceeded {
            if (n > 0 && overLimit == null) {
                countLayerBytes(n); // a registry layer: counted with the scan's other layers
            } else if (n > 0) {
                read += n;
                if (read > limits.maxImageBytes()) {
                    throw stop(overLimit);
                }
            }
        }

        @Override
        public int read() throws IOException {
            check();
            int b = super.read();
            count(b < 0 ? 0 : 1);
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            check();
            int n = super.read(b, off, len);
            count(n);
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            check();
            long skipped = super.skip(n);
            count(skipped);
            return skipped;
        }

        @Override
        public void close() throws IOException {
            open.remove(in);
            super.close();
        }
    }
}
