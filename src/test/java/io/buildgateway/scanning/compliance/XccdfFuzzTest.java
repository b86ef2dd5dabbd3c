package io.buildgateway.scanning.compliance;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.IOException;

/**
 * Fuzz target for the XCCDF results reader. The results file is written by oscap, but about a filesystem the builder
 * made (titles, file names and values the image chose end up in it), and the content files' profile list is read
 * from what operators add. Property: the reader returns or refuses with an IOException ("unreadable"); it never
 * loads a DTD or an external entity (a seed references one; any DOCTYPE is refused); rule-results it returns carry
 * an id and a result. Seeds beside this class.
 */
class XccdfFuzzTest {

    /** A document whose prolog declares a DTD (in a comment or CDATA later on, "<!DOCTYPE" is only text). */
    private static final java.util.regex.Pattern DOCTYPE_FIRST = java.util.regex.Pattern.compile(
            "\\A\\s*(<\\?xml[^>]*\\?>)?\\s*<!DOCTYPE");

    @FuzzTest(maxDuration = "60s")
    void resultsReadOrRefused(byte[] xml) {
        XccdfResults.Parsed parsed;
        try {
            parsed = XccdfResults.parse(new ByteArrayInputStream(xml));
        } catch (IOException refused) {
            assertThat(refused.getMessage()).startsWith("unreadable XCCDF results");
            return;
        }
        assertThat(parsed.benchmark()).isNotNull();
        assertThat(parsed.rules()).allSatisfy(r -> {
            assertThat(r.ruleId()).isNotNull();
            assertThat(r.title()).isNotNull();
            assertThat(r.severity()).isNotBlank();
            assertThat(r.result()).isNotBlank().isNotEqualTo("notselected");
        });
        if (!parsed.hasTestResult()) {
            assertThat(parsed.rules()).isEmpty();
        }
        if (DOCTYPE_FIRST.matcher(new String(xml, java.nio.charset.StandardCharsets.ISO_8859_1)).find()) {
            throw new AssertionError("a document with a DOCTYPE was read instead of refused");
        }
    }

    @FuzzTest(maxDuration = "60s")
    void profilesReadOrRefused(byte[] xml) {
        try {
            assertThat(XccdfResults.profiles(new ByteArrayInputStream(xml))).doesNotContainNull();
        } catch (IOException refused) {
            assertThat(refused.getMessage()).startsWith("unreadable content");
        }
    }
}
