package io.buildgateway.intake;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Every hostile archive is refused with 400 before any daemon sees it, and leaves nothing behind. */
class HostileArchiveIT extends IntegrationTest {

    private static final String DOCKERFILE = "FROM 127.0.0.1:5001/base/busybox\nUSER 1000\n";

    static Stream<Arguments> hostileArchives() {
        byte[] many = manyEntries(2100);
        byte[] bomb = Tars.gzip(Tars.tar().file("Dockerfile", DOCKERFILE).file("zeros", new byte[80 * 1024 * 1024])
                .bytes());
        byte[] valid = Tars.dockerfile(DOCKERFILE);
        return Stream.of(
                Arguments.of("absolute path", Tars.tar().file("Dockerfile", DOCKERFILE).file("/etc/cron.d/x", "x")
                        .bytes(), "path-traversal"),
                Arguments.of("dot-dot component", Tars.tar().file("Dockerfile", DOCKERFILE).file("a/../../x", "x")
                        .bytes(), "path-traversal"),
                Arguments.of("symlink leaving the context", Tars.tar().file("Dockerfile", DOCKERFILE)
                        .symlink("sub/link", "../../etc/shadow").bytes(), "link-escape"),
                Arguments.of("absolute symlink", Tars.tar().file("Dockerfile", DOCKERFILE)
                        .symlink("link", "/var/run/docker.sock").bytes(), "link-escape"),
                Arguments.of("hard link leaving the context", Tars.tar().file("Dockerfile", DOCKERFILE)
                        .hardlink("link", "../etc/passwd").bytes(), "link-escape"),
                Arguments.of("hard link to nothing in the archive", Tars.tar().file("Dockerfile", DOCKERFILE)
                        .hardlink("link", "missing").bytes(), "link-escape"),
                Arguments.of("character device", Tars.tar().file("Dockerfile", DOCKERFILE)
                        .special("dev/kmsg", TarConstants.LF_CHR).bytes(), "special-file"),
                Arguments.of("block device", Tars.tar().file("Dockerfile", DOCKERFILE)
                        .special("dev/sda", TarConstants.LF_BLK).bytes(), "special-file"),
                Arguments.of("fifo", Tars.tar().file("Dockerfile", DOCKERFILE)
                        .special("pipe", TarConstants.LF_FIFO).bytes(), "special-file"),
                Arguments.of("more entries than allowed", many, "too-many-entries"),
                Arguments.of("compression bomb", bomb, "too-large-uncompressed"),
                Arguments.of("missing Dockerfile", Tars.tar().file("README", "no dockerfile").bytes(),
                        "missing-dockerfile"),
                Arguments.of("Dockerfile as a symlink", Tars.tar().file("real", DOCKERFILE)
                        .symlink("Dockerfile", "real").bytes(), "dockerfile-not-regular"),
                Arguments.of("Dockerfile as a hard link", Tars.tar().file("real", DOCKERFILE)
                        .hardlink("Dockerfile", "real").bytes(), "dockerfile-not-regular"),
                Arguments.of("Dockerfile as a directory", Tars.tar().dir("Dockerfile").file("Dockerfile/x", "x")
                        .bytes(), "dockerfile-not-regular"),
                Arguments.of("Dockerfile twice", RawTar.tar().file("Dockerfile", DOCKERFILE)
                        .file("Dockerfile", "FROM 127.0.0.1:5001/evil\n").end().bytes(), "duplicate-path"),
                Arguments.of("a and ./a", RawTar.tar().file("Dockerfile", DOCKERFILE).file("a", "1").file("./a", "2")
                        .end().bytes(), "duplicate-path"),
                Arguments.of("file and directory of one name", RawTar.tar().file("Dockerfile", DOCKERFILE)
                        .file("a", "1").file("a/b", "2").end().bytes(), "duplicate-path"),
                Arguments.of("entry beneath a symlink", RawTar.tar().file("Dockerfile", DOCKERFILE)
                        .link("x", '2', ".").file("x/Dockerfile", "FROM 127.0.0.1:5001/evil\n").end().bytes(),
                        "path-through-link"),
                Arguments.of("control character in a name", Tars.tar().file("Dockerfile", DOCKERFILE)
                        .file("evil\u001b[2J", "x").bytes(), "control-character"),
                Arguments.of("C1 control character in a name", Tars.tar().file("Dockerfile", DOCKERFILE)
                        .file("evil\u009b", "x").bytes(), "control-character"),
                Arguments.of("name that is not UTF-8", RawTar.tar().file("Dockerfile", DOCKERFILE)
                        .entry(new byte[] {'a', (byte) 0xc3}, '0', new byte[0], "", null).end().bytes(),
                        "invalid-name"),
                Arguments.of("data after the end of the archive", concat(valid, "more data".getBytes()),
                        "trailing-data"),
                Arguments.of("a header after one zero block", RawTar.tar().file("Dockerfile", DOCKERFILE)
                        .raw(new byte[512]).file("hidden", "x").end().bytes(), "trailing-data"),
                Arguments.of("symlink escaping once resolved", RawTar.tar().file("Dockerfile", DOCKERFILE)
                        .link("esc", '2', "sub/link/..").link("sub/link", '2', "..").end().bytes(), "link-escape"),
                Arguments.of("symlink chain escaping", RawTar.tar().file("Dockerfile", DOCKERFILE)
                        .link("e", '2', "s/l1/..").link("s/l1", '2', "../l2").link("l2", '2', "s/l3")
                        .link("s/l3", '2', "..").end().bytes(), "link-escape"),
                Arguments.of("symlink loop", RawTar.tar().file("Dockerfile", DOCKERFILE).link("a", '2', "b")
                        .link("b", '2', "a").end().bytes(), "link-loop"),
                Arguments.of("hard link to a later file", RawTar.tar().file("Dockerfile", DOCKERFILE)
                        .link("h", '1', "f").file("f", "x").end().bytes(), "link-escape"),
                Arguments.of("hard link to a symlink", RawTar.tar().file("Dockerfile", DOCKERFILE)
                        .link("s", '2', "Dockerfile").link("h", '1', "s").end().bytes(), "link-escape"),
                Arguments.of("global PAX header", RawTar.tar().pax('g', "path=Dockerfile").file("Dockerfile",
                        DOCKERFILE).end().bytes(), "ambiguous-archive"),
                Arguments.of("GNU long name and PAX path", RawTar.tar().gnuLong('L', "Dockerfile")
                        .pax('x', "path=other").file("x", DOCKERFILE).end().bytes(), "ambiguous-archive"),
                Arguments.of("two PAX headers", RawTar.tar().pax('x', "path=Dockerfile").pax('x', "mtime=1")
                        .file("x", DOCKERFILE).end().bytes(), "ambiguous-archive"),
                Arguments.of("symlink with a data size", RawTar.tar().file("x", DOCKERFILE).sized("l", '2', "x",
                        valid.length, valid).end().bytes(), "ambiguous-archive"),
                Arguments.of("sparse file", RawTar.tar().file("Dockerfile", DOCKERFILE).entry("s", 'S', "").end()
                        .bytes(), "special-file"),
                Arguments.of("truncated archive", Arrays.copyOf(valid, 530), "unreadable-archive"),
                Arguments.of("not an archive", "this is not a tar file at all, just text\n".repeat(50).getBytes(),
                        "unreadable-archive"),
                Arguments.of("truncated gzip", Arrays.copyOf(Tars.gzip(valid), 40), "unreadable-archive"),
                Arguments.of("empty body", new byte[0], "unreadable-archive"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostileArchives")
    void refusesHostileArchivesWith400AndWritesNothing(String name, byte[] archive, String type) throws IOException {
        String token = builder("payments");
        long buildsBefore = jdbc.queryForObject("select count(*) from build", Long.class);
        List<Path> storeBefore = storeFiles();

        Response r = submit(token, "image=payments/hostile&tag=1", archive);

        JsonNode p = problem(r, 400);
        assertThat(p.path("type").asString()).endsWith("/" + type);
        assertThat(p.path("detail").asString()).isNotBlank().doesNotContain("\u001b").doesNotContain("\u009b");
        assertThat(jdbc.queryForObject("select count(*) from build", Long.class)).isEqualTo(buildsBefore);
        assertThat(storeFiles()).isEqualTo(storeBefore);
        // This very request is audited as refused, with the problem that names it.
        assertThat(jdbc.queryForObject("select count(*) from audit_event where action = 'http.refused' and target = "
                + "'/api/v1/builds' and request_id = ? and details::jsonb ->> 'problem' = ?", Long.class,
                p.path("requestId").asString(), type)).isEqualTo(1L);
    }

    @Test
    void contextOverTheSizeLimitIs413BeforeTheBodyIsEvenSent() throws IOException {
        String token = builder("payments");
        List<Path> storeBefore = storeFiles();

        // A client that announces 40 MB and waits for 100-continue gets its answer without sending a byte.
        String answer;
        try (Socket socket = new Socket("localhost", port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /api/v1/builds?image=payments/huge&tag=1 HTTP/1.1\r\nHost: localhost\r\n"
                    + "Authorization: Bearer " + token + "\r\nContent-Type: application/x-tar\r\n"
                    + "Content-Length: " + 40 * 1024 * 1024 + "\r\nExpect: 100-continue\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            answer = new String(socket.getInputStream().readNBytes(4096), StandardCharsets.UTF_8);
        }
        assertThat(answer).startsWith("HTTP/1.1 413").doesNotContain("100 Continue")
                .contains("application/problem+json").contains("context-too-large");

        // A client that streams without announcing a length is cut off at the limit, and nothing is stored.
        byte[] huge = Tars.tar().file("Dockerfile", DOCKERFILE).file("big", new byte[33 * 1024 * 1024]).bytes();
        Response streamed = send(request(token, "/api/v1/builds?image=payments/huge&tag=1")
                .header("Content-Type", "application/x-tar")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(huge))));
        problem(streamed, 413);
        assertThat(storeFiles()).isEqualTo(storeBefore);
    }

    @Test
    void gzipContextsAreAcceptedAndDigestedAsSent() {
        String token = builder("payments");
        byte[] gz = Tars.gzip(Tars.dockerfile("FROM docker.io/library/alpine\n"));

        Response r = send(request(token, "/api/v1/builds?image=payments/gz&tag=1")
                .header("Content-Type", "application/gzip").POST(HttpRequest.BodyPublishers.ofByteArray(gz)));

        // Readable (so the policy ran) and rejected for its base, which proves the gzip was unpacked.
        assertThat(problem(r, 422).path("findings").findValuesAsString("rule")).contains("unapproved-image");
    }

    @Test
    void wrongContentTypeIs415AndBadParametersAre400() {
        String token = builder("payments");
        problem(send(request(token, "/api/v1/builds?image=payments/x").header("Content-Type", "application/zip")
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[10]))), 415);
        JsonNode p = problem(submit(token, "image=payments/x&dockerfile=../../etc/passwd", Tars.dockerfile(DOCKERFILE)),
                400);
        assertThat(p.path("type").asString()).endsWith("/invalid-dockerfile-path");
        JsonNode many = problem(submit(token, "image=Payments&buildArg=x&tag=a%20b&surprise=1",
                Tars.dockerfile(DOCKERFILE)), 400);
        assertThat(many.path("errors").findValuesAsString("field")).contains("image", "buildArg", "tag", "surprise");
        problem(submit(token, "tag=1", Tars.dockerfile(DOCKERFILE)), 400);
        problem(submit(token, "image=payments/x&label=io.buildgateway.build-id=forged", Tars.dockerfile(DOCKERFILE)),
                400);
    }

    private static List<Path> storeFiles() throws IOException {
        Path store = DATA.resolve("contexts");
        if (!Files.exists(store)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(store)) {
            return files.filter(Files::isRegularFile).sorted().toList();
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static byte[] manyEntries(int n) {
        Tars tars = Tars.tar().file("Dockerfile", DOCKERFILE);
        for (int i = 0; i < n; i++) {
            tars.file("f/" + i, "");
        }
        return tars.bytes();
    }
}
