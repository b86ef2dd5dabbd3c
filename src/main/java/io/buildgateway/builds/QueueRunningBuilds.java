package io.buildgateway.builds;

import io.buildgateway.hostpool.RunningBuilds;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/** The host pool's view of the builds running now: the queue's RUNNING rows, every replica's. */
@Component
class QueueRunningBuilds implements RunningBuilds {

    private final JdbcTemplate jdbc;
    private final BuildRepository builds;
    private final JsonMapper json;

    QueueRunningBuilds(JdbcTemplate jdbc, BuildRepository builds, JsonMapper json) {
        this.jdbc = jdbc;
        this.builds = builds;
        this.json = json;
    }

    @Override
    public Set<String> ids() {
        return new HashSet<>(jdbc.queryForList("select id::text from build where status = 'RUNNING'", String.class));
    }

    @Override
    public List<Running> onHost(String host) {
        return HostTeamNames.running(builds.runningOnHost(host), json);
    }

    @Override
    public List<Running> onHostBesides(String host, String buildId) {
        return HostTeamNames.running(builds.runningOnHost(host).stream()
                .filter(row -> !buildId.equals(row[3])).toList(), json);
    }
}
