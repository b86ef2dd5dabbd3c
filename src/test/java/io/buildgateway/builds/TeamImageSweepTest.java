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
}
