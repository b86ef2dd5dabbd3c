package io.buildgateway.scanning;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.function.LongConsumer;

/** A stream that tells, once, the {@link System#nanoTime()} at which its first byte arrived (a timing, nothing else). */
final class FirstByte extends FilterInputStream {

    private LongConsumer noted;

    private FirstByte(InputStream in, LongConsumer noted) {
        super(in);
        this.noted = noted;
    }

    static InputStream noting(InputStream in, LongConsumer noted) {
        return new FirstByte(in, noted);
    }

    private void note(int n) {
        if (n > 0 && noted != null) {
            LongConsumer once = noted;
            noted = null;
            once.accept(System.nanoTime());
        }
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        note(b >= 0 ? 1 : 0);
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        note(n);
        return n;
    }
}
