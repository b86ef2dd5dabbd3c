package io.buildgateway.intake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.shared.Digest;
import io.buildgateway.shared.Problem;
import io.buildgateway.support.Tars;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.util.unit.DataSize;

/** The re-pack: what the daemon builds is exactly what was inspected, with the gateway's Dockerfile. */
class ContextRepackTest {

    private static final String LONG_DIR = "deep/" + "d".repeat(120);
    private static final String LONG_FILE = LONG_DIR + "/" + "f".repeat(80) + "-ünïcödé.txt";
    private static final byte[] CANONICAL = "FROM base\nUSER 1000\n".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    private ContextIntake intake() throws IOException {
        return new ContextIntake(new IntakeProperties(dir.resolve("store"), DataSize.ofMegabytes(64),
                DataSize.ofMegabytes(64), 1000, DataSize.ofMegabytes(64), 4096, DataSize.ofKilobytes(64)),
                new SimpleMeterRegistry());
    }

    /** An upload with every kind of entry the re-pack keeps, and tar quirks it must not carry over. */
    private static byte[] upload() {
        return Tars.tar().dir("./").dir("app").file("./Dockerfile", "FROM base  # as sent\n")
                .file("app/run.sh", "#!/bin/sh\necho hi\n".getBytes(), 04755)
                .symlink("app/current", "run.sh").symlink("up", "app/../Dockerfile")
                .hardlink("app/again", "app/run.sh").hardlink("df-link", "Dockerfile")
                .dir(LONG_DIR).file(LONG_FILE, "long".getBytes()).symlink("longlink", LONG_FILE)
                .file("empty", new byte[0]).file("big", new byte[300_000])
                .bytes();
    }

    record Item(String name, char type, int mode, long mtime, long uid, long gid, String user, String link,
            String content) {
    }

    private static List<Item> read(Path tar) throws IOException {
        List<Item> items = new ArrayList<>();
        try (InputStream in = Files.newInputStream(tar);
                TarArchiveInputStream t = new TarArchiveInputStream(in, "UTF-8")) {
            TarArchiveEntry e;
            while ((e = t.getNextEntry()) != null) {
                assertThat(e.getExtraPaxHeaders()).isEmpty();
                char type = e.isDirectory() ? 'd' : e.isSymbolicLink() ? 's' : e.isLink() ? 'h' : 'f';
                items.add(new Item(e.getName(), type, e.getMode() & 07777,
                        e.getLastModifiedTime().toMillis() / 1000, e.getLongUserId(), e.getLongGroupId(),
                        e.getUserName() + ":" + e.getGroupName(), e.getLinkName(),
                        type == 'f' ? new String(t.readAllBytes(), StandardCharsets.UTF_8) : null));
            }
        }
        return items;
    }

