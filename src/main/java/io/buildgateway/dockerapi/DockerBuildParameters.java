package io.buildgateway.dockerapi;

import com.google.re2j.Pattern;
import io.buildgateway.shared.Problem;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The query of the Engine API's {@code POST /build} as the Docker CLI's classic builder sends it, turned into the
 * parameters of {@code POST /api/v1/builds}, or refused. A pure function of the query, the gateway's registry
 * address and the host platform (unit-tested without a server).
 *
 * <p>The CLI sends every option, set or not ({@code networkmode=default}, {@code cpusetcpus=},
 * {@code ulimits=null}, {@code memory=0}, ...): an option at its CLI default is no request and passes; any other
 * value of a host-level option is refused with the CLI flag's name, never passed on (the gateway alone decides
 * network, resources, security options and isolation of its build hosts). Parameters the Engine API does not
 * define are ignored, as the daemon ignores them. A refusal names the option and says what is wrong; it never quotes
 * the value (echoed to the client and kept in the audit trail, it could be a pasted credential), except a
 * {@code --platform} made of known os/arch/variant words.
 */
final class DockerBuildParameters {

    /** A refused request: every reason at once, in the CLI's own vocabulary. */
    static final class Refused extends RuntimeException {
        private final List<String> reasons;

        Refused(List<String> reasons) {
            super(String.join("; ", reasons), null, false, false);
            this.reasons = List.copyOf(reasons);
        }

        List<String> reasons() {
            return reasons;
        }
    }

    /**
     * The request for the gateway: {@code parameters} in the form {@code BuildSubmissions.submit} takes, whether the
     * CLI asked for quiet output ({@code -q}), and the reference as the user named it (for messages).
     */
    record Parsed(Map<String, String[]> parameters, boolean quiet, String reference) {
    }

    /** Host-level options, each with the CLI flag that sets it and the values that mean "not set". */
    private record HostOption(String parameter, String flag, List<String> unset) {
    }

    private static final List<HostOption> HOST_OPTIONS = List.of(
            new HostOption("networkmode", "--network", List.of("", "default")),
            new HostOption("cpusetcpus", "--cpuset-cpus", List.of("")),
            new HostOption("cpusetmems", "--cpuset-mems", List.of("")),
            new HostOption("cpushares", "--cpu-shares", List.of("", "0")),
            new HostOption("cpuquota", "--cpu-quota", List.of("", "0")),
            new HostOption("cpuperiod", "--cpu-period", List.of("", "0")),
            new HostOption("memory", "--memory", List.of("", "0")),
            new HostOption("memswap", "--memory-swap", List.of("", "0")),
            new HostOption("shmsize", "--shm-size", List.of("", "0")),
            new HostOption("cgroupparent", "--cgroup-parent", List.of("")),
            new HostOption("securityopt", "--security-opt", List.of("")),
            new HostOption("isolation", "--isolation", List.of("", "default")),
            new HostOption("extrahosts", "--add-host", List.of("")),
            new HostOption("remote", "a remote context (URL or Git repository)", List.of("")),
            new HostOption("ulimits", "--ulimit", List.of("", "null", "[]", "{}")),
            new HostOption("outputs", "--output", List.of("", "null", "[]")),
            new HostOption("cachefrom", "--cache-from", List.of("", "null", "[]")),
            new HostOption("squash", "--squash", List.of("", "0", "false")));

    /**
     * A platform the refusal may quote: {@code os/arch[/variant]} of Go's (and so the OCI image spec's) names, any
     * case, read by RE2/J (the value is the client's). A value of fixed words holds no secret; every other value is
     * refused without being quoted.
     */
    private static final Pattern KNOWN_PLATFORM = Pattern.compile("(?i)(?:linux|windows|darwin|freebsd|netbsd|openbsd"
            + "|solaris|illumos|aix|plan9|dragonfly|android|ios|js|wasip1)/(?:amd64|arm64|arm|386|ppc64le|ppc64|s390x"
            + "|riscv64|mips64le|mips64|mipsle|mips|loong64|wasm)(?:/v[1-9])?");

