package io.buildgateway.policy;

import io.buildgateway.dockerfile.BuildStages;
import io.buildgateway.dockerfile.DockerfileParser;
import io.buildgateway.dockerfile.Instruction;
import io.buildgateway.shared.SecretNames;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The registry of built-in rules: each with its metadata ({@link RuleInfo}) and its check. Rules report findings
 * without a severity; the evaluator applies the policy's severities, waivers and threshold.
 */
final class BuiltinRules {

    /** How {@link Expansion.Effective#via()} names a trigger from a base image's config, before the image. */
    static final String BASE_TRIGGER = "ONBUILD of base image ";
    /** The rule that refuses a base (or any pull) the policy does not approve. */
    static final String UNAPPROVED_IMAGE = "unapproved-image";

    @FunctionalInterface
    interface Emitter {
        void emit(Integer line, String instruction, String message);
    }

    @FunctionalInterface
    interface Check {
        void run(Subject subject, Emitter emit);
    }

    record Rule(RuleInfo info, Check check) {
    }

    private static final Finding.Severity E = Finding.Severity.error;
    private static final Finding.Severity W = Finding.Severity.warning;
    private static final Finding.Severity I = Finding.Severity.info;
    private static final List<Rule> RULES = new ArrayList<>();
    private static final Set<String> SUDO = Subject.Programs.of("sudo");
    private static final Set<String> PASSWORD_PROGRAMS = Subject.Programs.of("chpasswd", "usermod", "passwd");
    /**
     * RE2 (linear time): java.util.regex's find() tried every "eyJ" of a value and scanned the rest of the run from
     * each, quadratic in a 1 MB LABEL of "eyJeyJ…" (a review's finding, 2026-12-06: minutes of a core per lint).
     */
    private static final com.google.re2j.Pattern SECRET_VALUE = com.google.re2j.Pattern.compile(
            "(AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY|gh[pousr]_[A-Za-z0-9]{30,}|xox[baprs]-[A-Za-z0-9-]{10,}"
                    + "|glpat-[A-Za-z0-9_-]{20}|eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,}\\.)");
    private static final Pattern INLINE_IGNORE = Pattern.compile(
            "(?i)#\\s*(hadolint\\s+(global\\s+)?ignore|checkov:skip|trivy:ignore|nosec|kics-scan\\s+ignore"
                    + "|buildgateway:ignore|check=skip)");

    /** The built-in rule with this id's metadata. */
    static RuleInfo info(String id) {
        for (Rule r : RULES) {
            if (r.info().id().equals(id)) {
                return r.info();
            }
        }
        throw new IllegalArgumentException("no built-in rule " + id);
    }

    /** Registers a rule (used by this class and the other rule files of the package). */
    static void add(String id, Finding.Severity severity, String category, String title, String rationale,
            List<String> references, Check check) {
        RULES.add(new Rule(new RuleInfo(id, severity, category, title, rationale, references), check));
    }

    static List<Rule> all() {
        return List.copyOf(RULES);
    }

