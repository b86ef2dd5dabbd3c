package io.buildgateway.policy;

import static io.buildgateway.policy.BuiltinRules.add;
import static io.buildgateway.policy.BuiltinRules.forEachRun;
import static io.buildgateway.policy.BuiltinRules.hasArg;
import static io.buildgateway.policy.BuiltinRules.packages;

import io.buildgateway.dockerfile.Instruction;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** Rules about what RUN does and how it is allowed to run. */
final class BuiltinRunRules {

    private static final Finding.Severity E = Finding.Severity.error;
    private static final Finding.Severity W = Finding.Severity.warning;
    private static final Finding.Severity I = Finding.Severity.info;
    private static final Set<String> SHELLS = Set.of("sh", "bash", "ash", "dash", "zsh", "ksh", "python", "python3",
            "perl", "ruby", "node", "busybox");
    private static final Pattern SETUID_MODE = Pattern.compile("(?:[ugoa]*\\+[rwxXt]*s[rwxXst]*|[0-7]?[2-7][0-7]{3})");
    /** Variables that switch TLS verification off, with the value that does it ({@code *}: any non-empty). */
    private static final Map<String, String> INSECURE_ENV = Map.of(
            "NODE_TLS_REJECT_UNAUTHORIZED", "0", "PYTHONHTTPSVERIFY", "0", "GIT_SSL_NO_VERIFY", "*",
            "PIP_TRUSTED_HOST", "*", "NPM_CONFIG_STRICT_SSL", "false");

    private static final Set<String> DOWNLOADERS = Set.of("curl", "wget", "fetch");
    private static final Set<String> APT = Set.of("apt-get", "apt");
    private static final Set<String> CHMOD = Set.of("chmod");
    private static final Set<String> CD = Set.of("cd");
    private static final Set<String> PACKAGE_MANAGERS = Set.of("apt", "apt-get", "aptitude", "yum", "dnf", "microdnf",
            "apk", "rpm", "zypper");
    private static final Pattern CURL_SHORT_K = Pattern.compile("-[a-zA-Z]*k[a-zA-Z]*");
    private static final Pattern NPM_VERSIONED = Pattern.compile("@?[^@]+@[^@]+");
    private static final Pattern RPM_VERSION = Pattern.compile("-[0-9]");
    private static final Pattern OCTAL_MODE = Pattern.compile("[0-7]{3,4}");

    private BuiltinRunRules() {
    }

