package io.buildgateway.scanning.compliance;

import java.util.List;

/**
 * The outcome of a compliance evaluation of one root filesystem against every content file.
 *
 * <ul>
 *   <li>{@code PASSED}: every content file was evaluated, no rule failed or errored, and at least one rule of each
 *       file passed.</li>
 *   <li>{@code FAILED}: everything was evaluated and at least one rule failed.</li>
 *   <li>{@code ERROR}: at least one content file could not be evaluated completely (oscap error or timeout, unreadable
 *       results, a rule with result {@code error} or {@code unknown}, no rule evaluated, no content). Takes precedence
 *       over {@code FAILED}: {@link #rules()} still lists the failures of the other files.</li>
 *   <li>{@code NOT_RUN}: oscap is not available; nothing was evaluated.</li>
 * </ul>
 *
 * @param rules   the rule results of every content file, in file order; rules the profile does not select are left out
 * @param arfs    one ARF (Asset Reporting Format 1.1) report per content file that produced one, in file order
 * @param message a one-line summary for people: counts, the failed rules, or what went wrong
 */
public record ComplianceResult(Status status, List<RuleResult> rules, List<Arf> arfs, String message) {

    public enum Status { PASSED, FAILED, ERROR, NOT_RUN }

    /**
     * The ARF report of one content file, as oscap wrote it ({@code --results-arf}).
     *
     * @param content the content file's name, e.g. {@code gateway-baseline-xccdf.xml}
     * @param xml     the report's bytes (UTF-8 XML); not copied, do not modify
     */
    public record Arf(String content, byte[] xml) {
    }

    public ComplianceResult {
        rules = List.copyOf(rules);
        arfs = List.copyOf(arfs);
    }

    public static ComplianceResult notRun(String message) {
        return new ComplianceResult(Status.NOT_RUN, List.of(), List.of(), message);
    }

    public List<RuleResult> failedRules() {
        return rules.stream().filter(RuleResult::failed).toList();
    }
}
