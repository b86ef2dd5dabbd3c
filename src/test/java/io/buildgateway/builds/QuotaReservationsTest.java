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
    void aReservationCountsUntilClosedAndOnlyForItsTeam() {
        QuotaReservations r = new QuotaReservations();
        QuotaReservations.Reservation a1 = r.reserve("a");
        QuotaReservations.Reservation a2 = r.reserve("a");
        QuotaReservations.Reservation b1 = r.reserve("b");
        assertThat(r.held("a")).isEqualTo(2);
        assertThat(a1.others()).isEqualTo(1);
        assertThat(b1.others()).isZero();
        a2.close();
        a2.close(); // once only
        assertThat(r.held("a")).isEqualTo(1);
        assertThat(a1.others()).isZero();
        a1.close();
        b1.close();
        assertThat(r.held("a")).isZero();
        assertThat(r.held("b")).isZero();
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
                        if (queued + mine.others() >= quota) {
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
