package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.hostpool.RunningBuilds;
import java.util.List;
import java.util.Map;
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

    @Test
    void theNamesThatStayAreThoseARunningBuildMayPullOrPushAndItsOwnRunsQuarantineCopy() {
        String id = "6f1c2f4e-0000-4000-8000-000000000001";
        List<Object[]> rows = List.<Object[]>of(new Object[] {"alpha/app", "[\"r/alpha/builder:3\"]", null, id, 2});
        Map<String, List<String>> names = new java.util.TreeMap<>(Map.of(
                "alpha/app", List.of("r/alpha/app:1"),
                "alpha/builder", List.of("r/alpha/builder:3"),
                "alpha/left", List.of("r/alpha/left:1", "r/alpha/left@sha256:" + "3".repeat(64)),
                "gateway-quarantine/" + id + "/run-2", List.of("r/gateway-quarantine/" + id + "/run-2:q"),
                "gateway-quarantine/" + id + "/run-1", List.of("r/gateway-quarantine/" + id + "/run-1:q"),
                "gateway-quarantine/other/run-1", List.of("r/gateway-quarantine/other/run-1:q")));
        JsonMapper json = JsonMapper.builder().build();
        assertThat(HostTeamNames.unused(names, rows, json, "r", "gateway-quarantine")).containsExactly(
                "r/alpha/left:1", "r/alpha/left@sha256:" + "3".repeat(64),
                "r/gateway-quarantine/" + id + "/run-1:q", "r/gateway-quarantine/other/run-1:q");
        assertThat(HostTeamNames.unused(names, rows, json, "r", "")).contains(
                "r/gateway-quarantine/" + id + "/run-2:q");
        assertThat(HostTeamNames.unused(names, List.of(), json, "r", "gateway-quarantine"))
                .hasSize(names.values().stream().mapToInt(List::size).sum());
    }
}
