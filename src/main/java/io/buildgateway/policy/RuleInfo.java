package io.buildgateway.policy;

import java.util.List;

/**
 * A built-in rule as the registry describes it: stable id, default severity, a one-line title, a paragraph of
 * rationale, and the ids of the rules in other tools (hadolint DLxxxx, Trivy DS-xxxx, Checkov CKV_DOCKER_x,
 * BuildKit checks, CIS Docker 4.x) that it covers. {@code docs/policy-rules.md} is generated from these.
 */
public record RuleInfo(String id, Finding.Severity severity, String category, String title, String rationale,
        List<String> references) {
}
