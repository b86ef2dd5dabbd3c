package io.buildgateway.policy;

import java.util.List;

/**
 * The rules that judge a built image rather than its Dockerfile: post-build verification (configuration, lineage
 * against the approved base, what the build's own layers add or remove), vulnerabilities and compliance. They share
 * the registry, severities, team overrides and waivers of the Dockerfile rules; the scanning module finds the
 * evidence and {@link PolicyEvaluator#judge} applies the policy to it.
 */
public final class ImageRules {

    private ImageRules() {
    }

    private static final Finding.Severity E = Finding.Severity.error;
    private static final Finding.Severity W = Finding.Severity.warning;

    public static final String USER_ROOT = "image-user-root";
    public static final String PRIVILEGED_PORT = "image-privileged-port";
    public static final String SECRET_ENV = "image-secret-env";
    public static final String REQUIRED_LABEL = "image-required-label";
    public static final String GATEWAY_LABELS = "image-gateway-labels";
    public static final String BASE_LINEAGE = "image-base-lineage";
    public static final String SETUID_ADDED = "layer-setuid-added";
    public static final String PROTECTED_PATH = "layer-protected-path";
    public static final String WORLD_WRITABLE = "layer-world-writable";
    public static final String PRIVATE_KEY = "layer-credential-file";
    public static final String VULNERABILITY = "image-vulnerability";
    public static final String COMPLIANCE = "image-compliance";
    public static final String UNREADABLE = "image-unreadable";

    static final List<RuleInfo> ALL = List.of(
            new RuleInfo(USER_ROOT, E, "image", "The image's configured user resolves to root",
                    "Verified on the built image, not the Dockerfile: the configured user is looked up in the image's "
                            + "own /etc/passwd, so a name that maps to uid 0, a numeric 0, an empty user or a user the "
                            + "image does not define all count as root. The Dockerfile rule cannot see an image whose "
                            + "user comes from its base or from an ONBUILD trigger.",
                    List.of("CIS-4.1", "DL3002", "DS002", "CKV_DOCKER_8")),
            new RuleInfo(PRIVILEGED_PORT, E, "image", "The image exposes a privileged port (below 1024)",
                    "A non-root process cannot bind ports below 1024 without extra capabilities, so exposing one "
                            + "implies root or NET_BIND_SERVICE at run time. Ports the policy lists under "
                            + "image.allowedPorts are accepted.",
                    List.of("CIS-5.8")),
            new RuleInfo(SECRET_ENV, E, "image", "An environment variable of the image looks like a secret",
                    "Environment variables are stored in the image configuration in clear and shown by every "
                            + "inspect; a secret-looking name or value baked in (from a base, a build arg or ENV) is "
                            + "readable by anyone who can pull the image. A name that says where a secret is kept "
                            + "(POSTGRES_PASSWORD_FILE=/run/secrets/db: …_FILE, …_PATH, …_DIR with a path) is not "
                            + "one.",
                    List.of("CIS-4.10", "DS031")),
            new RuleInfo(REQUIRED_LABEL, W, "image", "A label the policy requires is missing from the image",
                    "Checked on the image (labels can come from the base), after the gateway's label step.",
                    List.of("DL3049")),
            new RuleInfo(GATEWAY_LABELS, E, "image", "The gateway's own labels are missing or wrong",
                    "Every pushed image carries its build id, requester, context digest and policy digest as labels "
                            + "so that an image found anywhere can be traced back to its build record. A build that "
                            + "manages to drop or overwrite them is refused.",
                    List.of()),
            new RuleInfo(BASE_LINEAGE, E, "image", "The image's first layers are not the approved base's layers",
                    "The policy approves the base by reference; verification proves it: the image's layer list "
                            + "must start with exactly the layers of the base the final stage names, as the build host "
                            + "pulled it. An image that starts from scratch, or whose build replaced the base's "
                            + "content by indirection, has no approved lineage.",
                    List.of("CIS-4.2")),
            new RuleInfo(SETUID_ADDED, E, "image", "A layer the build added contains a setuid or setgid file",
                    "Setuid and setgid binaries are how a process gains privileges it was not started with. The "
                            + "approved base's are accepted (the compliance content allowlists them); a build adding "
                            + "one is refused unless the policy lists its path under image.setuidAllowed.",
                    List.of("CIS-4.8")),
            new RuleInfo(PROTECTED_PATH, E, "image",
                    "A layer the build added modifies, deletes or whites out a protected path",
                    "The approved base's hardening lives in files: sudoers, PAM, the CA store, the package database. "
                            + "A build that modifies or deletes them (including through a whiteout or an opaque "
                            + "directory) undoes the hardening or hides installed packages from the SBOM. Which paths "
                            + "are protected, and against what, is the policy's image.protectedPaths.",
                    List.of("CIS-4.8")),
            new RuleInfo(WORLD_WRITABLE, E, "image", "A layer the build added contains a world-writable file",
                    "World-writable files and directories (without the sticky bit, outside temporary folders) "
                            + "let any process in the container change what another runs or reads.",
                    List.of()),
            new RuleInfo(PRIVATE_KEY, E, "image", "A layer the build added contains a private key or credential file",
                    "Private keys, cloud and registry credentials, .netrc, .pgpass, git credentials and keystores in "
                            + "a layer are readable by anyone who can pull the image, even when a later layer deletes "
                            + "them.",
                    List.of("CIS-4.10", "DS031")),
            new RuleInfo(VULNERABILITY, E, "image", "A known vulnerability at or above the policy's threshold",
                    "Packages in the image's SBOM are matched against the advisories the security team imports "
                            + "(OSV). A vulnerability at or above vulnerabilities.failOn (with a fix available, when "
                            + "onlyWithFix is set) blocks the push unless it is on the policy's allowlist, which has "
                            + "a reason, an approver and an expiry.",
                    List.of("CIS-4.4")),
            new RuleInfo(COMPLIANCE, E, "image", "An OpenSCAP compliance rule failed on the image's filesystem",
                    "The company baseline (config/compliance) is evaluated with oscap against the image's root "
                            + "filesystem. A failed rule is a finding; compliance that could not run is reported as "
                            + "not run, never as passed.",
                    List.of()),
            new RuleInfo(UNREADABLE, E, "image", "The image could not be verified",
                    "An image the gateway cannot read completely (a broken layer, an export that failed) is not "
                            + "pushed: what was not verified does not pass.",
                    List.of()));
}
