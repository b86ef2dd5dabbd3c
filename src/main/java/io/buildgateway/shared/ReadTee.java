package io.buildgateway.shared;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Hands every byte read to a sink, in order: skips are reads, and mark/reset is not offered, so the sink sees exactly
 * the stream the reader consumed (a {@link FilterInputStream} would pass skips and resets to the stream beneath).
 * The context intake checks an archive's bytes with it, and the layer cache copies a layer while the scan reads it.
 */
public class ReadTee extends FilterInputStream {

    /** Receives the bytes read, as {@link java.io.OutputStream#write(byte[], int, int)} does. */
    @FunctionalInterface
    public interface Sink {
        void accept(byte[] b, int off, int len) throws IOException;
    }

    private final Sink sink;
    private final byte[] one = new byte[1];
    private byte[] scratch;

    public ReadTee(InputStream in, Sink sink) {
        super(in);
        this.sink = sink;
    }

    @Override
    public int read() throws IOException {
        int n = read(one, 0, 1);
        return n == 1 ? one[0] & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        if (n > 0) {
            sink.accept(b, off, n);
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        byte[] buffer = scratch();
        long skipped = 0;
        while (skipped < n) {
            int r = read(buffer, 0, (int) Math.min(buffer.length, n - skipped));
            if (r < 0) {
                break;
            }
            skipped += r;
        }
        return skipped;
    }

    @Override
    public boolean markSupported() {
        return false;
    }

    @Override
    public void mark(int limit) {
    }

    @Override
    public void reset() throws IOException {
        throw new IOException("mark/reset not supported");
    }

    /** A buffer for reading through (skips, drains), made once per stream. */
    protected final byte[] scratch() {
        if (scratch == null) {
            scratch = new byte[64 * 1024];
        }
        return scratch;
    }
}
