package io.buildgateway.policy;

import static io.buildgateway.policy.BuiltinRules.add;
import static io.buildgateway.policy.BuiltinRules.forEachRun;
import static io.buildgateway.policy.BuiltinRules.hasArg;

import io.buildgateway.dockerfile.Instruction;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The lint rules platform teams know from hadolint, Trivy and BuildKit's checks (package manager hygiene, labels,
 * pipes, variables, stage names) that the security rules of the other files do not already cover, and the list of
 * the peers' checks that do not apply to the gateway ({@link #NOT_APPLICABLE}), for the coverage table.
 */
final class BuiltinLintRules {

    private static final Finding.Severity W = Finding.Severity.warning;
    private static final Finding.Severity I = Finding.Severity.info;

    private static final Set<String> APT = Subject.Programs.of("apt-get", "apt");
    private static final Set<String> UPGRADERS = Subject.Programs.of("apt-get", "apt", "apk", "yum", "dnf", "microdnf", "zypper");
    private static final Set<String> INSTALLERS = Subject.Programs.of("apt-get", "apt", "yum", "dnf", "microdnf", "zypper");
    private static final Set<String> APK = Subject.Programs.of("apk");
    private static final Set<String> CACHERS = Subject.Programs.of("yum", "dnf", "microdnf", "zypper", "pip", "pip3", "yarn");
    private static final Set<String> USERADD = Subject.Programs.of("useradd");
    private static final Set<String> APT_ONLY = Subject.Programs.of("apt");
    private static final Set<String> INDEX_UPDATERS = Subject.Programs.of("apt-get", "apt", "apk");
    private static final Set<String> WGET = Subject.Programs.of("wget");
    private static final Set<String> CURL = Subject.Programs.of("curl");
    private static final Set<String> LN = Subject.Programs.of("ln");
    private static final Set<String> DOWNLOADERS = Subject.Programs.of("wget", "curl");
    private static final Set<String> POINTLESS = Subject.Programs.of("ssh", "vim", "shutdown", "service", "ps", "free", "top",
            "kill", "mount", "ifconfig");
    private static final Set<String> NON_POSIX_SHELLS = Set.of("pwsh", "powershell", "cmd", "cmd.exe");
    private static final Set<String> PIPEFAIL_SHELLS = Set.of("bash", "zsh", "ash", "ksh", "mksh");
    private static final Set<String> RESERVED_STAGE_NAMES = Set.of("scratch", "context");
    /** Variables the builder defines without an ARG (proxies, and the platform variables in FROM). */
    private static final Set<String> PREDEFINED = Set.of("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
            "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy");
    private static final Set<String> SYSTEM_DIRS = Set.of("/proc", "/boot", "/dev", "/initrd", "/lost+found");

    private static final Pattern RFC3339 = Pattern.compile(
            "\\d{4}-\\d{2}-\\d{2}[Tt ]\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:[Zz]|[+-]\\d{2}:\\d{2})");
    /**
     * URL and EMAIL are RE2 (linear time): with java.util.regex a label value of 1 MB (continuation lines joined; a
     * LABEL is not bounded by the substitution's 64 KB) made them quadratic: minutes of a core per lint (a review's
     * finding, 2026-12-06). Whitespace is spelled out as java.util.regex's \s is (RE2's lacks the vertical tab).
     */
    private static final com.google.re2j.Pattern URL = com.google.re2j.Pattern.compile(
            "(?i)[a-z][a-z0-9+.-]*://[^\\t\\n\\x0B\\f\\r /?#]+[^\\t\\n\\x0B\\f\\r ]*");
    private static final Pattern GIT_HASH = Pattern.compile("[0-9a-f]{40}|[0-9a-f]{64}");
    private static final Pattern SEMVER = Pattern.compile("v?(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)"
            + "(?:-[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?");
    private static final com.google.re2j.Pattern EMAIL = com.google.re2j.Pattern.compile(
            "[^@\\t\\n\\x0B\\f\\r <>]+@[^@\\t\\n\\x0B\\f\\r <>]+\\.[^@\\t\\n\\x0B\\f\\r <>]+");
    /** {@code String.split("\\s+")} compiles this on every call; precompiled, the same split. */
    private static final Pattern WHITESPACE_RUN = Pattern.compile("\\s+");
    private static final Pattern SPDX_ID = Pattern.compile("(?:LicenseRef-)?[A-Za-z0-9][A-Za-z0-9.+-]*");

    /**
     * The checks of hadolint, Trivy and BuildKit that no rule of ours claims, each with the reason it does not apply
     * to a gateway that builds with network none from approved bases (or the rule that covers it under another
     * name). The coverage table of docs/policy-rules.md lists them; a test keeps the list complete.
     */
    static final Map<String, String> NOT_APPLICABLE = notApplicable();

    private BuiltinLintRules() {
    }