    static Set<String> ids() {
        Set<String> ids = new HashSet<>();
        RULES.forEach(r -> ids.add(r.info().id()));
        return ids;
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    static void forEachRun(Subject s, java.util.function.BiConsumer<Instruction, List<ShellCommands.Command>> f) {
        for (Subject.Run run : s.runs()) {
            f.accept(run.instruction(), run.commands());
        }
    }

    /**
     * {@link #forEachRun} for a rule that only looks at commands of these programs: nothing to do (and no walk over
     * the commands) when none of them runs anywhere in the file.
     */
    static void forEachRun(Subject s, Set<String> programs,
            java.util.function.BiConsumer<Instruction, List<ShellCommands.Command>> f) {
        if (s.runsAnyOf(programs)) {
            // Only the RUNs that run one of them: every rule that passes its programs here finds nothing in a RUN
            // without them (each looks at commands of those programs only), so the others are not walked.
            for (Subject.Run run : s.runs()) {
                if (run.runsAnyOf(programs)) {
                    f.accept(run.instruction(), run.commands());
                }
            }
        }
    }

    static boolean hasArg(ShellCommands.Command c, String... options) {
        List<String> words = c.words();
        for (int k = 0; k < words.size(); k++) { // by index: asked of every package manager's command by many rules
            String w = words.get(k);
            // A word matches an option only when it starts with the option's first character (an empty word only
            // an empty option): most words are no option at all and are passed over at that one comparison.
            char first = w.isEmpty() ? 0 : w.charAt(0);
            for (String o : options) {
                if ((o.isEmpty() ? w.isEmpty() : o.charAt(0) == first) && (w.equals(o) || (w.length() > o.length()
                        && w.charAt(o.length()) == '=' && o.startsWith("--") && w.startsWith(o)))) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Options of package managers that take a value as the next word (so the value is not a package). */
    private static final Set<String> VALUE_OPTIONS = Set.of("-r", "--requirement", "-c", "--constraint", "-i",
            "--index-url", "--extra-index-url", "--trusted-host", "-f", "--find-links", "-t", "--target", "--prefix",
            "--root", "-o", "--option", "--target-release", "--repository", "-X", "-p", "--virtual", "--registry",
            "--install-dir", "--releasever", "--repo", "--enablerepo", "--disablerepo", "--installroot",
            "--cache-dir", "--platform", "--python-version", "-C", "--config-settings");

    /** Words after the sub-command (e.g. the packages of {@code apt-get install}), without options and their values. */
    static List<String> packages(ShellCommands.Command c, String subcommand) {
        return packages(c, Set.of(subcommand), Set.of(), false);
    }

    /**
     * Words after the first of the sub-commands (e.g. the packages of {@code gem install} or {@code gem i}), without
     * options and the values of the options that take one ({@link #VALUE_OPTIONS} and the installer's own
     * {@code valueOptions}); with {@code stopAtDoubleDash}, nothing after {@code --} (gem passes those words to the
     * extension's build).
     */
    static List<String> packages(ShellCommands.Command c, Set<String> subcommands, Set<String> valueOptions,
            boolean stopAtDoubleDash) {
        List<String> out = new ArrayList<>();
        boolean after = false;
        boolean skipNext = false;
        for (String w : c.args()) {
            if (!after) {
                after = subcommands.contains(w);
                continue;
            }
            if (skipNext) {
                skipNext = false;
                continue;
            }
            if (stopAtDoubleDash && w.equals("--")) {
                break;
            }
            if (VALUE_OPTIONS.contains(w) || valueOptions.contains(w)) {
                skipNext = true;
            } else if (!w.startsWith("-") && !w.isEmpty()) {
                out.add(w);
            }
        }
        return out;
    }

    /**
     * Whether a COPY/ADD {@code --from} value names no stage (nor scratch): an image. BuildKit's dockerfile2llb
     * (toCommand) takes the value as a stage index when Go's strconv.Atoi reads it ({@link #stageIndex}), else looks
     * it up among the stage names lower-cased; a mount's from= is looked up by name only.
     */
    static boolean isImageRef(String from, Set<String> stageNames) {
        return !from.equalsIgnoreCase("scratch") && !stageNames.contains(from.toLowerCase(Locale.ROOT))
                && !stageIndex(from);
    }

    /**
     * Whether Go's strconv.Atoi reads the text as a number, as BuildKit does a COPY/ADD {@code --from} before it
     * looks for a stage of that name: an optional sign, then ASCII digits only, within a 64-bit int. (Java's own
     * parsers take other scripts' digits too: {@code --from=٠} is an image to BuildKit, not stage 0.) A number out
     * of the file's stages is still no image to judge: BuildKit (v0.13, findStateByIndex) indexes its list of
     * states, which after the stages also holds the sources earlier COPY --from images and mounts added (each such
     * image pinned and judged, or scratch for a mount without from=), and fails the build past its end ("invalid
     * stage index"). So {@code COPY --from=2} in a two-stage file may copy from such a source (a review's find,
     * 2026-12-07; the lint's copy-from-unknown-stage warns of it); content the policy did not judge it is not.
     */
    static boolean stageIndex(String from) {
        int start = from.startsWith("+") || from.startsWith("-") ? 1 : 0;
        if (from.length() == start) {
            return false;
        }
        for (int k = start; k < from.length(); k++) {
            if (from.charAt(k) < '0' || from.charAt(k) > '9') {
                return false;
            }
        }
        try {
            Long.parseLong(from);
            return true;
        } catch (NumberFormatException e) {
            return false; // out of range: Atoi fails, and BuildKit looks for a stage, then an image, of that name
        }
    }

    /** Every image the build could pull, with where it is named: FROM, COPY --from, RUN --mount from=, # syntax=. */
    record Pull(String image, String written, int line, String where, Ref ref) {
        Pull(String image, String written, int line, String where) {
            this(image, written, line, where, Ref.parse(image));
        }
    }

    /** Whether an approved prefix of the policy (one that demands a digest, if asked) covers the reference. */
    static boolean approved(PolicyDocument policy, Ref ref, boolean demandingDigest) {
        for (PolicyDocument.ImageRule r : policy.approvedImages()) {
            if ((!demandingDigest || r.requireDigest()) && r.matches(ref.repository(), ref.tag())) {
                return true;
            }
        }
        return false;
    }

    static List<Pull> pulls(Subject s) {
        List<Pull> out = new ArrayList<>();
        String syntax = s.dockerfile().directives().get("syntax");
        if (syntax != null) {
            // An approved frontend is pulled as the policy pins it (the canonical Dockerfile names it so).
            String pinned = s.policy().frontend(syntax);
            out.add(new Pull(pinned != null ? pinned : syntax, syntax, 1, "# syntax="));
        }
        if (s.plan() == null) {
            return out;
        }
        Set<String> names = new HashSet<>();
        List<Expansion.Effective> effective = s.expansion().instructions();
        int next = 0;
        for (BuildStages.Stage stage : s.plan().stages()) {
            if (stage.parentStage() < 0 && !stage.base().equalsIgnoreCase("scratch")) {
                out.add(new Pull(stage.base(), stage.baseWritten(), stage.line(), "FROM"));
            }
            // A stage's own name inside it is a (broken) self-reference, reported by copy-from-own-stage; not a pull.
            if (stage.name() != null) {
                names.add(stage.name());
            }
            while (next < effective.size() && effective.get(next).stage() == stage.index()) {
                Expansion.Effective e = effective.get(next++);
                Instruction ins = e.instruction();
                String where = e.via() == null ? ins.keyword() : "ONBUILD " + ins.keyword();
                if (ins.keyword().equals("COPY") || ins.keyword().equals("ADD")) {
                    String written = e.written().flag("from").orElse(null);
                    ins.flag("from").filter(f -> isImageRef(f, names))
                            .ifPresent(f -> out.add(new Pull(f, written, ins.line(), where + " --from")));
                }
                if (ins.keyword().equals("RUN")) {
                    for (Instruction.Flag flag : ins.flags()) {
                        if (flag.name().equals("mount") && flag.value() != null) {
                            for (String from : mountFroms(flag.value())) {
                                // BuildKit looks a mount's from= up by stage name only: from=0 is the image "0" (a
                                // review's finding, 2026-12-07), unlike COPY --from=0, the first stage.
                                if (!from.equalsIgnoreCase("scratch")
                                        && !names.contains(from.toLowerCase(Locale.ROOT))) {
                                    out.add(new Pull(from, from, ins.line(), where + " --mount from="));
                                }
                            }
                        }
                    }
                }
            }
            if (stage.name() != null) {
                names.add(stage.name());
            }
        }
        return out;
    }

    /**
     * The {@code from=} of a mount (bind or cache: a stage, an image or a named context) as BuildKit's CSV reading
     * finds it; a mount that does not read (refused by the canonical writer) is searched field by field, keys in any
     * case, so that no spelling hides an image from the approval.
     */
    static List<String> mountFroms(String value) {
        if (asciiWithoutQuoteOrFrom(value)) {
            // Most mounts (type=cache,target=…; type=secret,id=…): no field's key can be "from", whether the mount
            // parses (from() is the value of the key "from") or is refused (the fields as read below, which without
            // quotes are the same fields) — so no image, without parsing the mount or making its refusal.
            return List.of();
        }
        return mountFromsParsed(value);
    }

    /** {@link #mountFroms} by reading the mount, whatever it says (kept for LintFastPathsTest's comparison). */
    static List<String> mountFromsParsed(String value) {
        try {
            String from = io.buildgateway.dockerfile.RunMount.parse(value).from();
            return from == null ? List.of() : List.of(from);
        } catch (io.buildgateway.dockerfile.RunMount.Refused e) {
            List<String> out = new ArrayList<>();
            for (String part : value.split(",")) {
                String v = part.strip().replace("\"", "");
                if (v.regionMatches(true, 0, "from=", 0, 5) && !v.substring(5).isEmpty()) {
                    out.add(v.substring(5));
                }
            }
            return out;
        }
    }

    /** Whether the text is ASCII without '"' and, in ASCII lower case, without "from". */
    static boolean asciiWithoutQuoteOrFrom(String value) {
        int n = value.length();
        for (int k = 0; k < n; k++) {
            char c = value.charAt(k);
            if (c >= 0x80 || c == '"') {
                return false;
            }
            if ((c | 0x20) == 'f' && k + 3 < n && (value.charAt(k + 1) | 0x20) == 'r'
                    && (value.charAt(k + 2) | 0x20) == 'o' && (value.charAt(k + 3) | 0x20) == 'm') {
                return false;
            }
        }
        return true;
    }

    /** Splits {@code registry/repo:tag@digest} into repository, tag (null when absent) and digest (null). */
    record Ref(String repository, String tag, String digest) {
        static Ref parse(String image) {
            io.buildgateway.shared.ImageReference split = io.buildgateway.shared.ImageReference.split(image);
            return new Ref(split.name(), split.tag(), split.digest());
        }

        private static final String DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
        private static final String PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
        /** The reference grammar of distribution/reference (without IPv6 hosts), as the daemon parses it. */
        private static final Pattern REFERENCE = Pattern.compile("(?:" + DOMAIN_COMPONENT + "(?:\\."
                + DOMAIN_COMPONENT + ")*(?::[0-9]+)?/)?" + PATH_COMPONENT + "(?:/" + PATH_COMPONENT + ")*"
                + "(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?");

        /**
         * Whether the daemon would parse this as an image reference: no whitespace, control characters, upper-case
         * repository, empty parts; at most 255 characters of name.
         */
        static boolean valid(String image) {
            if (image == null || image.isEmpty() || image.length() > 512) {
                return false;
            }
            // The grammar is the dearest single check of a lint (a regex per pulled image), and the same few base
            // references come back in file after file: answers are remembered, at most VALID_CACHE of them.
            Boolean known = VALID.get(image);
            if (known != null) {
                return known;
            }
            boolean answer = parses(image);
            if (VALID.size() >= VALID_CACHE) {
                VALID.clear();
            }
            VALID.put(image, answer);
            return answer;
        }

        private static final int VALID_CACHE = 4096;
        private static final java.util.concurrent.ConcurrentHashMap<String, Boolean> VALID =
                new java.util.concurrent.ConcurrentHashMap<>();

        private static boolean parses(String image) {
            if (!REFERENCE.matcher(image).matches()) {
                return false;
            }
            // A first component without '.', ':' or "localhost" is a path component, so it must be lower case.
            String name = parse(image).repository();
            int slash = name.indexOf('/');
            String first = slash < 0 ? name : name.substring(0, slash);
            boolean domain = slash >= 0 && (first.contains(".") || first.contains(":") || first.equals("localhost"));
            return name.length() <= 255 && (domain || first.equals(first.toLowerCase(Locale.ROOT)));
        }
    }

    private static String shown(Pull p) {
        return p.image().equals(p.written()) || p.written() == null ? "'" + visible(p.image()) + "'"
                : "'" + visible(p.written()) + "' (resolves to '" + visible(p.image()) + "')";
    }

    /** Control characters (a newline smuggled in through a build arg, say) shown escaped, not as themselves. */
    static String visible(String text) {
        StringBuilder out = new StringBuilder(Math.min(text.length(), 300));
        for (int k = 0; k < text.length() && out.length() < 300; k++) {
            char c = text.charAt(k);
            if (c < 0x20 || c == 0x7f) {
                out.append(c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r"
                        : String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    static {
        // ---- images ---------------------------------------------------------------------------------------------
        add(UNAPPROVED_IMAGE, E, "images", "Every image the build can pull is on the approved list",
                "A build may pull images through FROM, COPY --from=<image> and RUN --mount=from=<image> (bind and"
                        + " cache mounts). Each is checked after build-arg substitution with the request's own build args,"
                        + " so an ARG cannot smuggle in an unapproved base; only images under an approved prefix (and"
                        + " tag pattern) of the policy may be used. This closes the indirections hadolint's DL3026"
                        + " and Trivy miss. A # syntax= frontend is not judged here: it runs the whole build, so only"
                        + " the policy's frontends list approves one (dockerfile-canonical refuses any other).",
                List.of("DL3026", "CIS-4.2", "BuildKit:UndefinedArgInFrom", "BuildKit:InvalidDefaultArgInFrom"),
                (s, emit) -> {
                    for (Pull p : s.pulls()) {
                        if (p.where().equals("# syntax=")) {
                            continue; // a frontend is approved by the policy's frontends, or refused by
                                      // dockerfile-canonical: it runs the whole build, so a base approval is not enough
                        }
                        if (p.image().isBlank()) {
                            emit.emit(p.line(), p.where(), p.where() + " image " + shown(p) + " is empty");
                        } else if (p.image().contains("$")) {
                            emit.emit(p.line(), p.where(), p.where() + " image " + shown(p)
                                    + " depends on a variable whose value is not known before the build");
                        } else if (!Ref.valid(p.image())) {
                            emit.emit(p.line(), p.where(), p.where() + " image " + shown(p)
                                    + " is not a valid image reference");
                        } else if (p.image().contains("..") || !approved(s.policy(), p.ref(), false)) {
                            emit.emit(p.line(), p.where(), p.where() + " image " + shown(p)
                                    + " is not on the approved list");
                        }
                    }
                });
        add("base-image-triggers", E, "images", "The ONBUILD triggers of base images are known",
                "A base image can carry ONBUILD triggers in its config; they run in this build with the powers of"
                        + " ordinary instructions. The gateway reads them from the registry before the build, for every"
                        + " base the build's daemon would be granted (the team's own repositories and the pullable"
                        + " prefixes of the gateway's registry) that the policy approves or lets through otherwise"
                        + " (unapproved-image waived, off or below the failure threshold), and judges them as the"
                        + " instructions they become (at the FROM line); the build is pinned to the digest read. A"
                        + " base whose triggers cannot be read, or one whose trigger does not parse, is refused: the"
                        + " build is not judged"
                        + " on a guess. A base whose trigger ADDs a URL is refused too: the build daemon has no"
                        + " route out, and the gateway, which fetches an ADD <url> for an egress build and hands"
                        + " the daemon a COPY of it (docs/egress.md), cannot rewrite a trigger that the daemon reads"
                        + " from the base image's config. An image a COPY --from or a mount's from= names is read by"
                        + " the same rule, for the digest the build is pinned to: one that cannot be read is"
                        + " refused here too.", List.of(),
                (s, emit) -> {
                    for (Expansion.TriggerProblem p : s.expansion().problems()) {
                        emit.emit(p.line(), p.where(), p.message());
                    }
                    for (Expansion.Effective e : s.expansion().instructions()) {
                        if (e.via() == null || !e.via().startsWith(BASE_TRIGGER) || e.words() == null
                                || !e.instruction().keyword().equals("ADD")) {
                            continue;
                        }
                        for (String w : e.words().subList(0, Math.max(0, e.words().size() - 1))) {
                            if (BuiltinInstructionRules.isUrl(w)) {
                                emit.emit(e.instruction().line(), "FROM", "base image '"
                                        + e.via().substring(BASE_TRIGGER.length()) + "' has an ONBUILD trigger that"
                                        + " adds the URL " + BuiltinRunRules.abbreviate(w) + ": the confined build"
                                        + " daemon cannot fetch it and the gateway cannot rewrite a base image's"
                                        + " trigger; use a base without it, or fetch the file with ADD <url> in this"
                                        + " Dockerfile");
                            }
                        }
                    }
                });
        add("denied-image", E, "images", "No image on the deny list",
                "The deny list names images that must never be used, even under an approved prefix (a compromised or"
                        + " withdrawn base, say). It is checked on the same resolved references as the approved list.",
                List.of("DL3026"),
                (s, emit) -> {
                    for (Pull p : s.pulls()) {
                        for (com.google.re2j.Pattern deny : s.policy().deniedImages()) {
                            if (deny.matcher(p.image()).matches()) {
                                emit.emit(p.line(), p.where(), p.where() + " image " + shown(p) + " is denied");
                            }
                        }
                    }
                });
        add("image-not-pinned", W, "images", "Images are pinned by digest",
                "A tag can move; a digest cannot. Pinning every pulled image by @sha256 makes the build reproducible"
                        + " and the base exactly the one reviewed. Production policies set requireDigest: true, which"
                        + " makes this an error for every image, or per approved prefix. Stricter than DL3006/DL3007"
                        + " because an explicit version tag can still move: hadolint only asks for a tag other than"
                        + " latest (that is image-latest-tag); the shipped policy reports this at info level.",
                List.of("CIS-4.2"),
                (s, emit) -> {
                    for (Pull p : s.pulls()) {
                        if (p.ref().digest() == null && !p.image().isBlank()) {
                            emit.emit(p.line(), p.where(), p.where() + " image " + shown(p)
                                    + " is not pinned by digest (@sha256:…)");
                        }
                    }
                });
        add("image-digest-required", E, "images", "Images are pinned by digest where the policy demands it",
                "With requireDigest (for the whole policy, or for one approved prefix) an image without @sha256 is"
                        + " refused rather than warned about.", List.of("CIS-4.2"),
                (s, emit) -> {
                    for (Pull p : s.pulls()) {
                        boolean demanded = s.policy().requireDigest() || approved(s.policy(), p.ref(), true);
                        if (demanded && p.ref().digest() == null && !p.image().isBlank()) {
                            emit.emit(p.line(), p.where(), p.where() + " image " + shown(p)
                                    + " must be pinned by digest (@sha256:…) under this policy");
                        }
                    }
                });
        add("image-latest-tag", W, "images", "Images name a version, not latest or nothing",
                "An image without a tag means :latest, which changes under the build without review.",
                List.of("DL3006", "DL3007", "DS001", "CKV_DOCKER_7"),
                (s, emit) -> {
                    for (Pull p : s.pulls()) {
                        Ref ref = p.ref();
                        if (ref.digest() == null && (ref.tag() == null || ref.tag().equals("latest"))
                                && !p.image().isBlank()) {
                            emit.emit(p.line(), p.where(), p.where() + " image " + shown(p)
                                    + (ref.tag() == null ? " has no tag (means :latest)" : " uses :latest"));
                        }
                    }
                });
        add("from-platform-flag", I, "images", "FROM --platform is not hard-coded",
                "A constant --platform makes the image wrong for other architectures; use $BUILDPLATFORM or"
                        + " $TARGETPLATFORM.",
                List.of("DL3029", "BuildKit:FromPlatformFlagConstDisallowed"),
                (s, emit) -> {
                    for (Instruction i : s.instructions("FROM")) {
                        if (i.flag("platform").filter(p -> !p.contains("$")).isPresent()) {
                            emit.emit(i.line(), "FROM", "FROM --platform=" + i.flag("platform").get()
                                    + " is a constant");
                        }
                    }
                });

        // ---- user -----------------------------------------------------------------------------------------------
        add("final-user-root", E, "user", "The final stage runs as a non-root user",
                "Root in the container is one kernel bug away from root on the host (user namespaces on the build"
                        + " hosts do not follow the image to production). The user that the target stage ends with —"
                        + " by name or uid 0, through ARG and ENV indirection and build args, inherited through stage"
                        + " chains — must not be root, and a stage that sets no USER inherits its base's (root for"
                        + " most bases). Stricter than DL3002 because a final stage without USER counts as root:"
                        + " hadolint only reports an explicit USER root (or 0) as the last USER.",
                List.of("DL3002", "DS002", "CKV_DOCKER_3", "CKV_DOCKER_8", "CIS-4.1"),
                BuiltinRules::finalUser);
        add("final-user-unresolved", W, "user", "The final stage's USER can be read before the build",
                "A USER whose value still holds a variable after the expansion (one the base image may set:"
                        + " USER $NB_UID from a base's environment, or ENV U=${PATH:+0} then USER $U) cannot be judged"
                        + " from the Dockerfile: BuildKit may make it root ('0'). A warning, not final-user-root's"
                        + " error, because the built image's own user is then checked by image-user-root, which reads"
                        + " the image and its /etc/passwd before the push. Write the uid, or give the variable its"
                        + " value with ARG or ENV in the Dockerfile.",
                List.of("DL3002", "CIS-4.1"),
                BuiltinRules::finalUserUnresolved);
        add("sudo", E, "user", "No sudo in RUN",
                "sudo in a build means the image ships sudo and a path to root at run time; build steps already run"
                        + " as the current USER, so switch USER instead.",
                List.of("DL3004", "DS010", "CKV2_DOCKER_1"),
                (s, emit) -> forEachRun(s, SUDO, (i, cmds) -> {
                    for (ShellCommands.Command c : cmds) {
                        if (c.program().equals("sudo")) {
                            emit.emit(i.line(), i.keyword(), "RUN uses sudo: " + c.text());
                            return;
                        }
                    }
                }));
        add("chpasswd", W, "user", "No passwords set in the image",
                "Setting a password (chpasswd, passwd --stdin, usermod -p) bakes a credential into every copy of the"
                        + " image.",
                List.of("CKV2_DOCKER_17", "CIS-4.10"),
                (s, emit) -> forEachRun(s, PASSWORD_PROGRAMS, (i, cmds) -> {
                    for (ShellCommands.Command c : cmds) {
                        if (c.program().equals("chpasswd") || (c.program().equals("usermod") && hasArg(c, "-p",
                                "--password")) || (c.program().equals("passwd") && hasArg(c, "--stdin"))) {
                            emit.emit(i.line(), i.keyword(), "RUN sets a password: " + c.program());
                        }
                    }
                }));
        BuiltinRunRules.register();
        BuiltinInstructionRules.register();
        BuiltinContextRules.register();
        BuiltinLintRules.register();
    }

    private static void finalUser(Subject s, Emitter emit) {
        if (s.plan() == null) {
            return;
        }
        Expansion.Effective last = lastUser(s);
        if (last == null) {
            emit.emit(s.plan().targetStage().line(), "FROM", "the final stage sets no USER, so the image would run as"
                    + " its base's user (root for most bases); add USER with a non-root user");
            return;
        }
        // The value is the expansion's (ARG defaults and build args, ENV of this stage and the stages it builds on,
        // the default PATH of a stage from scratch), not a scope of this stage's own: a variable the base image may
        // set was read as unset, and ${PATH:+0:}app ran as root (SubstitutionDifferentialIT, dockerd 26).
        String value = last.instruction().arguments().strip();
        if (value.indexOf('$') >= 0) {
            // A variable left in it (written in USER, or in the ENV or ARG value it reads: ENV U=${PATH:+0} then
            // USER $U, a reviewer's find): final-user-unresolved says so; image-user-root reads the built image.
            return;
        }
        String written = last.written().arguments().strip();
        int colon = value.indexOf(':');
        String user = (colon < 0 ? value : value.substring(0, colon)).strip();
        // "+0" and "-0" are uid 0 too (the runtime reads a number with Go's Atoi)
        String number = user.startsWith("+") || user.startsWith("-") ? user.substring(1) : user;
        if (user.isEmpty() || user.equals("root") || !number.isEmpty() && all(number, ch -> ch == '0')) {
            emit.emit(last.written().line(), "USER", "the final stage runs as root: USER "
                    + (value.equals(written) ? written : written + " (resolves to '" + value + "')"));
        }
    }

    /** The final stage's last USER, when its expanded value still holds a variable (see final-user-root). */
    private static void finalUserUnresolved(Subject s, Emitter emit) {
        Expansion.Effective last = s.plan() == null ? null : lastUser(s);
        if (last != null && last.instruction().arguments().indexOf('$') >= 0) {
            emit.emit(last.written().line(), "USER", "the final stage's user cannot be read before the build:"
                    + " USER " + last.written().arguments().strip() + " depends on a variable its base image may"
                    + " set (image-user-root checks the built image)");
        }
    }

    /**
     * The USER the target stage ends with: the last one, as the stage runs (the ONBUILD triggers it inherits first,
     * a USER among them counting, then its own), of the first stage of the target chain that has one; null when none
     * does. A stage's ARG and ENV only matter to a USER of that stage, which the expansion has resolved.
     */
    private static Expansion.Effective lastUser(Subject s) {
        for (BuildStages.Stage stage : s.targetChain()) {
            Expansion.Effective last = null;
            for (Expansion.Effective e : s.expansion().instructions()) {
                if (e.stage() == stage.index() && e.written().keyword().equals("USER")) {
                    last = e;
                }
            }
            if (last != null) {
                return last;
            }
        }
        return null;
    }

    /** Whether every character of a string passes the test (true for an empty string, as allMatch is). */
    private static boolean all(String s, java.util.function.IntPredicate test) {
        for (int k = 0; k < s.length(); k++) {
            if (!test.test(s.charAt(k))) {
                return false;
            }
        }
        return true;
    }

    /**
     * ENV (or LABEL) pairs in either form, as the daemon's {@code parseNameVal} reads them: words at Go's
     * {@code unicode.IsSpace} outside quotes and escapes ({@code ENV k=v k2=v2}, values with their quotes as written,
     * for the word processing), or the legacy {@code ENV k v}, split once at a run of {@code [\t\v\f\r ]}.
     */
    static Map<String, String> env(Instruction ins, char escape) {
        Map<String, String> out = new LinkedHashMap<>();
        List<String> words = DockerfileParser.nameValueWords(ins.arguments(), escape);
        if (!words.isEmpty() && !words.get(0).contains("=")) {
            String args = ins.arguments();
            int b = 0;
            while (b < args.length() && isDaemonSeparator(args.charAt(b))) {
                b++;
            }
            int sep = b;
            while (sep < args.length() && !isDaemonSeparator(args.charAt(sep))) {
                sep++;
            }
            int value = sep;
            while (value < args.length() && isDaemonSeparator(args.charAt(value))) {
                value++;
            }
            if (sep < args.length() && sep > b) {
                out.put(args.substring(b, sep), args.substring(value));
            }
            return out;
        }
        for (String pair : words) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                out.put(pair.substring(0, eq), pair.substring(eq + 1));
            }
        }
        return out;
    }

    /** The daemon's {@code tokenWhitespace}: {@code [\t\v\f\r ]}. */
    private static boolean isDaemonSeparator(char c) {
        return c == ' ' || c == '\t' || c == 0x0B || c == '\f' || c == '\r';
    }

    /** Whitespace-separated words that keep quoted runs together (quotes removed). */
    static List<String> splitWords(String text) {
        List<String> out = new ArrayList<>();
        if (text.length() <= 128 * 1024 && !hasShellSyntax(text)) {
            // Without quotes, escapes, comments or grouping, the shell split is the split at whitespace.
            int n = text.length();
            int i = 0;
            while (i < n) {
                while (i < n && ShellCommands.isWhitespace(text.charAt(i))) {
                    i++;
                }
                int start = i;
                while (i < n && !ShellCommands.isWhitespace(text.charAt(i))) {
                    i++;
                }
                if (i > start) {
                    out.add(text.substring(start, i));
                }
            }
            return out;
        }
        List<ShellCommands.Command> cmds = ShellCommands.split(text.replace(";", "\\;").replace("&", "\\&")
                .replace("|", "\\|").replace("<", "\\<").replace(">", "\\>"));
        cmds.forEach(c -> out.addAll(c.words()));
        return out;
    }

    /** Characters that make ShellCommands.split do more than split at whitespace (;, &, |, < and > are escaped here). */
    private static boolean hasShellSyntax(String text) {
        for (int k = 0; k < text.length(); k++) {
            char c = text.charAt(k);
            if (c == '\'' || c == '"' || c == '\\' || c == '#' || c == '(' || c == ')' || c == '{') {
                return true;
            }
        }
        return false;
    }

    /**
     * A cheap filter first (every pattern starts with one of these), then the expression. The filter looks for
     * "gh" and "xox" with the two characters their patterns demand after them ({@code gh[pousr]_},
     * {@code xox[baprs]-}): a bare "gh" is in most scripts (github, high, …), and the expression searched from every
     * position of a long RUN script was the dearest part of secret-in-label-or-run.
     */
    static boolean looksSecretValue(String value) {
        if (value != null && hasCredentialUrl(value)) {
            return true;
        }
        if (value == null || !(value.contains("AKIA") || value.contains("-----BEGIN")
                || followedBy(value, "gh", "pousr", '_') || followedBy(value, "xox", "baprs", '-')
                || value.contains("glpat-") || value.contains("eyJ"))) {
            return false;
        }
        return SECRET_VALUE.matcher(value).find();
    }

    /**
     * A URL with a password in its user info ({@code DATABASE_URL=postgres://app:pw@db/app},
     * {@code https://oauth2:glpat-…@host}); a password that is a variable reference ({@code user:${TOKEN}@}) is not a
     * written credential. Only looked for in a value with "://" and a later '@' (RE2, linear time).
     */
    static boolean hasCredentialUrl(String value) {
        int scheme = value.indexOf("://");
        return scheme >= 0 && value.indexOf('@', scheme) >= 0 && CREDENTIAL_URL.matcher(value).find();
    }

    private static final com.google.re2j.Pattern CREDENTIAL_URL = com.google.re2j.Pattern.compile(
            "[A-Za-z][A-Za-z0-9+.-]*://[^\\s/?#@:'\"`]+:[^\\s/?#@'\"`$]+@");

    /** Whether {@code start} occurs followed by one of {@code kinds} and then {@code separator}. */
    private static boolean followedBy(String value, String start, String kinds, char separator) {
        for (int k = value.indexOf(start); k >= 0; k = value.indexOf(start, k + 1)) {
            int after = k + start.length();
            if (after + 1 < value.length() && kinds.indexOf(value.charAt(after)) >= 0
                    && value.charAt(after + 1) == separator) {
                return true;
            }
        }
        return false;
    }

    /** The expression alone (kept for LintFastPathsTest's comparison with the filtered test). */
    static boolean matchesSecretValue(String value) {
        return SECRET_VALUE.matcher(value).find();
    }

    /**
     * Whether a comment is an inline ignore comment. The expression only matches at a '#' followed by optional
     * whitespace and then the first letter of one of its tool words (h, c, t, n, k or b, in ASCII either case, as
     * (?i) folds only ASCII); comments without such a '#' (most of them) are answered without it.
     */
    static boolean isInlineIgnore(String comment) {
        for (int hash = comment.indexOf('#'); hash >= 0; hash = comment.indexOf('#', hash + 1)) {
            int k = hash + 1;
            while (k < comment.length() && isRegexSpace(comment.charAt(k))) {
                k++;
            }
            if (k < comment.length() && "hHcCtTnNkKbB".indexOf(comment.charAt(k)) >= 0) {
                return INLINE_IGNORE.matcher(comment).find();
            }
        }
        return false;
    }

    /** What \s matches without UNICODE_CHARACTER_CLASS. */
    private static boolean isRegexSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
    }
}
