package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RetryAfterPacingTest {

    private static final long S = 1_000_000_000L;
    private final AtomicLong now = new AtomicLong(1_000 * S);
    private final RetryAfterPacing pacing = new RetryAfterPacing(300, now::get);

    @Test
    void untilTheDrainIsKnownTheFixedRetryAfterIsUsed() {
        // accepts before the team was ever refused are how fast it submits, not how fast its queue drains
        for (int i = 0; i < 10; i++) {
            pacing.accepted("flood");
        }
        assertThat(pacing.refused("flood", 7)).isEqualTo(7);
        now.addAndGet(S);
        pacing.accepted("flood"); // one drain is not a rate
        assertThat(pacing.refused("flood", 7)).isEqualTo(7);
        assertThat(pacing.refused("other", 30)).isEqualTo(30);
    }

    @Test
    void refusalsAreSpacedAtTwiceTheDrainOneAfterAnother() {
        assertThat(pacing.refused("flood", 2)).isEqualTo(2);
        // the queue drains one build per second on this replica
        for (int i = 0; i < 10; i++) {
            now.addAndGet(S);
            pacing.accepted("flood");
        }
        // 100 clients refused at once: returns every half second, so 50 s from the first to the last
        List<Long> told = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            told.add(pacing.refused("flood", 2));
        }
        assertThat(told).isSorted();
        assertThat(told.get(0)).isEqualTo(1);
        assertThat(told.get(99)).isBetween(49L, 52L);
        // about two returns per second: as many as the drain can take twice over, not 100 every 2 s
        long inFirstTenSeconds = told.stream().filter(t -> t <= 10).count();
        assertThat(inFirstTenSeconds).isBetween(18L, 22L);
        // another team is not paced by this one's queue
        assertThat(pacing.refused("quiet", 2)).isEqualTo(2);
    }

    @Test
    void theScheduleMovesWithTimeAndWithTheDrain() {
        pacing.refused("flood", 2);
        for (int i = 0; i < 4; i++) {
            now.addAndGet(S);
            pacing.accepted("flood");
        }
        long first = pacing.refused("flood", 2);
        for (int i = 0; i < 19; i++) {
            pacing.refused("flood", 2);
        }
        // 20 s later, the queue still draining at 1/s: the schedule has caught up with the clock, so a new refusal
        // is not put behind turns that have passed
        for (int i = 0; i < 20; i++) {
            now.addAndGet(S);
            pacing.accepted("flood");
        }
        assertThat(pacing.refused("flood", 2)).isEqualTo(first);
        // a drain that stops lengthens the spacing: one accept in the last 30 s of the window
        now.addAndGet(30 * S);
        RetryAfterPacing slow = new RetryAfterPacing(300, now::get);
        slow.refused("s", 2);
        slow.accepted("s");
        now.addAndGet(30 * S);
        slow.accepted("s");
        now.addAndGet(30 * S);
        assertThat(slow.refused("s", 2)).isEqualTo(30); // (60 s for one interval) / 2
        // a faster drain shortens it: four accepts a second against one
        RetryAfterPacing fast = new RetryAfterPacing(300, now::get);
        fast.refused("f", 2);
        for (int i = 0; i < 16; i++) {
            now.addAndGet(S / 4);
            fast.accepted("f");
        }
        List<Long> told = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            told.add(fast.refused("f", 2));
        }
        assertThat(told.get(39)).isBetween(5L, 6L); // 40 returns at 8 a second
    }

    @Test
    void drainsOlderThanTheWindowAreForgotten() {
        pacing.refused("flood", 2);
        now.addAndGet(S);
        pacing.accepted("flood");
        now.addAndGet(S);
        pacing.accepted("flood");
        assertThat(pacing.refused("flood", 9)).isEqualTo(1);
        now.addAndGet(RetryAfterPacing.WINDOW_NANOS + S);
        assertThat(pacing.refused("flood", 9)).isEqualTo(9);
    }

    @Test
    void neverMoreThanTheMaximumNorLessThanOneSecond() {
        RetryAfterPacing short_ = new RetryAfterPacing(5, now::get);
        short_.refused("flood", 2);
        now.addAndGet(30 * S);
        short_.accepted("flood");
        now.addAndGet(30 * S);
        short_.accepted("flood");
        // one drain in 30 s: returns every 15 s; the maximum of 5 s caps every answer from the first on
        for (int i = 0; i < 10; i++) {
            assertThat(short_.refused("flood", 2)).isEqualTo(5);
        }
        // and the fixed value is capped as well
        assertThat(short_.refused("new", 30)).isEqualTo(5);
        // a drain far faster than a second still says 1, never 0
        RetryAfterPacing fast = new RetryAfterPacing(300, now::get);
        fast.refused("f", 2);
        for (int i = 0; i < 16; i++) {
            now.addAndGet(1_000_000L);
            fast.accepted("f");
        }
        assertThat(fast.refused("f", 2)).isEqualTo(1);
        assertThatThrownBy(() -> new RetryAfterPacing(0, now::get)).isInstanceOf(IllegalArgumentException.class);
    }
}
