package io.buildgateway.policy;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The policy as code, read from {@code config/policy/*.yaml}: which images may be pulled, the failure threshold,
 * severity overrides (for everyone and per team), required labels, and waivers. Parsing is strict: an unknown key, a
 * wrong type or a waiver without reason, approver or expiry is an error that names the file and the key, and the
 * previous policy stays in force.
 */
public record PolicyDocument(
        Finding.Severity failOn,
        List<ImageRule> approvedImages,
        List<com.google.re2j.Pattern> deniedImages,
        boolean requireDigest,
        List<String> requiredLabels,
        boolean requireHealthcheck,
        Map<String, RuleSetting> rules,
        Map<String, TeamSettings> teams,
        List<Waiver> waivers,
        List<CustomRules.CustomRule> customRules,
        Set<String> publicBuildArgs,
        ImagePolicy image,
        String digest,
        String source,
        boolean shellcheck,
        List<String> frontends,
        List<io.buildgateway.shared.UrlPrefix> egress) {

    PolicyDocument(Finding.Severity failOn, List<ImageRule> approvedImages, List<com.google.re2j.Pattern> deniedImages,
            boolean requireDigest, List<String> requiredLabels, boolean requireHealthcheck, Map<String, RuleSetting> rules,
            Map<String, TeamSettings> teams, List<Waiver> waivers, List<CustomRules.CustomRule> customRules,
            Set<String> publicBuildArgs, ImagePolicy image, String digest, String source, boolean shellcheck,
            List<String> frontends) {
        this(failOn, approvedImages, deniedImages, requireDigest, requiredLabels, requireHealthcheck, rules, teams,
                waivers, customRules, publicBuildArgs, image, digest, source, shellcheck, frontends, List.of());
    }

    PolicyDocument(Finding.Severity failOn, List<ImageRule> approvedImages, List<com.google.re2j.Pattern> deniedImages,
            boolean requireDigest, List<String> requiredLabels, boolean requireHealthcheck, Map<String, RuleSetting> rules,
            Map<String, TeamSettings> teams, List<Waiver> waivers, List<CustomRules.CustomRule> customRules,
            Set<String> publicBuildArgs, ImagePolicy image, String digest, String source) {
        this(failOn, approvedImages, deniedImages, requireDigest, requiredLabels, requireHealthcheck, rules, teams,
                waivers, customRules, publicBuildArgs, image, digest, source, false, List.of());
    }

    PolicyDocument(Finding.Severity failOn, List<ImageRule> approvedImages, List<com.google.re2j.Pattern> deniedImages,
            boolean requireDigest, List<String> requiredLabels, boolean requireHealthcheck, Map<String, RuleSetting> rules,
            Map<String, TeamSettings> teams, List<Waiver> waivers, List<CustomRules.CustomRule> customRules,
            Set<String> publicBuildArgs, ImagePolicy image, String digest, String source, boolean shellcheck) {
        this(failOn, approvedImages, deniedImages, requireDigest, requiredLabels, requireHealthcheck, rules, teams,
                waivers, customRules, publicBuildArgs, image, digest, source, shellcheck, List.of());
    }

    /** A frontend reference: a registry host, a repository, an optional tag, and a sha256 digest. */
    private static final Pattern FRONTEND = Pattern.compile(
            "(?:[a-zA-Z0-9-]+(?:\\.[a-zA-Z0-9-]+)+|localhost)(?::[0-9]+)?/[a-z0-9._/-]+(?::[\\w][\\w.-]{0,127})?@sha256:[0-9a-f]{64}");

    /**
     * The approved frontend a {@code # syntax=} value names, as the policy lists it (pinned by digest), or null. The
     * value names it when the repository is the same, its tag (if it has one) is the entry's tag, and its digest (if
     * it has one) is the entry's digest: {@code reg/base/dockerfile:1.7-labs} and {@code reg/base/dockerfile@sha256:…}
     * both name {@code reg/base/dockerfile:1.7-labs@sha256:…}.
     */
    public String frontend(String syntax) {
        if (syntax == null) {
            return null;
        }
        io.buildgateway.shared.ImageReference asked = io.buildgateway.shared.ImageReference.split(syntax);
        for (String entry : frontends) {
            io.buildgateway.shared.ImageReference approved = io.buildgateway.shared.ImageReference.split(entry);
            if (approved.name().equals(asked.name())
                    && (asked.tag() == null || asked.tag().equals(approved.tag()))
                    && (asked.digest() == null || asked.digest().equals(approved.digest()))) {
                return entry;
            }
        }
        return null;
    }

    /**
     * An approved image: a reference prefix (e.g. {@code 127.0.0.1:5000/base/}) and an optional tag pattern. A prefix
     * matches on path boundaries only: {@code base/busybox} approves {@code base/busybox} and {@code base/busybox/x},
     * never {@code base/busybox-evil}. Only a prefix written with a trailing {@code *} ({@code anyContinuation})
     * approves any repository that starts with it. {@code tags}, when set, is an RE2 expression (linear-time
     * matching: it is matched against tags users choose) that the whole tag must match.
     */
    public record ImageRule(String prefix, com.google.re2j.Pattern tags, boolean requireDigest,
            boolean anyContinuation) {

        public ImageRule(String prefix, com.google.re2j.Pattern tags, boolean requireDigest) {
            this(prefix, tags, requireDigest, false);
        }

        boolean matches(String repository, String tag) {
            return covers(repository) ? tags == null || tag == null || tags.matcher(tag).matches() : false;
        }

        private boolean covers(String repository) {
            if (anyContinuation) {
                return repository.startsWith(prefix);
            }
            // repository equals the prefix without its trailing '/', or starts with that and a '/': asked per pulled
            // image and approved prefix of every lint, so without building the two strings each time.
            int bare = prefix.endsWith("/") ? prefix.length() - 1 : prefix.length();
            return repository.regionMatches(0, prefix, 0, bare)
                    && (repository.length() == bare || repository.charAt(bare) == '/');
        }
    }

    /** A rule's setting: its severity, or {@code off}. */
    public record RuleSetting(Finding.Severity severity, boolean enabled) {
    }

    /**
     * A team's own settings: its failure threshold, rule severities, and whether its images are rebuilt
     * automatically when the base tag they were built on moves.
     */
    public record TeamSettings(Finding.Severity failOn, Map<String, RuleSetting> rules, boolean autoRebuild,
            Set<String> publicBuildArgs, List<io.buildgateway.shared.UrlPrefix> egress, boolean refuseTunnels) {

        public TeamSettings(Finding.Severity failOn, Map<String, RuleSetting> rules, boolean autoRebuild,
                Set<String> publicBuildArgs) {
            this(failOn, rules, autoRebuild, publicBuildArgs, List.of(), false);
        }

        public TeamSettings(Finding.Severity failOn, Map<String, RuleSetting> rules, boolean autoRebuild) {
            this(failOn, rules, autoRebuild, Set.of());
        }
    }

    /**
     * A team's effective egress allowlist: the global entries, then its own, each once, in their normal form. Other
     * teams' entries never apply. Empty: the team's builds run with network none.
     */
    public List<String> egressFor(String team) {
        java.util.LinkedHashSet<String> out = new java.util.LinkedHashSet<>();
        egress.forEach(p -> out.add(p.toString()));
        TeamSettings t = team == null ? null : teams.get(team);
        if (t != null) {
            t.egress().forEach(p -> out.add(p.toString()));
        }
        return List.copyOf(out);
    }

    /** Whether the team set {@code egressTunnels: refuse}: only digest-recorded downloads, no CONNECT. */
    public boolean refusesTunnels(String team) {
        TeamSettings t = team == null ? null : teams.get(team);
        return t != null && t.refuseTunnels();
    }

    /**
     * Whether the policy declares a build arg's name public, for everyone or for the team: only then is its value
     * stored and shown as given; every other value is kept and shown as the SHA-256 of the value.
     */
    public boolean publicBuildArg(String team, String name) {
        if (publicBuildArgs.contains(name)) {
            return true;
        }
        TeamSettings t = team == null ? null : teams.get(team);
        return t != null && t.publicBuildArgs().contains(name);
    }

    /** An approved exception: a rule, for a team (and optionally an image and a line), with reason, approver, expiry. */
    public record Waiver(String rule, String team, String image, Integer line, String reason, String approver,
            LocalDate expires) {
        boolean covers(String ruleId, String team, String image, Integer line, LocalDate today) {
            return rule.equals(ruleId) && !today.isAfter(expires)
                    && (this.team.equals("*") || this.team.equals(team))
                    && (this.image == null || this.image.equals(image))
                    && (this.line == null || this.line.equals(line));
        }

        /** As {@link #covers}, on whichever line: a waiver narrowed to a line covers some finding of the file. */
        boolean coversOnAnyLine(String ruleId, String team, String image, LocalDate today) {
            return rule.equals(ruleId) && !today.isAfter(expires)
                    && (this.team.equals("*") || this.team.equals(team))
                    && (this.image == null || this.image.equals(image));
        }
    }

    /** Thrown for a policy file that cannot be used; the message names the file and what is wrong. */
    public static class InvalidPolicyException extends RuntimeException {
        public InvalidPolicyException(String message) {
            super(message);
        }
    }

    private static final Set<String> TOP_KEYS = Set.of("apiVersion", "kind", "failOn", "approvedImages",
            "deniedImages", "requireDigest", "requiredLabels", "requireHealthcheck", "rules", "teams", "waivers",
            "customRules", "image", "vulnerabilities", "publicBuildArgs", "shellcheck", "frontends", "egress");
    private static final Pattern BUILD_ARG_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");

    /** Merges the maps parsed from several files (in name order): lists append, maps merge, scalars override. */
    static PolicyDocument from(Map<String, Map<String, Object>> files, Set<String> knownRules, String digest,
            String source) {
        Finding.Severity failOn = Finding.Severity.error;
        List<ImageRule> approved = new ArrayList<>();
        List<com.google.re2j.Pattern> denied = new ArrayList<>();
        boolean requireDigest = false;
        List<String> requiredLabels = new ArrayList<>();
        boolean requireHealthcheck = false;
        Map<String, RuleSetting> rules = new LinkedHashMap<>();
        Map<String, TeamSettings> teams = new LinkedHashMap<>();
        List<Waiver> waivers = new ArrayList<>();
        List<CustomRules.CustomRule> custom = new ArrayList<>();
        Set<String> publicArgs = new java.util.TreeSet<>();
        ImagePolicy image = ImagePolicy.DEFAULT;
        boolean shellcheck = false;
        List<String> frontends = new ArrayList<>();
        List<io.buildgateway.shared.UrlPrefix> egress = new ArrayList<>();
        Set<String> known = new java.util.HashSet<>(knownRules);
        for (Map<String, Object> doc : files.values()) {
            for (Object item : list(doc.get("customRules"), "customRules")) {
                if (item instanceof Map<?, ?> m && m.get("id") instanceof String id) {
                    known.add(id);
                }
            }
        }
        for (Map.Entry<String, Map<String, Object>> file : files.entrySet()) {
            String where = file.getKey();
            Map<String, Object> doc = file.getValue();
            for (String key : doc.keySet()) {
                if (!TOP_KEYS.contains(key)) {
                    throw new InvalidPolicyException(where + ": unknown key '" + key + "' (known: " + TOP_KEYS + ")");
                }
            }
            if (doc.containsKey("failOn")) {
                failOn = severity(doc.get("failOn"), where + ": failOn");
            }
            if (doc.containsKey("shellcheck")) {
                Map<String, Object> sc = map(doc.get("shellcheck"), where + ": shellcheck");
                for (String key : sc.keySet()) {
                    if (!key.equals("enabled")) {
                        throw new InvalidPolicyException(where + ": shellcheck: unknown key '" + key
                                + "' (known: enabled; set the severity of an SC code under rules:, e.g."
                                + " shellcheck-SC2086: warning)");
                    }
                }
                if (sc.containsKey("enabled")) {
                    shellcheck = bool(sc.get("enabled"), where + ": shellcheck.enabled");
                }
            }
            if (doc.containsKey("requireDigest")) {
                requireDigest = bool(doc.get("requireDigest"), where + ": requireDigest");
            }
            if (doc.containsKey("requireHealthcheck")) {
                requireHealthcheck = bool(doc.get("requireHealthcheck"), where + ": requireHealthcheck");
            }
            for (Object item : list(doc.get("approvedImages"), where + ": approvedImages")) {
                approved.add(imageRule(item, where + ": approvedImages"));
            }
            for (Object item : list(doc.get("frontends"), where + ": frontends")) {
                String frontend = string(item, where + ": frontends");
                if (!FRONTEND.matcher(frontend).matches()) {
                    throw new InvalidPolicyException(where + ": frontends: '" + frontend + "' is not a frontend image"
                            + " of a registry pinned by digest (registry/repository[:tag]@sha256:<64 hex>)");
                }
                frontends.add(frontend);
            }
            egress.addAll(egress(doc.get("egress"), where + ": egress"));
            for (Object item : list(doc.get("deniedImages"), where + ": deniedImages")) {
                denied.add(glob(string(item, where + ": deniedImages")));
            }
            publicArgs.addAll(publicBuildArgs(doc.get("publicBuildArgs"), where + ": publicBuildArgs"));
            for (Object item : list(doc.get("requiredLabels"), where + ": requiredLabels")) {
                requiredLabels.add(string(item, where + ": requiredLabels"));
            }
            List<Object> cr = list(doc.get("customRules"), where + ": customRules");
            for (int i = 0; i < cr.size(); i++) {
                custom.add(customRule(cr.get(i), knownRules, custom, where + ": customRules[" + i + "]"));
            }
            rules.putAll(ruleSettings(doc.get("rules"), known, where + ": rules"));
            image = ImagePolicy.parse(image, map(doc.get("image"), where + ": image"),
                    map(doc.get("vulnerabilities"), where + ": vulnerabilities"), where);
            for (Map.Entry<String, Object> team : map(doc.get("teams"), where + ": teams").entrySet()) {
                String at = where + ": teams." + team.getKey();
                Map<String, Object> t = map(team.getValue(), at);
                for (String key : t.keySet()) {
                    if (!Set.of("failOn", "rules", "autoRebuild", "publicBuildArgs", "egress", "egressTunnels")
                            .contains(key)) {
                        throw new InvalidPolicyException(at + ": unknown key '" + key
                                + "' (known: failOn, rules, autoRebuild, publicBuildArgs, egress, egressTunnels)");
                    }
                }
                boolean refuseTunnels = false;
                if (t.containsKey("egressTunnels")) {
                    String v = t.get("egressTunnels") instanceof String str ? str : null;
                    if (!"allow".equals(v) && !"refuse".equals(v)) {
                        throw new InvalidPolicyException(at + ".egressTunnels: must be allow or refuse");
                    }
                    refuseTunnels = v.equals("refuse");
                }
                TeamSettings earlier = teams.get(team.getKey());
                List<io.buildgateway.shared.UrlPrefix> teamEgress = new ArrayList<>(
                        earlier == null ? List.of() : earlier.egress());
                teamEgress.addAll(egress(t.get("egress"), at + ".egress"));
                teams.put(team.getKey(), new TeamSettings(t.containsKey("failOn") ? severity(t.get("failOn"),
                        at + ".failOn") : null, ruleSettings(t.get("rules"), known, at + ".rules"),
                        t.containsKey("autoRebuild") && bool(t.get("autoRebuild"), at + ".autoRebuild"),
                        Set.copyOf(publicBuildArgs(t.get("publicBuildArgs"), at + ".publicBuildArgs")),
                        List.copyOf(teamEgress), refuseTunnels || (earlier != null && earlier.refuseTunnels()
                                && !t.containsKey("egressTunnels"))));
            }
            List<Object> ws = list(doc.get("waivers"), where + ": waivers");
            for (int i = 0; i < ws.size(); i++) {
                waivers.add(waiver(ws.get(i), known, where + ": waivers[" + i + "]"));
            }
        }
        return new PolicyDocument(failOn, List.copyOf(approved), List.copyOf(denied), requireDigest,
                List.copyOf(requiredLabels), requireHealthcheck, Map.copyOf(rules), Map.copyOf(teams),
                List.copyOf(waivers), List.copyOf(custom), java.util.Collections.unmodifiableSet(publicArgs), image,
                digest, source, shellcheck, List.copyOf(frontends), List.copyOf(egress));
    }

    /** The entries of an {@code egress:} list, each parsed strictly; a bad one is a load error that names it. */
    private static List<io.buildgateway.shared.UrlPrefix> egress(Object value, String where) {
        List<io.buildgateway.shared.UrlPrefix> out = new ArrayList<>();
        List<Object> items = list(value, where);
        for (int i = 0; i < items.size(); i++) {
            String entry = string(items.get(i), where + "[" + i + "]");
            try {
                out.add(io.buildgateway.shared.UrlPrefix.parse(entry));
            } catch (IllegalArgumentException e) {
                throw new InvalidPolicyException(where + "[" + i + "]: " + e.getMessage());
            }
        }
        return out;
    }

    private static CustomRules.CustomRule customRule(Object item, Set<String> builtins,
            List<CustomRules.CustomRule> earlier, String where) {
        Map<String, Object> m = map(item, where);
        for (String key : m.keySet()) {
            if (!Set.of("id", "severity", "description", "expression", "scope", "message").contains(key)) {
                throw new InvalidPolicyException(where + ": unknown key '" + key
                        + "' (known: id, severity, description, expression, scope, message)");
            }
        }
        for (String required : List.of("id", "severity", "description", "expression")) {
            if (m.get(required) == null) {
                throw new InvalidPolicyException(where + ": a custom rule needs '" + required + "'");
            }
        }
        String id = string(m.get("id"), where + ".id");
        if (!CustomRules.validId(id, builtins) || earlier.stream().anyMatch(r -> r.info().id().equals(id))) {
            throw new InvalidPolicyException(where + ".id: '" + id
                    + "' must be lowercase words joined by '-' and unlike any other rule id");
        }
        String scope = m.get("scope") == null ? "instruction" : string(m.get("scope"), where + ".scope");
        if (!scope.equals("instruction") && !scope.equals("build")) {
            throw new InvalidPolicyException(where + ".scope: must be instruction or build");
        }
        return CustomRules.compile(id, severity(m.get("severity"), where + ".severity"),
                string(m.get("description"), where + ".description"), string(m.get("expression"),
                        where + ".expression"), scope.equals("instruction"),
                m.get("message") == null ? null : string(m.get("message"), where + ".message"), where);
    }

    /** Build-arg names whose values may be stored and shown: names only, never one that looks like a secret. */
    private static List<String> publicBuildArgs(Object value, String where) {
        List<String> out = new ArrayList<>();
        for (Object item : list(value, where)) {
            String name = string(item, where);
            if (!BUILD_ARG_NAME.matcher(name).matches()) {
                throw new InvalidPolicyException(where + ": '" + name + "' is not a build-arg name");
            }
            if (io.buildgateway.shared.SecretNames.looksSecret(name)) {
                throw new InvalidPolicyException(where + ": '" + name + "' looks like a secret; its value cannot be"
                        + " public");
            }
            out.add(name);
        }
        return out;
    }

    private static ImageRule imageRule(Object item, String where) {
        if (item instanceof String s) {
            return new ImageRule(prefix(s, where), null, false, s.endsWith("*"));
        }
        Map<String, Object> m = map(item, where);
        for (String key : m.keySet()) {
            if (!Set.of("prefix", "tags", "requireDigest").contains(key)) {
                throw new InvalidPolicyException(where + ": unknown key '" + key + "' (known: prefix, tags, requireDigest)");
            }
        }
        String tags = m.containsKey("tags") ? string(m.get("tags"), where + ".tags") : null;
        try {
            String prefix = string(m.get("prefix"), where + ".prefix");
            return new ImageRule(prefix(prefix, where), tags == null ? null : com.google.re2j.Pattern.compile(tags),
                    m.containsKey("requireDigest") && bool(m.get("requireDigest"), where + ".requireDigest"),
                    prefix.endsWith("*"));
        } catch (com.google.re2j.PatternSyntaxException e) {
            // RE2 syntax: no backreferences or lookaround, which is what keeps its matching linear.
            throw new InvalidPolicyException(where + ".tags: not a valid RE2 regular expression ("
                    + e.getDescription() + ")");
        }
    }

    private static String prefix(String value, String where) {
        String v = value.endsWith("*") ? value.substring(0, value.length() - 1) : value;
        if (v.isBlank() || v.contains("..") || v.contains("$")) {
            throw new InvalidPolicyException(where + ": '" + value + "' is not an image prefix");
        }
        return v;
    }

    /**
     * A deny-list glob ({@code *}: any run of characters) as an RE2 pattern: matched against every image a user's
     * Dockerfile names, so in linear time however many stars the policy's author wrote (java.util.regex would
     * backtrack to the power of the stars).
     */
    static com.google.re2j.Pattern glob(String glob) {
        StringBuilder re = new StringBuilder();
        for (char c : glob.toCharArray()) {
            re.append(c == '*' ? ".*" : com.google.re2j.Pattern.quote(String.valueOf(c)));
        }
        return com.google.re2j.Pattern.compile(re.toString(), com.google.re2j.Pattern.DOTALL);
    }

    private static Map<String, RuleSetting> ruleSettings(Object value, Set<String> known, String where) {
        Map<String, RuleSetting> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : map(value, where).entrySet()) {
            if (!known.contains(e.getKey()) && !ShellCheck.RULE_ID.matcher(e.getKey()).matches()) {
                throw new InvalidPolicyException(where + ": unknown rule '" + e.getKey() + "'");
            }
            // YAML 1.1 reads a bare off/no as false.
            String v = Boolean.FALSE.equals(e.getValue()) ? "off"
                    : string(e.getValue(), where + "." + e.getKey()).toLowerCase(Locale.ROOT);
            out.put(e.getKey(), v.equals("off") ? new RuleSetting(null, false)
                    : new RuleSetting(severity(v, where + "." + e.getKey()), true));
        }
        return out;
    }

    private static Waiver waiver(Object item, Set<String> known, String where) {
        Map<String, Object> m = map(item, where);
        for (String key : m.keySet()) {
            if (!Set.of("rule", "team", "image", "line", "reason", "approver", "expires").contains(key)) {
                throw new InvalidPolicyException(where + ": unknown key '" + key + "'");
            }
        }
        for (String required : List.of("rule", "team", "reason", "approver", "expires")) {
            if (m.get(required) == null || m.get(required).toString().isBlank()) {
                throw new InvalidPolicyException(where + ": a waiver needs '" + required + "'");
            }
        }
        String rule = string(m.get("rule"), where + ".rule");
        if (!known.contains(rule) && !ShellCheck.RULE_ID.matcher(rule).matches()) {
            throw new InvalidPolicyException(where + ": unknown rule '" + rule + "'");
        }
        LocalDate expires = date(m.get("expires"), where + ".expires");
        Integer line = null;
        if (m.get("line") != null) {
            if (!(m.get("line") instanceof Integer i) || i < 1) {
                throw new InvalidPolicyException(where + ".line: must be a positive whole number");
            }
            line = i;
        }
        return new Waiver(rule, string(m.get("team"), where + ".team"),
                m.get("image") == null ? null : string(m.get("image"), where + ".image"), line,
                string(m.get("reason"), where + ".reason"), string(m.get("approver"), where + ".approver"), expires);
    }

    /** A date as YAML gives it (SnakeYAML reads an unquoted 2027-01-31 as a Date) or as text. */
    static LocalDate date(Object value, String where) {
        try {
            return value instanceof java.util.Date d ? d.toInstant().atZone(java.time.ZoneOffset.UTC).toLocalDate()
                    : LocalDate.parse(value.toString());
        } catch (java.time.format.DateTimeParseException ex) {
            throw new InvalidPolicyException(where + ": not a date (YYYY-MM-DD)");
        }
    }

    private static Finding.Severity severity(Object value, String where) {
        try {
            return Finding.Severity.valueOf(string(value, where).toLowerCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidPolicyException(where + ": must be error, warning or info");
        }
    }

    private static boolean bool(Object value, String where) {
        if (value instanceof Boolean b) {
            return b;
        }
        throw new InvalidPolicyException(where + ": must be true or false");
    }

    private static String string(Object value, String where) {
        if (value instanceof String s) {
            return s;
        }
        throw new InvalidPolicyException(where + ": must be a string");
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object value, String where) {
        if (value == null) {
            return List.of();
        }
        if (value instanceof List<?> l) {
            return (List<Object>) l;
        }
        throw new InvalidPolicyException(where + ": must be a list");
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object value, String where) {
        if (value == null) {
            return Map.of();
        }
        if (value instanceof Map<?, ?> m) {
            for (Object k : m.keySet()) {
                if (!(k instanceof String)) {
                    throw new InvalidPolicyException(where + ": keys must be strings");
                }
            }
            return (Map<String, Object>) m;
        }
        throw new InvalidPolicyException(where + ": must be a mapping");
    }
}
