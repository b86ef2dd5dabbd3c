package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A policy change is loaded only when two checks in a row read the same files (PolicyStore.Settle). */
class PolicySettleTest {

    @Test
    void aChangeIsLoadedAtTheSecondCheckThatReadsTheSameFiles() {
        PolicyStore.Settle settle = new PolicyStore.Settle();
        assertThat(settle.settled("b")).isFalse();
        assertThat(settle.settled("b")).isTrue();
    }

    @Test
    void aFileCaughtMidWriteIsNeverLoaded() {
        PolicyStore.Settle settle = new PolicyStore.Settle();
        // truncated at one check, complete at the next: neither is loaded yet; the complete one at the check after
        assertThat(settle.settled("empty")).isFalse();
        assertThat(settle.settled("complete")).isFalse();
        assertThat(settle.settled("complete")).isTrue();
    }

    @Test
    void filesBackToThePolicyInForceLeaveNothingPending() {
        PolicyStore.Settle settle = new PolicyStore.Settle();
        assertThat(settle.settled("b")).isFalse();
        settle.reset(); // the files read as the policy in force again
        assertThat(settle.settled("b")).isFalse();
        assertThat(settle.settled("b")).isTrue();
    }
}
