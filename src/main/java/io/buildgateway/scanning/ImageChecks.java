package io.buildgateway.scanning;

import io.buildgateway.hostpool.ImageFacts;
import io.buildgateway.policy.ImagePolicy;
import io.buildgateway.policy.ImageRules;
import io.buildgateway.policy.PolicyEvaluator.Evidence;
import io.buildgateway.shared.SecretNames;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The verification of an image's configuration and lineage: pure functions from what the daemon and the image's
 * files say to evidence for the policy.
 */
final class ImageChecks {

    private ImageChecks() {
    }

    private static final Pattern SECRET_VALUE = Pattern.compile(
            "(AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY|gh[pousr]_[A-Za-z0-9]{30,}|xox[baprs]-[A-Za-z0-9-]{10,}"
                    + "|glpat-[A-Za-z0-9_-]{20}|eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,}\\.)");

    /** The image's user resolved through its own /etc/passwd: a uid, or null when it cannot be resolved. */
    record ResolvedUser(String configured, Integer uid, String why) {
    }

    static ResolvedUser resolveUser(String configured, byte[] passwd) {
        String user = configured == null ? "" : configured.trim();
        String name = user.contains(":") ? user.substring(0, user.indexOf(':')) : user;
        if (name.isEmpty()) {
            return new ResolvedUser(user, 0, "no USER: the image runs as root");
        }
        if (name.chars().allMatch(Character::isDigit)) {
            try {
                return new ResolvedUser(user, Integer.parseInt(name), null);
            } catch (NumberFormatException e) {
                return new ResolvedUser(user, null, "uid " + name + " is out of range");
            }
        }
        if (passwd != null) {
            for (String line : new String(passwd, StandardCharsets.UTF_8).split("\n")) {
                String[] f = line.split(":", -1);
                if (f.length >= 3 && f[0].equals(name)) {
                    try {
                        return new ResolvedUser(user, Integer.parseInt(f[2].trim()), null);
                    } catch (NumberFormatException e) {
                        return new ResolvedUser(user, null, "the uid of " + name + " in /etc/passwd is not a number");
                    }
                }
            }
        }
        return new ResolvedUser(user, null, "user '" + name + "' is not defined in the image's /etc/passwd");
    }

    static List<Evidence> configuration(ImageFacts image, Optional<ImageFacts> base, ResolvedUser user,
            Map<String, String> expectedLabels, List<String> requiredLabels, ImagePolicy policy) {
        List<Evidence> out = new ArrayList<>();
        if (user.uid() == null) {
            out.add(new Evidence(ImageRules.USER_ROOT, "the image's user cannot be verified as non-root: " + user.why(),
                    null));
        } else if (user.uid() == 0) {
            out.add(new Evidence(ImageRules.USER_ROOT, user.configured().isEmpty() ? user.why()
                    : "the image's user '" + user.configured() + "' is uid 0 (root)", null));
        }
        for (String port : image.exposedPorts()) {
            String number = port.contains("/") ? port.substring(0, port.indexOf('/')) : port;
            try {
                int p = Integer.parseInt(number);
                if (p < 1024 && !policy.allowedPorts().contains(p)) {
                    out.add(new Evidence(ImageRules.PRIVILEGED_PORT, "the image exposes privileged port " + port
                            + " (allowed: " + policy.allowedPorts() + ")", null));
                }
            } catch (NumberFormatException ignored) {
                // the daemon only reports numeric ports
            }
        }
        Set<String> baseEnv = new HashSet<>(base.map(ImageFacts::env).orElse(List.of()));
        for (String env : image.env()) {
            int eq = env.indexOf('=');
            String name = eq < 0 ? env : env.substring(0, eq);
            String value = eq < 0 ? "" : env.substring(eq + 1);
            if (baseEnv.contains(env) || value.isEmpty()) {
                continue; // the approved base's own environment, or a name with nothing in it
            }
            if (SecretNames.looksSecret(name, value) || SECRET_VALUE.matcher(value).find()) {
                out.add(new Evidence(ImageRules.SECRET_ENV, "environment variable " + name
                        + " looks like a secret (value not shown)", null));
            }
        }
        for (String label : requiredLabels) {
            if (!image.labels().containsKey(label)) {
                out.add(new Evidence(ImageRules.REQUIRED_LABEL, "the image has no label '" + label + "'", null));
            }
        }
        expectedLabels.forEach((k, v) -> {
            if (k.startsWith("io.buildgateway.") && !v.equals(image.labels().get(k))) {
                out.add(new Evidence(ImageRules.GATEWAY_LABELS, "label " + k + " is "
                        + (image.labels().containsKey(k) ? "'" + image.labels().get(k) + "'" : "missing")
                        + ", expected '" + v + "'", null));
            }
        });
        return out;
    }

