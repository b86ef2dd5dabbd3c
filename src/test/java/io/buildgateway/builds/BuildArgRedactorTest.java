package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BuildArgRedactorTest {

    private static Map<String, String> args(String... pairs) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            out.put(pairs[i], pairs[i + 1]);
        }
        return out;
    }

    @Test
    void replacesEveryOccurrenceOfANonPublicValueButNotPublicOrShortOnes() {
        BuildArgRedactor r = BuildArgRedactor.of(args("S", "s3cr3t", "VERSION", "1.2.3", "X", "abc"),
                Set.of("VERSION")::contains);
        assertThat(r.redact("COPY source s3cr3t is not in the context; again s3cr3ts3cr3t"))
                .isEqualTo("COPY source [build arg S] is not in the context; again [build arg S][build arg S]");
        assertThat(r.redact("version 1.2.3 and abc")).isEqualTo("version 1.2.3 and abc");
        assertThat(r.redact("nothing here")).isEqualTo("nothing here");
        assertThat(r.redact(null)).isNull();
    }

    @Test
    void aLongerValueIsReplacedWholeBeforeOneItContains() {
        BuildArgRedactor r = BuildArgRedactor.of(args("A", "abcd", "B", "xxabcdxx"), n -> false);
        assertThat(r.redact("1 xxabcdxx 2 abcd")).isEqualTo("1 [build arg B] 2 [build arg A]");
    }

    @Test
    void theShownValuesTellWhichArgsArePublic() {
        Map<String, String> values = args("S", "s3cr3t-value", "P", "public-value");
        Map<String, String> shown = args("S", "sha256:" + "0".repeat(64), "P", "public-value");
        BuildArgRedactor r = BuildArgRedactor.ofShown(values, shown);
        assertThat(r.redact("s3cr3t-value public-value")).isEqualTo("[build arg S] public-value");
        assertThat(BuildArgRedactor.ofShown(Map.of(), Map.of()).isEmpty()).isTrue();
    }

    @Test
    void aFailureReasonIsRedactedAndOnOneLine() {
        BuildArgRedactor r = BuildArgRedactor.of(args("S", "s3cr3t"), n -> false);
        assertThat(r.reason("build failed: Invalid signal: s3cr3t\r\nSucceeded: x\u0007\u2028y"))
                .isEqualTo("build failed: Invalid signal: [build arg S]  Succeeded: x  y");
        assertThat(BuildArgRedactor.NONE.reason("a\nb")).isEqualTo("a b");
        assertThat(r.reason(null)).isNull();
    }

    /** As the policy's rules and the confinement check cut a quoted text (BuiltinRunRules.abbreviate). */
    private static String cut(String text, int max) {
        return text.length() > max ? text.substring(0, max) + "\u2026" : text;
    }

    /**
     * A value cut before redaction (a finding quotes 120 characters of an ADD's URL) is still replaced: before (a
     * review's finding, 2026-12-07) indexOf looked for the whole value and the first 120 characters were shown.
     */
    @Test
    void aValueCutBeforeRedactionIsReplacedUpToTheCut() {
        String presigned = "https://bucket.s3.amazonaws.com/dist/app.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261207%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Signature=" + "f".repeat(64);
        BuildArgRedactor r = BuildArgRedactor.of(args("URL", presigned, "V", "1.2.3"), Set.of("V")::contains);

        String longer = r.redact("ADD of " + cut(presigned, 120) + ": not in the egress allowlist");
        assertThat(longer).isEqualTo("ADD of [build arg URL]\u2026: not in the egress allowlist");

        String lead = "x".repeat(118);
        assertThat(cut(lead + presigned, 120)).endsWith("ht\u2026");
        assertThat(r.redact(cut(lead + presigned, 120))).isEqualTo(lead + "[build arg URL]\u2026");

        // the tail kept after a mark ("…" + the last characters), as a daemon's long error is shortened
        String tail = r.redact("\u2026" + presigned.substring(presigned.length() - 150) + " failed");
        assertThat(tail).isEqualTo("\u2026[build arg URL] failed");

        // the confinement check's 200, and a whole value next to a cut one
        assertThat(r.redact(cut("step ADD " + presigned, 200))).isEqualTo("step ADD [build arg URL]\u2026");
        assertThat(r.redact("ADD " + presigned + " " + cut(presigned, 30)))
                .isEqualTo("ADD [build arg URL] [build arg URL]\u2026");
        // text with a mark but no part of a value stays as it is
        assertThat(r.redact("version 1.2.3\u2026 and x\u2026")).isEqualTo("version 1.2.3\u2026 and x\u2026");
    }

    /** A finding masks a token= parameter itself (FindingText): the rest of the value is still replaced. */
    @Test
    void aValueAsAFindingMasksItIsReplacedToo() {
        BuildArgRedactor r = BuildArgRedactor.of(args("URL", "https://files.internal/x?token=abc123"), n -> false);
        var findings = BuildSubmissions.redact(List.of(io.buildgateway.policy.Finding.error("add-url-outside-egress",
                "ADD of https://files.internal/x?token=abc123: not in the egress allowlist", 3, "ADD")), r);
        assertThat(findings.get(0).message()).isEqualTo("ADD of [build arg URL] not in the egress allowlist");
    }

    /** The rest of a value after the part a finding masked is replaced too (a read-through's finding, 2026-12-07). */
    @Test
    void theRestOfAValueAfterAMaskIsReplaced() {
        BuildArgRedactor r = BuildArgRedactor.of(args("TOKEN", "Zk3u Secret-Part-2"), n -> false);
        var findings = BuildSubmissions.redact(List.of(io.buildgateway.policy.Finding.error("tls-verification-disabled",
                "TLS verification is disabled: curl -k --password Zk3u Secret-Part-2 x", 3, "RUN")), r);
        assertThat(findings.get(0).message()).doesNotContain("Zk3u", "Secret-Part-2")
                .contains("--password ***[build arg TOKEN] x");
    }

    /** Wherever a finding cuts a presigned URL (and masks its X-Amz-* parameters), no part of it is shown. */
    @Test
    void aPresignedUrlCutAnywhereInAFindingShowsNoPartOfIt() {
        String value = "https://bucket-kept.s3.amazonaws.com/dist/app.tgz?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261207&X-Amz-Signature=" + "e".repeat(64)
                + "&token=s3cr3t";
        BuildArgRedactor r = BuildArgRedactor.of(args("URL", value), n -> false);
        for (int at = 8; at < value.length(); at++) {
            String message = "ADD of " + cut(value, at) + ": not in the egress allowlist";
            var findings = BuildSubmissions.redact(List.of(io.buildgateway.policy.Finding.error(
                    "add-url-outside-egress", message, 3, "ADD")), r);
            assertThat(findings.get(0).message()).as("cut at %d", at)
                    .isEqualTo("ADD of [build arg URL]\u2026: not in the egress allowlist");
        }
    }

    @Test
    void findingsAreRedactedInMessageAndInstruction() {
        BuildArgRedactor r = BuildArgRedactor.of(args("S", "s3cr3t"), n -> false);
        var findings = BuildSubmissions.redact(List.of(io.buildgateway.policy.Finding.error("expose-port",
                "'s3cr3t' is not a valid port", 2, "EXPOSE s3cr3t")), r);
        assertThat(findings.get(0).message()).isEqualTo("'[build arg S]' is not a valid port");
        assertThat(findings.get(0).instruction()).isEqualTo("EXPOSE [build arg S]");
        assertThat(findings.get(0).rule()).isEqualTo("expose-port");
    }

    @Test
    void theLogWriterRedactsGatewayAndStepLines(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        BuildProperties p = new BuildProperties(dir, 100, 20, java.time.Duration.ofSeconds(30),
                java.time.Duration.ofMillis(500), java.time.Duration.ofSeconds(60),
                org.springframework.util.unit.DataSize.ofBytes(1 << 20), 64, 0.5, java.time.Duration.ofDays(30),
                new BuildProperties.Follow(4, 64, java.time.Duration.ofSeconds(15), java.time.Duration.ofMillis(250),
                        java.time.Duration.ofHours(12), java.time.Duration.ofSeconds(5)),
                java.time.Duration.ofSeconds(15), 0.5, true, java.time.Duration.ofMinutes(5));
        BuildLogs logs = new BuildLogs(p);
        java.util.UUID id = java.util.UUID.randomUUID();
        BuildLogs.Writer w = logs.writer(id, BuildArgRedactor.of(args("S", "s3cr3t"), n -> false));
        w.step("Step 2/2 : STOPSIGNAL s3");
        w.step("cr3t\n");
        w.gateway("Failed: build failed: Invalid signal: s3cr3t\n");
        String stored = java.nio.file.Files.readString(logs.path(id));
        assertThat(stored).doesNotContain("s3cr3t").contains("STOPSIGNAL [build arg S]")
                .contains("Invalid signal: [build arg S]");
    }
}
