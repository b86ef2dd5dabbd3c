package io.buildgateway.audit;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;

/**
 * {@code prevHash ‖ canonical(event)} written straight into a reusable byte buffer: exactly the bytes of
 * {@code prevHash.getBytes(US_ASCII)} followed by {@code event.canonical().getBytes(UTF_8)}, without the intermediate
 * strings, because verification computes it for every event of the chain. Strings that are all ASCII (nearly all) are
 * escaped byte by byte; any other goes through {@link CanonicalJson#string} and Java's UTF-8 encoder, so unpaired
 * surrogates become {@code ?} exactly as there. AuditFormatsTest checks the equality on random events.
 */
final class CanonicalBytes {

    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private byte[] buf = new byte[1024];
    private int len;

    byte[] buffer() {
        return buf;
    }

    int length() {
        return len;
    }

    CanonicalBytes reset() {
        len = 0;
        return this;
    }

    /** {@code prevHash} as US-ASCII ({@code ?} for anything else, as {@link String#getBytes} does). */
    CanonicalBytes ascii(String s) {
        room(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x80) { // a surrogate pair is one '?': let the encoder decide
                byte[] b = s.getBytes(StandardCharsets.US_ASCII);
                len -= i;
                room(b.length);
                System.arraycopy(b, 0, buf, len, b.length);
                len += b.length;
                return this;
            }
            buf[len++] = (byte) c;
        }
        return this;
    }

    /** The canonical JSON of the event: the keys in code-point order, as {@link AuditEvent#canonical()}. */
    CanonicalBytes event(AuditEvent e) {
        literal("{\"action\":");
        string(e.action());
        literal(",\"actor\":");
        string(e.actor());
        literal(",\"at\":");
        instant(e.at());
        literal(",\"details\":");
        string(e.details());
        literal(",\"outcome\":");
        string(e.outcome());
        literal(",\"requestId\":");
        string(e.requestId());
        literal(",\"seq\":");
        literal(Long.toString(e.seq()));
        literal(",\"sourceIp\":");
        string(e.sourceIp());
        literal(",\"target\":");
        string(e.target());
        literal("}");
        return this;
    }

    /** The bytes as they are (a stored prev_hash, for the raw path). */
    CanonicalBytes bytes(byte[] b) {
        if (b != null) {
            room(b.length);
            System.arraycopy(b, 0, buf, len, b.length);
            len += b.length;
        }
        return this;
    }

    /**
     * The canonical JSON of an event read as bytes: the same bytes as {@link #event(AuditEvent)} for the same
     * stored values, escaping byte by byte (bytes of multi-byte UTF-8 sequences are never escaped).
     */
    CanonicalBytes event(RawEvent e) {
        literal("{\"action\":");
        string(e.action());
        literal(",\"actor\":");
        string(e.actor());
        literal(",\"at\":");
        instantMicros(e.atMicros());
        literal(",\"details\":");
        string(e.details());
        literal(",\"outcome\":");
        string(e.outcome());
        literal(",\"requestId\":");
        string(e.requestId());
        literal(",\"seq\":");
        literal(Long.toString(e.seq()));
        literal(",\"sourceIp\":");
        string(e.sourceIp());
        literal(",\"target\":");
        string(e.target());
        literal("}");
        return this;
    }

    private void string(byte[] s) {
        if (s == null) {
            literal("null");
            return;
        }
        room(s.length * 6 + 2);
        buf[len++] = '"';
        for (byte b : s) {
            if ((b & 0xff) >= 0x20 && b != '"' && b != '\\') {
                buf[len++] = b;
                continue;
            }
            escape((char) b);
        }
        buf[len++] = '"';
    }

    private void escape(char c) {
        buf[len++] = '\\';
        switch (c) {
            case '"' -> buf[len++] = '"';
            case '\\' -> buf[len++] = '\\';
            case '\b' -> buf[len++] = 'b';
            case '\f' -> buf[len++] = 'f';
            case '\n' -> buf[len++] = 'n';
            case '\r' -> buf[len++] = 'r';
            case '\t' -> buf[len++] = 't';
            default -> {
                buf[len++] = 'u';
                buf[len++] = '0';
                buf[len++] = '0';
                buf[len++] = HEX[c >> 4];
                buf[len++] = HEX[c & 0xf];
            }
        }
    }

    private void instantMicros(long micros) {
        long seconds = Math.floorDiv(micros, 1_000_000L);
        int nano = (int) Math.floorMod(micros, 1_000_000L) * 1000;
        if (seconds < -62_167_219_200L || seconds > 253_402_300_799L) { // outside years 0000-9999
            string(Instant.ofEpochSecond(seconds, nano).toString());
            return;
        }
        instant(seconds, nano);
    }

    private void literal(String ascii) {
        room(ascii.length());
        for (int i = 0; i < ascii.length(); i++) {
            buf[len++] = (byte) ascii.charAt(i);
        }
    }

    private void string(String s) {
        if (s == null) {
            literal("null");
            return;
        }
        int n = s.length();
        for (int i = 0; i < n; i++) {
            if (s.charAt(i) >= 0x80) {
                StringBuilder b = new StringBuilder(n + 16);
                CanonicalJson.string(s, b);
                byte[] utf8 = b.toString().getBytes(StandardCharsets.UTF_8);
                room(utf8.length);
                System.arraycopy(utf8, 0, buf, len, utf8.length);
                len += utf8.length;
                return;
            }
        }
        room(n * 6 + 2);
        buf[len++] = '"';
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x20 && c != '"' && c != '\\') {
                buf[len++] = (byte) c;
                continue;
            }
            escape(c);
        }
        buf[len++] = '"';
    }

    /** As {@link Instant#toString()} (ISO-8601, fraction in groups of three digits), quoted. */
    private void instant(Instant at) {
        if (at == null) {
            literal("null");
            return;
        }
        LocalDateTime t = LocalDateTime.ofEpochSecond(at.getEpochSecond(), 0, ZoneOffset.UTC);
        int year = t.getYear();
        if (year < 0 || year > 9999) {
            string(at.toString());
            return;
        }
        instant(at.getEpochSecond(), at.getNano());
    }

    private void instant(long epochSecond, int nano) {
        LocalDateTime t = LocalDateTime.ofEpochSecond(epochSecond, 0, ZoneOffset.UTC);
        int year = t.getYear();
        room(40);
        buf[len++] = '"';
        digits(year, 4);
        buf[len++] = '-';
        digits(t.getMonthValue(), 2);
        buf[len++] = '-';
        digits(t.getDayOfMonth(), 2);
        buf[len++] = 'T';
        digits(t.getHour(), 2);
        buf[len++] = ':';
        digits(t.getMinute(), 2);
        buf[len++] = ':';
        digits(t.getSecond(), 2);
        if (nano > 0) {
            buf[len++] = '.';
            if (nano % 1_000_000 == 0) {
                digits(nano / 1_000_000, 3);
            } else if (nano % 1000 == 0) {
                digits(nano / 1000, 6);
            } else {
                digits(nano, 9);
            }
        }
        buf[len++] = 'Z';
        buf[len++] = '"';
    }

    private void digits(int value, int width) {
        for (int i = width - 1; i >= 0; i--) {
            buf[len + i] = (byte) ('0' + value % 10);
            value /= 10;
        }
        len += width;
    }

    private void room(int more) {
        if (len + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
        }
    }
}
