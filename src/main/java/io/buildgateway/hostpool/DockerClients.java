package io.buildgateway.hostpool;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import com.github.dockerjava.transport.DockerHttpClient;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Two docker-java clients per host, configured explicitly (no environment, no {@code ~/.docker/config.json}, so
 * no credentials of the machine's users can leak into a build): a control client with short timeouts for health
 * checks, and a build client without a response timeout (a quiet RUN step may print nothing for minutes; the
 * build's own timeout bounds it).
 */
final class DockerClients implements Closeable {

    /**
     * No response timeout, said explicitly: 0 makes the client set the socket's read timeout to infinite on every
     * request. Leaving it unset (null) does not: a pooled TLS connection kept the read timeout it last had (the 5 s of
     * the connect/handshake timeout), so a build or push through a tcp + TLS host died after 5 s without output
     * ({@code DockerClientsTimeoutTest}).
     */
    static final Duration NO_RESPONSE_TIMEOUT = Duration.ZERO;

    private final HostPoolProperties properties;
    private final Map<String, DockerClient> control = new ConcurrentHashMap<>();
    private final Map<String, DockerClient> build = new ConcurrentHashMap<>();
    private final Map<String, DockerHttpClient> http = new ConcurrentHashMap<>();
    private final Map<String, DockerHttpClient> controlHttp = new ConcurrentHashMap<>();
    private final Map<String, DockerHttpClient> maintenanceHttp = new ConcurrentHashMap<>();
    private final Path emptyConfig;

    DockerClients(HostPoolProperties properties) {
        this.properties = properties;
        try {
            this.emptyConfig = Files.createTempDirectory("bgw-docker-config");
        } catch (IOException e) {
            throw new IllegalStateException("cannot create an empty docker config folder", e);
        }
    }

    /** The empty folder given to docker-java as its config folder (deleted on close). */
    Path configFolder() {
        return emptyConfig;
    }

    DockerClient control(HostPoolProperties.Host host) {
        return control.computeIfAbsent(host.name(), n -> create(host, Duration.ofSeconds(10)));
    }

    DockerClient build(HostPoolProperties.Host host) {
        return build.computeIfAbsent(host.name(), n -> create(host, NO_RESPONSE_TIMEOUT));
    }

    /**
     * The host's HTTP transport without a response timeout, for requests docker-java's commands cannot express (a
     * BuildKit build: {@code version=2}).
     */
    DockerHttpClient http(HostPoolProperties.Host host) {
        return http.computeIfAbsent(host.name(), n -> transport(host, NO_RESPONSE_TIMEOUT));
    }

    /**
     * The host's HTTP transport with the control client's 10 s response timeout, for the short raw requests of the
     * health check (the build cache's size): a daemon that stops answering mid-request (paused, wedged) must not
     * hold the health checker's one thread, or no host's health is checked again.
     */
    DockerHttpClient controlHttp(HostPoolProperties.Host host) {
        return controlHttp.computeIfAbsent(host.name(), n -> transport(host, Duration.ofSeconds(10)));
    }

    /** The host's HTTP transport for maintenance that may take long (a build cache prune): 10 minutes at most. */
    DockerHttpClient maintenanceHttp(HostPoolProperties.Host host) {
        return maintenanceHttp.computeIfAbsent(host.name(), n -> transport(host, Duration.ofMinutes(10)));
    }

    private DockerClient create(HostPoolProperties.Host host, Duration responseTimeout) {
        DockerClientConfig built = config(host);
        return DockerClientImpl.getInstance(built, transport(host, responseTimeout));
    }

    private DockerClientConfig config(HostPoolProperties.Host host) {
        DefaultDockerClientConfig.Builder config = DefaultDockerClientConfig.createDefaultConfigBuilder()
                .withDockerHost(host.endpoint())
                .withApiVersion(properties.apiVersion())
                .withDockerConfig(emptyConfig.toString())
                .withRegistryUsername(null)
                .withRegistryPassword(null);
        boolean tls = host.tlsCertPath() != null && !host.tlsCertPath().isBlank();
        config.withDockerTlsVerify(tls);
        if (tls) {
            config.withDockerCertPath(host.tlsCertPath());
        }
        return config.build();
    }

    private ApacheDockerHttpClient transport(HostPoolProperties.Host host, Duration responseTimeout) {
        DockerClientConfig built = config(host);
        ApacheDockerHttpClient.Builder http = new ApacheDockerHttpClient.Builder()
                .dockerHost(built.getDockerHost())
                .sslConfig(built.getSSLConfig())
                .maxConnections(32)
                .connectionTimeout(Duration.ofSeconds(5));
        return http.responseTimeout(responseTimeout).build();
    }

    /**
     * Drops the host's clients without closing them, so the next request opens new connections: called when a host's
     * daemon is back after it died. Its pooled connections led to the dead daemon, and a POST on one fails with
     * "Broken pipe" (Apache's client retries only idempotent requests). Not closed: a build that outlived a slow health
     * check may still hold one; it is collected once that build lets go.
     */
    void renew(String hostName) {
        control.remove(hostName);
        build.remove(hostName);
        http.remove(hostName);
        controlHttp.remove(hostName);
        maintenanceHttp.remove(hostName);
    }

    /** Closes and drops the clients of a host that is gone (an ephemeral host after its build). */
    void forget(String hostName) {
        DockerClient c = control.remove(hostName);
        if (c != null) {
            closeQuietly(c);
        }
        DockerClient b = build.remove(hostName);
        if (b != null) {
            closeQuietly(b);
        }
        for (Map<String, DockerHttpClient> transports : List.of(http, controlHttp, maintenanceHttp)) {
            DockerHttpClient h = transports.remove(hostName);
            if (h != null) {
                closeQuietly(h);
            }
        }
    }

    @Override
    public void close() {
        for (DockerClient client : control.values()) {
            closeQuietly(client);
        }
        for (DockerClient client : build.values()) {
            closeQuietly(client);
        }
        for (Map<String, DockerHttpClient> transports : List.of(http, controlHttp, maintenanceHttp)) {
            for (DockerHttpClient client : transports.values()) {
                closeQuietly(client);
            }
        }
        try {
            Files.deleteIfExists(emptyConfig);
        } catch (IOException e) {
            // not empty after all, or gone: left to the system's temp cleaner
        }
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // shutting down
        }
    }
}
