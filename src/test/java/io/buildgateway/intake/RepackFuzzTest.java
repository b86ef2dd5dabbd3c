package io.buildgateway.intake;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * The re-pack's property, on any input: whatever the inspection accepts re-packs into an archive that the inspection
 * accepts again with the same paths, the gateway's Dockerfile and no hard links, and re-packing that archive gives
 * the same bytes (the re-pack is a fixed point). Seeds beside this class; {@code bench/fuzz.sh} runs it for longer.
 */
class RepackFuzzTest {

    private static final ArchiveInspector.Limits LIMITS = new ArchiveInspector.Limits(1 << 20, 1000, 1 << 20, 4096,
            64 * 1024);
    private static final byte[] CANONICAL = "FROM gateway\n".getBytes(StandardCharsets.UTF_8);

    @FuzzTest(maxDuration = "60s")
    void acceptedArchivesRepackToAFixedPoint(byte[] archive) throws IOException {
        ArchiveInspector.Inspection first;
        try {
            first = ArchiveInspector.inspect(new ByteArrayInputStream(archive), "Dockerfile", LIMITS);
        } catch (UnsafeArchiveException refused) {
            return;
        }
        byte[] once = repack(archive, first.hardlinkTargets());
        ArchiveInspector.Inspection second;
        try {
            second = ArchiveInspector.inspect(new ByteArrayInputStream(once), "Dockerfile", LIMITS);
        } catch (UnsafeArchiveException e) {
            throw new AssertionError("the re-pack of an accepted archive is refused: " + e.kind() + ": "
                    + e.getMessage(), e);
        }
        assertThat(second.files()).isEqualTo(first.files());
        assertThat(second.hardlinkTargets()).isEmpty();
        assertThat(second.dockerfile()).isEqualTo(new String(CANONICAL, StandardCharsets.UTF_8));
        assertThat(second.gzip()).isFalse();
        assertThat(repack(once, Set.of())).isEqualTo(once);
    }

    private static byte[] repack(byte[] archive, Set<String> hardlinkTargets) throws IOException {
        Path spill = Files.createTempDirectory("repack-fuzz");
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Repacker repacker = new Repacker(out, hardlinkTargets, CANONICAL, spill);
            ArchiveInspector.inspect(new ByteArrayInputStream(archive), "Dockerfile", LIMITS, repacker);
            repacker.finish();
            return out.toByteArray();
        } catch (UnsafeArchiveException e) {
            throw new AssertionError("accepted once, refused when re-read: " + e.kind(), e);
        } finally {
            try (var files = Files.list(spill)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(spill);
        }
    }
}
