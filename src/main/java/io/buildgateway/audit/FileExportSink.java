package io.buildgateway.audit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * JSON lines appended to a file (one event per line, {@link SyslogFormat#jsonLine}), forced to disk before the cursor
 * moves. A SIEM agent (Filebeat, Fluent Bit, rsyslog imfile) tails it. After a crash between the write and the
 * cursor's update the same events are written again: consumers deduplicate by {@code seq}.
 */
final class FileExportSink implements ExportSink {

    private final Path path;
    private final String cursor;

    FileExportSink(Path path, String cursor) {
        this.path = path;
        this.cursor = cursor;
    }

    @Override
    public String cursor() {
        return cursor;
    }

    @Override
    public String describe() {
        return "file " + path;
    }

    @Override
    public synchronized void send(List<AuditEvent> events) throws IOException {
        StringBuilder lines = new StringBuilder(events.size() * 512);
        for (AuditEvent e : events) {
            lines.append(SyslogFormat.jsonLine(e)).append('\n');
        }
        Path dir = path.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            ByteBuffer buf = ByteBuffer.wrap(lines.toString().getBytes(StandardCharsets.UTF_8));
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(false);
        }
    }

    @Override
    public void close() {
    }
}
