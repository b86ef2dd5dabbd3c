package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** What the client cache promises without a daemon: renewal after a host came back, and nothing left in /tmp. */
class DockerClientsTest {

    private static final HostPoolProperties.Host HOST = new HostPoolProperties.Host("h1", "unix:///nonexistent.sock",
            1, null, null, null, null, null);

    private static HostPoolProperties properties() {
        return TestHostPools.properties(HOST);
    }

    @Test
    void aHostIsGivenTheSameClientsUntilRenewedThenNewOnes() {
        try (DockerClients clients = new DockerClients(properties())) {
            var control = clients.control(HOST);
            var build = clients.build(HOST);
            var http = clients.http(HOST);
            assertThat(clients.control(HOST)).isSameAs(control);
            assertThat(clients.build(HOST)).isSameAs(build);
            assertThat(clients.http(HOST)).isSameAs(http);

            clients.renew(HOST.name());

            assertThat(clients.control(HOST)).isNotSameAs(control);
            assertThat(clients.build(HOST)).isNotSameAs(build);
            assertThat(clients.http(HOST)).isNotSameAs(http);
        }
    }

    @Test
    void closingDeletesTheEmptyConfigFolder() {
        DockerClients clients = new DockerClients(properties());
        Path folder = clients.configFolder();
        clients.control(HOST);
        assertThat(folder).isDirectory();
        clients.close();
        assertThat(Files.exists(folder)).isFalse();
    }
}
