package io.buildgateway.scanning.compliance;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.xml.XMLConstants;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/**
 * Reads an XCCDF results file ({@code oscap xccdf eval --results}): the benchmark's rules (titles, severities) and
 * the rule-results of its last TestResult. Streams with the JDK's StAX parser, so that a multi-megabyte SSG
 * benchmark is never held as a tree; a DOCTYPE is refused outright and no external entity or DTD is ever loaded.
 */
final class XccdfResults {

    static final Set<String> XCCDF_NAMESPACES = Set.of("http://checklists.nist.gov/xccdf/1.2",
            "http://checklists.nist.gov/xccdf/1.1");

    /**
     * @param benchmark     the id of the benchmark the TestResult belongs to
     * @param rules         its rule-results, without the {@code notselected} ones
     * @param hasTestResult whether the file has a TestResult at all
     */
    record Parsed(String benchmark, List<RuleResult> rules, boolean hasTestResult) {
    }

    private record RuleInfo(String title, String severity) {
    }

    private XccdfResults() {
    }

    static Parsed parse(InputStream in) throws IOException {
        XMLStreamReader xml = null;
        try {
            xml = factory().createXMLStreamReader(in);
            return read(xml);
        } catch (XMLStreamException e) {
            throw new IOException("unreadable XCCDF results: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw jdkParserFailure("unreadable XCCDF results", e);
        } finally {
            if (xml != null) {
                try {
                    xml.close();
                } catch (XMLStreamException ignored) {
                    // the stream itself is closed by the caller
                }
            }
        }
    }

    /** The ids of the XCCDF Profiles a content file (XCCDF or data stream) declares. */
    static List<String> profiles(InputStream in) throws IOException {
        List<String> ids = new ArrayList<>();
        XMLStreamReader xml = null;
        try {
            xml = factory().createXMLStreamReader(in);
            while (xml.hasNext()) {
                int event = xml.next();
                refuseDoctype(event);
                if (event == XMLStreamConstants.START_ELEMENT && isXccdf(xml, "Profile")) {
                    String id = xml.getAttributeValue(null, "id");
                    if (id != null) {
                        ids.add(id);
                    }
                }
            }
            return ids;
        } catch (XMLStreamException e) {
            throw new IOException("unreadable content: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw jdkParserFailure("unreadable content", e);
        } finally {
            if (xml != null) {
                try {
                    xml.close();
                } catch (XMLStreamException ignored) {
                    // the stream itself is closed by the caller
                }
            }
        }
    }

    /** The JDK's own StAX implementation, whatever else is on the classpath, with DTDs and external entities off. */
    private static XMLInputFactory factory() {
        XMLInputFactory factory = XMLInputFactory.newDefaultFactory();
        factory.setProperty(XMLInputFactory.SUPPORT_DTD, false);
        factory.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
        factory.setProperty(XMLConstants.ACCESS_EXTERNAL_DTD, "");
        return factory;
    }

    /**
     * The JDK's parser fails on some malformed input with a runtime exception of its own instead of an
     * XMLStreamException: a NUL inside a DOCTYPE throws MissingResourceException (the message key InvalidCharInDTD is
     * missing from its resources; found by XccdfFuzzTest). Such input is unreadable like any other.
     */
    private static IOException jdkParserFailure(String what, RuntimeException e) {
        return new IOException(what + ": the XML parser failed (" + e.getClass().getSimpleName() + ")", e);
    }

    private static void refuseDoctype(int event) throws XMLStreamException {
        if (event == XMLStreamConstants.DTD) {
            throw new XMLStreamException("a DOCTYPE declaration is not allowed");
        }
    }

    private static boolean isXccdf(XMLStreamReader xml, String localName) {
        return localName.equals(xml.getLocalName()) && XCCDF_NAMESPACES.contains(xml.getNamespaceURI());
    }

    private static Parsed read(XMLStreamReader xml) throws XMLStreamException {
        Map<String, RuleInfo> ruleInfo = new HashMap<>();
        List<String[]> results = new ArrayList<>(); // idref, severity, result
        String outerBenchmark = null;
        String testResultBenchmark = null;
        boolean hasTestResult = false;

        // what the cursor is inside of
        String ruleId = null;
        String ruleSeverity = null;
        String ruleTitle = null;
        boolean ruleTitleIsEnglish = false;
        int ruleDepth = -1;
        boolean inTestResult = false;
        String[] ruleResult = null;
        StringBuilder text = null; // collecting a title or a result
        int textDepth = -1;
        String textLang = null;
        int depth = 0;

        while (xml.hasNext()) {
            int event = xml.next();
            refuseDoctype(event);
            switch (event) {
                case XMLStreamConstants.START_ELEMENT -> {
                    depth++;
                    if (text != null) {
                        break; // markup inside a title (xhtml, sub): keep collecting its text
                    }
                    if (isXccdf(xml, "Benchmark")) {
                        if (outerBenchmark == null) {
                            outerBenchmark = attribute(xml, "id");
                        }
                    } else if (isXccdf(xml, "Rule")) {
                        ruleId = xml.getAttributeValue(null, "id");
                        ruleSeverity = xml.getAttributeValue(null, "severity");
                        ruleTitle = null;
                        ruleTitleIsEnglish = false;
                        ruleDepth = depth;
                    } else if (ruleId != null && depth == ruleDepth + 1 && isXccdf(xml, "title")) {
                        text = new StringBuilder();
                        textDepth = depth;
                        textLang = xml.getAttributeValue(XMLConstants.XML_NS_URI, "lang");
                    } else if (isXccdf(xml, "TestResult")) {
                        inTestResult = true;
                        hasTestResult = true;
                        results.clear(); // the last TestResult wins
                        testResultBenchmark = outerBenchmark;
                    } else if (inTestResult && ruleResult == null && isXccdf(xml, "benchmark")) {
                        String id = xml.getAttributeValue(null, "id");
                        if (testResultBenchmark == null) {
                            testResultBenchmark = id != null ? id : xml.getAttributeValue(null, "href");
                        }
                    } else if (inTestResult && isXccdf(xml, "rule-result")) {
                        ruleResult = new String[] {attribute(xml, "idref"), xml.getAttributeValue(null, "severity"),
                            null};
                    } else if (ruleResult != null && isXccdf(xml, "result")) {
                        text = new StringBuilder();
                        textDepth = depth;
                    }
                }
                case XMLStreamConstants.CHARACTERS, XMLStreamConstants.CDATA, XMLStreamConstants.SPACE -> {
                    if (text != null) {
                        text.append(xml.getText());
                    }
                }
                case XMLStreamConstants.END_ELEMENT -> {
                    if (text != null && depth == textDepth) {
                        String value = text.toString().replaceAll("\\s+", " ").strip();
                        text = null;
                        if (ruleResult != null) {
                            ruleResult[2] = value;
                        } else {
                            boolean english = textLang == null || textLang.isEmpty() || textLang.startsWith("en");
                            if (ruleTitle == null || (english && !ruleTitleIsEnglish)) {
                                ruleTitle = value;
                                ruleTitleIsEnglish = english;
                            }
                        }
                    } else if (text == null) {
                        if (ruleId != null && depth == ruleDepth && isXccdf(xml, "Rule")) {
                            ruleInfo.put(ruleId, new RuleInfo(ruleTitle, ruleSeverity));
                            ruleId = null;
                            ruleDepth = -1;
                        } else if (ruleResult != null && isXccdf(xml, "rule-result")) {
                            results.add(ruleResult);
                            ruleResult = null;
                        } else if (inTestResult && isXccdf(xml, "TestResult")) {
                            inTestResult = false;
                        }
                    }
                    depth--;
                }
                default -> {
                    // comments, processing instructions, entity references (none can be defined without a DTD)
                }
            }
        }

        String benchmark = testResultBenchmark != null ? testResultBenchmark : outerBenchmark;
        String benchmarkId = benchmark != null ? benchmark : "";
        List<RuleResult> rules = new ArrayList<>();
        for (String[] r : results) {
            String result = blank(r[2]) ? "unknown" : r[2];
            if ("notselected".equals(result)) {
                continue;
            }
            RuleInfo info = ruleInfo.get(r[0]);
            String title = info != null && !blank(info.title()) ? info.title() : r[0];
            String severity = !blank(r[1]) ? r[1]
                    : info != null && !blank(info.severity()) ? info.severity() : "unknown";
            rules.add(new RuleResult(benchmarkId, r[0], title, severity, result));
        }
        return new Parsed(benchmarkId, rules, hasTestResult);
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    private static String attribute(XMLStreamReader xml, String name) throws XMLStreamException {
        String value = xml.getAttributeValue(null, name);
        if (value == null) {
            throw new XMLStreamException("<" + xml.getLocalName() + "> without " + name, xml.getLocation());
        }
        return value;
    }
}