    @Test
    void repackKeepsFilesDirectoriesAndSymlinksMaterialisesHardLinksAndReplacesTheDockerfile() throws Exception {
        ContextIntake intake = intake();
        byte[] upload = upload();
        ContextIntake.StoredContext uploaded = intake.receive(new ByteArrayInputStream(upload), "Dockerfile");
        assertThat(uploaded.hardlinkTargets()).containsExactlyInAnyOrder("app/run.sh", "Dockerfile");

        ContextIntake.StoredContext repacked = intake.repack(uploaded, "Dockerfile", CANONICAL);

        List<Item> items = read(repacked.path());
        Map<String, Item> byName = new LinkedHashMap<>();
        items.forEach(i -> assertThat(byName.put(i.name(), i)).as("each path once: " + i.name()).isNull());
        assertThat(byName.keySet()).containsExactly("./", "app/", "Dockerfile", "app/run.sh", "app/current", "up",
                "app/again", "df-link", LONG_DIR + "/", LONG_FILE, "longlink", "empty", "big");
        assertThat(byName.get("Dockerfile")).extracting(Item::type, Item::mode, Item::content)
                .containsExactly('f', 0644, new String(CANONICAL, StandardCharsets.UTF_8));
        assertThat(byName.get("app/run.sh")).extracting(Item::mode, Item::content)
                .containsExactly(04755, "#!/bin/sh\necho hi\n");
        // Hard links become regular files with their file's content and mode.
        assertThat(byName.get("app/again")).extracting(Item::type, Item::mode, Item::content)
                .containsExactly('f', 04755, "#!/bin/sh\necho hi\n");
        assertThat(byName.get("df-link")).extracting(Item::type, Item::content)
                .containsExactly('f', new String(CANONICAL, StandardCharsets.UTF_8));
        assertThat(byName.get("up")).extracting(Item::type, Item::link).containsExactly('s', "app/../Dockerfile");
        assertThat(byName.get("longlink")).extracting(Item::type, Item::link).containsExactly('s', LONG_FILE);
        assertThat(byName.get(LONG_FILE).content()).isEqualTo("long");
        assertThat(byName.get("big").content()).hasSize(300_000);
        assertThat(items).allSatisfy(i -> {
            assertThat(i.uid()).isZero();
            assertThat(i.gid()).isZero();
            assertThat(i.user()).isEqualTo(":");
            assertThat(i.type()).isNotEqualTo('h');
        });
        // The uploaded mtimes (whole seconds) are kept.
        try (TarArchiveInputStream t = new TarArchiveInputStream(new ByteArrayInputStream(upload))) {
            TarArchiveEntry e;
            while ((e = t.getNextEntry()) != null) {
                String name = e.getName().startsWith("./") && e.getName().length() > 2 ? e.getName().substring(2)
                        : e.getName();
                if (byName.containsKey(name) && !e.isLink() && !name.equals("df-link")) {
                    assertThat(byName.get(name).mtime()).isEqualTo(e.getLastModifiedTime().toMillis() / 1000);
                }
            }
        }

        // Stored under its own digest, plain tar, and it passes the inspection itself.
        assertThat(repacked.digest()).isNotEqualTo(uploaded.digest());
        assertThat(repacked.path()).isEqualTo(intake.pathOf(repacked.digest())).exists();
        assertThat(repacked.digest().hex()).isEqualTo(sha256(repacked.path()));
        assertThat(repacked.size()).isEqualTo(Files.size(repacked.path()));
        assertThat(repacked.gzip()).isFalse();
        assertThat(repacked.dockerfile()).isEqualTo(new String(CANONICAL, StandardCharsets.UTF_8));
        ArchiveInspector.Inspection again;
        try (InputStream in = Files.newInputStream(repacked.path())) {
            again = ArchiveInspector.inspect(in, "Dockerfile", new ArchiveInspector.Limits(1 << 30, 1000, 1 << 30,
                    4096, 65536));
        }
        assertThat(again.files()).isEqualTo(uploaded.files());
        assertThat(again.hardlinkTargets()).isEmpty();
        assertThat(again.dockerfile()).isEqualTo(new String(CANONICAL, StandardCharsets.UTF_8));
        // The upload stays; nothing is left in incoming/.
        assertThat(uploaded.path()).exists();
        assertThat(incoming()).isEmpty();
    }

    @Test
    void repackIsDeterministicAndIndependentOfHowTheUploadWasCompressed() throws Exception {
        ContextIntake intake = intake();
        // One upload (Tars stamps entries with the current time), sent plain and gzip.
        byte[] upload = upload();
        ContextIntake.StoredContext plain = intake.receive(new ByteArrayInputStream(upload), "Dockerfile");
        ContextIntake.StoredContext gzip = intake.receive(new ByteArrayInputStream(Tars.gzip(upload)), "Dockerfile");
        assertThat(gzip.digest()).isNotEqualTo(plain.digest());

        Digest first = intake.repack(plain, "Dockerfile", CANONICAL).digest();
        Digest second = intake.repack(plain, "./Dockerfile", CANONICAL).digest();
        Digest fromGzip = intake.repack(gzip, "Dockerfile", CANONICAL).digest();
        Digest otherDockerfile = intake.repack(plain, "Dockerfile", "FROM other\n".getBytes()).digest();

        assertThat(second).isEqualTo(first);
        assertThat(fromGzip).isEqualTo(first);
        assertThat(otherDockerfile).isNotEqualTo(first);
        // A fresh gateway (another replica) writes the same bytes.
        assertThat(intake().repack(plain, "Dockerfile", CANONICAL).digest()).isEqualTo(first);
    }

    @Test
    void repackOfANestedDockerfileReplacesOnlyThatFile() throws Exception {
        ContextIntake intake = intake();
        byte[] upload = Tars.tar().file("Dockerfile", "FROM root\n").file("build/Dockerfile.prod", "FROM prod\n")
                .bytes();
        ContextIntake.StoredContext uploaded = intake.receive(new ByteArrayInputStream(upload), "build/Dockerfile.prod");

        ContextIntake.StoredContext repacked = intake.repack(uploaded, "build/Dockerfile.prod", CANONICAL);

        assertThat(read(repacked.path())).extracting(Item::name, Item::content).containsExactly(
                Tuple.tuple("Dockerfile", "FROM root\n"),
                Tuple.tuple("build/Dockerfile.prod", new String(CANONICAL)));
    }

