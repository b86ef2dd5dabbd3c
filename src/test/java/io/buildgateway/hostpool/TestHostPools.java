package io.buildgateway.hostpool;

import java.time.Duration;
import java.util.List;
import org.springframework.util.unit.DataSize;

/** Host pool settings for tests that make {@link DockerClients} of their own: the given hosts, defaults otherwise. */
final class TestHostPools {

    private TestHostPools() {
    }

    static HostPoolProperties properties(HostPoolProperties.Host... hosts) {
        return properties(new HostPoolProperties.Registry("127.0.0.1:5000", null, null, null, null), hosts);
    }

    /** The same, with the registry of a test that serves one of its own. */
    static HostPoolProperties properties(HostPoolProperties.Registry registry, HostPoolProperties.Host... hosts) {
        return new HostPoolProperties(List.of(hosts), "1.41", Duration.ofSeconds(15), registry,
                new HostPoolProperties.Limits(DataSize.ofGigabytes(1), "", 0, Duration.ofMinutes(1)),
                HostPoolProperties.Ephemeral.off(), Duration.ZERO, true);
    }
}
