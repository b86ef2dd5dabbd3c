package io.buildgateway.policy;

import java.util.List;

/**
 * The verdict on one Dockerfile under one policy: rejected when any unwaived error remains.
 *
 * @param baseImage the image the target stage's chain starts from, after substitution (null for {@code scratch} or
 *        an unresolvable Dockerfile): what post-build verification compares the image's layers with
 * @param canonicalDockerfile the Dockerfile to send to the daemon instead of the submitted one: written from the
 *        parse the policy checked ({@link io.buildgateway.dockerfile.CanonicalDockerfile}); null when it cannot be
 *        written (then a {@code dockerfile-canonical} error is among the findings and {@code passed} is false) and
 *        for image evaluations
 */
public record Evaluation(boolean passed, String policyDigest, List<Finding> findings, String baseImage,
        String canonicalDockerfile) {

    public Evaluation {
        findings = List.copyOf(findings);
    }
}
