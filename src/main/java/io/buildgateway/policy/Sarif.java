package io.buildgateway.policy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A lint result as SARIF 2.1.0, the format code-scanning tools (GitLab, GitHub, SonarQube, DefectDojo) read: one run
 * with the rule registry as the driver's rules, one result per finding (waived ones carry an external
 * suppression), and the policy digest and verdict as run properties.
 */
public final class Sarif {

    public static final String MEDIA_TYPE = "application/sarif+json";

    private Sarif() {
    }

    public static Map<String, Object> of(Evaluation evaluation, String artifact) {
        List<Map<String, Object>> rules = new ArrayList<>();
        for (RuleInfo r : PolicyEvaluator.registry()) {
            Map<String, Object> rule = new LinkedHashMap<>();
            rule.put("id", r.id());
            rule.put("name", r.id());
            rule.put("shortDescription", Map.of("text", r.title()));
            rule.put("fullDescription", Map.of("text", r.rationale()));
            rule.put("defaultConfiguration", Map.of("level", level(r.severity())));
            rule.put("properties", Map.of("tags", List.of("security", r.category()), "references", r.references()));
            rules.add(rule);
        }
        // ShellCheck's codes are open-ended: each one found gets a rule entry of its own, pointing at its wiki page.
        java.util.Set<String> shellcheck = new java.util.TreeSet<>();
        for (Finding f : evaluation.findings()) {
            if (ShellCheck.RULE_ID.matcher(f.rule()).matches()) {
                shellcheck.add(f.rule());
            }
        }
        for (String id : shellcheck) {
            String code = id.substring("shellcheck-".length());
            Map<String, Object> rule = new LinkedHashMap<>();
            rule.put("id", id);
            rule.put("name", id);
            rule.put("shortDescription", Map.of("text", "ShellCheck " + code + " in a RUN script"));
            rule.put("helpUri", "https://www.shellcheck.net/wiki/" + code);
            rule.put("properties", Map.of("tags", List.of("shell", "shellcheck")));
            rules.add(rule);
        }
        List<Map<String, Object>> results = new ArrayList<>();
        for (Finding f : evaluation.findings()) {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("ruleId", f.rule());
            result.put("level", level(f.severity()));
            result.put("message", Map.of("text", f.message()));
            Map<String, Object> physical = new LinkedHashMap<>();
            physical.put("artifactLocation", Map.of("uri", artifact));
            if (f.line() != null) {
                physical.put("region", Map.of("startLine", f.line()));
            }
            result.put("locations", List.of(Map.of("physicalLocation", physical)));
            if (Boolean.TRUE.equals(f.waived())) {
                result.put("suppressions", List.of(Map.of("kind", "external",
                        "justification", "waived in the policy")));
            }
            results.add(result);
        }
        Map<String, Object> driver = new LinkedHashMap<>();
        driver.put("name", "build-gateway");
        driver.put("informationUri", "https://build-gateway.dev/docs/policy-rules");
        driver.put("semanticVersion", "1.0.0");
        driver.put("rules", rules);
        Map<String, Object> run = new LinkedHashMap<>();
        run.put("tool", Map.of("driver", driver));
        run.put("results", results);
        run.put("properties", Map.of("policyDigest", evaluation.policyDigest(), "passed", evaluation.passed()));
        Map<String, Object> sarif = new LinkedHashMap<>();
        sarif.put("$schema", "https://json.schemastore.org/sarif-2.1.0.json");
        sarif.put("version", "2.1.0");
        sarif.put("runs", List.of(run));
        return sarif;
    }

    private static String level(Finding.Severity severity) {
        return switch (severity) {
            case error -> "error";
            case warning -> "warning";
            case info -> "note";
        };
    }
}
