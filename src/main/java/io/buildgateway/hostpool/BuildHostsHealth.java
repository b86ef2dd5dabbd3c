package io.buildgateway.hostpool;

import java.util.Map;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/** Readiness needs at least one healthy, user-namespaced build host. */
@Component("buildHostsHealthIndicator")
class BuildHostsHealth implements HealthIndicator {

    private final BuildHosts hosts;

    BuildHostsHealth(BuildHosts hosts) {
        this.hosts = hosts;
    }

    @Override
    public Health health() {
        var status = hosts.status(Map.of());
        long healthy = status.stream().filter(HostStatus::healthy).count();
        Health.Builder builder = healthy > 0 ? Health.up() : Health.down();
        return builder.withDetail("healthy", healthy).withDetail("configured", status.size()).build();
    }
}
