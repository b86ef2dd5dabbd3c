package io.buildgateway.policy;

import java.util.List;

/**
 * The verdict on one Dockerfile under one policy: rejected when any unwaived error remains.
 *
 * @param baseImage the image the target stage's chain starts from, after substitution (null for {@code scratch} or
 *        an unresolvable Dockerfile): what post-build verification compares the image's layers with
 * @param pulls every image reference the build may pull, after substitution, in order and each once: FROM bases,
 *        COPY/ADD --from images, RUN --mount from= images, the # syntax= frontend (as the policy's frontends pin it) and those named by ONBUILD
 *        triggers (of earlier stages and of base images' configs); empty for an image-rule verdict. On a passed
 *        evaluation, what the policy approved the daemon to pull: its registry token and the post-build
 *        confinement check use it
 * @param canonicalDockerfile the Dockerfile to send to the daemon instead of the submitted one: written from the
 *        parse the policy checked ({@link io.buildgateway.dockerfile.CanonicalDockerfile}); null when it cannot be
 *        written (then a {@code dockerfile-canonical} error is among the findings and {@code passed} is false) and
 *        for image evaluations
 */
public record Evaluation(boolean passed, String policyDigest, List<Finding> findings, String baseImage,
        List<String> pulls, String canonicalDockerfile, List<String> basePulls) {

    /**
     * @param basePulls the FROM bases among {@code pulls}, as they are pulled (pinned where the policy read them),
     *        recorded with the build ({@code base_pulls}) so that its record says which pulls were bases and which
     *        copy sources (a base and a source of one name by different digests are refused: BuildKit's trace names
     *        both alike); null when not told apart (an image verdict, a lint): then not recorded
     */
    public Evaluation {
        findings = List.copyOf(findings);
        pulls = pulls == null ? List.of() : List.copyOf(pulls);
        basePulls = basePulls == null ? null : List.copyOf(basePulls);
    }

    public Evaluation(boolean passed, String policyDigest, List<Finding> findings, String baseImage,
            List<String> pulls, String canonicalDockerfile) {
        this(passed, policyDigest, findings, baseImage, pulls, canonicalDockerfile, null);
    }

    /**
     * The digest the target's base is built by: the one its reference names, or the one it is pinned to in
     * {@link #pulls} ({@code baseImage@sha256:…}, the manifest whose config was judged); null when neither.
     */
    public String baseDigest() {
        if (baseImage == null) {
            return null;
        }
        int at = baseImage.indexOf("@sha256:");
        if (at > 0) {
            return baseImage.substring(at + 1);
        }
        for (String pull : pulls) {
            if (pull.startsWith(baseImage + "@sha256:")) {
                return pull.substring(baseImage.length() + 1);
            }
        }
        return null;
    }

    public Evaluation(boolean passed, String policyDigest, List<Finding> findings, String baseImage) {
        this(passed, policyDigest, findings, baseImage, List.of(), null);
    }
}
