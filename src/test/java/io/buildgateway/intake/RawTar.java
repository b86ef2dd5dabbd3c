package io.buildgateway.intake;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Writes tar archives header by header, with the shapes no tar tool writes on purpose: global PAX headers, two long
 * names for one entry, links with a data size, sparse types, names with control characters or invalid UTF-8, data
 * after the end-of-archive blocks.
 */
final class RawTar {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    static RawTar tar() {
        return new RawTar();
    }

    RawTar file(String name, String content) {
        return entry(bytes(name), '0', content.getBytes(StandardCharsets.UTF_8), "", null);
    }

    RawTar entry(String name, char type, String content) {
        return entry(bytes(name), type, content.getBytes(StandardCharsets.UTF_8), "", null);
    }

    RawTar link(String name, char type, String target) {
        return entry(bytes(name), type, new byte[0], target, null);
    }

    /** A header whose size field says {@code size} whatever follows (then {@code data}, padded). */
    RawTar sized(String name, char type, String target, long size, byte[] data) {
        header(bytes(name), type, size, target, null);
        pad(data);
        return this;
    }

    /** A PAX extended header ('x', or 'g' for global) with these records ("key=value"). */
    RawTar pax(char type, String... records) {
        StringBuilder body = new StringBuilder();
        for (String r : records) {
            body.append(paxRecord(r));
        }
        return entry(bytes("PaxHeader"), type, body.toString().getBytes(StandardCharsets.UTF_8), "", null);
    }

    /** A GNU long name ('L') or long link ('K') header. */
    RawTar gnuLong(char type, String value) {
        byte[] v = Arrays.copyOf(bytes(value), bytes(value).length + 1);
        return entry(bytes("././@LongLink"), type, v, "", null);
    }

    RawTar entry(byte[] name, char type, byte[] content, String link, String prefix) {
        header(name, type, content.length, link, prefix);
        pad(content);
        return this;
    }

    /** The two zero blocks. */
    RawTar end() {
        out.writeBytes(new byte[1024]);
        return this;
    }

    RawTar raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    private void header(byte[] name, char type, long size, String link, String prefix) {
        byte[] h = new byte[512];
        System.arraycopy(name, 0, h, 0, Math.min(100, name.length));
        put(h, 100, String.format("%07o", 0644));
        put(h, 108, "0000000");
        put(h, 116, "0000000");
        put(h, 124, String.format("%011o", size));
        put(h, 136, String.format("%011o", 1_700_000_000L));
        h[156] = (byte) type;
        byte[] l = bytes(link);
        System.arraycopy(l, 0, h, 157, Math.min(100, l.length));
        put(h, 257, "ustar\0");
        put(h, 263, "00");
        if (prefix != null) {
            byte[] p = bytes(prefix);
            System.arraycopy(p, 0, h, 345, Math.min(155, p.length));
        }
        Arrays.fill(h, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        put(h, 148, String.format("%06o\0 ", sum));
        out.writeBytes(h);
    }

    private void pad(byte[] data) {
        out.writeBytes(data);
        int rest = data.length % 512;
        if (rest != 0) {
            out.writeBytes(new byte[512 - rest]);
        }
    }

    private static void put(byte[] h, int off, String ascii) {
        byte[] b = ascii.getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(b, 0, h, off, b.length);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String paxRecord(String keyValue) {
        int body = (" " + keyValue + "\n").getBytes(StandardCharsets.UTF_8).length;
        int length = body + String.valueOf(body).length();
        if (String.valueOf(length).length() != String.valueOf(body).length()) {
            length = body + String.valueOf(length).length();
        }
        return length + " " + keyValue + "\n";
    }
}
