package io.buildgateway.dockerfile;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Fuzz target for the canonical Dockerfile writer (what the daemon builds is the gateway's rewrite of the submitted
 * file). Property, for both builders (classic, and BuildKit with heredocs): the writer either refuses with at least
 * one problem and no text, or writes text that re-parses without errors to the same instructions and directives,
 * and writing that text again gives the same text (the canonical form is a fixed point). Seeds beside this class.
 */
class CanonicalDockerfileFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void canonicalTextReparsesTheSameOrIsRefused(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        roundTrip(text, false);
        roundTrip(text, true);
    }

    private static void roundTrip(String text, boolean heredocs) {
        Dockerfile parsed = DockerfileParser.parse(text, heredocs);
        CanonicalDockerfile.Result written = CanonicalDockerfile.write(parsed, heredocs);
        if (written.text() == null) {
            assertThat(written.problems()).as("a refusal names its reason").isNotEmpty();
            assertThat(written.problems()).allSatisfy(p -> assertThat(p.line()).isPositive());
            return;
        }
        assertThat(written.problems()).isEmpty();
        Dockerfile reparsed = DockerfileParser.parse(written.text(), heredocs);
        assertThat(reparsed.errors()).as("the canonical text of %s", text).isEmpty();
        assertThat(CanonicalDockerfile.difference(parsed, reparsed)).as("the canonical text of %s", text).isNull();
        CanonicalDockerfile.Result again = CanonicalDockerfile.write(reparsed, heredocs);
        assertThat(again.text()).as("writing the canonical text of %s again", text).isEqualTo(written.text());
    }
}
