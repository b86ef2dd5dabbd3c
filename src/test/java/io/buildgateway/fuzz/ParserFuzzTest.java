package io.buildgateway.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.buildgateway.dockerfile.CanonicalDockerfile;
import io.buildgateway.dockerfile.Dockerfile;
import io.buildgateway.dockerfile.DockerfileParser;
import io.buildgateway.dockerfile.Instruction;
import io.buildgateway.dockerfile.RunMount;
import io.buildgateway.dockerfile.Substitution;
import io.buildgateway.intake.ArchiveInspector;
import io.buildgateway.intake.UnsafeArchiveException;
import java.io.ByteArrayInputStream;
import java.util.Map;

/**
 * Fuzz targets for the hostile-input parsers. Under {@code mvn test} each replays its seeds (the folders beside
 * this class in src/test/resources); {@code bench/fuzz.sh} runs them with {@code JAZZER_FUZZ=1} for as long as
 * asked. The property: any input returns (errors are findings or UnsafeArchiveException), in bounded output.
 */
class ParserFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void dockerfileParserNeverThrowsAndStaysBounded(FuzzedDataProvider data) {
        String text = data.consumeRemainingAsString();
        Dockerfile parsed = DockerfileParser.parse(text);
        assertThat(parsed.instructions().size()).isLessThanOrEqualTo(text.length() + 1);
        parsed.instructions().forEach(i -> assertThat(i.line()).isPositive());
    }

    /**
     * The BuildKit form of the canonical writer: never throws, and whatever it writes has every cache mount of every
     * RUN in the namespace it was given (a Dockerfile cannot keep an id of its own choosing).
     */
    @FuzzTest(maxDuration = "60s")
    void canonicalBuildKitFormNamespacesEveryCacheMount(FuzzedDataProvider data) {
        String text = data.consumeRemainingAsString();
        CanonicalDockerfile.Result r = CanonicalDockerfile.write(DockerfileParser.parse(text, true),
                new CanonicalDockerfile.Options(true, "team", null));
        if (r.text() == null) {
            assertThat(r.problems()).isNotEmpty();
            return;
        }
        for (Instruction i : DockerfileParser.parse(r.text(), true).instructions()) {
            for (Instruction.Flag f : i.keyword().equals("RUN") ? i.flags() : java.util.List.<Instruction.Flag>of()) {
                if (f.name().equals("mount")) {
                    try {
                        RunMount m = RunMount.parse(f.value());
                        if (m.type().equals("cache")) {
                            assertThat(m.cacheId()).startsWith("bgw-team-");
                        }
                    } catch (RunMount.Refused e) {
                        throw new AssertionError("written but unreadable: " + f.value(), e);
                    }
                }
            }
        }
    }

    @FuzzTest(maxDuration = "60s")
    void substitutionOutputIsBounded(FuzzedDataProvider data) {
        String value = data.consumeString(64);
        String word = data.consumeRemainingAsString();
        String out = Substitution.expand(word, Map.of("A", value, "B", "")::get, '\\');
        assertThat(out.length()).isLessThanOrEqualTo(64 * 1024);
    }

    @FuzzTest(maxDuration = "60s")
    void archiveInspectorOnlyAcceptsOrRefuses(byte[] archive) {
        try {
            ArchiveInspector.Inspection inspection = ArchiveInspector.inspect(new ByteArrayInputStream(archive),
                    "Dockerfile", new ArchiveInspector.Limits(1 << 20, 1000, 1 << 20, 4096, 64 * 1024));
            assertThat(inspection.dockerfile()).isNotNull();
            // No accepted name is absolute or has a ".." component ("a..b" or "WW.." are ordinary names).
            assertThat(inspection.files()).allSatisfy(f -> {
                assertThat(f).doesNotStartWith("/");
                assertThat(f.split("/")).doesNotContain("..");
            });
        } catch (UnsafeArchiveException expected) {
            assertThat(expected.kind()).isNotBlank();
        }
    }
}
