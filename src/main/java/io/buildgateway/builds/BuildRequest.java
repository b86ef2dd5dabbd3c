package io.buildgateway.builds;

import io.buildgateway.shared.ImageName;
import io.buildgateway.shared.Problem;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The query parameters of {@code POST /api/v1/builds}, validated: every problem is reported at once, as
 * {@code errors: [{field, message}]}. Unknown parameters are refused, so that a typo is not silently ignored.
 */
record BuildRequest(ImageName image, String tag, String dockerfile, String target, Map<String, String> buildArgs,
        Map<String, String> labels, boolean noCache, java.util.UUID pinFetchesFrom) {

    BuildRequest(ImageName image, String tag, String dockerfile, String target, Map<String, String> buildArgs,
            Map<String, String> labels, boolean noCache) {
        this(image, tag, dockerfile, target, buildArgs, labels, noCache, null);
    }

    static final Set<String> BUILD_PARAMETERS = Set.of("image", "tag", "dockerfile", "target", "buildArg", "label",
            "noCache", "pinFetchesFrom");
    static final Set<String> LINT_PARAMETERS = Set.of("image", "dockerfile", "target", "buildArg", "shellcheck");
    static final String GATEWAY_LABEL_PREFIX = "io.buildgateway.";
    private static final Pattern ARG_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
    private static final Pattern TARGET = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    static BuildRequest parse(Map<String, String[]> parameters, int maxArgs, Set<String> allowed,
            boolean imageRequired) {
        return of(BuildQuery.of(parameters, allowed), maxArgs, imageRequired);
    }

    /** The query validated: a 400 problem listing every invalid parameter, or the request. */
    static BuildRequest of(BuildQuery query, int maxArgs, boolean imageRequired) {
        List<Map<String, String>> errors = new ArrayList<>();
        for (String name : query.unknown()) {
            errors.add(error(name, "unknown parameter"));
        }
        ImageName image = null;
        String imageValue = single(query, "image", query.image(), errors);
        if (imageValue == null) {
            if (imageRequired) {
                errors.add(error("image", "required: <team>/<name>"));
            }
        } else {
            try {
                image = ImageName.parse(imageValue);
            } catch (IllegalArgumentException e) {
                errors.add(error("image", e.getMessage()));
            }
        }
        String tag = single(query, "tag", query.tag(), errors);
        if (tag == null) {
            tag = "latest";
        } else if (!ImageName.isValidTag(tag)) {
            errors.add(error("tag", "must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}"));
        }
        String dockerfile = single(query, "dockerfile", query.dockerfile(), errors);
        if (dockerfile == null) {
            dockerfile = "Dockerfile";
        }
        String target = single(query, "target", query.target(), errors);
        if (target != null && !TARGET.matcher(target).matches()) {
            errors.add(error("target", "must be a stage name [A-Za-z0-9][A-Za-z0-9._-]{0,127}"));
        }
        Map<String, String> buildArgs = pairs(query.buildArg(), "buildArg", maxArgs, errors, true);
        Map<String, String> labels = pairs(query.label(), "label", maxArgs, errors, false);
        boolean noCache = false;
        String noCacheValue = single(query, "noCache", query.noCache(), errors);
        if (noCacheValue != null) {
            if (noCacheValue.equals("true") || noCacheValue.equals("false")) {
                noCache = Boolean.parseBoolean(noCacheValue);
            } else {
                errors.add(error("noCache", "must be true or false"));
            }
        }
        java.util.UUID pinFetchesFrom = null;
        String pinValue = single(query, "pinFetchesFrom", query.pinFetchesFrom(), errors);
        if (pinValue != null) {
            try {
                if (!pinValue.matches("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")) {
                    throw new IllegalArgumentException();
                }
                pinFetchesFrom = java.util.UUID.fromString(pinValue);
            } catch (IllegalArgumentException e) {
                errors.add(error("pinFetchesFrom", "must be the id (UUID) of an earlier build of the same team"));
            }
        }
        if (!errors.isEmpty()) {
            throw Problem.badRequest("invalid-parameter", errors.size() == 1
                    ? errors.get(0).get("field") + ": " + errors.get(0).get("message")
                    : "the request has " + errors.size() + " invalid parameters").with("errors", errors);
        }
        return new BuildRequest(image, tag, dockerfile, target, buildArgs, labels, noCache, pinFetchesFrom);
    }

    private static String single(BuildQuery query, String name, String value, List<Map<String, String>> errors) {
        if (query.repeated().contains(name)) {
            errors.add(error(name, "given more than once"));
        }
        return value;
    }

    private static Map<String, String> pairs(List<String> values, String field, int max,
            List<Map<String, String>> errors, boolean argNames) {
        Map<String, String> out = new LinkedHashMap<>();
        if (values == null) {
            return out;
        }
        if (values.size() > max) {
            errors.add(error(field, "at most " + max + " allowed"));
            return out;
        }
        for (String value : values) {
            int eq = value.indexOf('=');
            if (eq <= 0) {
                errors.add(error(field, "must be KEY=VALUE"));
                continue;
            }
            String key = value.substring(0, eq);
            String v = value.substring(eq + 1);
            if (argNames && !ARG_NAME.matcher(key).matches()) {
                // not quoted: what came before the '=' may be a value typed where the name belongs (a token with
                // base64 padding, buildArg=<secret>=), and the refusal is echoed and kept in the audit trail
                errors.add(error(field, "a build arg name is a letter or '_' then letters, digits or '_' (the name"
                        + " given is not quoted: it may be a value)"));
            } else if (!argNames && (key.length() > 255 || key.chars().anyMatch(Character::isISOControl))) {
                errors.add(error(field, "label keys are at most 255 printable characters"));
            } else if (!argNames && key.startsWith(GATEWAY_LABEL_PREFIX)) {
                errors.add(error(field, "labels under " + GATEWAY_LABEL_PREFIX + " are set by the gateway only"));
            } else if (!argNames && v.chars().anyMatch(Character::isISOControl)) {
                errors.add(error(field, "'" + key + "' has control characters in its value"));
            } else if (v.indexOf('\0') >= 0) {
                // a build arg may carry newlines and tabs, but no NUL: no Dockerfile word holds one, and a value
                // substituted into a recorded field (FROM ${B}: the base) could not be stored (the value is not quoted)
                errors.add(error(field, "'" + key + "' has a NUL character in its value"));
            } else if (v.length() > 4096) {
                errors.add(error(field, "'" + key + "' has a value longer than 4096 characters"));
            } else if (out.containsKey(key)) {
                errors.add(error(field, "'" + key + "' given more than once"));
            } else {
                out.put(key, v);
            }
        }
        return out;
    }

    private static Map<String, String> error(String field, String message) {
        return Map.of("field", field, "message", message);
    }
}
