package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScanLeftoversTest {

    private static final Instant NOW = Instant.parse("2026-12-04T03:00:00Z");

    @TempDir
    Path work;

    private ScanLeftovers sweeper() {
        return new ScanLeftovers(work, Duration.ofHours(1), Clock.fixed(NOW, ZoneOffset.UTC));
    }

    private Path folder(String name, Duration ago) throws IOException {
        Path dir = Files.createDirectories(work.resolve(name));
        Files.writeString(Files.createDirectories(dir.resolve("rootfs/etc")).resolve("passwd"), "root:x:0:0\n");
        Files.setLastModifiedTime(dir, FileTime.from(NOW.minus(ago)));
        return dir;
    }

    @Test
    void removesOnlyScanFoldersOlderThanTheAge() throws IOException {
        Path crashed = folder("0b9a2c1e-6a51-4c55-9a8e-0d0f9f0c2a11", Duration.ofHours(3));
        Path base = folder("base-0123456789abcdef-7f1c", Duration.ofMinutes(61));
        Path running = folder("5d7f3e2a-1111-4c55-9a8e-0d0f9f0c2a11", Duration.ofMinutes(20));

        assertThat(sweeper().sweep()).isEqualTo(2);

        assertThat(crashed).doesNotExist();
        assertThat(base).doesNotExist();
        assertThat(running.resolve("rootfs/etc/passwd")).exists();
    }

    @Test
    void neverTouchesTheCachesHoweverOld() throws IOException {
        Path layers = folder("layers", Duration.ofDays(30));
        Path results = folder("compliance-results", Duration.ofDays(30));

        assertThat(sweeper().sweep()).isZero();

        assertThat(layers.resolve("rootfs/etc/passwd")).exists();
        assertThat(results.resolve("rootfs/etc/passwd")).exists();
    }

    @Test
    void doesNotFollowALinkOutOfTheWorkFolder(@TempDir Path elsewhere) throws IOException {
        Path precious = Files.writeString(elsewhere.resolve("precious"), "keep");
        Path dir = folder("0b9a2c1e-6a51-4c55-9a8e-0d0f9f0c2a11", Duration.ofHours(2));
        Files.createSymbolicLink(dir.resolve("out"), elsewhere);
        Files.setLastModifiedTime(dir, FileTime.from(NOW.minus(Duration.ofHours(2))));

        assertThat(sweeper().sweep()).isEqualTo(1);

        assertThat(dir).doesNotExist();
        assertThat(precious).hasContent("keep");
    }

    @Test
    void aMissingWorkFolderIsNothingToDo() throws IOException {
        assertThat(new ScanLeftovers(work.resolve("absent"), Duration.ofHours(1), Clock.systemUTC()).sweep()).isZero();
    }
}