    static void register() {
        add("curl-pipe-shell", E, "network", "Nothing downloaded is piped into a shell",
                "curl … | sh runs whatever the server (or anyone in the middle) sends, unreviewed and unpinned. The"
                        + " build hosts have no network, so it would fail anyway; the rule says why before a build is"
                        + " wasted, and catches the pattern in ONBUILD triggers that run later elsewhere.",
                List.of("DL4006", "CKV2_DOCKER_2", "CIS-4.11"),
                (s, emit) -> forEachRun(s, (i, cmds) -> {
                    for (int k = 1; k < cmds.size(); k++) {
                        ShellCommands.Command prev = cmds.get(k - 1);
                        ShellCommands.Command next = cmds.get(k);
                        if (next.pipedFrom() && DOWNLOADERS.contains(prev.program())
                                && (SHELLS.contains(next.program()) || next.program().equals("sudo"))) {
                            emit.emit(i.line(), i.keyword(), "download piped into a shell: " + prev.program() + " … | "
                                    + next.program());
                        }
                    }
                    for (ShellCommands.Command c : cmds) {
                        if (SHELLS.contains(c.program()) && (c.text().contains("$(curl ") || c.text().contains("$(wget "))) {
                            emit.emit(i.line(), i.keyword(), "download executed by a shell: " + c.program()
                                    + " $(curl …)");
                        }
                    }
                }));
        add("tls-verification-disabled", E, "network", "TLS verification is never turned off",
                "curl -k, wget --no-check-certificate, pip --trusted-host, npm strict-ssl false, git"
                        + " http.sslVerify=false and their environment variables accept any certificate: a package"
                        + " can then come from anyone able to intercept the connection.",
                List.of("CKV2_DOCKER_2", "CKV2_DOCKER_3", "CKV2_DOCKER_4", "CKV2_DOCKER_5", "CKV2_DOCKER_6",
                        "CKV2_DOCKER_12", "CKV2_DOCKER_13", "CKV2_DOCKER_14", "CKV2_DOCKER_16", "CIS-4.11"),
                (s, emit) -> {
                    forEachRun(s, (i, cmds) -> {
                        for (ShellCommands.Command c : cmds) {
                            String p = c.program();
                            // The lower-cased text is only made when a test needs it ('=' only comes from '=').
                            boolean bad = (p.equals("curl") && hasArg(c, "-k", "--insecure"))
                                    || (p.equals("curl") && anyMatches(c.words(), CURL_SHORT_K))
                                    || (p.equals("wget") && hasArg(c, "--no-check-certificate"))
                                    || (p.startsWith("pip") && hasArg(c, "--trusted-host"))
                                    || ((p.equals("npm") || p.equals("yarn") || p.equals("pnpm"))
                                    && c.lowerText().contains("strict-ssl") && c.lowerText().contains("false"))
                                    || (p.equals("git") && c.lowerText().contains("sslverify")
                                    && c.lowerText().contains("false"))
                                    || (c.mentions('=') && (c.lowerText().contains("sslverify=false")
                                    || c.lowerText().contains("sslverify=0")))
                                    || ((p.equals("export") || c.words().get(0).contains("="))
                                    && insecureAssignment(c.words()));
                            if (bad) {
                                emit.emit(i.line(), i.keyword(), "TLS verification is disabled: " + abbreviate(c.text()));
                            }
                        }
                    });
                    for (Instruction i : s.instructions("ENV")) {
                        insecurePairs(i, s.env(i), emit);
                    }
                    for (Instruction i : s.instructions("ARG")) {
                        insecurePairs(i, s.argPairs(i), emit);
                    }
                });
        add("signature-verification-disabled", E, "network", "Package signatures are always verified",
                "apt --allow-unauthenticated, yum/dnf --nogpgcheck, gpgcheck=0, apk --allow-untrusted, rpm"
                        + " --nosignature and friends install packages nobody vouched for.",
                List.of("CKV2_DOCKER_7", "CKV2_DOCKER_8", "CKV2_DOCKER_9", "CKV2_DOCKER_10", "CKV2_DOCKER_11",
                        "CKV2_DOCKER_15", "CIS-4.11"),
                (s, emit) -> forEachRun(s, (i, cmds) -> {
                    for (ShellCommands.Command c : cmds) {
                        // The lower-cased text is only made when it can match: '=' and '"' only come from themselves.
                        if (PACKAGE_MANAGERS.contains(c.program()) && hasArg(c, "--allow-unauthenticated",
                                "--allow-insecure-repositories", "--force-yes", "--nogpgcheck", "--allow-untrusted",
                                "--nosignature", "--nodigest", "--no-gpg-checks", "--insecure")
                                || c.mentions('=') && (c.lowerText().contains("gpgcheck=0")
                                || c.lowerText().contains("gpgcheck=false") || c.lowerText().contains("trusted=yes")
                                || c.lowerText().contains("allow-insecure=yes"))
                                || c.mentions('"') && c.lowerText().contains("allowunauthenticated \"true\"")) {
                            emit.emit(i.line(), i.keyword(), "package signature checks are disabled: "
                                    + abbreviate(c.text()));
                        }
                    }
                }));
        add("run-security-insecure", E, "run", "No RUN --security=insecure",
                "It runs the step with all capabilities and no seccomp: root on the build host for whoever writes"
                        + " the Dockerfile.", List.of("BuildKit:--security=insecure"),
                (s, emit) -> runFlag(s, emit, "security", v -> v.equals("insecure"), "RUN --security=insecure"));
        add("run-network-host", E, "run", "No RUN --network other than none/default",
                "RUN --network=host gives a build step the host's network namespace, and with it everything the"
                        + " host can reach.", List.of("BuildKit:--network=host"),
                (s, emit) -> runFlag(s, emit, "network", v -> !v.equals("none") && !v.equals("default"),
                        "RUN --network"));
        add("run-device", E, "run", "No devices in RUN",
                "RUN --device hands a host device to a build step.", List.of("BuildKit:--device"),
                (s, emit) -> runFlag(s, emit, "device", v -> true, "RUN --device"));
        add("run-mount-ssh", E, "run", "No SSH agent forwarded into RUN",
                "RUN --mount=type=ssh lends the caller's SSH keys to a build step; the gateway never forwards"
                        + " agent sockets.", List.of("BuildKit:--mount=type=ssh"),
                (s, emit) -> runFlag(s, emit, "mount", v -> v.contains("type=ssh"), "RUN --mount=type=ssh"));
        add("docker-socket", E, "run", "The Docker socket is never mounted, copied or declared",
                "Whoever holds /var/run/docker.sock is root on that host. It must not be mounted into a step, copied,"
                        + " linked or declared as a VOLUME.", List.of("CIS-5.31"),
                (s, emit) -> {
                    for (Instruction i : s.dockerfile().instructions()) {
                        if (!i.keyword().equals("LABEL") && refersToDockerSocket(i)) {
                            emit.emit(i.line(), i.keyword(), i.keyword() + " refers to the Docker socket");
                        }
                    }
                });
        add("setuid-bit", E, "files", "No setuid or setgid bits are set",
                "A setuid binary runs as its owner whoever starts it: the classic path from an application user back"
                        + " to root. chmod u+s / g+s / 4755 / 2755 in RUN and COPY/ADD --chmod with those bits are"
                        + " refused.", List.of("CIS-4.8"),
                (s, emit) -> {
                    forEachRun(s, CHMOD, (i, cmds) -> {
                        for (ShellCommands.Command c : cmds) {
                            if (c.program().equals("chmod") && setsSetuid(c.args())) {
                                emit.emit(i.line(), i.keyword(), "RUN sets a setuid/setgid bit: " + abbreviate(c.text()));
                            }
                        }
                    });
                    for (String keyword : List.of("COPY", "ADD")) {
                        for (Instruction i : s.instructions(keyword)) {
                            if (i.flag("chmod").filter(BuiltinRunRules::octalSetuid).isPresent()) {
                                emit.emit(i.line(), keyword, keyword + " --chmod=" + i.flag("chmod").get()
                                        + " sets a setuid/setgid bit");
                            }
                        }
                    }
                });
        add("cd-in-run", I, "style", "WORKDIR instead of cd",
                "cd in RUN only lasts for that step and hides where later steps run.", List.of("DL3003", "DS013"),
                (s, emit) -> forEachRun(s, CD, (i, cmds) -> {
                    if (runsProgram(cmds, "cd")) {
                        emit.emit(i.line(), i.keyword(), "use WORKDIR instead of cd");
                    }
                }));
        add("apt-no-install-recommends", I, "packages", "apt-get install --no-install-recommends",
                "Recommended packages are rarely needed and widen the attack surface.",
                List.of("DL3015", "DS029", "CIS-4.3"),
                (s, emit) -> forEachRun(s, APT, (i, cmds) -> {
                    for (ShellCommands.Command c : cmds) {
                        if (APT.contains(c.program()) && c.args().contains("install")
                                && !hasArg(c, "--no-install-recommends")
                                && !c.text().contains("APT::Install-Recommends")) {
                            emit.emit(i.line(), i.keyword(), "apt-get install without --no-install-recommends");
                        }
                    }
                }));
        add("apt-lists-not-cleaned", I, "packages", "apt lists are removed in the step that fetched them",
                "/var/lib/apt/lists left in a layer adds size and stale metadata.", List.of("DL3009"),
                (s, emit) -> forEachRun(s, APT, (i, cmds) -> {
                    if (aptInstalls(cmds) && !cleansAptLists(i, cmds)) {
                        emit.emit(i.line(), i.keyword(), "apt-get install without rm -rf /var/lib/apt/lists/*");
                    }
                }));
        unpinned("apt-unpinned", "apt-get/apt install", List.of("DL3008"), Set.of("apt-get", "apt"), "install",
                w -> w.contains("=") || w.endsWith(".deb"));
        unpinned("apk-unpinned", "apk add", List.of("DL3018"), Set.of("apk"), "add",
                w -> w.contains("=") || w.contains("~") || w.endsWith(".apk"));
        unpinned("pip-unpinned", "pip install", List.of("DL3013"), Set.of("pip", "pip3"), "install",
                w -> w.contains("==") || w.contains(">=") || w.contains("@") || w.endsWith(".whl") || w.endsWith(".txt")
                        || w.startsWith(".") || w.startsWith("/") || w.contains("://"));
        unpinned("npm-unpinned", "npm install", List.of("DL3016"), Set.of("npm"), "install",
                w -> NPM_VERSIONED.matcher(w).matches() || w.startsWith(".") || w.startsWith("/") || w.contains("://"));
        unpinned("gem-unpinned", "gem install", List.of("DL3028"), Set.of("gem"), "install",
                w -> w.contains(":"));
        unpinned("yum-dnf-unpinned", "yum/dnf install", List.of("DL3033", "DL3041"), Set.of("yum", "dnf", "microdnf"),
                "install", w -> RPM_VERSION.matcher(w).find() || w.endsWith(".rpm"));
        unpinned("zypper-unpinned", "zypper install", List.of("DL3037"), Set.of("zypper"), "install",
                w -> w.contains("=") || w.contains(">") || w.contains("<") || w.endsWith(".rpm"));
        unpinned("go-install-unpinned", "go install", List.of("DL3062"), Set.of("go"), "install",
                w -> w.contains("@") && !w.endsWith("@latest"));
    }

