package io.buildgateway.builds;

import io.buildgateway.hostpool.RunningBuilds;
import java.util.HashSet;
import java.util.Set;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/** The host pool's view of the builds running now: the queue's RUNNING rows, every replica's. */
@Component
class QueueRunningBuilds implements RunningBuilds {

    private final JdbcTemplate jdbc;

    QueueRunningBuilds(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    @Override
    public Set<String> ids() {
        return new HashSet<>(jdbc.queryForList("select id::text from build where status = 'RUNNING'", String.class));
    }
}
