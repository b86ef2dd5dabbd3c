package io.buildgateway.builds;

import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.springframework.stereotype.Component;

/**
 * Build output, one append-only file per build, bounded in size. Every stored line records where it came from:
 * the gateway itself ({@link Source#GATEWAY}: "Queued", "Building on", "Pushing", verification, "Succeeded", ...)
 * or the build (the daemon's stream: {@link Source#STEP}, which a RUN step writes to), so step output can never
 * pass for the gateway's own lines (issue #11). Stored as {@code <id>.lines}, each line a one-letter source tag
 * ({@code G}/{@code S}) and the text; line breaks ({@code \n}, {@code \r}) end a line, and control, line-separator
 * and bidirectional-override characters are replaced by U+FFFD, so that no text can start a line or move the
 * cursor. Logs of builds from before this format ({@code <id>.log}, untagged) are read as step output, the safe
 * reading of lines whose source is not known.
 */
@Component
class BuildLogs {

    enum Source {
        GATEWAY('G'), STEP('S');

        final char tag;

        Source(char tag) {
            this.tag = tag;
        }

        String json() {
            return name().toLowerCase();
        }
    }

    record Line(Source source, String text) {
    }

    /** Lines read from an offset, and the offset after the last complete line. */
    record Chunk(List<Line> lines, long next) {
    }

    /** The longest stored line, in characters (at most 3 bytes each in UTF-8); longer output is split. */
    static final int MAX_LINE = 16 * 1024;
    /** What a reader should ask for at least: one whole stored line always fits. */
    static final int READ_MAX = 64 * 1024;
    /** Before every line of a gateway message but its first, unless it is indented already. */
    static final String CONTINUATION = "  ";

    private final Path dir;
    private final long maxSize;

    BuildLogs(BuildProperties properties) throws IOException {
        this.dir = properties.logsDir().toAbsolutePath().normalize();
        this.maxSize = properties.maxLogSize().toBytes();
        Files.createDirectories(dir);
    }

    Path path(UUID build) {
        return dir.resolve(build + ".lines");
    }

    private Path legacyPath(UUID build) {
        return dir.resolve(build + ".log");
    }

    /**
     * A build's log as the dispatcher writes it while the build runs: the gateway's messages and the build's
     * stream, kept apart. Step output may arrive in pieces; a piece without a line break waits for the rest (or
     * for {@link #endSteps}, or for the next gateway line, which never joins it).
     */
    final class Writer {
        private final Path file;
        private final BuildArgRedactor redactor;
        private final StringBuilder partial = new StringBuilder();
        private long written;
        private boolean cut;

        private Writer(Path file, BuildArgRedactor redactor) {
            this.file = file;
            this.redactor = redactor;
            this.written = size(file);
        }

        /**
         * One message of the gateway's. Its first line starts at the margin; every further line is indented (two
         * spaces unless it already starts with white space), because a message may embed values a build controls
         * (a file name, a daemon's error, a finding): a line break in such a value must not make a line that
         * reads like a message of the gateway's own, such as {@code Succeeded: …}.
         */
        synchronized void gateway(String text) {
            endSteps();
            boolean first = true;
            for (String line : split(text, false)) {
                if (line.isEmpty()) {
                    continue;
                }
                boolean indented = line.charAt(0) == ' ' || line.charAt(0) == '\t';
                store(Source.GATEWAY, first || indented ? line : CONTINUATION + line);
                first = false;
            }
        }

        synchronized void step(String text) {
            partial.append(text);
            List<String> lines = split(partial.toString(), true);
            String rest = lines.remove(lines.size() - 1);
            partial.setLength(0);
            partial.append(rest);
            if (partial.length() > 64 * 1024) {
                lines.add(partial.toString());
                partial.setLength(0);
            }
            for (String line : lines) {
                store(Source.STEP, line);
            }
        }

        /** The build's stream has ended: a last piece without a line break is stored as a line of its own. */
        synchronized void endSteps() {
            if (!partial.isEmpty()) {
                String rest = partial.toString();
                partial.setLength(0);
                store(Source.STEP, rest);
            }
        }

