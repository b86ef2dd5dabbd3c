package io.buildgateway.scanning.compliance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class XccdfResultsTest {

    /** The shape oscap 1.3.7 writes with --results: the benchmark, then a TestResult appended to it. */
    private static final String RESULTS = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" xmlns:xhtml="http://www.w3.org/1999/xhtml"
                       id="xccdf_io.example_benchmark_sample" resolved="1" xml:lang="en">
              <status>accepted</status>
              <title>Sample</title>
              <version>1</version>
              <Profile id="xccdf_io.example_profile_all"><title>All</title></Profile>
              <Rule id="xccdf_io.example_rule_a" selected="true" severity="high">
                <title xml:lang="de">Regel A</title>
                <title xml:lang="en">Rule   A
                   spans lines</title>
                <description>not a <xhtml:code>title</xhtml:code></description>
              </Rule>
              <Group id="xccdf_io.example_group_g">
                <title>A group, not a rule</title>
                <Rule id="xccdf_io.example_rule_b" severity="medium">
                  <title>Rule <xhtml:code>B</xhtml:code> with markup</title>
                </Rule>
                <Rule id="xccdf_io.example_rule_c">
                  <title>Rule C</title>
                </Rule>
                <Rule id="xccdf_io.example_rule_d" severity="low"><title>Rule D</title></Rule>
              </Group>
              <TestResult id="xccdf_org.open-scap_testresult_old" start-time="2025-01-01T00:00:00">
                <rule-result idref="xccdf_io.example_rule_a" severity="high"><result>fail</result></rule-result>
              </TestResult>
              <TestResult id="xccdf_org.open-scap_testresult_xccdf_io.example_profile_all">
                <benchmark href="#xccdf_io.example_benchmark_sample" id="xccdf_io.example_benchmark_sample"/>
                <title>OSCAP Scan Result</title>
                <target>vm</target>
                <rule-result idref="xccdf_io.example_rule_a" role="full" severity="high" weight="1.000000">
                  <result>pass</result>
                  <check system="http://oval.mitre.org/XMLSchema/oval-definitions-5">
                    <check-content-ref name="oval:x:def:1" href="#oval0"/>
                  </check>
                </rule-result>
                <rule-result idref="xccdf_io.example_rule_b"><result>fail</result></rule-result>
                <rule-result idref="xccdf_io.example_rule_c" severity="unknown"><result>notapplicable</result></rule-result>
                <rule-result idref="xccdf_io.example_rule_d" severity="low"><result>notselected</result></rule-result>
                <rule-result idref="xccdf_io.example_rule_gone"><result> error </result></rule-result>
                <score system="urn:xccdf:scoring:default" maximum="100.000000">50.000000</score>
              </TestResult>
            </Benchmark>
            """;

    private static XccdfResults.Parsed parse(String xml) throws IOException {
        return XccdfResults.parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void readsTheLastTestResultWithTitlesAndSeveritiesFromTheBenchmark() throws IOException {
        XccdfResults.Parsed parsed = parse(RESULTS);

        assertThat(parsed.hasTestResult()).isTrue();
        assertThat(parsed.benchmark()).isEqualTo("xccdf_io.example_benchmark_sample");
        String b = "xccdf_io.example_benchmark_sample";
        assertThat(parsed.rules()).containsExactly(
                new RuleResult(b, "xccdf_io.example_rule_a", "Rule A spans lines", "high", "pass"),
                new RuleResult(b, "xccdf_io.example_rule_b", "Rule B with markup", "medium", "fail"),
                new RuleResult(b, "xccdf_io.example_rule_c", "Rule C", "unknown", "notapplicable"),
                new RuleResult(b, "xccdf_io.example_rule_gone", "xccdf_io.example_rule_gone", "unknown", "error"));
    }

    @Test
    void aFileWithoutTestResultSaysSo() throws IOException {
        XccdfResults.Parsed parsed = parse(RESULTS.substring(0, RESULTS.indexOf("  <TestResult")) + "</Benchmark>");

        assertThat(parsed.hasTestResult()).isFalse();
        assertThat(parsed.rules()).isEmpty();
    }

    @Test
    void readsXccdf11ResultsToo() throws IOException {
        XccdfResults.Parsed parsed = parse("""
                <Benchmark xmlns="http://checklists.nist.gov/xccdf/1.1" id="old">
                  <Rule id="r1" severity="low"><title>One</title></Rule>
                  <TestResult id="t"><rule-result idref="r1"><result>pass</result></rule-result></TestResult>
                </Benchmark>
                """);

        assertThat(parsed.rules()).containsExactly(new RuleResult("old", "r1", "One", "low", "pass"));
    }

    @Test
    void ignoresLookalikeElementsOfOtherNamespaces() throws IOException {
        XccdfResults.Parsed parsed = parse("""
                <Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" xmlns:o="urn:other" id="b">
                  <TestResult id="t">
                    <o:rule-result idref="fake"><o:result>pass</o:result></o:rule-result>
                    <rule-result idref="real"><result>fail</result></rule-result>
                  </TestResult>
                </Benchmark>
                """);

        assertThat(parsed.rules()).extracting(RuleResult::ruleId).containsExactly("real");
    }

    @Test
    void refusesADoctypeSoNoEntityIsEverExpandedOrFetched() {
        String xxe = """
                <?xml version="1.0"?>
                <!DOCTYPE Benchmark [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
                <Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="b">
                  <Rule id="r"><title>&secret;</title></Rule>
                  <TestResult id="t"><rule-result idref="r"><result>pass</result></rule-result></TestResult>
                </Benchmark>
                """;
        String bomb = """
                <?xml version="1.0"?>
                <!DOCTYPE b [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
                <Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="&b;"/>
                """;

        assertThatThrownBy(() -> parse(xxe)).isInstanceOf(IOException.class).hasMessageContaining("DOCTYPE");
        assertThatThrownBy(() -> parse(bomb)).isInstanceOf(IOException.class).hasMessageContaining("DOCTYPE");
        assertThatThrownBy(() -> XccdfResults.profiles(new ByteArrayInputStream(xxe.getBytes(StandardCharsets.UTF_8))))
                .isInstanceOf(IOException.class);
    }

    @Test
    void refusesWhatIsNotXml() {
        assertThatThrownBy(() -> parse("OpenSCAP Error: not xml")).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> parse(RESULTS.substring(0, 900))).isInstanceOf(IOException.class);
    }

    @Test
    void listsTheProfilesAContentFileDeclares() throws IOException {
        String dataStream = """
                <ds:data-stream-collection xmlns:ds="http://scap.nist.gov/schema/scap/source/1.2" id="c">
                  <ds:component id="c1">
                    <Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="b">
                      <Profile id="xccdf_org.ssgproject.content_profile_standard"/>
                      <Profile id="xccdf_org.ssgproject.content_profile_cis"/>
                      <Profile xmlns="urn:not-xccdf" id="ignored"/>
                    </Benchmark>
                  </ds:component>
                </ds:data-stream-collection>
                """;

        assertThat(XccdfResults.profiles(new ByteArrayInputStream(dataStream.getBytes(StandardCharsets.UTF_8))))
                .containsExactly("xccdf_org.ssgproject.content_profile_standard",
                        "xccdf_org.ssgproject.content_profile_cis");
    }

    // Found by XccdfFuzzTest (crash-18e987ca…): a NUL inside a DOCTYPE made the JDK's parser throw
    // MissingResourceException, which escaped as something other than "unreadable".
    @Test
    void aParserFailureOfTheJdkIsUnreadableInputToo() {
        byte[] xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!\u0000\u0000>]>\n<r/>".getBytes(StandardCharsets.UTF_8);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> XccdfResults.parse(new ByteArrayInputStream(xml)))
                .isInstanceOf(IOException.class).hasMessageStartingWith("unreadable XCCDF results");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> XccdfResults.profiles(new ByteArrayInputStream(xml)))
                .isInstanceOf(IOException.class).hasMessageStartingWith("unreadable content");
    }
}
