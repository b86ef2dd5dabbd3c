package io.buildgateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.junit.jupiter.api.Test;

/** The warm-up's credential: only while open, only its own secret, only from loopback, only its own principal. */
class WarmUpPassTest {

    private final WarmUpPass pass = new WarmUpPass();

    @Test
    void acceptsItsSecretOnlyWhileOpen() {
        assertThat(pass.accepts("bgw_warmup_", "127.0.0.1")).as("never opened").isFalse();
        String secret = pass.open();
        assertThat(secret).startsWith("bgw_warmup_").hasSize("bgw_warmup_".length() + 64);
        assertThat(pass.accepts(secret, "127.0.0.1")).isTrue();
        pass.close();
        assertThat(pass.accepts(secret, "127.0.0.1")).as("after close").isFalse();
    }

    @Test
    void aNewOpeningRetiresTheOldSecret() {
        String first = pass.open();
        String second = pass.open();
        assertThat(second).isNotEqualTo(first);
        assertThat(pass.accepts(first, "127.0.0.1")).isFalse();
        assertThat(pass.accepts(second, "127.0.0.1")).isTrue();
    }

    @Test
    void refusesAnythingButItsExactSecret() {
        String secret = pass.open();
        assertThat(pass.accepts(secret.substring(0, secret.length() - 1), "127.0.0.1")).as("a prefix").isFalse();
        assertThat(pass.accepts(secret + "0", "127.0.0.1")).as("longer").isFalse();
        assertThat(pass.accepts(secret.toUpperCase(java.util.Locale.ROOT), "127.0.0.1")).isFalse();
        assertThat(pass.accepts("", "127.0.0.1")).isFalse();
    }

    @Test
    void acceptsOnlyFromLoopback() {
        String secret = pass.open();
        for (String loopback : new String[] {"127.0.0.1", "127.1.2.254", "::1", "0:0:0:0:0:0:0:1", "[::1]",
                "::ffff:127.0.0.1", "0:0:0:0:0:ffff:127.0.0.1"}) {
            assertThat(pass.accepts(secret, loopback)).as(loopback).isTrue();
        }
        for (String other : new String[] {"10.0.0.1", "128.0.0.1", "127.0.0.256", "127.0.0", "1127.0.0.1",
                "127.0.0.1.5", "::2", "::ffff:10.0.0.1", "fe80::1", "localhost", "", "127.0.0.1 "}) {
            assertThat(pass.accepts(secret, other)).as(other).isFalse();
        }
        assertThat(pass.accepts(secret, null)).isFalse();
    }

    @Test
    void itsPrincipalIsKnownByIdentityNotByEquality() {
        GatewayPrincipal lookalike = new GatewayPrincipal(null, "warm-up", Set.of(Role.BUILDER),
                Set.of(WarmUpPass.TEAM));
        assertThat(lookalike).isEqualTo(WarmUpPass.principal());
        assertThat(WarmUpPass.is(lookalike)).as("a token named like it").isFalse();
        assertThat(WarmUpPass.is(WarmUpPass.principal())).isTrue();
        assertThat(WarmUpPass.principal().roles()).containsExactly(Role.BUILDER);
        assertThat(WarmUpPass.principal().teams()).containsExactly(WarmUpPass.TEAM);
    }
}
