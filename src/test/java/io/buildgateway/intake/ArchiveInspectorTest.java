package io.buildgateway.intake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.support.Tars;
import java.io.ByteArrayInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;

class ArchiveInspectorTest {

    private static final ArchiveInspector.Limits LIMITS = new ArchiveInspector.Limits(1 << 20, 10, 1 << 20, 256,
            64 * 1024);

    private static ArchiveInspector.Inspection inspect(byte[] archive, String dockerfile)
            throws UnsafeArchiveException {
        return ArchiveInspector.inspect(new ByteArrayInputStream(archive), dockerfile, LIMITS);
    }

    private static String kind(byte[] archive) {
        try {
            inspect(archive, "Dockerfile");
            return "accepted";
        } catch (UnsafeArchiveException e) {
            return e.kind();
        }
    }

    @Test
    void acceptsAnOrdinaryContextWithLinksInsideIt() throws Exception {
        byte[] archive = Tars.tar().dir("app").file("./Dockerfile", "FROM x\n").file("app/run.sh", "echo")
                .symlink("app/current", "run.sh").symlink("app/up", "../Dockerfile").hardlink("app/again", "app/run.sh")
                .file(".dockerignore", ".git").bytes();

        ArchiveInspector.Inspection inspection = inspect(archive, "Dockerfile");

        assertThat(inspection.dockerfile()).isEqualTo("FROM x\n");
        assertThat(inspection.gzip()).isFalse();
        assertThat(inspection.hasDockerignore()).isTrue();
        assertThat(inspection.entries()).isEqualTo(7);
    }

    @Test
    void detectsGzipByMagicBytesAndFindsANestedDockerfile() throws Exception {
        byte[] archive = Tars.gzip(Tars.tar().file("build/Dockerfile.prod", "FROM y\n").bytes());

        ArchiveInspector.Inspection inspection = inspect(archive, "./build//Dockerfile.prod");

        assertThat(inspection.gzip()).isTrue();
        assertThat(inspection.dockerfile()).isEqualTo("FROM y\n");
    }

    @Test
    void refusesEscapesAndSpecialFiles() {
        assertThat(kind(Tars.tar().file("Dockerfile", "x").file("/abs", "x").bytes())).isEqualTo("path-traversal");
        assertThat(kind(Tars.tar().file("Dockerfile", "x").file("a/../../b", "x").bytes())).isEqualTo("path-traversal");
        assertThat(kind(Tars.tar().file("Dockerfile", "x").symlink("a/b/c", "../../../x").bytes()))
                .isEqualTo("link-escape");
        assertThat(kind(Tars.tar().file("Dockerfile", "x").symlink("a", "/etc").bytes())).isEqualTo("link-escape");
        assertThat(kind(Tars.tar().file("Dockerfile", "x").hardlink("a", "../b").bytes())).isEqualTo("link-escape");
        assertThat(kind(Tars.tar().file("Dockerfile", "x").special("c", TarConstants.LF_CHR).bytes()))
                .isEqualTo("special-file");
        assertThat(kind(Tars.tar().file("Dockerfile", "x").special("f", TarConstants.LF_FIFO).bytes()))
                .isEqualTo("special-file");
    }

    @Test
    void symlinkThatClimbsButStaysInsideIsAccepted() {
        assertThat(kind(Tars.tar().file("Dockerfile", "x").symlink("a/b/c", "../../Dockerfile").bytes()))
                .isEqualTo("accepted");
    }

    @Test
    void enforcesCountAndSizeLimits() {
        Tars many = Tars.tar().file("Dockerfile", "x");
        for (int i = 0; i < 10; i++) {
            many.file("f" + i, "");
        }
        assertThat(kind(many.bytes())).isEqualTo("too-many-entries");
        assertThat(kind(Tars.tar().file("Dockerfile", "x").file("big", new byte[(1 << 20) + 1]).bytes()))
                .isEqualTo("entry-too-large");
        assertThat(kind(Tars.tar().file("Dockerfile", "x").file("a", new byte[600_000]).file("b", new byte[600_000])
                .bytes())).isEqualTo("too-large-uncompressed");
        assertThat(kind(Tars.tar().file("Dockerfile", new byte[64 * 1024 + 1]).bytes()))
                .isEqualTo("dockerfile-too-large");
        assertThat(kind(Tars.tar().file("x".repeat(300), "x").bytes())).isEqualTo("path-too-long");
    }

    @Test
    void refusesMissingDockerfileAndGarbage() {
        assertThat(kind(Tars.tar().file("Containerfile", "x").bytes())).isEqualTo("missing-dockerfile");
        assertThat(kind("garbage ".repeat(200).getBytes())).isEqualTo("unreadable-archive");
        assertThat(kind(new byte[0])).isEqualTo("unreadable-archive");
    }

    @Test
    void dockerfileParameterMustStayInsideTheContext() {
        assertThatThrownBy(() -> ArchiveInspector.normalizeDockerfilePath("../Dockerfile"))
                .isInstanceOf(UnsafeArchiveException.class);
        assertThatThrownBy(() -> ArchiveInspector.normalizeDockerfilePath("/etc/passwd"))
                .isInstanceOf(UnsafeArchiveException.class);
        assertThatThrownBy(() -> ArchiveInspector.normalizeDockerfilePath("."))
                .isInstanceOf(UnsafeArchiveException.class);
    }
}
