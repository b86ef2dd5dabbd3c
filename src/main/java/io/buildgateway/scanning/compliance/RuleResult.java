package io.buildgateway.scanning.compliance;

/**
 * One XCCDF rule-result: the benchmark it belongs to, the rule's id, title and severity ({@code high}, {@code medium},
 * {@code low}, {@code info} or {@code unknown}), and the result exactly as XCCDF words it ({@code pass}, {@code fail},
 * {@code error}, {@code unknown}, {@code notapplicable}, {@code notchecked}, {@code informational}, {@code fixed}).
 */
public record RuleResult(String benchmark, String ruleId, String title, String severity, String result) {

    public boolean failed() {
        return "fail".equals(result);
    }
}
