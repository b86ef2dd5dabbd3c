package io.buildgateway.builds;

import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.UUID;
import java.util.function.Consumer;
import org.springframework.stereotype.Component;

/** Build output, one append-only file per build, bounded in size. */
@Component
class BuildLogs {

    private final Path dir;
    private final long maxSize;

    BuildLogs(BuildProperties properties) throws IOException {
        this.dir = properties.logsDir().toAbsolutePath().normalize();
        this.maxSize = properties.maxLogSize().toBytes();
        Files.createDirectories(dir);
    }

    Path path(UUID build) {
        return dir.resolve(build + ".log");
    }

    /** An appender that writes each chunk as it comes, and stops (with a note) at the size limit. */
    Consumer<String> appender(UUID build) {
        Path file = path(build);
        return new Consumer<>() {
            private long written = size(file);
            private boolean cut;

            @Override
            public synchronized void accept(String text) {
                if (cut) {
                    return;
                }
                byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
                if (written + bytes.length > maxSize) {
                    bytes = ("\n[build gateway: log cut at " + maxSize + " bytes]\n").getBytes(StandardCharsets.UTF_8);
                    cut = true;
                }
                try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND)) {
                    out.write(bytes);
                    written += bytes.length;
                } catch (IOException e) {
                    cut = true;
                }
            }
        };
    }

    void append(UUID build, String text) {
        appender(build).accept(text);
    }

    /** Reads from {@code offset}; returns an empty array when nothing new is there. */
    byte[] read(UUID build, long offset, int max) throws IOException {
        Path file = path(build);
        if (!Files.exists(file)) {
            return new byte[0];
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long length = raf.length();
            if (offset >= length) {
                return new byte[0];
            }
            int n = (int) Math.min(max, length - offset);
            byte[] out = new byte[n];
            raf.seek(offset);
            raf.readFully(out);
            return out;
        }
    }

    private static long size(Path file) {
        try {
            return Files.exists(file) ? Files.size(file) : 0;
        } catch (IOException e) {
            return 0;
        }
    }
}
