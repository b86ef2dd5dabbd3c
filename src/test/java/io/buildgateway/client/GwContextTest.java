package io.buildgateway.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gw} packs a context as the Docker CLI does: for the same folder and .dockerignore, the tar that
 * {@code gw context} writes has exactly the entries (names and types) of the tar that the real Docker CLI 28 sends
 * to a daemon's {@code /build}. The daemon here is a recorder that answers {@code /_ping} and {@code /build} and
 * keeps the body: the oracle is the CLI's own packing, with nothing in between.
 */
class GwContextTest {

    static final Path GW = Path.of("bin", "gw").toAbsolutePath();
    static final String DOCKER = Files.isExecutable(Path.of("/usr/local/bin/docker")) ? "/usr/local/bin/docker"
            : "docker";

    @TempDir
    Path dir;
    HttpServer daemon;
    final AtomicReference<byte[]> received = new AtomicReference<>();

    @BeforeEach
    void recorder() throws IOException {
        daemon = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        daemon.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            exchange.getResponseHeaders().add("Api-Version", "1.47");
            exchange.getResponseHeaders().add("Ostype", "linux");
            byte[] answer;
            if (path.endsWith("/build")) {
                try (InputStream in = exchange.getRequestBody()) {
                    received.set(in.readAllBytes());
                }
                exchange.getResponseHeaders().add("Content-Type", "application/json");
                answer = ("{\"stream\":\"recorded\\n\"}\n{\"aux\":{\"ID\":\"sha256:" + "0".repeat(64) + "\"}}\n")
                        .getBytes(StandardCharsets.UTF_8);
            } else if (path.endsWith("/_ping")) {
                answer = "OK".getBytes(StandardCharsets.UTF_8);
            } else {
                answer = "{\"message\":\"not here\"}".getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(404, answer.length);
                exchange.getResponseBody().write(answer);
                exchange.close();
                return;
            }
            exchange.sendResponseHeaders(200, exchange.getRequestMethod().equals("HEAD") ? -1 : answer.length);
            if (!exchange.getRequestMethod().equals("HEAD")) {
                exchange.getResponseBody().write(answer);
            }
            exchange.close();
        });
        daemon.start();
    }

    @AfterEach
    void stop() {
        daemon.stop(0);
    }

    @Test
    void exceptionsDoubleStarsAndSkippedFoldersSendWhatTheDockerCliSends() throws Exception {
        files("Dockerfile", "a.log", "keep.log", "build/keep/k", "build/keep/deeper/d", "build/other/o",
                "docs/README.md", "docs/x.md", "docs/sub/y.md", "a/node_modules/m", "node_modules/n",
                "x/cache/y/z", "x/q.tmp", "r.tmp", "secret1.txt", "secret12.txt", "a.cfg", "b.cfg", "c.cfg",
                "sp ace/f i", "#hash", "#comment-like", "src/main/App.java", "src/test/AppTest.java",
                "src/test/data/keep.json", "src/test/data/drop.json", ".git/HEAD", "x.md", "deep/a/b/c/x.md",
                "secret.env", "app.conf", "vendor/lib.go", "tmpf");
        Files.createDirectories(dir.resolve("emptykeep"));
        Files.createDirectories(dir.resolve("emptyout"));
        ignore("""
                # a comment, then a pattern with spaces around it
                *.log
                !keep.log
                **/*.tmp
                build
                !build/keep
                docs/**
                !docs/README.md
                secret?.txt
                /node_modules
                **/cache
                [ab].cfg
                  emptyout  \t
                \\#hash
                #comment-like
                .git
                src/test
                !src/test/data/keep.json
                **.md
                !deep/**/x.md
                *.env
                *.conf
                vendor
                tmpf
                """);

        assertSameAsDockerCli("Dockerfile");
    }

    @Test
    void theDockerfileAndDockerignoreAreSentEvenWhenIgnored() throws Exception {
        files("ops/Dockerfile.app", "ops/other", "app.txt", "tmp/t");
        ignore("ops\n.dockerignore\ntmp/\n");

        assertSameAsDockerCli("ops/Dockerfile.app");
    }

    @Test
    void everythingIgnoredButExceptionsAndLeadingSlashesAndDotDots() throws Exception {
        files("Dockerfile", "a/b/c.txt", "a/b/d.txt", "a/e.txt", "f.txt", "g/h/i.txt");
        ignore("\uFEFF*\n!a/b/c.txt\n/g/../f.txt\n!/g/h\n");

        assertSameAsDockerCli("Dockerfile");
    }

    @Test
    void noDockerignoreSendsEverything() throws Exception {
        files("Dockerfile", "one", "two/three", ".hidden");
        Files.createDirectories(dir.resolve("empty"));
        Files.createSymbolicLink(dir.resolve("link"), Path.of("two"));

        assertSameAsDockerCli("Dockerfile");
    }

    private void assertSameAsDockerCli(String dockerfile) throws Exception {
        ProcessBuilder cli = new ProcessBuilder(DOCKER, "build", "-q", "-f", dir.resolve(dockerfile).toString(),
                dir.toString()).redirectErrorStream(true);
        Map<String, String> env = cli.environment();
        env.put("DOCKER_HOST", "tcp://127.0.0.1:" + daemon.getAddress().getPort());
        env.put("DOCKER_BUILDKIT", "0"); // the classic builder's /build, as in issue #15
        env.put("DOCKER_CONFIG", Files.createTempDirectory(dir.getParent(), "docker-config").toString());
        env.remove("DOCKER_CONTEXT");
        env.remove("DOCKER_TLS_VERIFY");
        String dockerOut = await(cli.start());
        assertThat(received.get()).as("the Docker CLI sent a context (it said: %s)", dockerOut).isNotNull();

        ProcessBuilder gw = new ProcessBuilder("sh", GW.toString(), "context", "-f", dockerfile, ".")
                .directory(dir.toFile());
        Process p = gw.start();
        byte[] tar = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(err).isZero();

        assertThat(entries(tar)).as("what gw packs").isEqualTo(entries(received.get()));
    }

    private String await(Process docker) throws Exception {
        String out = new String(docker.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(docker.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    /** The entries of a tar as "type name" (d, f, l), names without a trailing slash. */
    private static TreeSet<String> entries(byte[] tar) throws IOException {
        TreeSet<String> names = new TreeSet<>();
        try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(tar))) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                String name = e.getName().endsWith("/") ? e.getName().substring(0, e.getName().length() - 1)
                        : e.getName();
                names.add((e.isDirectory() ? "d " : e.isSymbolicLink() ? "l " : "f ") + name);
            }
        }
        return names;
    }

    private void files(String... paths) throws IOException {
        for (String p : paths) {
            Path f = dir.resolve(p);
            Files.createDirectories(f.getParent());
            Files.writeString(f, p.startsWith("Dockerfile") || p.endsWith("Dockerfile.app")
                    ? "FROM scratch\nCOPY . /ctx\n" : p + "\n");
        }
    }

    private void ignore(String text) throws IOException {
        Files.writeString(dir.resolve(".dockerignore"), text);
    }
}
