package io.buildgateway.intake;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.util.unit.DataSize;

/**
 * Run by hand, not part of the suite: how long the re-pack takes for a context like bench/build-vs-direct.sh's
 * (a Dockerfile and 1 MiB of random bytes) and for a ~200 MiB context (200 files of 1 MiB, half random, half zeros,
 * plus 2,000 small files), uploaded plain and gzip. Prints the median of the runs; asserts nothing about time.
 * {@code mvn -B -q test -Dtest=RepackBench -Dbgw.bench=true}
 */
@EnabledIfSystemProperty(named = "bgw.bench", matches = "true")
class RepackBench {

    @TempDir
    Path dir;

    @Test
    void repackTimes() throws Exception {
        ContextIntake intake = new ContextIntake(new IntakeProperties(dir.resolve("store"), DataSize.ofGigabytes(4),
                DataSize.ofGigabytes(8), 100_000, DataSize.ofGigabytes(4), 4096, DataSize.ofMegabytes(1)),
                new SimpleMeterRegistry());
        byte[] dockerfile = "FROM 127.0.0.1:5000/base/busybox\nCOPY payload.bin /payload.bin\nUSER 65534\n"
                .getBytes(StandardCharsets.UTF_8);
        Random random = new Random(42);

        Path small = dir.resolve("small.tar");
        try (TarArchiveOutputStream tar = tar(Files.newOutputStream(small))) {
            add(tar, "Dockerfile", dockerfile);
            add(tar, "payload.bin", randomBytes(random, 1 << 20));
        }
        Path large = dir.resolve("large.tar");
        try (TarArchiveOutputStream tar = tar(Files.newOutputStream(large))) {
            add(tar, "Dockerfile", dockerfile);
            for (int i = 0; i < 200; i++) {
                add(tar, "data/blob-" + i, i % 2 == 0 ? randomBytes(random, 1 << 20) : new byte[1 << 20]);
            }
            for (int i = 0; i < 2000; i++) {
                add(tar, "src/pkg" + (i % 20) + "/file-" + i + ".txt", ("line " + i + "\n").repeat(20).getBytes());
            }
        }
        Path largeGz = dir.resolve("large.tar.gz");
        try (OutputStream out = new GzipCompressorOutputStream(Files.newOutputStream(largeGz))) {
            Files.copy(large, out);
        }
        measure(intake, "1 MiB context (plain)", small, dockerfile, 15);
        measure(intake, "~200 MiB context (plain)", large, dockerfile, 5);
        measure(intake, "~200 MiB context (gzip upload)", largeGz, dockerfile, 3);
    }

    private static void measure(ContextIntake intake, String label, Path archive, byte[] dockerfile, int runs)
            throws IOException {
        ContextIntake.StoredContext uploaded;
        long[] receive = new long[runs];
        long[] repack = new long[runs];
        ContextIntake.StoredContext out = null;
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            try (InputStream in = Files.newInputStream(archive)) {
                uploaded = intake.receive(in, "Dockerfile");
            }
            long t1 = System.nanoTime();
            out = intake.repack(uploaded, "Dockerfile", dockerfile);
            long t2 = System.nanoTime();
            receive[i] = t1 - t0;
            repack[i] = t2 - t1;
            intake.delete(out.digest());
        }
        System.out.printf("%-32s upload %,d bytes, re-packed %,d bytes: receive+inspect median %.1f ms, "
                + "re-pack median %.1f ms (min %.1f, max %.1f) over %d runs%n", label, Files.size(archive), out.size(),
                median(receive), median(repack), Arrays.stream(repack).min().getAsLong() / 1e6,
                Arrays.stream(repack).max().getAsLong() / 1e6, runs);
    }

    private static double median(long[] nanos) {
        List<Long> sorted = new ArrayList<>(Arrays.stream(nanos).boxed().sorted().toList());
        return sorted.get(sorted.size() / 2) / 1e6;
    }

    private static TarArchiveOutputStream tar(OutputStream out) {
        TarArchiveOutputStream tar = new TarArchiveOutputStream(out);
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        return tar;
    }

    private static void add(TarArchiveOutputStream tar, String name, byte[] content) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(content.length);
        tar.putArchiveEntry(e);
        tar.write(content);
        tar.closeArchiveEntry();
    }

    private static byte[] randomBytes(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }
}