    @Test
    void repackChecksTheUploadAgain() throws Exception {
        ContextIntake intake = intake();
        ContextIntake.StoredContext uploaded = intake.receive(new ByteArrayInputStream(upload()), "Dockerfile");
        // The store was tampered with after intake: the re-pack refuses and leaves nothing.
        Files.write(uploaded.path(), RawTar.tar().file("Dockerfile", "x").file("Dockerfile", "y").end().bytes());

        assertThatThrownBy(() -> intake.repack(uploaded, "Dockerfile", CANONICAL)).isInstanceOf(Problem.class)
                .hasMessageContaining("appears twice");
        assertThat(incoming()).isEmpty();
        assertThat(storeFiles()).containsExactly(uploaded.path());
    }

    @Test
    void inspectOnlyLeavesNothingBehindAndDeleteRemovesAtOnce() throws Exception {
        ContextIntake intake = intake();
        ContextIntake.StoredContext linted = intake.inspectOnly(new ByteArrayInputStream(upload()), "Dockerfile");
        assertThat(linted.path()).doesNotExist();
        assertThat(storeFiles()).isEmpty();
        assertThatThrownBy(() -> intake.inspectOnly(new ByteArrayInputStream(RawTar.tar().file("Dockerfile", "x")
                .end().raw("junk".getBytes()).bytes()), "Dockerfile")).isInstanceOf(Problem.class);
        assertThat(storeFiles()).isEmpty();

        ContextIntake.StoredContext stored = intake.receive(new ByteArrayInputStream(upload()), "Dockerfile");
        assertThat(stored.path()).exists();
        assertThat(intake.delete(stored.digest())).isTrue();
        assertThat(stored.path()).doesNotExist();
        assertThat(intake.delete(stored.digest())).isFalse();
        assertThat(storeFiles()).isEmpty();
    }

    private List<Path> incoming() throws IOException {
        try (Stream<Path> s = Files.list(dir.resolve("store").resolve("incoming"))) {
            return s.toList();
        }
    }

    private List<Path> storeFiles() throws IOException {
        try (Stream<Path> s = Files.walk(dir.resolve("store"))) {
            return s.filter(Files::isRegularFile).toList();
        }
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update(Files.readAllBytes(file));
        return HexFormat.of().formatHex(sha.digest());
    }

    /** The warm-up's rehearsal runs the same inspection and re-pack: the same digests, and nothing kept or counted. */
    @Test
    void aRehearsalGivesTheRepacksDigestAndWritesAndCountsNothing() throws Exception {
        ContextIntake intake = intake();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        ContextIntake counted = new ContextIntake(new IntakeProperties(dir.resolve("store"), DataSize.ofMegabytes(64),
                DataSize.ofMegabytes(64), 1000, DataSize.ofMegabytes(64), 4096, DataSize.ofKilobytes(64)), meters);
        byte[] upload = Tars.tar().dir("./").dir("app").file("./Dockerfile", "FROM base  # as sent\n")
                .file("app/run.sh", "#!/bin/sh\necho hi\n".getBytes(), 04755).symlink("app/current", "run.sh")
                .file("big", new byte[300_000]).bytes();
        List<Path> before = files();
        ContextIntake.StoredContext[] seen = {null};

        Digest rehearsed = counted.rehearse(upload, "Dockerfile", uploaded -> {
            seen[0] = uploaded;
            return CANONICAL;
        });

        assertThat(files()).isEqualTo(before);
        assertThat(meters.get("gateway.intake.bytes").counter().count()).isZero();
        ContextIntake.StoredContext received = intake.receive(new ByteArrayInputStream(upload), "Dockerfile");
        assertThat(seen[0].digest()).isEqualTo(received.digest());
        assertThat(seen[0].dockerfile()).isEqualTo(received.dockerfile());
        assertThat(seen[0].files()).isEqualTo(received.files());
        assertThat(rehearsed).isEqualTo(intake.repack(received, "Dockerfile", CANONICAL).digest());
        // an archive the rehearsal refuses as an upload is refused
        assertThatThrownBy(() -> counted.rehearse(Tars.tar().file("../x", "x").file("Dockerfile", "FROM a\n")
                .bytes(), "Dockerfile", uploaded -> CANONICAL)).isInstanceOf(Problem.class);
        // hard links would spill to disk: not for a rehearsal
        assertThatThrownBy(() -> counted.rehearse(Tars.tar().file("Dockerfile", "FROM a\n").file("a", "a")
                .hardlink("b", "a").bytes(), "Dockerfile", uploaded -> CANONICAL))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private List<Path> files() throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            return all.filter(Files::isRegularFile).sorted().toList();
        }
    }
}