        private void store(Source source, String text) {
            // before any split at MAX_LINE, so that a value is never cut in two (it is whole within a line)
            text = redactor.redact(text);
            if (text.length() > MAX_LINE) {
                // lines stay short enough that every read of READ_MAX bytes holds at least one whole line
                int size = source == Source.GATEWAY ? MAX_LINE - CONTINUATION.length() : MAX_LINE;
                for (int i = 0; i < text.length(); i += size) {
                    String piece = text.substring(i, Math.min(text.length(), i + size));
                    store(source, i > 0 && source == Source.GATEWAY ? CONTINUATION + piece : piece);
                }
                return;
            }
            if (cut) {
                return;
            }
            byte[] bytes = (source.tag + neutralise(text) + "\n").getBytes(StandardCharsets.UTF_8);
            if (written + bytes.length > maxSize) {
                bytes = (Source.GATEWAY.tag + "[build gateway: log cut at " + maxSize + " bytes]\n")
                        .getBytes(StandardCharsets.UTF_8);
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
    }

    /**
     * The follows of one build on this replica ({@link LogFollows}): how many there are, and a count of the wake-ups
     * since the first began. The dispatcher wakes them when the build has become final, so they end at once instead
     * of at their next poll (a follow that found the build running at its last read waited up to a poll interval,
     * 250 ms, before it saw the end: half of that, on average, on every CI job's wait). Lines are still found by the
     * poll (a wake-up per line would cost a status query per line of a chatty build); a build that ends on another
     * replica, too.
     */
    static final class Appends {
        private int followers; // changed only inside the map's compute, per build
        private long version;

        synchronized long version() {
            return version;
        }

        private synchronized void bump() {
            version++;
            notifyAll();
        }

        /** Waits until a wake-up after {@code seen} (a {@link #version()}) or until {@code millis} passed. */
        synchronized void await(long seen, long millis) throws InterruptedException {
            long end = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(millis);
            while (version == seen) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }
    }

    private final java.util.Map<UUID, Appends> watched = new java.util.concurrent.ConcurrentHashMap<>();

    /** A follow of {@code build} begins: its {@link Appends}, until {@link #unwatch}. */
    Appends watch(UUID build) {
        return watched.compute(build, (k, a) -> {
            Appends appends = a == null ? new Appends() : a;
            appends.followers++;
            return appends;
        });
    }

    /** A follow of {@code build} ended. */
    void unwatch(UUID build) {
        watched.computeIfPresent(build, (k, a) -> --a.followers == 0 ? null : a);
    }

    /** Wakes the follows of {@code build} on this replica (the build has become final). */
    void wake(UUID build) {
        Appends appends = watched.get(build);
        if (appends != null) {
            appends.bump();
        }
    }

    Writer writer(UUID build) {
        return writer(build, BuildArgRedactor.NONE);
    }

    /**
     * A writer that replaces the values of the build's non-public build args in every line, the gateway's and the
     * build's (a step may print a value, a daemon error may quote it).
     */
    Writer writer(UUID build, BuildArgRedactor redactor) {
        return new Writer(path(build), redactor);
    }

    /** One message of the gateway's own (each line of it a gateway line). */
    void append(UUID build, String text) {
        writer(build).gateway(text);
    }

    /**
     * Splits on line breaks ({@code \r\n}, {@code \n}, a lone {@code \r}). With {@code keepRest}, the last element is
     * what follows the last break (possibly empty); without, a trailing text without a break is a line too.
     */
    static List<String> split(String text, boolean keepRest) {
        List<String> lines = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n' || c == '\r') {
                lines.add(text.substring(start, i));
                if (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') {
                    i++;
                }
                start = i + 1;
            }
        }
        if (keepRest) {
            lines.add(text.substring(start));
        } else if (start < text.length()) {
            lines.add(text.substring(start));
        }
        return lines;
    }

    /**
     * Replaces what could make a line look like something else on a terminal or in a viewer: C0/C1 controls (but
     * tab), DEL, Unicode line and paragraph separators, and bidirectional embeddings, overrides and isolates.
     */
    static String neutralise(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean bad = (c < 0x20 && c != '\t') || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029
                    || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x200e || c == 0x200f
                    || c == 0x061c;
            if (bad && out == null) {
                out = new StringBuilder(text.length()).append(text, 0, i);
            }
            if (out != null) {
                out.append(bad ? '\uFFFD' : c);
            }
        }
        return out == null ? text : out.toString();
    }

    /**
     * Reads complete lines from {@code offset} (a byte offset into the stored log; 0 for the start), at most about
     * {@code max} bytes; {@link Chunk#next} is where to continue. Nothing new: no lines, the same offset.
     */
    Chunk read(UUID build, long offset, int max) throws IOException {
        Path file = path(build);
        boolean legacy = false;
        if (!Files.exists(file)) {
            file = legacyPath(build);
            legacy = true;
            if (!Files.exists(file)) {
                return new Chunk(List.of(), offset);
            }
        }
        byte[] bytes;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long length = raf.length();
            if (offset >= length) {
                return new Chunk(List.of(), offset);
            }
            bytes = new byte[(int) Math.min(max, length - offset)];
            raf.seek(offset);
            raf.readFully(bytes);
            if (legacy && offset + bytes.length == length && bytes[bytes.length - 1] != '\n') {
                // an old log is complete: its last line may lack a break
                bytes = java.util.Arrays.copyOf(bytes, bytes.length + 1);
                bytes[bytes.length - 1] = '\n';
            }
        }
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') {
            end--;
        }
        if (end == 0) {
            if (bytes.length == max) {
                // one stored line longer than a read (cannot happen with lines this class writes): skip it whole
                return new Chunk(List.of(new Line(Source.GATEWAY, "[build gateway: an over-long line was skipped]")),
                        offset + bytes.length);
            }
            return new Chunk(List.of(), offset);
        }
        List<Line> lines = new ArrayList<>();
        String text = new String(bytes, 0, end, StandardCharsets.UTF_8);
        int start = 0;
        for (int i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', start)) {
            String line = text.substring(start, i);
            start = i + 1;
            if (legacy) {
                lines.add(new Line(Source.STEP, neutralise(line)));
            } else if (!line.isEmpty()) {
                Source source = line.charAt(0) == Source.GATEWAY.tag ? Source.GATEWAY : Source.STEP;
                lines.add(new Line(source, neutralise(line.substring(1))));
            }
        }
        long consumed = Math.min(end, bytes.length);
        return new Chunk(lines, legacy && offset + consumed > Files.size(file) ? Files.size(file) : offset + consumed);
    }

    private static long size(Path file) {
        try {
            return Files.exists(file) ? Files.size(file) : 0;
        } catch (IOException e) {
            return 0;
        }
    }
}
