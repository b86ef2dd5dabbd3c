package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.transport.DockerHttpClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A build's pull on a kept connection that the daemon closed (it restarted between two health checks) is made again
 * on a new connection, not failed (make test: a daemon restarted by one test failed the next test's build with "pull
 * … failed: Broken pipe"). A daemon on a unix socket stands in here, as a real one behaves on a restart: it answers
 * the ping on a kept connection and then closes every connection it had; the next connection is the new daemon.
 * docker-java's transport never checks a kept connection before it reuses it, and a pull is a POST, which Apache's
 * client does not retry by itself. Without {@link BuildKitBuilder#pull}'s reconnect the pull fails.
 */
class StaleConnectionPullTest {

    private static final String DIGEST = "sha256:2d2adc4e1a3898dcd296b49dd1e74a1c518f0158f953ce742033359c40edb110";
    private static final String IMAGE = "127.0.0.1:5000/base/busybox:latest";

    @TempDir
    Path dir;
    private ServerSocketChannel server;
    private Thread serving;
    private final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    /** Counted down once the stand-in daemon closed its first connection ("restarted"). */
    private final CountDownLatch restarted = new CountDownLatch(1);

    @AfterEach
    void stop() throws Exception {
        StandInDaemons.stop(server, serving);
    }

    @Test
    void aPullOnAConnectionTheRestartedDaemonClosedIsMadeAgainOnANewOne() throws Exception {
        HostPoolProperties.Host host = restartingDaemon();
        try (DockerClients clients = new DockerClients(TestHostPools.properties(host))) {
            StandInDaemons.ping(clients.http(host)); // the kept connection, as an earlier build's requests leave it
            assertThat(restarted.await(10, TimeUnit.SECONDS)).isTrue();
            BuildKitBuilder builder = new BuildKitBuilder(TestHostPools.properties(host), clients, null,
                    Clock.systemUTC());
            List<String> output = new ArrayList<>();

            BuildKitBuild.Pull pull = builder.pull(host, List.of(IMAGE), null, output::add);

            assertThat(pull.error()).as(String.join("", output)).isNull();
            assertThat(pull.pulled()).containsExactly(new PulledImage(IMAGE, DIGEST, "FROM " + IMAGE));
            assertThat(String.join("", output)).contains("had closed the kept connection");
            assertThat(requests).as("the ping, then the pull on a new connection (the first try died on the kept"
                    + " one before the daemon read it)")
                    .containsExactly("GET /_ping", "POST /v" + BuildHostVersions.BUILDKIT_API + "/images/create");
        }
    }

    /** The same transport without the reconnect: the pull fails, and is told apart as a stale connection. */
    @Test
    void withoutTheReconnectThePullFailsAndIsToldApartAsAStaleConnection() throws Exception {
        HostPoolProperties.Host host = restartingDaemon();
        try (DockerClients clients = new DockerClients(TestHostPools.properties(host))) {
            DockerHttpClient http = clients.http(host);
            StandInDaemons.ping(http);
            assertThat(restarted.await(10, TimeUnit.SECONDS)).isTrue();

            BuildKitBuild.Pull pull = BuildKitBuild.pull(http, List.of(IMAGE), "127.0.0.1:5000", null, s -> { });

            assertThat(pull.error()).startsWith("pull of " + IMAGE + " failed: ");
            assertThat(pull.staleConnection()).as(pull.error()).isTrue();
            assertThat(pull.pulled()).isEmpty();
        }
    }

    /** A daemon that is not there refuses the connection: that is not a stale one, and is not tried again. */
    @Test
    void aDaemonThatIsNotThereIsNotAStaleConnection() throws Exception {
        HostPoolProperties.Host host = new HostPoolProperties.Host("gone", "unix://" + dir.resolve("gone.sock"), 1,
                null, null, null, null, null);
        try (DockerClients clients = new DockerClients(TestHostPools.properties(host))) {
            List<String> output = new ArrayList<>();
            BuildKitBuild.Pull pull = new BuildKitBuilder(TestHostPools.properties(host), clients, null,
                    Clock.systemUTC()).pull(host, List.of(IMAGE), null, output::add);

            assertThat(pull.error()).startsWith("pull of " + IMAGE + " failed: ");
            assertThat(pull.staleConnection()).as(pull.error()).isFalse();
            assertThat(String.join("", output)).doesNotContain("kept connection");
        }
    }

    /**
     * The first connection: one answer (the ping, kept alive), then closed, as a daemon that stops closes its
     * connections. Every later connection: a pull's answer, as the restarted daemon gives it.
     */
    private HostPoolProperties.Host restartingDaemon() throws IOException {
        Path socket = dir.resolve("docker.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        serving = new Thread(() -> {
            try {
                try (SocketChannel first = server.accept()) {
                    InputStream in = Channels.newInputStream(first);
                    OutputStream out = Channels.newOutputStream(first);
                    requests.add(requestLine(in));
                    out.write(response("OK"));
                    out.flush();
                    Thread.sleep(100); // the client has the answer and keeps the connection
                }
                restarted.countDown();
                while (server.isOpen()) {
                    try (SocketChannel next = server.accept()) {
                        InputStream in = Channels.newInputStream(next);
                        requests.add(requestLine(in));
                        Channels.newOutputStream(next).write(response("{\"status\":\"Pulling from base/busybox\"}\n"
                                + "{\"status\":\"Digest: " + DIGEST + "\"}\n"
                                + "{\"status\":\"Status: Image is up to date for " + IMAGE + "\"}\n"));
                    }
                }
            } catch (IOException | InterruptedException e) {
                // closed by the test
            }
        }, "restarting-daemon");
        serving.setDaemon(true);
        serving.start();
        return new HostPoolProperties.Host("restarting", "unix://" + socket, 1, null, null, null, null, null);
    }

    /** Reads a request's head (its bodies here are empty) and returns "METHOD path" without the query. */
    private static String requestLine(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            head.write(b);
            String s = head.toString(StandardCharsets.ISO_8859_1);
            if (s.endsWith("\r\n\r\n")) {
                break;
            }
        }
        String line = head.toString(StandardCharsets.ISO_8859_1).split("\r\n", 2)[0];
        String[] parts = line.split(" ");
        return parts.length < 2 ? line : parts[0] + " " + parts[1].split("\\?")[0];
    }

    private static byte[] response(String body) {
        byte[] content = body.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + content.length
                + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(content);
        return out.toByteArray();
    }
}
