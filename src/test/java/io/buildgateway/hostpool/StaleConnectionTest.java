package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.transport.DockerHttpClient;
import io.buildgateway.support.Tars;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A build's pull, or its build request when it has nothing to pull, on a kept connection that the daemon closed (it
 * restarted between two health checks) is made again on a new connection, not failed (make test: a daemon restarted
 * by one test failed the next test's build with "pull … failed: Broken pipe"). A daemon on a unix socket stands in
 * here, as a real one behaves on a restart: it answers the ping on a kept connection and then closes every connection
 * it had; the next connection is the new daemon. docker-java's transport never checks a kept connection before it
 * reuses it, and a pull or a build is a POST, which Apache's client does not retry by itself. Without
 * {@link BuildKitBuilder#pull}'s reconnect the pull fails, and without {@link BuildKitBuilder#post}'s the build.
 */
class StaleConnectionTest {

    private static final String DIGEST = "sha256:2d2adc4e1a3898dcd296b49dd1e74a1c518f0158f953ce742033359c40edb110";
    private static final String IMAGE = "127.0.0.1:5000/base/busybox:latest";
    private static final String PULLED = "{\"status\":\"Pulling from base/busybox\"}\n"
            + "{\"status\":\"Digest: " + DIGEST + "\"}\n"
            + "{\"status\":\"Status: Image is up to date for " + IMAGE + "\"}\n";
    private static final String IMAGE_ID = "sha256:5b0ecd4d0dc1a6d0d2b4e0bd0c5ff1b8f7c6dbdc2c2e1ef0d7b9b3a4c6f0e2a1";
    private static final String BUILT = "{\"id\":\"moby.image.id\",\"aux\":{\"ID\":\"" + IMAGE_ID + "\"}}\n";

    @TempDir
    Path dir;
    private ServerSocketChannel server;
    private Thread serving;
    private final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    /** The request targets (path and query) of the connections after the first, as the daemon read them. */
    private final List<String> targets = Collections.synchronizedList(new ArrayList<>());
    /** The bodies of the requests after the first connection's, as the daemon read them. */
    private final List<byte[]> bodies = Collections.synchronizedList(new ArrayList<>());
    /** Counted down once the stand-in daemon closed its first connection ("restarted"). */
    private final CountDownLatch restarted = new CountDownLatch(1);

    @AfterEach
    void stop() throws Exception {
        StandInDaemons.stop(server, serving);
    }

    @Test
    void aPullOnAConnectionTheRestartedDaemonClosedIsMadeAgainOnANewOne() throws Exception {
        HostPoolProperties.Host host = restartingDaemon(PULLED);
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
        HostPoolProperties.Host host = restartingDaemon(PULLED);
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

    /**
     * A build with nothing to pull ({@code FROM scratch}) sends its build request first: on the closed kept connection
     * it dies before any answer, and is sent again on a new one with the whole context.
     */
    @Test
    void aBuildRequestOnAConnectionTheRestartedDaemonClosedIsSentAgainOnANewOne() throws Exception {
        HostPoolProperties.Host host = restartingDaemon(BUILT);
        byte[] tar = Tars.dockerfile("FROM scratch\nCOPY Dockerfile /\n");
        Path context = dir.resolve("context.tar");
        Files.write(context, tar);
        try (DockerClients clients = new DockerClients(TestHostPools.properties(host))) {
            StandInDaemons.ping(clients.http(host));
            assertThat(restarted.await(10, TimeUnit.SECONDS)).isTrue();
            BuildKitBuilder builder = new BuildKitBuilder(TestHostPools.properties(host), clients, null,
                    Clock.systemUTC());
            List<String> output = new ArrayList<>();
            List<Boolean> stale = new ArrayList<>();

            BuildKitBuild.Result result = builder.post(host, context, output::add, (transport, in) -> {
                BuildKitBuild.Result r = build(transport, in);
                stale.add(r.staleConnection());
                return r;
            });

            assertThat(result.error()).as(String.join("", output)).isNull();
            assertThat(result.imageId()).isEqualTo(IMAGE_ID);
            assertThat(stale).as("the first sending died on the kept connection; the second did not").containsExactly(
                    true, false);
            assertThat(String.join("", output)).contains("had closed the kept connection")
                    .contains("sending the build again");
            assertThat(requests).containsExactly("GET /_ping", "POST /v" + BuildHostVersions.BUILDKIT_API + "/build");
            assertThat(bodies).as("the daemon read the whole context").hasSize(1)
                    .allSatisfy(b -> assertThat(b).isEqualTo(tar));
        }
    }

    /** An answer is final: a build the daemon answered with an error is not sent again. */
    @Test
    void aBuildTheDaemonAnsweredIsNotSentAgain() throws Exception {
        HostPoolProperties.Host host = restartingDaemon("{\"errorDetail\":{\"message\":\"no space\"}}\n");
        Path context = dir.resolve("context.tar");
        Files.write(context, Tars.dockerfile("FROM scratch\n"));
        try (DockerClients clients = new DockerClients(TestHostPools.properties(host))) {
            BuildKitBuilder builder = new BuildKitBuilder(TestHostPools.properties(host), clients, null,
                    Clock.systemUTC());
            List<String> output = new ArrayList<>();
            int[] sent = {0};
            // the first connection is the one the stand-in answers "OK" and closes: a build on it gets that answer
            StandInDaemons.ping(clients.http(host));
            assertThat(restarted.await(10, TimeUnit.SECONDS)).isTrue();
            clients.renew(host.name()); // a new connection: the daemon answers the build

            BuildKitBuild.Result result = builder.post(host, context, output::add, (transport, in) -> {
                sent[0]++;
                return build(transport, in);
            });

            assertThat(result.error()).isEqualTo("no space");
            assertThat(result.staleConnection()).isFalse();
            assertThat(sent[0]).isEqualTo(1);
            assertThat(String.join("", output)).doesNotContain("kept connection");
        }
    }

    private static BuildKitBuild.Result build(DockerHttpClient transport, InputStream context)
            throws InterruptedException {
        return BuildKitBuild.build(transport, context, "Dockerfile", null, Map.of(), Map.of(),
                false, TestHostPools.properties().build(), s -> { }, () -> false,
                Instant.now().plusSeconds(30), Clock.systemUTC());
    }

    /**
     * The lease recovery's cancel of a lost run's daemon build ({@link BuildKitBuilder#cancel}) on the kept control
     * connection the restarted daemon closed is sent again on a new one, with the lost run's daemon build id, and
     * reported as accepted, not as a failed cancel.
     */
    @Test
    void aCancelOnAConnectionTheRestartedDaemonClosedIsSentAgainOnANewOne() throws Exception {
        HostPoolProperties.Host host = restartingDaemon("");
        try (DockerClients clients = new DockerClients(TestHostPools.properties(host))) {
            StandInDaemons.ping(clients.controlHttp(host)); // the kept connection the cancel is sent on
            assertThat(restarted.await(10, TimeUnit.SECONDS)).isTrue();
            BuildKitBuilder builder = new BuildKitBuilder(TestHostPools.properties(host), clients, null,
                    Clock.systemUTC());
            List<String> output = new ArrayList<>();

            BuildKitBuild.Cancel cancel = builder.cancel(host, "0b1d-2", output::add);

            assertThat(cancel.error()).as(String.join("", output)).isNull();
            assertThat(cancel.staleConnection()).isFalse();
            assertThat(String.join("", output)).contains("had closed the kept connection")
                    .contains("cancelling build 0b1d-2 again");
            assertThat(requests).containsExactly("GET /_ping", "POST /build/cancel");
            assertThat(targets).last().isEqualTo("/build/cancel?id=0b1d-2");
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
     * connections. Every later connection: {@code answer} (a pull's or a build's), as the restarted daemon gives it,
     * after it read the request's body.
     */
    private HostPoolProperties.Host restartingDaemon(String answer) throws IOException {
        Path socket = dir.resolve("docker.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        serving = new Thread(() -> {
            try {
                try (SocketChannel first = server.accept()) {
                    InputStream in = Channels.newInputStream(first);
                    OutputStream out = Channels.newOutputStream(first);
                    requests.add(requestLine(requestHead(in)[0]));
                    out.write(response("OK"));
                    out.flush();
                    Thread.sleep(100); // the client has the answer and keeps the connection
                }
                restarted.countDown();
                while (server.isOpen()) {
                    try (SocketChannel next = server.accept()) {
                        InputStream in = Channels.newInputStream(next);
                        String[] head = requestHead(in);
                        requests.add(requestLine(head[0]));
                        String[] line = head[0].split(" ");
                        targets.add(line.length < 2 ? head[0] : line[1]);
                        byte[] body = body(in, head[1]);
                        if (body.length > 0) {
                            bodies.add(body);
                        }
                        Channels.newOutputStream(next).write(response(answer));
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

    /** Reads a request's head: its request line and its header lines (lower case). */
    private static String[] requestHead(InputStream in) throws IOException {
        String head = StandInDaemons.head(in);
        String[] lines = (head == null ? "" : head).split("\r\n", 2);
        return new String[] {lines[0], lines.length > 1 ? lines[1].toLowerCase(java.util.Locale.ROOT) : ""};
    }

    /** "METHOD path" of a request line, without the query. */
    private static String requestLine(String line) {
        String[] parts = line.split(" ");
        return parts.length < 2 ? line : parts[0] + " " + parts[1].split("\\?")[0];
    }

    /** The request's body as its headers frame it: chunked, a Content-Length, or none. */
    private static byte[] body(InputStream in, String headers) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (headers.contains("transfer-encoding: chunked")) {
            while (true) {
                int size = Integer.parseInt(line(in).split(";")[0].trim(), 16);
                if (size == 0) {
                    line(in); // the empty line after the last chunk
                    return body.toByteArray();
                }
                body.writeBytes(in.readNBytes(size));
                line(in);
            }
        }
        java.util.regex.Matcher length = java.util.regex.Pattern.compile("content-length: *(\\d+)").matcher(headers);
        return length.find() ? in.readNBytes(Integer.parseInt(length.group(1))) : new byte[0];
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            if (b != '\r') {
                line.write(b);
            }
        }
        return line.toString(StandardCharsets.ISO_8859_1);
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
