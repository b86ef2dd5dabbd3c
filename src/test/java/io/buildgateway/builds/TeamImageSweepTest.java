package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The sweep decides and untags a few names per transaction, so the scheduling lock is held briefly. */
class TeamImageSweepTest {

    @Test
    void namesAreSweptInBoundedRoundsAndAtMostMaxPerHost() {
        Map<String, List<String>> names = new LinkedHashMap<>();
        names.put("a/x", List.of("r/a/x:1", "r/a/x:2", "r/a/x:3"));
        names.put("b/y", List.of("r/b/y:1", "r/b/y:2"));

        assertThat(TeamImageSweep.rounds(names, 2, 100)).containsExactly(
                Map.of("a/x", List.of("r/a/x:1", "r/a/x:2")),
                Map.of("a/x", List.of("r/a/x:3"), "b/y", List.of("r/b/y:1")),
                Map.of("b/y", List.of("r/b/y:2")));
        assertThat(TeamImageSweep.rounds(names, 20, 4)).singleElement().satisfies(round -> assertThat(
                round.values().stream().mapToInt(List::size).sum()).isEqualTo(4));
        assertThat(TeamImageSweep.rounds(Map.of(), 20, 100)).isEmpty();
    }

    /**
     * A round whose daemon failed ends the host's sweep: each further round would wait for the daemon again while it
     * holds the scheduling lock every replica's claims take. What was taken off before is kept for the record.
     */
    @Test
    void aDaemonFailureEndsTheHostsSweepAndKeepsWhatCameOff() {
        List<Map<String, List<String>>> rounds = List.of(Map.of("a/x", List.of("r/a/x:1")),
                Map.of("a/x", List.of("r/a/x:2", "r/a/x:3")), Map.of("b/y", List.of("r/b/y:1")));
        List<Map<String, List<String>>> asked = new java.util.ArrayList<>();

        TeamImageSweep.HostSweep result = TeamImageSweep.sweepRounds(rounds, () -> true, round -> {
            asked.add(round);
            return asked.size() == 2 ? new TeamImageSweep.Round(List.of("r/a/x:2"), true)
                    : new TeamImageSweep.Round(round.values().iterator().next(), false);
        });

        assertThat(asked).as("the round after the failure is never asked for").hasSize(2);
        assertThat(result.removed()).containsExactly("r/a/x:1", "r/a/x:2");
        assertThat(result.failed()).isTrue();
        assertThat(result.another()).isFalse();
    }

    @Test
    void anotherReplicaSweepingEndsTheHostsSweepWithoutAFailure() {
        List<Map<String, List<String>>> rounds = List.of(Map.of("a/x", List.of("r/a/x:1")),
                Map.of("b/y", List.of("r/b/y:1")));
        int[] asked = {0};

        TeamImageSweep.HostSweep result = TeamImageSweep.sweepRounds(rounds, () -> true, round -> {
            asked[0]++;
            return new TeamImageSweep.Round(null, false);
        });

        assertThat(asked[0]).isEqualTo(1);
        assertThat(result.another()).isTrue();
        assertThat(result.failed()).isFalse();
        assertThat(result.removed()).isEmpty();
    }

    @Test
    void everyRoundRunsWhenNothingFailsAndStopsWhenTheContextStops() {
        List<Map<String, List<String>>> rounds = List.of(Map.of("a/x", List.of("r/a/x:1")),
                Map.of("b/y", List.of("r/b/y:1")), Map.of("c/z", List.of("r/c/z:1")));

        TeamImageSweep.HostSweep all = TeamImageSweep.sweepRounds(rounds, () -> true,
                round -> new TeamImageSweep.Round(round.values().iterator().next(), false));
        assertThat(all.removed()).containsExactly("r/a/x:1", "r/b/y:1", "r/c/z:1");
        assertThat(all.failed()).isFalse();

        int[] goes = {0};
        TeamImageSweep.HostSweep stopped = TeamImageSweep.sweepRounds(rounds, () -> goes[0]++ < 1,
                round -> new TeamImageSweep.Round(round.values().iterator().next(), false));
        assertThat(stopped.removed()).containsExactly("r/a/x:1");
    }
}
