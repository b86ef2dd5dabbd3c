package io.buildgateway.auth;

import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The token rows {@link Tokens#authenticate} read, kept for a short time (issue #17, latency: every request checks
 * its token, and CI jobs poll with the same token several times a second). Keyed by the SHA-256 of the presented
 * secret; only rows that were found are kept (an unknown secret is read again each time, so a token issued on
 * another replica works at once).
 *
 * <p>What may be stale, and for how long: the row as read at most {@code ttl} ago. Expiry and the end of a rotated
 * secret's grace period are compared with the clock on every request from the row's timestamps, so they are exact;
 * a revocation or rotation made <em>on this replica</em> drops the token's entries at once ({@link #forget}), so it
 * takes effect on the next request here; one made on another replica takes effect here at most {@code ttl} later.
 * The age is measured on {@link System#nanoTime()}, so a jump of the wall clock does not lengthen it. A {@code ttl}
 * of zero turns the cache off. At most {@code maxEntries} rows are kept; a full cache is emptied (the next requests
 * read their rows again), which bounds memory against many distinct tokens.
 */
final class TokenCheckCache {

    private record Entry(Tokens.TokenCheck check, long readAtNanos) {
    }

    private final long ttlNanos;
    private final int maxEntries;
    private final LongSupplier nanos;
    private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();
    /** When a token was last forgotten: a row read before it may be the row as it was before the change. */
    private volatile long forgottenAt;

    TokenCheckCache(Duration ttl, int maxEntries, LongSupplier nanos) {
        if (ttl.isNegative()) {
            throw new IllegalArgumentException("the token check cache's time to live must not be negative: " + ttl);
        }
        this.ttlNanos = ttl.toNanos();
        this.maxEntries = maxEntries;
        this.nanos = nanos;
        this.forgottenAt = nanos.getAsLong() - 1;
    }

    /** The row of this secret's hash if it was read less than the time to live ago, else null. */
    Tokens.TokenCheck get(String hash) {
        if (ttlNanos == 0) {
            return null;
        }
        Entry e = entries.get(hash);
        if (e == null) {
            return null;
        }
        if (nanos.getAsLong() - e.readAtNanos() >= ttlNanos) {
            entries.remove(hash, e);
            return null;
        }
        return e.check();
    }

    /**
     * Keeps a row just read from the database under the hash it was found by, unless a token was forgotten since the
     * read started (the read may have seen the row before that revocation or rotation committed).
     */
    void put(String hash, Tokens.TokenCheck check, long readAtNanos) {
        if (ttlNanos == 0 || readAtNanos - forgottenAt <= 0) {
            return;
        }
        if (entries.size() >= maxEntries) {
            entries.clear();
        }
        entries.put(hash, new Entry(check, readAtNanos));
    }

    /**
     * Records a last use written by this replica in the kept row (so that the next requests do not write it again),
     * without making the row younger than it is.
     */
    void usedAt(String hash, Tokens.TokenCheck check, Instant lastUsedAt, Instant previousSecretLastUsedAt) {
        entries.computeIfPresent(hash, (h, e) -> e.check().id().equals(check.id())
                ? new Entry(e.check().withLastUse(lastUsedAt, previousSecretLastUsedAt), e.readAtNanos()) : e);
    }

    /**
     * Drops every kept row of this token (both of its secrets): it was revoked or rotated here. Called when the change
     * is made and again after it commits, so that a request between the two does not keep the row as it was.
     */
    void forget(UUID tokenId) {
        forgottenAt = nanos.getAsLong();
        entries.values().removeIf(e -> e.check().id().equals(tokenId));
    }

    /** Now, on the clock the ages are measured with: taken before a read, so a row's age includes the read. */
    long now() {
        return nanos.getAsLong();
    }

    int size() {
        return entries.size();
    }
}