    private static void unpinned(String id, String what, List<String> refs, Set<String> programs, String sub,
            java.util.function.Predicate<String> pinned) {
        add(id, W, "packages", "Versions are pinned in " + what,
                "An unpinned install takes whatever the repository serves on the day of the build, so two builds of"
                        + " the same context differ and a rebuild can pull in a broken or malicious release.",
                refs, (s, emit) -> {
                    if (!s.runsAnyOf(programs) && !(programs.contains("pip") && s.runsPython())) {
                        return; // none of the programs runs: nothing to look at
                    }
                    forEachRun(s, (i, cmds) -> {
                        for (ShellCommands.Command c : cmds) {
                            if (programs.contains(c.program()) || (c.program().startsWith("python") && c.has("pip")
                                    && programs.contains("pip"))) {
                                if (c.program().equals("gem") && hasArg(c, "-v", "--version")) {
                                    continue;
                                }
                                List<String> loose = packages(c, sub).stream().filter(w -> !pinned.test(w))
                                        .filter(w -> !w.contains("$")).toList();
                                if (!loose.isEmpty()) {
                                    emit.emit(i.line(), i.keyword(), what + " without pinned versions: "
                                            + abbreviate(String.join(" ", loose)));
                                }
                            }
                        }
                    });
                });
    }

