package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.transport.DockerHttpClient;
import io.buildgateway.auth.TestCertificates;
import io.buildgateway.auth.TestCertificates.Identity;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The build transport of a tcp + TLS host waits as long as the daemon is silent (a quiet RUN step, a long push):
 * with docker-java's default (no response timeout given) a pooled TLS connection kept the 5 s connect/handshake
 * timeout as its read timeout, and a build through a TLS host died after 5 s without output. A real TLS server here
 * answers a quick call at once and then, on the same kept connection, a second one after 7 s of silence; the build
 * transport must wait for it (without the explicit 0 of {@code DockerClients.NO_RESPONSE_TIMEOUT} this fails with
 * "Read timed out").
 */
class DockerClientsTimeoutTest {

    private static final Duration SILENCE = Duration.ofSeconds(7);
    /** How long the server is silent before it answers a request other than a ping (per test). */
    private Duration silence = SILENCE;

    @TempDir
    Path certs;
    private SSLServerSocket server;
    private Thread serving;

    @AfterEach
    void stop() throws Exception {
        StandInDaemons.stop(server, serving);
    }

    @Test
    void aTlsHostsBuildTransportWaitsThroughSilenceLongerThanTheConnectTimeout() throws Exception {
        HostPoolProperties.Host host = tlsHost();
        try (DockerClients clients = new DockerClients(TestHostPools.properties(host))) {
            DockerHttpClient http = clients.http(host);
            // A quick call first, as the pool makes before a build: the build then runs on the kept connection.
            StandInDaemons.ping(http);
            long start = System.nanoTime();
            try (DockerHttpClient.Response response = http.execute(DockerHttpClient.Request.builder()
                    .method(DockerHttpClient.Request.Method.GET).path("/build").build())) {
                assertThat(response.getStatusCode()).isEqualTo(200);
                assertThat(new String(response.getBody().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("OK");
            }
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(SILENCE);
        }
    }

    /**
     * The health check reads the build cache's size: a daemon that stops answering mid-read (paused, wedged) must
     * not hold the health checker's one thread, or no host's health is checked again (BuildHostImageIT paused a host
     * right after a build, whose cache read then waited for ever on the transport without a response timeout).
     */
    @Test
    void theHealthChecksBuildCacheReadGivesUpOnADaemonThatStopsAnswering() throws Exception {
        silence = Duration.ofSeconds(60);
        HostPoolProperties.Host host = tlsHost();
        try (DockerClients clients = new DockerClients(TestHostPools.properties(host))) {
            BuildCacheCap cap = new BuildCacheCap(clients, new SimpleMeterRegistry(),
                    event -> { }, Runnable::run);
            long start = System.nanoTime();
            assertThat(cap.readCache(host)).as("no answer: no size").isNull();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(30));
        }
    }

    /** A host behind the silent TLS server, with the gateway's side as a host's tls-cert-path: CA, cert and key. */
    private HostPoolProperties.Host tlsHost() throws Exception {
        Identity hostCa = TestCertificates.ca("CN=Hosts CA,O=Build Gateway Test");
        Identity clientCa = TestCertificates.ca("CN=Clients CA,O=Build Gateway Test");
        int port = startSilentTlsServer(TestCertificates.server(hostCa));
        Files.writeString(certs.resolve("ca.pem"), TestCertificates.pem(hostCa.certificate()));
        TestCertificates.write(TestCertificates.client(clientCa, "CN=build-gateway"), certs.resolve("cert.pem"),
                certs.resolve("key.pem"));
        return new HostPoolProperties.Host("tls-host", "tcp://127.0.0.1:" + port, 1, certs.toString(), null, null,
                null, null);
    }

    /** A TLS server that reads one request per connection, is silent for {@link #silence}, then answers 200 OK. */
    private int startSilentTlsServer(Identity identity) throws Exception {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("server", identity.keys().getPrivate(), new char[0],
                new java.security.cert.Certificate[] {identity.certificate(), identity.issuer()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, new char[0]);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), null, null);
        server = (SSLServerSocket) context.getServerSocketFactory().createServerSocket(0, 5,
                InetAddress.getLoopbackAddress());
        serving = new Thread(() -> {
            while (!server.isClosed()) {
                try (SSLSocket socket = (SSLSocket) server.accept()) {
                    // Keep-alive: a request for /_ping is answered at once, any other after the silence.
                    String request;
                    while ((request = StandInDaemons.head(socket.getInputStream())) != null) {
                        if (!request.startsWith("GET /_ping ")) {
                            Thread.sleep(silence.toMillis());
                        }
                        OutputStream out = socket.getOutputStream();
                        out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK".getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    }
                } catch (IOException e) {
                    // closed by the test, or the client gave up (the failure the test reports)
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "silent-tls-server");
        serving.setDaemon(true);
        serving.start();
        return server.getLocalPort();
    }
}