    /**
     * The image's layers must start with exactly its base's layers. Returns the number of base layers to skip when
     * looking at what the build added (0 when the lineage does not hold: then every layer counts as added).
     */
    static int lineage(ImageFacts image, Optional<ImageFacts> base, String baseRef, List<Evidence> out) {
        if (base.isEmpty()) {
            out.add(new Evidence(ImageRules.BASE_LINEAGE, "the image starts from scratch, not from an approved base"
                    + " image", null));
            return 0;
        }
        List<String> baseLayers = base.get().layers();
        List<String> layers = image.layers();
        if (layers.size() < baseLayers.size() || !layers.subList(0, baseLayers.size()).equals(baseLayers)) {
            int same = 0;
            while (same < Math.min(layers.size(), baseLayers.size()) && layers.get(same).equals(baseLayers.get(same))) {
                same++;
            }
            out.add(new Evidence(ImageRules.BASE_LINEAGE, "the image's layers do not start with the layers of its base "
                    + baseRef + " (" + base.get().id() + "): " + same + " of its " + baseLayers.size()
                    + " layers match", null));
            return 0;
        }
        return baseLayers.size();
    }

    /**
     * The registry digest the base was pulled by: of the base image's repo digests ({@code repo@sha256:…}), the one
     * of the repository the Dockerfile named; a reference pinned by digest is its own answer.
     */
    static String baseDigest(String baseRef, ImageFacts base) {
        if (baseRef == null) {
            return null;
        }
        int at = baseRef.indexOf('@');
        if (at > 0) {
            return baseRef.substring(at + 1);
        }
        int slash = baseRef.lastIndexOf('/');
        int colon = baseRef.lastIndexOf(':');
        String repository = colon > slash ? baseRef.substring(0, colon) : baseRef;
        String fallback = null;
        for (String rd : base.repoDigests()) {
            int sep = rd.indexOf('@');
            if (sep > 0) {
                if (rd.substring(0, sep).equals(repository)) {
                    return rd.substring(sep + 1);
                }
                fallback = fallback == null ? rd.substring(sep + 1) : fallback;
            }
        }
        return fallback;
    }

    /** Evidence from the observations of the layers the build added (those after the base's). */
    static List<Evidence> addedLayers(ImageFacts image, int baseLayers,
            Map<String, LayerAudit.Layer> layers) {
        List<Evidence> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int i = baseLayers; i < image.layers().size(); i++) {
            String layer = image.layers().get(i);
            LayerAudit.Layer read = layers.get(layer);
            if (read == null) {
                out.add(new Evidence(ImageRules.UNREADABLE, "layer " + (i + 1) + " (" + layer
                        + ") was not in the image's save stream", null));
                continue;
            }
            for (LayerAudit.Observation o : read.observations()) {
                if (seen.add(o.kind() + "\0" + o.path())) {
                    out.add(new Evidence(o.kind(), "layer " + (i + 1) + ": " + o.message(), null));
                }
            }
        }
        return out;
    }
}
