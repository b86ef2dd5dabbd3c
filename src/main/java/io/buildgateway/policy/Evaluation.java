package io.buildgateway.policy;

import java.util.List;

/**
 * The verdict on one Dockerfile under one policy: rejected when any unwaived error remains.
 *
 * @param baseImage the image the target stage's chain starts from, after substitution (null for {@code scratch} or
 *        an unresolvable Dockerfile): what post-build verification compares the image's layers with
 */
public record Evaluation(boolean passed, String policyDigest, List<Finding> findings, String baseImage) {

    public Evaluation {
        findings = List.copyOf(findings);
    }
}