    private static Map<String, String> notApplicable() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("DL1001", "Covered by `inline-ignore-comment`: ignore pragmas are reported and never obeyed.");
        m.put("DL3010", "Not adopted: ADD's implicit archive extraction is what `add-instead-of-copy` steers away"
                + " from; unpack with an explicit tar step so the reviewer sees it.");
        m.put("DL3047", "Does not apply: wget's progress output only matters for downloads, and the build hosts have"
                + " no network (downloads fail; `curl-pipe-shell` and `add-url-without-checksum` say why).");
        m.put("DL3050", "Does not apply: extra labels are harmless; the policy's `requiredLabels` is the label schema"
                + " (`missing-required-label`) and no label is superfluous to it.");
        m.put("DL3057", "Covered by `missing-healthcheck` (with `requireHealthcheck` in the policy).");
        m.put("DL3063", "Covered by `final-user-root` and `reserved-stage-name` (hadolint releases give this number"
                + " to a missing USER and to a reserved stage name).");
        m.put("DL3064", "Covered by `secret-in-arg-or-env`.");
        m.put("DL3066", "Not adopted: a named USER is resolved in the image's own /etc/passwd, and"
                + " `final-user-root` judges names and ids alike; numeric ids are a deployment concern.");
        m.put("DL3067", "Covered by `copy-whole-filesystem`.");
        for (String dl : List.of("DL3068", "DL3069", "DL3070", "DL3071", "DL3072", "DL3073", "DL3074", "DL3075",
                "DL3076", "DL3077")) {
            m.put(dl, "Not adopted: a build-speed hint (a BuildKit cache mount for a language package manager), not"
                    + " a defect; caches left in layers are judged by `package-cache-not-cleaned`.");
        }
        m.put("DL4007", "Covered by the context rules (`context-secret-file`, `context-git-directory`,"
                + " `missing-dockerignore`): the gateway sees the context itself, so it judges what COPY . would"
                + " take rather than the instruction.");
        m.put("DS008", "Covered by `invalid-port`.");
        m.put("BuildKit:ConsistentInstructionCasing", "Not adopted: casing is cosmetic, and the gateway reads"
                + " keywords case-insensitively as the daemon does.");
        m.put("BuildKit:FromAsCasing", "Not adopted: casing is cosmetic; the parser reads FROM … AS in any case.");
        m.put("BuildKit:NoEmptyContinuation", "Covered by `dockerfile-syntax` where the parser refuses the file;"
                + " an empty continuation line the daemon accepts changes nothing that is built.");
        m.put("BuildKit:InvalidBaseImagePlatform", "Does not apply before the build: the platform of a base is known"
                + " only from the registry; the build hosts build for their own platform and post-build"
                + " verification checks the image.");
        m.put("BuildKit:CopyIgnoredFile", "Covered by `copy-source-missing`: the gateway judges COPY sources"
                + " against the context as received, after .dockerignore.");
        m.put("BuildKit:InvalidDefinitionDescription", "Not adopted: it concerns comments read by"
                + " `docker build --call=outline`, which the gateway does not offer.");
        m.put("BuildKit:ExposeInvalidFormat", "Covered by `invalid-port` (an IP address or host port in EXPOSE is"
                + " not a valid port).");
        return java.util.Collections.unmodifiableMap(m);
    }

    /** Every check of the peers the coverage table must account for (by a rule's reference or a line above). */
    static final List<String> PEER_CHECKS = peerChecks();

    private static List<String> peerChecks() {
        List<String> out = new ArrayList<>();
        out.add("DL1001");
        for (int n = 3000; n <= 3077; n++) {
            out.add("DL" + n);
        }
        out.addAll(List.of("DL4000", "DL4001", "DL4003", "DL4004", "DL4005", "DL4006", "DL4007"));
        for (int n = 1; n <= 32; n++) {
            if (n != 3 && n != 18 && n != 28) { // numbers Trivy does not use
                out.add(String.format("DS%03d", n));
            }
        }
        for (String b : List.of("StageNameCasing", "FromAsCasing", "NoEmptyContinuation",
                "ConsistentInstructionCasing", "DuplicateStageName", "ReservedStageName", "JSONArgsRecommended",
                "MaintainerDeprecated", "UndefinedArgInFrom", "WorkdirRelativePath", "UndefinedVar",
                "MultipleInstructionsDisallowed", "LegacyKeyValueFormat", "InvalidBaseImagePlatform",
                "RedundantTargetPlatform", "SecretsUsedInArgOrEnv", "InvalidDefaultArgInFrom",
                "FromPlatformFlagConstDisallowed", "CopyIgnoredFile", "InvalidDefinitionDescription",
                "ExposeProtoCasing", "ExposeInvalidFormat")) {
            out.add("BuildKit:" + b);
        }
        return List.copyOf(out);
    }

    static void register() {
        // ---- packages -------------------------------------------------------------------------------------------
        add("package-upgrade", W, "packages", "No blanket upgrade of the base's packages",
                "apt-get upgrade/dist-upgrade, apk upgrade, yum/dnf update or upgrade and zypper update/dist-upgrade"
                        + " change the reviewed base into something nobody reviewed and make two builds of the same"
                        + " context differ. Take a newer approved base instead, or install the one package at a"
                        + " pinned version.",
                List.of("DL3005", "DL3017", "DL3031", "DL3035", "DL3039", "DS024"),
                (s, emit) -> forEachRun(s, UPGRADERS, (i, cmds) -> {
                    for (ShellCommands.Command c : cmds) {
                        String p = c.program();
                        if (!UPGRADERS.contains(p)) {
                            continue; // the switch's default: no sub-command to find
                        }
                        String sub = subcommand(c);
                        boolean upgrade = switch (p) {
                            case "apt-get", "apt" -> sub.equals("upgrade") || sub.equals("dist-upgrade")
                                    || sub.equals("full-upgrade");
                            case "apk" -> sub.equals("upgrade");
                            case "yum", "dnf", "microdnf" -> (sub.equals("update") || sub.equals("upgrade"))
                                    && packageWords(c, sub) == 0;
                            case "zypper" -> sub.equals("update") || sub.equals("up") || sub.equals("dist-upgrade")
                                    || sub.equals("dup");
                            default -> false;
                        };
                        if (upgrade) {
                            emit.emit(i.line(), i.keyword(), p + " " + sub + " upgrades every package of the base");
                        }
                    }
                }));
        add("install-without-yes", W, "packages", "Package installs do not wait for a confirmation",
                "The build has no terminal: apt-get/yum/dnf install without -y and zypper install without -n stop"
                        + " at the prompt and fail the build.",
                List.of("DL3014", "DL3030", "DL3034", "DL3038", "DS021"),
                (s, emit) -> forEachRun(s, INSTALLERS, (i, cmds) -> {
                    for (ShellCommands.Command c : cmds) {
                        String p = c.program();
                        if (!INSTALLERS.contains(p) || !isInstall(p, subcommand(c))) {
                            continue;
                        }
                        boolean yes = p.equals("zypper")
                                ? hasArg(c, "-n", "--non-interactive", "-y", "--no-confirm") || shortFlag(c, 'n')
                                : hasArg(c, "-y", "--yes", "--assume-yes", "--assumeyes", "-qq", "-q=2")
                                        || shortFlag(c, 'y') || c.text().contains("Assume-Yes")
                                        || p.equals("microdnf") || (APT.contains(p) && quietTwice(c));
                        if (!yes) {
                            emit.emit(i.line(), i.keyword(), p + " " + subcommand(c) + " without "
                                    + (p.equals("zypper") ? "-n" : "-y"));
                        }
                    }
                }));
        add("apt-instead-of-apt-get", W, "packages", "apt-get in scripts, not apt",
                "apt is the interactive front end; its output and options are not a stable interface for scripts"
                        + " (it warns so itself).", List.of("DL3027"),
                (s, emit) -> forEachRun(s, APT_ONLY, (i, cmds) -> {
                    for (ShellCommands.Command c : cmds) {
                        if (c.program().equals("apt")) {
                            emit.emit(i.line(), i.keyword(), "use apt-get instead of apt: " + abbreviate(c.text()));
                            return;
                        }
                    }
                }));
        add("apk-no-cache", I, "packages", "apk add --no-cache",
                "Without --no-cache the package index stays in the layer; --no-cache (or a cache mount, or removing"
                        + " /var/cache/apk in the same step) keeps it out.", List.of("DL3019", "DS025"),
                (s, emit) -> forEachRun(s, APK, (i, cmds) -> {
                    if (cacheMount(i)) {
                        return;
                    }
                    for (ShellCommands.Command c : cmds) {
                        if (c.program().equals("apk") && subcommand(c).equals("add") && !hasArg(c, "--no-cache")
                                && !removes(cmds, "/var/cache/apk")) {
                            emit.emit(i.line(), i.keyword(), "apk add without --no-cache");
                        }
                    }
                }));
        add("package-cache-not-cleaned", I, "packages", "Package manager caches do not stay in the layer",
                "yum/dnf/microdnf install without a later clean all, zypper install without zypper clean, pip"
                        + " (pip2, pip3, pip3.x, python -m pip) install without --no-cache-dir (or PIP_NO_CACHE_DIR)"
                        + " and yarn install without yarn cache clean leave the downloaded packages in the image. A RUN"
                        + " with a cache mount is fine.",
                List.of("DL3032", "DL3036", "DL3040", "DL3042", "DL3060", "DS015", "DS019", "DS020", "DS027"),
                (s, emit) -> {
                    if (!s.runsAnyOf(CACHERS) && !s.runsPython() && !s.runsPrefixed("pip")) {
                        return;
                    }
                    boolean pipEnv = pipNoCacheEnv(s);
                    forEachRun(s, (i, cmds) -> {
                        if (cacheMount(i)) {
                            return;
                        }
                        for (int k = 0; k < cmds.size(); k++) {
                            String left = cacheLeft(cmds, k, pipEnv);
                            if (left != null) {
                                emit.emit(i.line(), i.keyword(), left);
                            }
                        }
                    });
                });
        add("update-without-install", W, "packages", "A package index update installs in the same step",
                "RUN apt-get update (or apk update) alone is cached as a layer: a later RUN … install then uses the"
                        + " stale index of whenever that layer was built.", List.of("DS017"),
                (s, emit) -> forEachRun(s, INDEX_UPDATERS, (i, cmds) -> {
                    boolean update = false;
                    boolean install = false;
                    for (ShellCommands.Command c : cmds) {
                        if (APT.contains(c.program()) || c.program().equals("apk")) {
                            String sub = subcommand(c);
                            update |= sub.equals("update");
                            install |= sub.equals("install") || sub.equals("add") || sub.equals("upgrade")
                                    || sub.equals("dist-upgrade");
                        }
                    }
                    if (update && !install) {
                        emit.emit(i.line(), i.keyword(), "package index updated without an install in the same RUN");
                    }
                }));

        // ---- run ------------------------------------------------------------------------------------------------
        add("pipe-without-pipefail", W, "run", "A pipe in RUN fails when any part fails",
                "/bin/sh -c judges a pipeline by its last command only: curl … | tar x succeeds even when the"
                        + " download failed. Set SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"] before the"
                        + " RUN (bash, zsh, ash or ksh: sh may not know the option). A set -o pipefail in the RUN"
                        + " itself counts too, as in Trivy's DS032 (hadolint's DL4006 asks for SHELL regardless).",
                List.of("DL4006", "DS032"),
                BuiltinLintRules::pipefail);
        add("wget-and-curl", I, "run", "One download tool, not both wget and curl",
                "Using both means shipping (and patching) both. Stricter than DL4001 because a HEALTHCHECK CMD"
                        + " counts as well as RUN: the tool it calls ships in the image as surely.",
                List.of("DL4001", "DS014"),
                (s, emit) -> {
                    if (!s.runsAnyOf(WGET) || !s.runsAnyOf(CURL)) {
                        return;
                    }
                    forEachRun(s, DOWNLOADERS, (i, cmds) -> {
                        for (ShellCommands.Command c : cmds) {
                            if (c.program().equals("wget")) {
                                emit.emit(i.line(), i.keyword(), "wget is used as well as curl; use one of them");
                                return;
                            }
                        }
                    });
                });
        add("useradd-high-uid", W, "user", "useradd -l for a high UID",
                "Without -l (--no-log-init) useradd writes a sparse lastlog/faillog entry sized by the UID: a UID"
                        + " of many digits adds gigabytes to the layer.", List.of("DL3046"),
                (s, emit) -> forEachRun(s, USERADD, (i, cmds) -> {
                    for (ShellCommands.Command c : cmds) {
                        if (c.program().equals("useradd") && !hasArg(c, "-l", "--no-log-init")
                                && !shortFlag(c, 'l')) {
                            String uid = optionValue(c, "-u", "--uid");
                            if (uid != null && uid.length() > 5 && allDigits(uid)) {
                                emit.emit(i.line(), i.keyword(), "useradd with UID " + uid + " without -l");
                            }
                        }
                    }
                }));
        add("pointless-command", I, "run", "No interactive or system commands in RUN",
                "ssh, vim, shutdown, service, ps, free, top, kill, mount and ifconfig do nothing useful in a build"
                        + " step (there is no terminal, no init, no network and no running service). RUN only, as"
                        + " DL3001: a HEALTHCHECK CMD runs in the container, where ps or service status can be the"
                        + " check itself.",
                List.of("DL3001"),
                (s, emit) -> forEachRun(s, POINTLESS, (i, cmds) -> {
                    if (i.keyword().equals("HEALTHCHECK")) {
                        return;
                    }
                    for (ShellCommands.Command c : cmds) {
                        if (POINTLESS.contains(c.program())) {
                            emit.emit(i.line(), i.keyword(), c.program() + " makes no sense in a build step");
                            return;
                        }
                    }
                }));
        add("default-shell-replaced", I, "run", "SHELL, not a symlink over /bin/sh",
                "RUN ln -sf /bin/bash /bin/sh changes the shell of every later step and of everything in the"
                        + " image that runs sh, invisibly; the SHELL instruction changes the build's shell only.",
                List.of("DL4005"),
                (s, emit) -> forEachRun(s, LN, (i, cmds) -> {
                    for (ShellCommands.Command c : cmds) {
                        List<String> a = c.args();
                        if (c.program().equals("ln") && !a.isEmpty() && a.get(a.size() - 1).equals("/bin/sh")) {
                            emit.emit(i.line(), i.keyword(), "ln over /bin/sh; use SHELL to change the shell");
                        }
                    }
                }));
        add("consecutive-run", I, "style", "Consecutive RUNs are one step",
                "Each RUN is a layer; consecutive short RUNs (two commands or fewer each) with the same flags can"
                        + " be joined with &&. Longer RUNs are taken as split on purpose, as hadolint does.",
                List.of("DL3059"),
                (s, emit) -> {
                    Instruction previous = null;
                    for (Instruction i : s.dockerfile().instructions()) {
                        if (i.keyword().equals("RUN") && previous != null && previous.keyword().equals("RUN")
                                && previous.flags().equals(i.flags()) && shortRun(s, previous) && shortRun(s, i)) {
                            emit.emit(i.line(), "RUN", "RUN follows RUN (line " + previous.line() + "); join them");
                        }
                        previous = i;
                    }
                });

        // ---- structure ------------------------------------------------------------------------------------------
        add("copy-from-unknown-stage", W, "structure", "COPY --from names an earlier stage",
                "A --from that names no earlier stage is taken as an image name and pulled (and refused by"
                        + " unapproved-image), which is rarely what the author meant: usually a typo or a stage"
                        + " defined later. An index must be that of an earlier stage. Unlike hadolint's DL3022, an"
                        + " earlier stage's index and an image reference (with '/', ':', '.' or '@') are accepted:"
                        + " the index is valid Docker, and images are judged by unapproved-image.",
                List.of("DL3022"),
                BuiltinLintRules::copyFromUnknownStage);
        add("copy-relative-dest-without-workdir", W, "structure", "COPY to a relative path only after WORKDIR",
                "A relative destination is resolved against the working directory, which without a WORKDIR in"
                        + " the stage (or the stage it builds FROM) is whatever the base image set.",
                List.of("DL3045"), BuiltinLintRules::relativeCopyDestination);
        add("env-self-reference", W, "structure", "ENV does not use a variable it defines in the same line",
                "In ENV A=1 B=$A the $A is the value from before the instruction (empty), not 1: split it into two"
                        + " ENV instructions.", List.of("DL3044"), BuiltinLintRules::envSelfReference);
        add("undefined-var", W, "structure", "Variables are declared before they are used",
                "A $VAR in COPY, ADD, ENV, LABEL, WORKDIR, USER, EXPOSE, VOLUME or STOPSIGNAL that the stage has not"
                        + " declared (by ARG or ENV, earlier, or in the stage it builds FROM) expands to nothing: a"
                        + " global ARG must be declared again inside the stage. Names only a base image could set"
                        + " are reported only in stages built from scratch.",
                List.of("BuildKit:UndefinedVar"), BuiltinLintRules::undefinedVar);
        add("stage-name-casing", I, "style", "Stage names are lower case",
                "Stage names are matched case-insensitively; a mixed-case name reads as if it were not.",
                List.of("BuildKit:StageNameCasing"),
                (s, emit) -> {
                    for (Instruction i : s.instructions("FROM")) {
                        String name = stageName(s, i);
                        if (name != null && !name.equals(name.toLowerCase(Locale.ROOT))) {
                            emit.emit(i.line(), "FROM", "stage name '" + name + "' should be lower case");
                        }
                    }
                });
        add("reserved-stage-name", W, "structure", "No stage named scratch or context",
                "These names mean something else to the builder (the empty image, the build context).",
                List.of("BuildKit:ReservedStageName"),
                (s, emit) -> {
                    for (Instruction i : s.instructions("FROM")) {
                        String name = stageName(s, i);
                        if (name != null && RESERVED_STAGE_NAMES.contains(name.toLowerCase(Locale.ROOT))) {
                            emit.emit(i.line(), "FROM", "stage name '" + name + "' is reserved");
                        }
                    }
                });
        add("redundant-target-platform", I, "style", "No FROM --platform=$TARGETPLATFORM",
                "The target platform is what FROM uses anyway; saying so adds noise and suggests the stage is"
                        + " special.", List.of("BuildKit:RedundantTargetPlatform", "DL3065"),
                (s, emit) -> {
                    for (Instruction i : s.instructions("FROM")) {
                        if (!i.flags().isEmpty()) {
                            String p = i.flag("platform").orElse("");
                            if (p.equals("$TARGETPLATFORM") || p.equals("${TARGETPLATFORM}")) {
                                emit.emit(i.line(), "FROM", "--platform=" + p + " is the default");
                            }
                        }
                    }
                });
        add("legacy-key-value-format", I, "style", "ENV and LABEL in key=value form",
                "The legacy ENV key value form sets one variable whose value is the rest of the line, spaces"
                        + " included, which is easily misread.", List.of("BuildKit:LegacyKeyValueFormat"),
                (s, emit) -> {
                    for (Instruction i : s.dockerfile().instructions()) {
                        if ((i.keyword().equals("ENV") || i.keyword().equals("LABEL"))
                                && !s.words(i).get(0).contains("=")) {
                            emit.emit(i.line(), i.keyword(), i.keyword() + " key value is deprecated; use key=value");
                        }
                    }
                });
        add("expose-proto-casing", I, "style", "EXPOSE protocols are lower case",
                "80/TCP works, but tools that compare ports as text see a different port.",
                List.of("BuildKit:ExposeProtoCasing"),
                (s, emit) -> {
                    for (Instruction i : s.instructions("EXPOSE")) {
                        if (i.arguments().indexOf('/') >= 0) {
                            for (String w : s.words(i)) {
                                int slash = w.indexOf('/');
                                if (slash >= 0 && !w.substring(slash).equals(w.substring(slash).toLowerCase(
                                        Locale.ROOT))) {
                                    emit.emit(i.line(), "EXPOSE", "protocol of " + w + " should be lower case");
                                }
                            }
                        }
                    }
                });
        add("instruction-before-from", W, "structure", "Only ARG comes before the first FROM",
                "An instruction other than ARG before the first FROM belongs to no stage; the daemon refuses it.",
                List.of("DL3061"),
                (s, emit) -> {
                    for (Instruction i : s.dockerfile().instructions()) {
                        if (i.keyword().equals("FROM")) {
                            return;
                        }
                        if (!i.keyword().equals("ARG")) {
                            emit.emit(i.line(), i.keyword(), i.keyword() + " before the first FROM");
                        }
                    }
                });
        add("workdir-system-dir", W, "structure", "WORKDIR is not a system directory",
                "/proc, /dev, /boot, /initrd and /lost+found belong to the kernel and the host; working in them"
                        + " writes where the runtime mounts its own.", List.of("DS030"),
                (s, emit) -> {
                    for (Instruction i : s.instructions("WORKDIR")) {
                        String args = i.arguments();
                        int at = args.indexOf('/');
                        if (at < 0 || at + 1 >= args.length() || "pbdil".indexOf(args.charAt(at + 1)) < 0) {
                            continue; // no system directory starts with any other letter
                        }
                        String dir = stripQuotes(args.strip());
                        for (String sys : SYSTEM_DIRS) {
                            if (dir.startsWith(sys) && (dir.length() == sys.length()
                                    || dir.charAt(sys.length()) == '/')) {
                                emit.emit(i.line(), "WORKDIR", "WORKDIR " + dir + " is a system directory");
                                break;
                            }
                        }
                    }
                });

        // ---- metadata -------------------------------------------------------------------------------------------
        add("label-key-invalid", W, "metadata", "Label keys are valid",
                "Keys start with a lower-case letter, are lower-case letters and digits separated by single '.' or"
                        + " '-', and do not use the"
                        + " namespaces Docker reserves (com.docker., io.docker., org.dockerproject.).",
                List.of("DL3048"),
                (s, emit) -> labels(s, (i, k, v) -> {
                    if (k.contains("$")) {
                        return;
                    }
                    String reason = !validLabelKey(k)
                            ? "is not lower-case letters and digits separated by single '.' or '-'"
                            : k.startsWith("com.docker.") || k.startsWith("io.docker.")
                            || k.startsWith("org.dockerproject.") ? "uses a namespace reserved by Docker" : null;
                    if (reason != null) {
                        emit.emit(i.line(), "LABEL", "label key '" + BuiltinRules.visible(k) + "' " + reason);
                    }
                }));
        add("label-value-empty", W, "metadata", "Labels have values",
                "An empty label says nothing and hides a missing value (often an ARG not passed).",
                List.of("DL3051"),
                (s, emit) -> labels(s, (i, k, v) -> {
                    if (v.isEmpty() || v.equals("\"\"") || v.equals("''")) {
                        emit.emit(i.line(), "LABEL", "label '" + BuiltinRules.visible(k) + "' is empty");
                    }
                }));
        add("label-value-format", W, "metadata", "Well-known labels have well-formed values",
                "The OCI annotations are read by tools: org.opencontainers.image.created is an RFC 3339 time,"
                        + " .url, .source and .documentation are URLs, .licenses an SPDX expression, .revision a"
                        + " full git commit hash and .version a semantic version; a maintainer or *.email label is an"
                        + " e-mail address. Values with variables are left alone.",
                List.of("DL3052", "DL3053", "DL3054", "DL3055", "DL3056", "DL3058"),
                (s, emit) -> labels(s, (i, k, v) -> {
                    String value = stripQuotes(v);
                    if (value.isEmpty() || value.contains("$")) {
                        return;
                    }
                    String expected = labelFormatProblem(k, value);
                    if (expected != null) {
                        emit.emit(i.line(), "LABEL", "label " + k + " is not " + expected + ": "
                                + abbreviate(BuiltinRules.visible(value)));
                    }
                }));
    }

    // ---- checks ---------------------------------------------------------------------------------------------------

    private static void pipefail(Subject s, BuiltinRules.Emitter emit) {
        Map<Integer, Subject.Run> runsByLine = null;
        boolean shellPipefail = false;
        boolean shellNonPosix = false;
        for (Instruction i : s.dockerfile().instructions()) {
            switch (i.keyword()) {
                case "FROM" -> {
                    shellPipefail = false;
                    shellNonPosix = false;
                }
                case "SHELL" -> {
                    List<String> shell = i.isJsonForm() ? i.json() : List.of();
                    shellNonPosix = !shell.isEmpty() && NON_POSIX_SHELLS.contains(
                            ShellCommands.basename(shell.get(0)).toLowerCase(Locale.ROOT));
                    shellPipefail = !shell.isEmpty() && PIPEFAIL_SHELLS.contains(
                            ShellCommands.basename(shell.get(0))) && setsPipefail(shell);
                }
                case "RUN" -> {
                    if (i.isJsonForm() || shellPipefail || shellNonPosix || !mayPipe(s, i)) {
                        continue;
                    }
                    if (runsByLine == null) {
                        runsByLine = new HashMap<>();
                        for (Subject.Run r : s.runs()) {
                            runsByLine.putIfAbsent(r.instruction().line(), r);
                        }
                    }
                    Subject.Run run = runsByLine.get(i.line());
                    List<ShellCommands.Command> cmds = run == null ? s.commands(i) : run.commands();
                    for (ShellCommands.Command c : cmds) {
                        if (c.program().equals("set") && setsPipefail(c.words())) {
                            break;
                        }
                        if (c.pipedFrom()) {
                            emit.emit(i.line(), "RUN", "a pipe without pipefail: the RUN succeeds when only the"
                                    + " last command does");
                            break;
                        }
                    }
                }
                default -> {
                }
            }
        }
    }

    /** Lower-case letters and digits separated by single '.' or '-', starting with a letter, ending alphanumeric. */
    static boolean validLabelKey(String k) {
        int n = k.length();
        if (n == 0) {
            return false;
        }
        for (int j = 0; j < n; j++) {
            char c = k.charAt(j);
            boolean alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
            if ((j == 0 && !(c >= 'a' && c <= 'z'))
                    || (!alnum && ((c != '.' && c != '-') || j == n - 1 || !alnumAt(k, j + 1)))) {
                return false;
            }
        }
        return true;
    }

    private static boolean alnumAt(String k, int j) {
        char c = k.charAt(j);
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    }

    /** A RUN of at most two commands (split once per evaluation, with the other rules' reading of the RUN). */
    private static boolean shortRun(Subject s, Instruction run) {
        return run.isJsonForm() || s.commands(run).size() <= 2;
    }

    /** A cheap filter: a '|' that is not part of "||" somewhere in the script. */
    private static boolean mayPipe(Subject s, Instruction i) {
        String text = s.scriptOf(i);
        for (int k = text.indexOf('|'); k >= 0; k = text.indexOf('|', k + 2)) {
            if (k + 1 >= text.length() || text.charAt(k + 1) != '|') {
                return true;
            }
        }
        return false;
    }

    /** Whether words such as {@code -o pipefail} or {@code -euxo pipefail} turn pipefail on. */
    private static boolean setsPipefail(List<String> words) {
        for (int k = 0; k + 1 < words.size(); k++) {
            String w = words.get(k);
            if (words.get(k + 1).equals("pipefail") && w.startsWith("-") && !w.startsWith("--")
                    && w.indexOf('o') > 0) {
                return true;
            }
        }
        return false;
    }

    private static void copyFromUnknownStage(Subject s, BuiltinRules.Emitter emit) {
        boolean any = false;
        for (Instruction i : s.instructions("COPY")) {
            any |= i.flag("from").isPresent();
        }
        if (!any) {
            return;
        }
        Set<String> names = new HashSet<>();
        int stage = -1;
        for (Instruction i : s.dockerfile().instructions()) {
            if (i.keyword().equals("FROM")) {
                stage++;
                String name = stageName(s, i);
                if (name != null) {
                    names.add(name.toLowerCase(Locale.ROOT));
                }
                continue;
            }
            if (!i.keyword().equals("COPY") || i.flag("from").isEmpty()) {
                continue;
            }
            String from = i.flag("from").get();
            String lower = from.toLowerCase(Locale.ROOT);
            if (from.isEmpty() || from.contains("$") || from.contains(":") || from.contains("/")
                    || from.contains("@") || from.contains(".")) {
                continue; // an image reference (judged by the image rules) or decided at build time
            }
            if (allDigits(from)) {
                if (from.length() > 4 || Integer.parseInt(from) >= stage) {
                    emit.emit(i.line(), "COPY", "COPY --from=" + from + " is not the index of an earlier stage");
                }
            } else if (!names.contains(lower)) {
                emit.emit(i.line(), "COPY", "COPY --from=" + from + " names no earlier stage (it would be pulled"
                        + " as an image)");
            }
        }
    }

    private static void relativeCopyDestination(Subject s, BuiltinRules.Emitter emit) {
        if (s.instructions("COPY").isEmpty()) {
            return;
        }
        Map<String, Boolean> stageHasWorkdir = null;
        boolean workdir = false;
        String stage = null;
        for (Instruction i : s.dockerfile().instructions()) {
            switch (i.keyword()) {
                case "FROM" -> {
                    if (stage != null && workdir) {
                        if (stageHasWorkdir == null) {
                            stageHasWorkdir = new HashMap<>();
                        }
                        stageHasWorkdir.put(stage, true);
                    }
                    workdir = stageHasWorkdir != null
                            && stageHasWorkdir.getOrDefault(s.words(i).get(0).toLowerCase(Locale.ROOT), false);
                    String name = stageName(s, i);
                    stage = name == null ? "" : name.toLowerCase(Locale.ROOT);
                }
                case "WORKDIR" -> workdir = true;
                case "COPY" -> {
                    if (workdir) {
                        continue;
                    }
                    List<String> words = s.argumentWords(i);
                    if (words.size() < 2) {
                        continue;
                    }
                    String dest = stripQuotes(words.get(words.size() - 1));
                    boolean absolute = dest.startsWith("/") || dest.startsWith("$") || dest.startsWith("\\")
                            || (dest.length() >= 2 && Character.isLetter(dest.charAt(0)) && dest.charAt(1) == ':');
                    if (!absolute) {
                        emit.emit(i.line(), "COPY", "COPY to relative path '" + BuiltinRules.visible(dest)
                                + "' without a WORKDIR in the stage");
                    }
                }
                default -> {
                }
            }
        }
    }

    private static void envSelfReference(Subject s, BuiltinRules.Emitter emit) {
        boolean candidate = false;
        for (Instruction i : s.instructions("ENV")) {
            if (i.arguments().indexOf('$') >= 0 && s.env(i).size() > 1) {
                candidate = true;
                break;
            }
        }
        if (!candidate) {
            return; // no ENV defines two variables and uses one
        }
        Set<String> known = new HashSet<>();
        for (Instruction i : s.dockerfile().instructions()) {
            switch (i.keyword()) {
                case "FROM" -> known.clear();
                case "ARG" -> known.addAll(s.argPairs(i).keySet());
                case "ENV" -> {
                    Set<String> here = new HashSet<>();
                    for (Map.Entry<String, String> e : s.env(i).entrySet()) {
                        if (e.getValue().indexOf('$') >= 0) {
                            for (String used : variables(e.getValue(), s.dockerfile().escape())) {
                                if (here.contains(used) && !known.contains(used)) {
                                    emit.emit(i.line(), "ENV", "ENV " + e.getKey() + " uses $" + used
                                            + ", which this same ENV defines (it sees the old value)");
                                }
                            }
                        }
                        here.add(e.getKey());
                    }
                    known.addAll(here);
                }
                default -> {
                }
            }
        }
    }

    private static final Set<String> VARIABLE_KEYWORDS = Set.of("ADD", "COPY", "ENV", "LABEL", "WORKDIR", "USER",
            "EXPOSE", "VOLUME", "STOPSIGNAL", "ARG");

    private static void undefinedVar(Subject s, BuiltinRules.Emitter emit) {
        if (!usesVariables(s)) {
            return; // most files: no $ outside RUN, CMD and ENTRYPOINT, so nothing to resolve
        }
        char escape = s.dockerfile().escape();
        Set<String> global = new HashSet<>();
        Map<String, Set<String>> stageScopes = new HashMap<>();
        Set<String> scope = null;
        boolean fromScratch = false;
        Map<String, Boolean> stageFromScratch = new HashMap<>();
        for (Instruction i : s.dockerfile().instructions()) {
            String k = i.keyword();
            if (k.equals("FROM")) {
                List<String> w = s.words(i);
                String base = w.isEmpty() ? "" : w.get(0).toLowerCase(Locale.ROOT);
                Set<String> inherited = stageScopes.get(base);
                scope = inherited == null ? new HashSet<>() : new HashSet<>(inherited);
                fromScratch = base.equals("scratch") || stageFromScratch.getOrDefault(base, false);
                String name = stageName(s, i);
                if (name != null) {
                    stageScopes.put(name.toLowerCase(Locale.ROOT), scope);
                    stageFromScratch.put(name.toLowerCase(Locale.ROOT), fromScratch);
                }
                continue;
            }
            if (scope == null) {
                if (k.equals("ARG")) {
                    global.addAll(s.argPairs(i).keySet());
                }
                continue;
            }
            if (!VARIABLE_KEYWORDS.contains(k)) {
                continue;
            }
            Set<String> definedHere = new HashSet<>();
            List<String> texts = new ArrayList<>();
            if (k.equals("ARG")) {
                s.argPairs(i).forEach((name, def) -> {
                    if (def != null) {
                        texts.add(def);
                    }
                    definedHere.add(name);
                });
            } else if (k.equals("ENV")) {
                for (Map.Entry<String, String> e : s.env(i).entrySet()) {
                    texts.add(e.getValue());
                    definedHere.add(e.getKey());
                }
            } else {
                texts.add(i.arguments().indexOf("<<") >= 0 && (k.equals("COPY") || k.equals("ADD"))
                        ? i.arguments().substring(0, i.arguments().indexOf("<<")) : i.arguments());
                for (Instruction.Flag f : i.flags()) {
                    if (f.value() != null) {
                        texts.add(f.value());
                    }
                }
            }
            for (String text : texts) {
                if (text.indexOf('$') < 0) {
                    continue;
                }
                for (String used : variables(text, escape)) {
                    if (scope.contains(used) || PREDEFINED.contains(used)) {
                        continue;
                    }
                    if (global.contains(used)) {
                        emit.emit(i.line(), k, "$" + used + " is a global ARG not declared in this stage (add ARG "
                                + used + " after FROM)");
                    } else if (fromScratch) {
                        emit.emit(i.line(), k, "$" + used + " is not defined");
                    }
                }
            }
            scope.addAll(definedHere);
        }
    }

    /** Whether an instruction after the first FROM that the builder substitutes mentions '$'. */
    private static boolean usesVariables(Subject s) {
        boolean inStage = false;
        for (Instruction i : s.dockerfile().instructions()) {
            String k = i.keyword();
            if (k.equals("FROM")) {
                inStage = true;
            } else if (inStage && VARIABLE_KEYWORDS.contains(k)) {
                if (i.arguments().indexOf('$') >= 0) {
                    return true;
                }
                List<Instruction.Flag> flags = i.flags();
                for (int f = 0; f < flags.size(); f++) {
                    if (flags.get(f).value() != null && flags.get(f).value().indexOf('$') >= 0) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    /** The names a text refers to as $NAME or ${NAME…}; escaped dollars are not references. */
    static List<String> variables(String text, char escape) {
        List<String> out = new ArrayList<>(2);
        int n = text.length();
        for (int k = 0; k < n; k++) {
            char c = text.charAt(k);
            if (c == escape) {
                k++;
                continue;
            }
            if (c != '$' || k + 1 >= n) {
                continue;
            }
            int start = k + 1;
            boolean braced = text.charAt(start) == '{';
            if (braced) {
                start++;
            }
            int end = start;
            while (end < n && (Character.isLetterOrDigit(text.charAt(end)) || text.charAt(end) == '_')
                    && text.charAt(end) < 0x80) {
                end++;
            }
            if (end > start && !Character.isDigit(text.charAt(start))) {
                out.add(text.substring(start, end));
            }
            k = end - 1;
        }
        return out;
    }

    /** The name after AS of a FROM instruction (its last word when the one before is AS), or null. */
    private static String stageName(Subject s, Instruction i) {
        if (!i.keyword().equals("FROM")) {
            return null;
        }
        String a = i.arguments();
        int end = a.length();
        while (end > 0 && ShellCommands.isWhitespace(a.charAt(end - 1))) {
            end--;
        }
        int start = end;
        while (start > 0 && !ShellCommands.isWhitespace(a.charAt(start - 1))) {
            start--;
        }
        int asEnd = start;
        while (asEnd > 0 && ShellCommands.isWhitespace(a.charAt(asEnd - 1))) {
            asEnd--;
        }
        // "AS" preceded by whitespace (there is an image before it) and followed by whitespace.
        if (start == end || asEnd == start || asEnd < 4 || !a.regionMatches(true, asEnd - 2, "as", 0, 2)
                || !ShellCommands.isWhitespace(a.charAt(asEnd - 3))) {
            return null;
        }
        return a.substring(start, end);
    }

    @FunctionalInterface
    private interface LabelVisitor {
        void visit(Instruction i, String key, String value);
    }

    private static void labels(Subject s, LabelVisitor visitor) {
        for (Instruction i : s.instructions("LABEL")) {
            for (Map.Entry<String, String> e : s.env(i).entrySet()) {
                visitor.visit(i, stripQuotes(e.getKey()), e.getValue());
            }
        }
    }

    /** What a well-known label's value should be, when it is not; null when it is fine or not well-known. */
    static String labelFormatProblem(String key, String value) {
        switch (key) {
            case "org.opencontainers.image.created", "org.label-schema.build-date" -> {
                return RFC3339.matcher(value).matches() ? null : "an RFC 3339 date-time";
            }
            case "org.opencontainers.image.url", "org.opencontainers.image.source",
                    "org.opencontainers.image.documentation", "org.label-schema.url",
                    "org.label-schema.vcs-url", "org.label-schema.usage" -> {
                return URL.matcher(value).matches() ? null : "a URL";
            }
            case "org.opencontainers.image.licenses" -> {
                return spdx(value) ? null : "an SPDX license expression";
            }
            case "org.opencontainers.image.revision", "org.label-schema.vcs-ref" -> {
                return GIT_HASH.matcher(value).matches() ? null : "a full git commit hash";
            }
            case "org.opencontainers.image.version", "org.label-schema.version" -> {
                return SEMVER.matcher(value).matches() ? null : "a semantic version";
            }
            default -> {
                if (key.equals("maintainer") || key.endsWith(".email")) {
                    return EMAIL.matcher(value).find() ? null : "an e-mail address";
                }
                return null;
            }
        }
    }

    /** An SPDX expression: identifiers joined by AND, OR and WITH, with parentheses. */
    static boolean spdx(String value) {
        String spaced = value.replace("(", " ( ").replace(")", " ) ");
        boolean expectId = true;
        int depth = 0;
        for (String t : WHITESPACE_RUN.split(spaced.trim())) {
            if (t.equals("(")) {
                if (!expectId) {
                    return false;
                }
                depth++;
            } else if (t.equals(")")) {
                if (expectId || --depth < 0) {
                    return false;
                }
            } else if (t.equals("AND") || t.equals("OR") || t.equals("WITH")) {
                if (expectId) {
                    return false;
                }
                expectId = true;
            } else {
                if (!expectId || !SPDX_ID.matcher(t).matches()) {
                    return false;
                }
                expectId = false;
            }
        }
        return !expectId && depth == 0;
    }

    /** The first word after the program that is not an option (the sub-command), or "". */
    static String subcommand(ShellCommands.Command c) {
        List<String> args = c.args();
        for (int k = 0; k < args.size(); k++) {
            String w = args.get(k);
            if (!w.startsWith("-")) {
                return w;
            }
            if (w.equals("-o") || w.equals("-c") || w.equals("-t") || w.equals("--option")) {
                k++; // an option with a value
            }
        }
        return "";
    }

    private static boolean isInstall(String program, String sub) {
        return program.equals("zypper") ? sub.equals("install") || sub.equals("in") || sub.equals("remove")
                || sub.equals("rm") || sub.equals("source-install") || sub.equals("si") || sub.equals("patch")
                : sub.equals("install") || sub.equals("groupinstall") || sub.equals("localinstall")
                        || (APT.contains(program) && (sub.equals("upgrade") || sub.equals("dist-upgrade")));
    }

    /** Number of words after the sub-command that are not options. */
    private static int packageWords(ShellCommands.Command c, String sub) {
        return BuiltinRules.packages(c, sub).size();
    }

    /** Whether a combined short option (e.g. -qy) contains the letter. */
    private static boolean shortFlag(ShellCommands.Command c, char letter) {
        for (String w : c.words()) {
            if (w.length() > 2 && w.charAt(0) == '-' && w.charAt(1) != '-' && w.indexOf('=') < 0
                    && w.indexOf(letter) > 0) {
                return true;
            }
        }
        return false;
    }

    /** apt's -q -q (or --quiet --quiet): quiet level 2 implies -y. */
    private static boolean quietTwice(ShellCommands.Command c) {
        int quiet = 0;
        for (String w : c.words()) {
            if (w.equals("-q") || w.equals("--quiet")) {
                quiet++;
            }
        }
        return quiet >= 2;
    }

    private static String optionValue(ShellCommands.Command c, String shortOption, String longOption) {
        List<String> w = c.words();
        for (int k = 0; k < w.size(); k++) {
            String word = w.get(k);
            if ((word.equals(shortOption) || word.equals(longOption)) && k + 1 < w.size()) {
                return w.get(k + 1);
            }
            if (word.startsWith(longOption + "=")) {
                return word.substring(longOption.length() + 1);
            }
            if (word.startsWith(shortOption) && word.length() > shortOption.length()
                    && Character.isDigit(word.charAt(shortOption.length()))) {
                return word.substring(shortOption.length());
            }
        }
        return null;
    }

    private static boolean cacheMount(Instruction run) {
        for (Instruction.Flag f : run.flags()) {
            if (f.name().equals("mount") && f.value() != null && f.value().contains("type=cache")) {
                return true;
            }
        }
        return false;
    }

    private static boolean removes(List<ShellCommands.Command> cmds, String path) {
        for (ShellCommands.Command c : cmds) {
            if (c.program().equals("rm") && c.text().contains(path)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a later command of the RUN runs this program with these first arguments (e.g. yum clean all). */
    private static boolean later(List<ShellCommands.Command> cmds, int from, Set<String> programs, String sub,
            String arg) {
        for (int k = from + 1; k < cmds.size(); k++) {
            ShellCommands.Command c = cmds.get(k);
            if (programs.contains(c.program()) && subcommand(c).equals(sub)
                    && (arg == null || c.args().contains(arg))) {
                return true;
            }
        }
        return false;
    }

    private static final Set<String> YUM = Set.of("yum");
    private static final Set<String> DNF = Set.of("dnf", "microdnf");
    private static final Set<String> ZYPPER = Set.of("zypper");
    private static final Set<String> YARN = Set.of("yarn");

    /** The message for a cache the command at index k leaves behind, or null. */
    private static String cacheLeft(List<ShellCommands.Command> cmds, int k, boolean pipEnv) {
        ShellCommands.Command c = cmds.get(k);
        String p = c.program();
        String sub = subcommand(c);
        switch (p) {
            case "yum" -> {
                if (isInstall(p, sub) && !later(cmds, k, YUM, "clean", "all") && !removes(cmds, "/var/cache/yum")) {
                    return "yum install without yum clean all";
                }
            }
            case "dnf", "microdnf" -> {
                if (isInstall(p, sub) && !later(cmds, k, DNF, "clean", "all") && !removes(cmds, "/var/cache/dnf")
                        && !removes(cmds, "/var/cache/yum")) {
                    return p + " install without " + p + " clean all";
                }
            }
            case "zypper" -> {
                if ((sub.equals("install") || sub.equals("in")) && !later(cmds, k, ZYPPER, "clean", null)
                        && !later(cmds, k, ZYPPER, "cc", null) && !removes(cmds, "/var/cache/zypp")) {
                    return "zypper install without zypper clean";
                }
            }
            case "yarn" -> {
                if ((sub.equals("install") || sub.isEmpty()) && !later(cmds, k, YARN, "cache", "clean")) {
                    return "yarn install without yarn cache clean";
                }
            }
            default -> {
                // Every pip as the pin rule knows them (pip2, pip3.12…), as DL3042 reads any pip but pipx.
                boolean pip = (BuiltinRunRules.isPip(p) && !p.equals("pipx"))
                        || (p.startsWith("python") && c.has("pip"));
                if (pip && c.args().contains("install") && !pipEnv && !hasArg(c, "--no-cache-dir")
                        && !c.text().contains("PIP_NO_CACHE_DIR")) {
                    return "pip install without --no-cache-dir";
                }
            }
        }
        return null;
    }

    private static boolean pipNoCacheEnv(Subject s) {
        for (Instruction i : s.instructions("ENV")) {
            String v = s.env(i).get("PIP_NO_CACHE_DIR");
            if (v != null && !v.isEmpty()) {
                return true;
            }
        }
        for (Instruction i : s.instructions("ARG")) {
            String v = s.argPairs(i).get("PIP_NO_CACHE_DIR");
            if (v != null && !v.isEmpty()) {
                return true;
            }
        }
        return false;
    }

    private static boolean allDigits(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int k = 0; k < s.length(); k++) {
            if (!Character.isDigit(s.charAt(k)) || s.charAt(k) > '9') {
                return false;
            }
        }
        return true;
    }

    static String stripQuotes(String s) {
        if (s.length() >= 2 && ((s.startsWith("\"") && s.endsWith("\"")) || (s.startsWith("'") && s.endsWith("'")))) {
            return s.substring(1, s.length() - 1);
        }
        return s;
    }

    private static String abbreviate(String text) {
        return BuiltinRunRules.abbreviate(text);
    }
}
