package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.hostpool.RunningBuilds;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class HostTeamNamesTest {

    @Test
    void aRunningRowsPullsAreItsApprovedPullsOrOnOlderRowsItsBaseAlone() {
        List<Object[]> rows = List.of(
                new Object[] {"alpha/app", "[\"r/alpha/builder:3\",\"r/base/busybox\"]", "r/base/busybox"},
                new Object[] {"beta/app", null, "r/beta/pinned@sha256:" + "2".repeat(64)},
                new Object[] {"gamma/app", null, null},
                new Object[] {"delta/app", "[]", "r/base/debian:12"});
        assertThat(HostTeamNames.running(rows, JsonMapper.builder().build())).containsExactly(
                new RunningBuilds.Running("alpha/app", List.of("r/alpha/builder:3", "r/base/busybox")),
                new RunningBuilds.Running("beta/app", List.of("r/beta/pinned@sha256:" + "2".repeat(64))),
                new RunningBuilds.Running("gamma/app", List.of()),
                new RunningBuilds.Running("delta/app", List.of()));
    }
}
