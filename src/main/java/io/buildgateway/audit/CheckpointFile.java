package io.buildgateway.audit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The checkpoint file outside the database: one JSON line per checkpoint, appended and forced to disk. A last line
 * without its newline (a write cut short by a crash) is not a checkpoint and is ignored by readers.
 */
final class CheckpointFile {

    private final Path path;

    CheckpointFile(Path path) {
        this.path = path;
    }

    Path path() {
        return path;
    }

    synchronized void append(String line) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            ByteBuffer buf = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(false);
        }
    }

    @FunctionalInterface
    interface LineHandler {
        void line(long number, String text);
    }

    /** Every complete line in order, with its 1-based number; nothing when the file does not exist. */
    void forEach(LineHandler handler) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        long complete = completeLength();
        long read = 0;
        long number = 0;
        try (BufferedReader r = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                number++;
                read += line.getBytes(StandardCharsets.UTF_8).length + 1;
                if (read > complete) {
                    return; // the unfinished last line, or one appended after we looked
                }
                if (!line.isBlank()) {
                    handler.line(number, line);
                }
            }
        }
    }

    /** The last complete line, or null. Reads the tail only. */
    String last() throws IOException {
        if (!Files.exists(path)) {
            return null;
        }
        try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "r")) {
            long end = completeLength(f);
            int window = 4096;
            while (true) {
                long start = Math.max(0, end - window);
                byte[] tail = new byte[(int) (end - start)];
                f.seek(start);
                f.readFully(tail);
                // tail ends with the newline of the last complete line (or is empty)
                int stop = tail.length - 1;
                while (stop >= 0 && (tail[stop] == '\n' || tail[stop] == '\r')) {
                    stop--;
                }
                if (stop < 0) {
                    return null;
                }
                int nl = stop;
                while (nl >= 0 && tail[nl] != '\n') {
                    nl--;
                }
                if (nl >= 0 || start == 0) {
                    return new String(tail, nl + 1, stop - nl, StandardCharsets.UTF_8);
                }
                if (window >= 16 * 1024 * 1024) {
                    return null; // no line of sane length
                }
                window *= 4;
            }
        }
    }

    private long completeLength() throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "r")) {
            return completeLength(f);
        }
    }

    /** The length up to and including the last newline. */
    private static long completeLength(RandomAccessFile f) throws IOException {
        long pos = f.length();
        byte[] b = new byte[4096];
        while (pos > 0) {
            int n = (int) Math.min(b.length, pos);
            f.seek(pos - n);
            f.readFully(b, 0, n);
            for (int i = n - 1; i >= 0; i--) {
                if (b[i] == '\n') {
                    return pos - n + i + 1;
                }
            }
            pos -= n;
        }
        return 0;
    }
}