    /** buildargs and labels with a key given twice are refused, not read as the last one (the CLI sends a map). */
    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(tools.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private DockerBuildParameters() {
    }

    /**
     * The parameters read as one value: given twice, they are refused, not read as one of them (dockerd's Go
     * {@code FormValue} takes the first, this class used to take the last; a second {@code version} or
     * {@code platform} slipped past the check of the first; a review's find, 2026-12-07).
     */
    static final List<String> SINGLE = List.of("platform", "version", "dockerfile", "target", "buildargs", "labels",
            "nocache", "q");

    static Parsed parse(Map<String, String[]> query, String registry, String hostPlatform) {
        List<String> refused = new ArrayList<>();
        for (String parameter : SINGLE) {
            String[] values = query.get(parameter);
            if (values != null && values.length > 1) {
                refused.add(parameter + " is given more than once (" + values.length + " times): give it once");
            }
        }
        for (HostOption option : HOST_OPTIONS) {
            String[] values = query.get(option.parameter());
            if (values == null) {
                continue;
            }
            for (String value : values) {
                if (!option.unset().contains(value.trim())) {
                    // The option is named, its value never quoted: a remote context is a URL that can hold a
                    // credential (https://x-access-token:ghp_...@github.com/...), and the refusal is echoed to the
                    // client and kept in the hash-chained, exported audit trail.
                    refused.add(option.flag() + " (" + option.parameter()
                            + ") is not accepted: the gateway decides how its build hosts run builds");
                    break;
                }
            }
        }
        String platform = single(query, "platform");
        if (platform != null && !platform.isBlank() && !platform.equalsIgnoreCase(hostPlatform)) {
            // Quoted only when it is a platform of known words (linux/arm64/v8): anything else the user typed may be
            // anything (a pasted token), and the refusal is echoed to the client and kept in the audit trail.
            refused.add(KNOWN_PLATFORM.matcher(platform).matches()
                    ? "--platform " + platform + " is not accepted: the build hosts build " + hostPlatform + " only"
                    : "--platform (platform) is not accepted: its value is no platform of the build hosts, which build "
                            + hostPlatform + " only (a value that is no known os/arch[/variant] is not quoted)");
        }
        String version = single(query, "version");
        if ("2".equals(version)) {
            refused.add("BuildKit is not served here: run the classic builder (DOCKER_BUILDKIT=0) or use `gw build`");
        }
        String[] tags = query.get("t");
        List<String> names = new ArrayList<>();
        if (tags != null) {
            for (String t : tags) {
                if (!t.isBlank()) {
                    names.add(t.strip()); // strip, as isBlank: trim also takes NULs and controls, leaving ""
                }
            }
        }
        Map<String, String[]> out = new LinkedHashMap<>();
        String reference = null;
        if (names.isEmpty()) {
            refused.add("name the image: -t <team>/<name>[:tag] (the gateway pushes every build to " + registry
                    + ")");
        } else if (names.size() > 1) {
            refused.add("give one -t: the gateway builds and pushes one tag per build (given: " + names.size() + ")");
        } else {
            reference = names.get(0);
            String name = stripRegistry(reference, registry, refused);
            if (name != null) {
                int slash = name.lastIndexOf('/');
                int colon = name.lastIndexOf(':');
                if (name.contains("@")) {
                    refused.add("-t (t) names a digest ('@'): a digest cannot be a build's name; give "
                            + "<team>/<name>[:tag]");
                } else if (colon > slash) {
                    out.put("image", new String[] {name.substring(0, colon)});
                    out.put("tag", new String[] {name.substring(colon + 1)});
                } else {
                    out.put("image", new String[] {name});
                }
            }
        }
        String dockerfile = single(query, "dockerfile");
        if (dockerfile != null && !dockerfile.isBlank()) {
            out.put("dockerfile", new String[] {dockerfile});
        }
        String target = single(query, "target");
        if (target != null && !target.isBlank()) {
            out.put("target", new String[] {target});
        }
        List<String> args = pairs(query, "buildargs", "--build-arg", refused);
        if (!args.isEmpty()) {
            out.put("buildArg", args.toArray(String[]::new));
        }
        List<String> labels = pairs(query, "labels", "--label", refused);
        if (!labels.isEmpty()) {
            out.put("label", labels.toArray(String[]::new));
        }
        if (truthy(single(query, "nocache"))) {
            out.put("noCache", new String[] {"true"});
        }
        if (!refused.isEmpty()) {
            throw new Refused(refused);
        }
        return new Parsed(out, truthy(single(query, "q")), reference);
    }

    /**
     * {@code team/name[:tag]}, or the same under the gateway's registry address (where it pushes): any other
     * registry host is refused, as the gateway pushes nowhere else.
     */
    private static String stripRegistry(String reference, String registry, List<String> refused) {
        // What is left after the gateway's own address is judged too: "<registry>/other.host:5000/team/app" names
        // another registry's host as its first part, as the CLI would read it (found while writing the fuzz
        // target's properties; the name pattern of the submission refused it later, with a less helpful message).
        String name = reference.startsWith(registry + "/") ? reference.substring(registry.length() + 1) : reference;
        int slash = name.indexOf('/');
        String first = slash < 0 ? "" : name.substring(0, slash);
        if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
            refused.add("-t (t) names another registry (its first part is a host: it has '.' or ':' or is localhost):"
                    + " the gateway pushes to " + registry + " only; name the image <team>/<name>[:tag] or " + registry
                    + "/<team>/<name>[:tag]");
            return null;
        }
        return name;
    }

