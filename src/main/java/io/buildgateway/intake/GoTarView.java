package io.buildgateway.intake;

import io.buildgateway.shared.ReadTee;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * A second, independent reading of the tar stream, block by block, the way the daemon's Go {@code archive/tar}
 * reads it (USTAR/STAR prefix, PAX {@code path}/{@code linkpath}/{@code size}, GNU long names applied last, header-only
 * types carrying no data, the end of the archive at the first zero block). It sees every byte the commons-compress
 * reader consumes ({@link Tee}) and refuses, at the first block where it happens, whatever the two readers could read
 * differently: global PAX headers (applied by commons-compress, ignored by Go), two PAX or two long-name headers for
 * one entry (merged by one, last-wins in the other), a long name and a PAX path together, links or directories with a
 * data size (skipped by one, read as headers by the other), sparse files, unknown entry types, names that are not
 * UTF-8, a header cut short at the end, and anything but zeros after the end-of-archive marker. The inspector then
 * compares each entry commons-compress returns with {@link #next()}.
 */
final class GoTarView {

    /** An entry as Go reads it. {@code type} is the tar type flag, with the old regular type already resolved. */
    record Header(char type, String name, String linkName, long size) {
    }

    private static final int BLOCK = 512;
    private static final int MAX_PAX = 1 << 20;
    private static final int MAX_LONG_NAME = 64 * 1024;

    private final Deque<Header> headers = new ArrayDeque<>();
    private final byte[] block = new byte[BLOCK];
    private int fill;
    private long dataRemaining;
    private ByteArrayOutputStream capture;
    private long captureRemaining;
    private char captureType;
    private boolean trailer;
    private long trailerBytes;
    private Map<String, String> pax;
    private String longName;
    private String longLink;
    private UnsafeArchiveException problem;

    /** The first reason to refuse the archive, or null. */
    UnsafeArchiveException problem() {
        return problem;
    }

    /** The next entry Go would return, or null if it has seen no more. */
    Header next() {
        return headers.pollFirst();
    }

    /** The stream has ended: a header cut short or extensions without an entry are refused. */
    void end() {
        if (problem != null) {
            return;
        }
        if (trailer) {
            if (trailerBytes % BLOCK != 0) {
                fail("unreadable-archive", "the archive ends inside its end-of-archive blocks");
            }
        } else if (fill > 0 || dataRemaining > 0) {
            fail("unreadable-archive", "the archive is truncated");
        } else if (pax != null || longName != null || longLink != null) {
            fail("ambiguous-archive", "the archive ends with a PAX or long-name header that names no entry");
        }
    }

    void accept(byte[] b, int off, int len) {
        while (len > 0 && problem == null) {
            if (trailer) {
                for (int i = off; i < off + len; i++) {
                    if (b[i] != 0) {
                        fail("trailing-data", "the archive has data after its end-of-archive marker; send only the "
                                + "tar archive (the daemon would stop reading there and reset the connection)");
                        return;
                    }
                }
                trailerBytes += len;
                return;
            }
            if (dataRemaining > 0) {
                int n = (int) Math.min(len, dataRemaining);
                if (capture != null && captureRemaining > 0) {
                    int c = (int) Math.min(n, captureRemaining);
                    capture.write(b, off, c);
                    captureRemaining -= c;
                }
                dataRemaining -= n;
                off += n;
                len -= n;
                if (dataRemaining == 0 && capture != null) {
                    captured();
                }
                continue;
            }
            int n = Math.min(len, BLOCK - fill);
            System.arraycopy(b, off, block, fill, n);
            fill += n;
            off += n;
            len -= n;
            if (fill == BLOCK) {
                fill = 0;
                header();
            }
        }
    }

    private void header() {
        if (isZero(block)) {
            trailer = true;
            trailerBytes = BLOCK;
            if (pax != null || longName != null || longLink != null) {
                fail("ambiguous-archive", "a PAX or long-name header is followed by the end of the archive");
            }
            return;
        }
        if (!checksumMatches()) {
            fail("unreadable-archive", "a tar header has a wrong checksum (corrupt archive)");
            return;
        }
        char type = (char) (block[156] & 0xff);
        Long size = number(124, 12);
        if (size == null || size < 0) {
            fail("unreadable-archive", "a tar header has an invalid size field");
            return;
        }
        // Decoded when the entry is complete: a PAX or long-name header may replace a name cut mid-character.
        byte[] name = cBytes(block, 0, 100);
        byte[] linkName = cBytes(block, 157, 100);
        byte[] prefix = switch (format()) {
            case 'u' -> cBytes(block, 345, 155);
            case 's' -> cBytes(block, 345, 131);
            default -> new byte[0];
        };
        if (prefix.length > 0) {
            byte[] joined = new byte[prefix.length + 1 + name.length];
            System.arraycopy(prefix, 0, joined, 0, prefix.length);
            joined[prefix.length] = '/';
            System.arraycopy(name, 0, joined, prefix.length + 1, name.length);
            name = joined;
        }
        switch (type) {
            case 'x' -> {
                if (pax != null) {
                    fail("ambiguous-archive", "two PAX headers precede one entry (Go keeps the last, "
                            + "commons-compress merges them)");
                    return;
                }
                startCapture('x', size, MAX_PAX);
            }
            case 'L', 'K' -> {
                if (type == 'L' ? longName != null : longLink != null) {
                    fail("ambiguous-archive", "two GNU long-name headers precede one entry");
                    return;
                }
                startCapture(type, size, MAX_LONG_NAME);
            }
            case 'g' -> fail("ambiguous-archive", "the archive has a global PAX header, which Go ignores and "
                    + "commons-compress applies to every later entry");
            case '0', '\0', '1', '2', '3', '4', '5', '6' -> entry(type, name, linkName, size);
            case 'S' -> fail("special-file", "the archive holds a sparse file; build contexts may hold only plain "
                    + "files, directories and links");
            default -> fail("special-file", "an entry has the unsupported tar type '" + printable(type) + "'");
        }
    }

    private void entry(char type, byte[] rawName, byte[] rawLinkName, long size) {
        Map<String, String> records = pax == null ? Map.of() : pax;
        for (String key : records.keySet()) {
            if (key.startsWith("GNU.sparse.")) {
                fail("special-file", "the archive holds a sparse file (PAX " + key + ")");
                return;
            }
        }
        if (records.containsKey("path") && longName != null || records.containsKey("linkpath") && longLink != null) {
            fail("ambiguous-archive", "an entry is named both by a GNU long-name header and a PAX header");
            return;
        }
        String name = records.containsKey("path") ? records.get("path") : longName;
        String linkName = records.containsKey("linkpath") ? records.get("linkpath") : longLink;
        try {
            if (name == null) {
                name = decode(rawName, 0, rawName.length);
            }
            if (linkName == null) {
                linkName = decode(rawLinkName, 0, rawLinkName.length);
            }
        } catch (CharacterCodingException e) {
            fail("invalid-name", "an entry name or link target is not valid UTF-8");
            return;
        }
        if (records.containsKey("size")) {
            try {
                size = Long.parseLong(records.get("size"));
            } catch (NumberFormatException e) {
                size = -1;
            }
            if (size < 0) {
                fail("unreadable-archive", "a PAX header has an invalid size");
                return;
            }
        }
        pax = null;
        longName = null;
        longLink = null;
        if (type == '\0') {
            type = name.endsWith("/") ? '5' : '0';
        }
        if (type != '0' && size != 0) {
            fail("ambiguous-archive", "entry '" + ArchiveInspector.shown(name) + "' is a link, directory or special "
                    + "file with a data size; readers disagree on where the next header starts");
            return;
        }
        headers.addLast(new Header(type, name, linkName, size));
        dataRemaining = type == '0' ? roundUp(size) : 0;
    }

    private void startCapture(char type, long size, int max) {
        if (size > max) {
            fail("ambiguous-archive", "a PAX or long-name header is larger than " + max + " bytes");
            return;
        }
        captureType = type;
        capture = new ByteArrayOutputStream((int) size);
        captureRemaining = size;
        dataRemaining = roundUp(size);
        if (dataRemaining == 0) {
            captured();
        }
    }

    private void captured() {
        byte[] data = capture.toByteArray();
        capture = null;
        try {
            switch (captureType) {
                case 'x' -> pax = parsePax(data);
                case 'L' -> longName = cString(data, 0, data.length);
                default -> longLink = cString(data, 0, data.length);
            }
        } catch (CharacterCodingException e) {
            fail("invalid-name", "an entry name or link target is not valid UTF-8");
        }
    }

    /** PAX records, {@code "<length> <key>=<value>\n"}, strictly; a malformed record refuses the archive. */
    private Map<String, String> parsePax(byte[] data) throws CharacterCodingException {
        Map<String, String> records = new HashMap<>();
        int pos = 0;
        while (pos < data.length) {
            int space = pos;
            while (space < data.length && data[space] >= '0' && data[space] <= '9' && space - pos < 10) {
                space++;
            }
            if (space == pos || space >= data.length || data[space] != ' ') {
                return malformedPax();
            }
            long length = Long.parseLong(new String(data, pos, space - pos, StandardCharsets.US_ASCII));
            if (length <= space - pos + 1 || length > data.length - pos) {
                return malformedPax();
            }
            int end = pos + (int) length;
            if (data[end - 1] != '\n') {
                return malformedPax();
            }
            String record = decode(data, space + 1, end - 1 - (space + 1));
            int eq = record.indexOf('=');
            if (eq <= 0) {
                return malformedPax();
            }
            String key = record.substring(0, eq);
            if (records.put(key, record.substring(eq + 1)) != null) {
                fail("ambiguous-archive", "a PAX header sets '" + ArchiveInspector.shown(key) + "' twice");
                return records;
            }
            pos = end;
        }
        return records;
    }

    private Map<String, String> malformedPax() {
        fail("unreadable-archive", "a PAX header is malformed");
        return Map.of();
    }

    /** 'u' USTAR/PAX (prefix 155), 's' STAR (prefix 131), 'g' GNU, 'v' V7; as Go's {@code getFormat}. */
    private char format() {
        boolean ustarMagic = matches(257, "ustar\0");
        if (ustarMagic && matches(508, "tar\0")) {
            return 's';
        }
        if (ustarMagic) {
            return 'u';
        }
        if (matches(257, "ustar ") && matches(263, " \0")) {
            return 'g';
        }
        return 'v';
    }

    private boolean checksumMatches() {
        Long stored = number(148, 8);
        if (stored == null) {
            return false;
        }
        long unsigned = 0;
        long signed = 0;
        for (int i = 0; i < BLOCK; i++) {
            byte c = i >= 148 && i < 156 ? (byte) ' ' : block[i];
            unsigned += c & 0xff;
            signed += c;
        }
        return stored == unsigned || stored == signed;
    }

    /** Octal (trimmed of spaces and NULs) or base-256, as Go's {@code parseNumeric}; null if invalid. */
    private Long number(int off, int len) {
        if ((block[off] & 0x80) != 0) {
            if ((block[off] & 0x40) != 0) {
                return null; // negative
            }
            long v = block[off] & 0x3f;
            for (int i = off + 1; i < off + len; i++) {
                if (v > (Long.MAX_VALUE >> 8)) {
                    return null;
                }
                v = (v << 8) | (block[i] & 0xff);
            }
            return v;
        }
        int start = off;
        int end = off + len;
        while (start < end && (block[start] == ' ' || block[start] == 0)) {
            start++;
        }
        while (end > start && (block[end - 1] == ' ' || block[end - 1] == 0)) {
            end--;
        }
        long v = 0;
        for (int i = start; i < end; i++) {
            if (block[i] < '0' || block[i] > '7') {
                return null;
            }
            v = v * 8 + (block[i] - '0');
        }
        return v;
    }

    private static byte[] cBytes(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return Arrays.copyOfRange(b, off, end);
    }

    private static String cString(byte[] b, int off, int len) throws CharacterCodingException {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return decode(b, off, end - off);
    }

    private static String decode(byte[] b, int off, int len) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b, off, len)).toString();
    }

    private boolean matches(int off, String ascii) {
        for (int i = 0; i < ascii.length(); i++) {
            if (block[off + i] != (byte) ascii.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static long roundUp(long size) {
        return (size + BLOCK - 1) / BLOCK * BLOCK;
    }

    private static String printable(char c) {
        return c >= 0x21 && c < 0x7f ? String.valueOf(c) : String.format("\\x%02x", (int) c);
    }

    private void fail(String kind, String message) {
        if (problem == null) {
            problem = new UnsafeArchiveException(kind, message);
        }
    }

    /** Passes every byte read through the view ({@link ReadTee}: skips are reads, no mark/reset). */
    static final class Tee extends ReadTee {

        private final GoTarView view;

        Tee(InputStream in, GoTarView view) {
            super(in, view::accept);
            this.view = view;
        }

        /** Reads the stream to its end (the bytes after the tar reader stopped), so the view checks them too. */
        void drain() throws IOException {
            byte[] scratch = scratch();
            while (read(scratch, 0, scratch.length) >= 0) {
                if (view.problem() != null) {
                    return;
                }
            }
        }
    }
}