    private static void runFlag(Subject s, BuiltinRules.Emitter emit, String flag,
            java.util.function.Predicate<String> bad, String what) {
        for (Instruction i : s.instructions("RUN")) {
            List<Instruction.Flag> flags = i.flags();
            for (int k = 0; k < flags.size(); k++) {
                Instruction.Flag f = flags.get(k);
                if (f.name().equals(flag) && bad.test(f.value())) {
                    emit.emit(i.line(), "RUN", what + " is not allowed (" + flag + "=" + f.value() + ")");
                }
            }
        }
    }

    private static boolean anyMatches(List<String> words, Pattern pattern) {
        for (String w : words) {
            if (pattern.matcher(w).matches()) {
                return true;
            }
        }
        return false;
    }

    private static boolean runsProgram(List<ShellCommands.Command> cmds, String program) {
        for (ShellCommands.Command c : cmds) {
            if (c.program().equals(program)) {
                return true;
            }
        }
        return false;
    }

    private static boolean aptInstalls(List<ShellCommands.Command> cmds) {
        for (ShellCommands.Command c : cmds) {
            if (APT.contains(c.program()) && c.args().contains("install")) {
                return true;
            }
        }
        return false;
    }

    private static boolean cleansAptLists(Instruction run, List<ShellCommands.Command> cmds) {
        for (ShellCommands.Command c : cmds) {
            if (c.program().equals("rm") && c.text().contains("/var/lib/apt/lists")) {
                return true;
            }
        }
        for (Instruction.Flag f : run.flags()) {
            if (f.name().equals("mount") && f.value().contains("/var/lib/apt")) {
                return true;
            }
        }
        return false;
    }