    /** A JSON object of the CLI ({@code {"K":"V"}}; a null value is an arg the CLI's environment did not set). */
    private static List<String> pairs(Map<String, String[]> query, String parameter, String flag,
            List<String> refused) {
        String value = single(query, parameter);
        List<String> out = new ArrayList<>();
        if (value == null || value.isBlank() || value.equals("null")) {
            return out;
        }
        JsonNode node;
        try {
            node = JSON.readTree(value);
        } catch (JacksonException e) {
            String duplicate = duplicateKey(e);
            refused.add(duplicate != null ? parameter + " gives " + flag + " " + Problem.quote(duplicate)
                    + " more than once" : parameter + " is not a JSON object of " + flag + " values");
            return out;
        }
        if (node == null || !node.isObject()) {
            refused.add(parameter + " is not a JSON object of " + flag + " values");
            return out;
        }
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (e.getValue().isNull()) {
                continue;
            }
            if (!e.getValue().isString()) {
                refused.add(flag + " " + Problem.quote(e.getKey()) + ": the value must be a string");
                continue;
            }
            if (e.getKey().indexOf('=') >= 0) {
                // KEY=VALUE is how the submission reads it: "A=B":"c" would become the arg A with the value B=c, one
                // the caller never named (not quoted: the part after '=' was meant as a name, but may be anything)
                refused.add(flag + " names a key with '=' in it: a " + (flag.equals("--label") ? "label key"
                        : "build arg name") + " has none");
                continue;
            }
            out.add(e.getKey() + "=" + e.getValue().asString());
        }
        return out;
    }

    /** The key a parse failure found twice (jackson-core's STRICT_DUPLICATE_DETECTION), or null. */
    private static String duplicateKey(JacksonException e) {
        String message = e.getOriginalMessage();
        String prefix = "Duplicate Object property \"";
        return message != null && message.startsWith(prefix) && message.endsWith("\"")
                ? message.substring(prefix.length(), message.length() - 1) : null;
    }

    private static boolean truthy(String value) {
        return value != null && (value.equals("1") || value.equalsIgnoreCase("true"));
    }

    private static String single(Map<String, String[]> query, String name) {
        String[] values = query.get(name);
        return values == null || values.length == 0 ? null : values[values.length - 1];
    }


}
