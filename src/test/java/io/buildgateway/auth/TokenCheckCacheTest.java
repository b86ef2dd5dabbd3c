package io.buildgateway.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The token rows a replica keeps between requests: how long, what drops them, how many. */
class TokenCheckCacheTest {

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final TokenCheckCache cache = new TokenCheckCache(Duration.ofSeconds(2), 3, nanos::get);

    private static Tokens.TokenCheck row(UUID id, String hash) {
        return new Tokens.TokenCheck(id, "ci", hash, "BUILDER", "payments", null, null, null, null, null);
    }

    @Test
    void aRowIsServedUntilItsTimeToLiveFromTheReadThenReadAgain() {
        UUID id = UUID.randomUUID();
        long readAt = cache.now();
        nanos.addAndGet(Duration.ofMillis(300).toNanos()); // the read itself took 300 ms
        cache.put("h1", row(id, "h1"), readAt);

        nanos.addAndGet(Duration.ofMillis(1_699).toNanos());
        assertThat(cache.get("h1")).isNotNull();
        nanos.addAndGet(Duration.ofMillis(1).toNanos()); // 2 s after the read started, not after it ended
        assertThat(cache.get("h1")).isNull();
        assertThat(cache.size()).isZero();
    }

    @Test
    void theRowKeepsItsParsedRolesAndTeamsImmutable() {
        Tokens.TokenCheck r = new Tokens.TokenCheck(UUID.randomUUID(), "ci", "h", "BUILDER,AUDITOR", "payments,web",
                null, null, null, null, null);

        assertThat(r.roleSet()).containsExactlyInAnyOrder(Role.BUILDER, Role.AUDITOR);
        assertThat(r.teamSet()).containsExactlyInAnyOrder("payments", "web");
        assertThatThrownBy(() -> r.roleSet().add(Role.ADMIN)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> r.teamSet().add("other")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void forgettingATokenDropsTheRowsOfBothItsSecretsAndNoOther() {
        UUID rotated = UUID.randomUUID();
        UUID other = UUID.randomUUID();
        cache.put("current", row(rotated, "current"), cache.now());
        cache.put("previous", row(rotated, "current"), cache.now());
        cache.put("others", row(other, "others"), cache.now());

        cache.forget(rotated);

        assertThat(cache.get("current")).isNull();
        assertThat(cache.get("previous")).isNull();
        assertThat(cache.get("others")).isNotNull();
    }

    @Test
    void aRowReadBeforeATokenWasForgottenIsNotKept() {
        UUID id = UUID.randomUUID();
        long readAt = cache.now();
        nanos.addAndGet(1_000);
        cache.forget(id); // a revocation committed while the read was under way
        nanos.addAndGet(1_000);

        cache.put("h1", row(id, "h1"), readAt);

        assertThat(cache.get("h1")).isNull();
        long later = cache.now();
        cache.put("h1", row(id, "h1"), later);
        assertThat(cache.get("h1")).isNotNull();
    }

    @Test
    void aLastUseWrittenHereIsKeptWithoutMakingTheRowYounger() {
        UUID id = UUID.randomUUID();
        Tokens.TokenCheck r = row(id, "h1");
        cache.put("h1", r, cache.now());
        Instant used = Instant.parse("2026-12-04T03:00:00Z");

        nanos.addAndGet(Duration.ofMillis(1_500).toNanos());
        cache.usedAt("h1", r, used, null);
        assertThat(cache.get("h1").lastUsedAt()).isEqualTo(used);
        nanos.addAndGet(Duration.ofMillis(500).toNanos());
        assertThat(cache.get("h1")).isNull();
    }

    @Test
    void aFullCacheIsEmptiedSoManyTokensCannotGrowIt() {
        for (int i = 0; i < 3; i++) {
            cache.put("h" + i, row(UUID.randomUUID(), "h" + i), cache.now());
        }
        assertThat(cache.size()).isEqualTo(3);

        cache.put("h3", row(UUID.randomUUID(), "h3"), cache.now());

        assertThat(cache.size()).isEqualTo(1);
        assertThat(cache.get("h3")).isNotNull();
        assertThat(cache.get("h0")).isNull();
    }

    @Test
    void aTimeToLiveOfZeroKeepsNothing() {
        TokenCheckCache off = new TokenCheckCache(Duration.ZERO, 3, nanos::get);
        off.put("h1", row(UUID.randomUUID(), "h1"), off.now());

        assertThat(off.get("h1")).isNull();
        assertThat(off.size()).isZero();
    }
}
