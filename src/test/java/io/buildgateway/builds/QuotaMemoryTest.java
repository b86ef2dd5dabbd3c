package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class QuotaMemoryTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final QuotaMemory memory = new QuotaMemory(500_000_000L, now::get);

    @Test
    void aTeamFoundAtItsQuotaIsRememberedForTheTtlOnly() {
        assertThat(memory.atQuota("flood")).isEqualTo(-1);
        memory.counted("flood", 20, 20);
        assertThat(memory.atQuota("flood")).isEqualTo(20);
        now.addAndGet(499_000_000L);
        assertThat(memory.atQuota("flood")).isEqualTo(20);
        now.addAndGet(1_000_000L);
        assertThat(memory.atQuota("flood")).isEqualTo(-1);
    }

    @Test
    void aCountBelowTheQuotaIsNotKeptAndForgetsAnEarlierOne() {
        memory.counted("quiet", 3, 20);
        assertThat(memory.atQuota("quiet")).isEqualTo(-1);
        memory.counted("flood", 25, 20);
        memory.counted("flood", 19, 20);
        assertThat(memory.atQuota("flood")).isEqualTo(-1);
    }

    @Test
    void aCancelForgetsTheTeamAndOnlyThatTeam() {
        memory.counted("a", 20, 20);
        memory.counted("b", 21, 20);
        memory.forget("a");
        assertThat(memory.atQuota("a")).isEqualTo(-1);
        assertThat(memory.atQuota("b")).isEqualTo(21);
    }
}
