package io.buildgateway.audit;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * An event as the database driver hands it over: its text columns as their UTF-8 bytes and {@code at} as microseconds
 * since the epoch. Verification hashes these directly ({@link CanonicalBytes#event(RawEvent)}): decoding a million
 * rows into strings and encoding them back would cost as much as reading them. Text in PostgreSQL is valid UTF-8,
 * so these bytes are exactly what {@code String.getBytes(UTF_8)} gives for the stored strings.
 */
record RawEvent(long seq, long atMicros, byte[] actor, byte[] action, byte[] target, byte[] outcome, byte[] sourceIp,
        byte[] requestId, byte[] details, byte[] hash, byte[] prevHash) {

    static RawEvent of(AuditEvent e) {
        return new RawEvent(e.seq(), Math.addExact(Math.multiplyExact(e.at().getEpochSecond(), 1_000_000L),
                e.at().getNano() / 1000), utf8(e.actor()), utf8(e.action()), utf8(e.target()), utf8(e.outcome()),
                utf8(e.sourceIp()), utf8(e.requestId()), utf8(e.details()), utf8(e.hash()), utf8(e.prevHash()));
    }

    Instant at() {
        return Instant.ofEpochSecond(Math.floorDiv(atMicros, 1_000_000L), Math.floorMod(atMicros, 1_000_000L) * 1000L);
    }

    static String text(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    private static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }
}
