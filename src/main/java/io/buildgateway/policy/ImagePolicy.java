package io.buildgateway.policy;

import com.google.re2j.Pattern;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The policy's settings for built images ({@code image:} and {@code vulnerabilities:} in config/policy): which paths
 * the build's own layers may not modify or delete, which setuid files and privileged ports are accepted, and the
 * vulnerability threshold with its allowlist.
 */
public record ImagePolicy(List<ProtectedPath> protectedPaths, List<Pattern> setuidAllowed, Set<Integer> allowedPorts,
        VulnerabilityPolicy vulnerabilities) {

    /** A path (glob: {@code *} within a segment, {@code /**} for a whole subtree) and what is refused on it. */
    public record ProtectedPath(String path, boolean refuseModify, boolean refuseDelete) {

        /** Whether {@code file} (absolute, normalised) is this path or, for a subtree, inside it. */
        public boolean covers(String file) {
            return pattern().matcher(file).matches();
        }

        /** Whether deleting directory {@code dir} would remove something this path protects. */
        public boolean under(String dir) {
            String literal = path.contains("*") ? path.substring(0, path.indexOf('*')) : path;
            return literal.startsWith(dir.endsWith("/") ? dir : dir + "/") || covers(dir);
        }

        private Pattern pattern() {
            return globPattern(path);
        }
    }

    /** Severity order of vulnerabilities, most severe first. */
    public enum VulnerabilitySeverity { critical, high, medium, low, unknown, none }

    /** An accepted vulnerability: an advisory id (or alias), optionally one package, until a date. */
    public record Allowance(String id, String packageName, String reason, String approver, LocalDate expires) {
        public boolean covers(String advisory, List<String> aliases, String pkg, LocalDate today) {
            return !today.isAfter(expires) && (id.equals(advisory) || aliases.contains(id))
                    && (packageName == null || packageName.equals(pkg));
        }
    }

    public record VulnerabilityPolicy(VulnerabilitySeverity failOn, boolean onlyWithFix, List<Allowance> allow) {
        /** Whether a vulnerability of this severity (and fix state) blocks, before the allowlist. */
        public boolean blocks(VulnerabilitySeverity severity, boolean fixAvailable) {
            return failOn != VulnerabilitySeverity.none && severity.ordinal() <= failOn.ordinal()
                    && (fixAvailable || !onlyWithFix);
        }
    }

    /** What a Debian or Alpine base's hardening lives in; used when the policy names no protected paths. */
    public static final List<ProtectedPath> DEFAULT_PROTECTED = List.of(
            new ProtectedPath("/etc/passwd", false, true),
            new ProtectedPath("/etc/group", false, true),
            new ProtectedPath("/etc/shadow", false, true),
            new ProtectedPath("/etc/gshadow", false, true),
            new ProtectedPath("/etc/sudoers", true, true),
            new ProtectedPath("/etc/sudoers.d/**", true, true),
            new ProtectedPath("/etc/pam.d/**", true, true),
            new ProtectedPath("/etc/security/**", true, true),
            new ProtectedPath("/etc/ssl/**", true, true),
            new ProtectedPath("/etc/pki/**", true, true),
            new ProtectedPath("/etc/apt/trusted.gpg", true, true),
            new ProtectedPath("/etc/apt/trusted.gpg.d/**", true, true),
            new ProtectedPath("/etc/apk/keys/**", true, true),
            new ProtectedPath("/var/lib/dpkg/status", false, true),
            new ProtectedPath("/var/lib/dpkg/status.d/**", false, true),
            new ProtectedPath("/lib/apk/db/installed", false, true),
            new ProtectedPath("/var/lib/rpm/**", false, true));

    public static final ImagePolicy DEFAULT = new ImagePolicy(DEFAULT_PROTECTED, List.of(), Set.of(),
            new VulnerabilityPolicy(VulnerabilitySeverity.critical, true, List.of()));

    /**
     * A path glob as an RE2 pattern: matched against every file of an image (hostile names), in linear time. DOTALL,
     * so that {@code /**} covers a name with a line break too (java.util.regex's {@code .} stopped at one: a file
     * named {@code "x\ny"} under a protected folder was not covered).
     */
    static Pattern globPattern(String glob) {
        StringBuilder re = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            if (glob.startsWith("/**", i) && i + 3 == glob.length()) {
                re.append("(/.*)?");
                break;
            } else if (c == '*') {
                re.append("[^/]*");
            } else {
                re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(re.toString(), Pattern.DOTALL);
    }

    /** Parses the two sections, merged over files as the rest of the policy: later files replace what they name. */
    static ImagePolicy parse(ImagePolicy previous, Map<String, Object> image, Map<String, Object> vulns,
            String where) {
        List<ProtectedPath> protectedPaths = previous.protectedPaths();
        List<Pattern> setuid = previous.setuidAllowed();
        Set<Integer> ports = previous.allowedPorts();
        for (String key : image.keySet()) {
            if (!Set.of("protectedPaths", "setuidAllowed", "allowedPorts").contains(key)) {
                throw new PolicyDocument.InvalidPolicyException(where + ": image: unknown key '" + key
                        + "' (known: protectedPaths, setuidAllowed, allowedPorts)");
            }
        }
        if (image.containsKey("protectedPaths")) {
            protectedPaths = new ArrayList<>();
            List<?> items = list(image.get("protectedPaths"), where + ": image.protectedPaths");
            for (int i = 0; i < items.size(); i++) {
                protectedPaths.add(protectedPath(items.get(i), where + ": image.protectedPaths[" + i + "]"));
            }
        }
        if (image.containsKey("setuidAllowed")) {
            setuid = new ArrayList<>();
            for (Object o : list(image.get("setuidAllowed"), where + ": image.setuidAllowed")) {
                setuid.add(globPattern(absolute(o, where + ": image.setuidAllowed")));
            }
        }
        if (image.containsKey("allowedPorts")) {
            ports = new TreeSet<>();
            for (Object o : list(image.get("allowedPorts"), where + ": image.allowedPorts")) {
                if (!(o instanceof Integer p) || p < 1 || p > 65535) {
                    throw new PolicyDocument.InvalidPolicyException(where
                            + ": image.allowedPorts: each must be a port number 1-65535");
                }
                ports.add(p);
            }
        }
        return new ImagePolicy(List.copyOf(protectedPaths), List.copyOf(setuid), Set.copyOf(ports),
                vulnerabilities(previous.vulnerabilities(), vulns, where));
    }

    private static VulnerabilityPolicy vulnerabilities(VulnerabilityPolicy previous, Map<String, Object> m,
            String where) {
        for (String key : m.keySet()) {
            if (!Set.of("failOn", "onlyWithFix", "allow").contains(key)) {
                throw new PolicyDocument.InvalidPolicyException(where + ": vulnerabilities: unknown key '" + key
                        + "' (known: failOn, onlyWithFix, allow)");
            }
        }
        VulnerabilitySeverity failOn = previous.failOn();
        if (m.containsKey("failOn")) {
            try {
                failOn = VulnerabilitySeverity.valueOf(String.valueOf(m.get("failOn")).toLowerCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new PolicyDocument.InvalidPolicyException(where
                        + ": vulnerabilities.failOn: must be critical, high, medium, low or none");
            }
        }
        boolean onlyWithFix = previous.onlyWithFix();
        if (m.containsKey("onlyWithFix")) {
            if (!(m.get("onlyWithFix") instanceof Boolean b)) {
                throw new PolicyDocument.InvalidPolicyException(where
                        + ": vulnerabilities.onlyWithFix: must be true or false");
            }
            onlyWithFix = b;
        }
        List<Allowance> allow = new ArrayList<>(previous.allow());
        List<?> items = list(m.get("allow"), where + ": vulnerabilities.allow");
        for (int i = 0; i < items.size(); i++) {
            allow.add(allowance(items.get(i), where + ": vulnerabilities.allow[" + i + "]"));
        }
        return new VulnerabilityPolicy(failOn, onlyWithFix, List.copyOf(allow));
    }

    private static Allowance allowance(Object item, String where) {
        Map<String, Object> m = PolicyDocument.map(item, where);
        for (String key : m.keySet()) {
            if (!Set.of("id", "package", "reason", "approver", "expires").contains(key)) {
                throw new PolicyDocument.InvalidPolicyException(where + ": unknown key '" + key + "'");
            }
        }
        for (String required : List.of("id", "reason", "approver", "expires")) {
            if (m.get(required) == null || m.get(required).toString().isBlank()) {
                throw new PolicyDocument.InvalidPolicyException(where + ": an allowance needs '" + required + "'");
            }
        }
        LocalDate expires = PolicyDocument.date(m.get("expires"), where + ".expires");
        return new Allowance(m.get("id").toString(), m.get("package") == null ? null : m.get("package").toString(),
                m.get("reason").toString(), m.get("approver").toString(), expires);
    }

    private static ProtectedPath protectedPath(Object item, String where) {
        if (item instanceof String s) {
            return new ProtectedPath(absolute(s, where), true, true);
        }
        Map<String, Object> m = PolicyDocument.map(item, where);
        for (String key : m.keySet()) {
            if (!Set.of("path", "refuse").contains(key)) {
                throw new PolicyDocument.InvalidPolicyException(where + ": unknown key '" + key
                        + "' (known: path, refuse)");
            }
        }
        String path = absolute(m.get("path"), where + ".path");
        List<?> refuse = m.containsKey("refuse") ? list(m.get("refuse"), where + ".refuse") : List.of("modify",
                "delete");
        for (Object r : refuse) {
            if (!"modify".equals(r) && !"delete".equals(r)) {
                throw new PolicyDocument.InvalidPolicyException(where + ".refuse: each must be modify or delete");
            }
        }
        return new ProtectedPath(path, refuse.contains("modify"), refuse.contains("delete"));
    }

    private static String absolute(Object value, String where) {
        if (!(value instanceof String s) || !s.startsWith("/")) {
            throw new PolicyDocument.InvalidPolicyException(where + ": must be an absolute path");
        }
        return s.length() > 1 && s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    private static List<?> list(Object value, String where) {
        if (value == null) {
            return List.of();
        }
        if (value instanceof List<?> l) {
            return l;
        }
        throw new PolicyDocument.InvalidPolicyException(where + ": must be a list");
    }
}
