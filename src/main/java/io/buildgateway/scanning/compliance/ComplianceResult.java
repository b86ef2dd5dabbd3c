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
 * @param composedWith the base evaluation the result was composed with, or null when the whole root filesystem was
 *                     evaluated (docs/scanning.md, "Composed over the base's evaluation")
 */
public record ComplianceResult(Status status, List<RuleResult> rules, List<Arf> arfs, String message,
        ComposedWith composedWith) {

    /** The prefix used for the ARF reports of the base evaluation a composed result points to. */
    public static final String BASE_ARF_PREFIX = "base:";

    /**
     * The base evaluation a composed result rests on: the image's bottom {@code baseLayers} layers, whose evaluation
     * is stored under {@code baseKey} ({@link ComplianceCache#key}), and the content files composed over it.
     */
    public record ComposedWith(int baseLayers, String baseKey, List<String> contents) {
        public ComposedWith {
            contents = List.copyOf(contents);
        }
    }

    public ComplianceResult(Status status, List<RuleResult> rules, List<Arf> arfs, String message) {
        this(status, rules, arfs, message, null);
    }

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

    public ComplianceResult composedWith(ComposedWith base) {
        return new ComplianceResult(status, rules, arfs, message, base);
    }

    /**
     * The results of several evaluations of one image (content files evaluated apart) as one: ERROR when any is an
     * error (its message first), else FAILED when any rule failed, else PASSED; rules and ARFs in the given order.
     */
    public static ComplianceResult combine(List<ComplianceResult> parts) {
        if (parts.size() == 1) {
            return parts.get(0);
        }
        List<RuleResult> rules = parts.stream().flatMap(p -> p.rules().stream()).toList();
        List<Arf> arfs = parts.stream().flatMap(p -> p.arfs().stream()).toList();
        String message = String.join("; ", parts.stream().map(ComplianceResult::message)
                .filter(m -> m != null && !m.isEmpty()).toList());
        Status status = parts.stream().anyMatch(p -> p.status() == Status.ERROR) || parts.isEmpty() ? Status.ERROR
                : parts.stream().anyMatch(p -> p.status() == Status.NOT_RUN) ? Status.NOT_RUN
                : rules.stream().anyMatch(RuleResult::failed) ? Status.FAILED : Status.PASSED;
        return new ComplianceResult(status, rules, arfs, message);
    }

    public List<RuleResult> failedRules() {
        return rules.stream().filter(RuleResult::failed).toList();
    }
}