    private static boolean setsSetuid(List<String> chmodArgs) {
        for (String w : chmodArgs) {
            if (!w.startsWith("-") && SETUID_MODE.matcher(w).matches() && (w.contains("s") || octalSetuid(w))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether the arguments or a flag mention docker.sock, in any case. Each part is looked at on its own: the name
     * cannot span two parts, and lower-casing part by part gives what lower-casing the whole would.
     */
    private static boolean refersToDockerSocket(Instruction i) {
        if (mentionsDockerSocket(i.arguments())) {
            return true;
        }
        List<Instruction.Flag> flags = i.flags();
        for (int k = 0; k < flags.size(); k++) {
            if (mentionsDockerSocket(flags.get(k).name()) || mentionsDockerSocket(flags.get(k).value())) {
                return true;
            }
        }
        return false;
    }

    /**
     * Exactly {@code text.toLowerCase(Locale.ROOT).contains("docker.sock")}, without lower-casing a copy: only a '.'
     * lower-cases to '.', so each '.' is a candidate, and the characters around it are compared one by one (the
     * characters whose lower case is one of the name's letters map one to one).
     */
    static boolean mentionsDockerSocket(String text) {
        String name = "docker.sock";
        for (int dot = text.indexOf('.', 6); dot >= 0 && dot + 5 <= text.length(); dot = text.indexOf('.', dot + 1)) {
            int from = dot - 6;
            int j = 0;
            while (j < name.length() && Character.toLowerCase(text.charAt(from + j)) == name.charAt(j)) {
                j++;
            }
            if (j == name.length()) {
                return true;
            }
        }
        return false;
    }

    private static void insecurePairs(Instruction i, Map<String, String> pairs, BuiltinRules.Emitter emit) {
        for (Map.Entry<String, String> e : pairs.entrySet()) {
            if (insecureAssignment(e.getKey() + "=" + e.getValue())) {
                emit.emit(i.line(), i.keyword(), i.keyword() + " " + e.getKey() + " disables TLS verification");
            }
        }
    }

    static boolean octalSetuid(String mode) {
        if (!OCTAL_MODE.matcher(mode).matches()) {
            return false;
        }
        return mode.length() == 4 && (mode.charAt(0) - '0' & 6) != 0;
    }

    private static boolean insecureAssignment(List<String> words) {
        for (String w : words) {
            if (insecureAssignment(w)) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code NAME=value} switches TLS verification off. */
    private static boolean insecureAssignment(String w) {
        int eq = w.indexOf('=');
        if (eq > 0) {
            String bad = INSECURE_ENV.get(w.substring(0, eq).toUpperCase(Locale.ROOT));
            if (bad != null) {
                String value = w.substring(eq + 1).toLowerCase(Locale.ROOT);
                return bad.equals("*") ? !value.isEmpty() : value.equals(bad);
            }
        }
        return false;
    }

    static Map<String, String> argPairs(Instruction i) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        for (String decl : BuiltinRules.splitWords(i.arguments())) {
            int eq = decl.indexOf('=');
            out.put(eq < 0 ? decl : decl.substring(0, eq), eq < 0 ? null : decl.substring(eq + 1));
        }
        return out;
    }

    static String abbreviate(String text) {
        return text.length() > 120 ? text.substring(0, 120) + "…" : text;
    }
}
