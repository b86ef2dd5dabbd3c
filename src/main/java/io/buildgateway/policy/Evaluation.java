package io.buildgateway.policy;

import java.util.List;

/** The verdict on one Dockerfile under one policy: rejected when any unwaived error remains. */
public record Evaluation(boolean passed, String policyDigest, List<Finding> findings) {

    public Evaluation {
        findings = List.copyOf(findings);
    }
}
