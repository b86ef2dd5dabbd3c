package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class QuotaReservationsTest {

    @Test
    void aReservationCountsTheEarlierOnesOfItsTeamUntilTheyAreClosed() {
        QuotaReservations r = new QuotaReservations();
        QuotaReservations.Reservation a1 = r.reserve("a");
        QuotaReservations.Reservation b1 = r.reserve("b");
        QuotaReservations.Reservation a2 = r.reserve("a");
        QuotaReservations.Reservation a3 = r.reserve("a");
        assertThat(r.held("a")).isEqualTo(3);
        assertThat(a1.before()).isZero(); // the later ones are not counted: two under way never count each other
        assertThat(a2.before()).isEqualTo(1);
        assertThat(a3.before()).isEqualTo(2);
        assertThat(b1.before()).isZero();
        a1.close(); // recorded: from now on the database counts it
        a1.close(); // once only
        assertThat(r.held("a")).isEqualTo(2);
        assertThat(a2.before()).isZero();
        assertThat(a3.before()).isEqualTo(1);
        a2.close();
        a3.close();
        b1.close();
        assertThat(r.held("a")).isZero();
        assertThat(r.held("b")).isZero();
        assertThat(r.reserve("a").before()).isZero();
    }

    /**
     * The recount after the upload, as BuildSubmissions makes it: of a team's submissions under way, the earliest ones
     * up to the free slots always go on, whichever of them counts first. When each counted all the others, two under
     * way with one free slot refused each other.
     */
    @Test
    void theEarliestSubmissionsUnderWayUpToTheFreeSlotsAreNeverRefusedByTheLaterOnes() {
        QuotaReservations r = new QuotaReservations();
        int quota = 2;
        int queued = 1;
        QuotaReservations.Reservation first = r.reserve("t");
        QuotaReservations.Reservation second = r.reserve("t");
        assertThat(queued + second.before() >= quota).isTrue(); // the later one is refused ...
        assertThat(queued + first.before() >= quota).isFalse(); // ... the earlier one goes on, in either order
        second.close();
        first.close();
    }

    /** What BuildSubmissions does with it: reserve, count, refuse at the quota; at most the free slots go on. */
    @Test
    void ofATeamArrivingTogetherNoMoreThanTheFreeSlotsGoOn() throws Exception {
        QuotaReservations r = new QuotaReservations();
        int quota = 10;
        int queued = 3;
        ExecutorService pool = Executors.newFixedThreadPool(40);
        CountDownLatch go = new CountDownLatch(1);
        CountDownLatch inside = new CountDownLatch(1);
        List<Future<Boolean>> results = new ArrayList<>();
        try {
            for (int i = 0; i < 40; i++) {
                results.add(pool.submit(() -> {
                    go.await();
                    try (QuotaReservations.Reservation mine = r.reserve("flood")) {
                        if (queued + mine.before() >= quota) {
                            return false; // 429 at the cheap check
                        }
                        inside.await(5, TimeUnit.SECONDS); // the costly part, still under way for everyone
                        return true;
                    }
                }));
            }
            go.countDown();
            Thread.sleep(300);
            inside.countDown();
            long passed = 0;
            for (Future<Boolean> f : results) {
                passed += f.get(10, TimeUnit.SECONDS) ? 1 : 0;
            }
            assertThat(passed).isBetween(1L, (long) (quota - queued));
            assertThat(r.held("flood")).isZero();
        } finally {
            pool.shutdownNow();
        }
    }
}
