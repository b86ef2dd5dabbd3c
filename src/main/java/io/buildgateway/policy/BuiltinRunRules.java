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
    private static final Set<String> SHELLS = Subject.Programs.of("sh", "bash", "ash", "dash", "zsh", "ksh", "python", "python3",
            "perl", "ruby", "node", "busybox");
    private static final Set<String> SHELLS_OR_SUDO = Subject.Programs.of(java.util.stream.Stream.concat(
            SHELLS.stream(), java.util.stream.Stream.of("sudo")).collect(java.util.stream.Collectors.toUnmodifiableSet()));
    private static final Pattern SETUID_MODE = Pattern.compile("(?:[ugoa]*\\+[rwxXt]*s[rwxXst]*|[0-7]?[2-7][0-7]{3})");
    /** Variables that switch TLS verification off, with the value that does it ({@code *}: any non-empty). */
    private static final Map<String, String> INSECURE_ENV = Map.of(
            "NODE_TLS_REJECT_UNAUTHORIZED", "0", "PYTHONHTTPSVERIFY", "0", "GIT_SSL_NO_VERIFY", "*",
            "PIP_TRUSTED_HOST", "*", "NPM_CONFIG_STRICT_SSL", "false");

    private static final Set<String> DOWNLOADERS = Subject.Programs.of("curl", "wget", "fetch");
    private static final Set<String> APT = Subject.Programs.of("apt-get", "apt");
    private static final Set<String> CHMOD = Subject.Programs.of("chmod");
    private static final Set<String> CD = Subject.Programs.of("cd");
    private static final Set<String> PACKAGE_MANAGERS = Subject.Programs.of("apt", "apt-get", "aptitude", "yum", "dnf", "microdnf",
            "apk", "rpm", "zypper");
    /** What {@link #anyShortOptionWithK} decides by hand (kept for BuiltinRunRulesTest's comparison). */
    static final Pattern CURL_SHORT_K = Pattern.compile("-[a-zA-Z]*k[a-zA-Z]*");
    private static final Pattern NPM_VERSIONED = Pattern.compile("@?[^@]+@[^@]+");
    private static final Pattern RPM_VERSION = Pattern.compile("-[0-9]");
    private static final Pattern OCTAL_MODE = Pattern.compile("[0-7]{3,4}");

    private BuiltinRunRules() {
    }

    static void register() {
        add("curl-pipe-shell", E, "network", "Nothing downloaded is piped into a shell",
                "curl … | sh runs whatever the server (or anyone in the middle) sends, unreviewed and unpinned. The"
                        + " build hosts have no network, so it would fail anyway; the rule says why before a build is"
                        + " wasted, and catches the pattern in ONBUILD triggers that run later elsewhere, and in"
                        + " HEALTHCHECK CMD. hadolint has no such rule (its DL4006 asks for pipefail before any pipe,"
                        + " a different matter).",
                List.of("CIS-4.11"),
                (s, emit) -> forEachRun(s, SHELLS_OR_SUDO, (i, cmds) -> {
                    // Both findings need a shell (or, after a download, sudo) among the RUN's programs.
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
                        + " http.sslVerify=false, yum/dnf sslverify=false and their environment variables accept any"
                        + " certificate: a package can then come from anyone able to intercept the connection. RUN"
                        + " and HEALTHCHECK CMD are checked.",
                List.of("CKV2_DOCKER_2", "CKV2_DOCKER_3", "CKV2_DOCKER_4", "CKV2_DOCKER_5", "CKV2_DOCKER_6",
                        "CKV2_DOCKER_12", "CKV2_DOCKER_13", "CKV2_DOCKER_14", "CKV2_DOCKER_15", "CKV2_DOCKER_16",
                        "CIS-4.11"),
                (s, emit) -> {
                    forEachRun(s, (i, cmds) -> {
                        for (ShellCommands.Command c : cmds) {
                            String p = c.program();
                            // No lower-cased text is made for these tests ('=' only comes from '='; lowerContains).
                            boolean bad = (p.equals("curl") && hasArg(c, "-k", "--insecure"))
                                    || (p.equals("curl") && anyShortOptionWithK(c.words()))
                                    || (p.equals("wget") && hasArg(c, "--no-check-certificate"))
                                    || (p.startsWith("pip") && hasArg(c, "--trusted-host"))
                                    || ((p.equals("npm") || p.equals("yarn") || p.equals("pnpm"))
                                    && c.lowerContains("strict-ssl") && c.lowerContains("false"))
                                    || (p.equals("git") && c.lowerContains("sslverify")
                                    && c.lowerContains("false"))
                                    || (c.mentions('=') && c.lowerContainsAnyAssignment("sslverify=false",
                                    "sslverify=0"))
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
                        "CIS-4.11"),
                (s, emit) -> forEachRun(s, (i, cmds) -> {
                    for (ShellCommands.Command c : cmds) {
                        // The lower-cased text is only made when it can match: '=' and '"' only come from themselves.
                        if (PACKAGE_MANAGERS.contains(c.program()) && hasArg(c, "--allow-unauthenticated",
                                "--allow-insecure-repositories", "--force-yes", "--nogpgcheck", "--allow-untrusted",
                                "--nosignature", "--nodigest", "--no-gpg-checks", "--insecure")
                                || c.mentions('=') && c.lowerContainsAnyAssignment("gpgcheck=0", "gpgcheck=false",
                                "trusted=yes", "allow-insecure=yes")
                                || c.mentions('"') && c.lowerText().contains("allowunauthenticated \"true\"")) {
                            emit.emit(i.line(), i.keyword(), "package signature checks are disabled: "
                                    + abbreviate(c.text()));
                        }
                    }
                }));
        add("run-security-insecure", E, "run", "No RUN --security=insecure",
                "It runs the step with all capabilities and no seccomp: root on the build host for whoever writes"
                        + " the Dockerfile. ONBUILD RUN triggers are checked with their own flags; no linter has this check.", List.of(),
                (s, emit) -> runFlag(s, emit, "security", v -> v.equals("insecure"), "RUN --security=insecure"));
        add("run-network-host", E, "run", "No RUN --network other than none",
                "RUN --network=host gives a build step the host's network namespace, and with it everything the"
                        + " host can reach; default asks for whatever network the builder would give, which on a"
                        + " gateway host is none, so only none says what the step gets. ONBUILD RUN triggers are"
                        + " checked with their own flags; no linter has this check.", List.of(),
                (s, emit) -> runFlag(s, emit, "network", v -> !v.equals("none"), "RUN --network"));
        add("run-device", E, "run", "No devices in RUN",
                "RUN --device hands a host device to a build step. ONBUILD RUN triggers are checked with their own flags; no linter has this check.", List.of(),
                (s, emit) -> runFlag(s, emit, "device", v -> true, "RUN --device"));
        add("run-mount-ssh", E, "run", "No SSH agent forwarded into RUN",
                "RUN --mount=type=ssh lends the caller's SSH keys to a build step; the gateway never forwards"
                        + " agent sockets. ONBUILD RUN triggers are checked with their own flags; no linter has this check.", List.of(),
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
                    if (!i.keyword().equals("HEALTHCHECK") && runsProgram(cmds, "cd")) {
                        emit.emit(i.line(), i.keyword(), "use WORKDIR instead of cd");
                    }
                }));
        add("apt-no-install-recommends", I, "packages", "apt-get install --no-install-recommends",
                "Recommended packages are rarely needed and widen the attack surface.",
                List.of("DL3015", "DS029", "CIS-4.3"),
                (s, emit) -> forEachRun(s, APT, (i, cmds) -> {
                    for (ShellCommands.Command c : cmds) {
                        if (APT.contains(c.program()) && c.args().contains("install") && !i.keyword().equals("HEALTHCHECK")
                                && !hasArg(c, "--no-install-recommends")
                                && !c.text().contains("APT::Install-Recommends")) {
                            emit.emit(i.line(), i.keyword(), "apt-get install without --no-install-recommends");
                        }
                    }
                }));
        add("apt-lists-not-cleaned", I, "packages", "apt lists are removed in the step that fetched them",
                "/var/lib/apt/lists left in a layer adds size and stale metadata. A cache mount on /var/lib/apt"
                        + " counts as cleaning. Stricter than DL3009 because every stage is checked: hadolint only"
                        + " reports the final stage and the stages whose name is reused, but a builder stage's layers"
                        + " are built, cached and exported like any other, and a stage can become the target.",
                List.of("DL3009"),
                (s, emit) -> forEachRun(s, APT, (i, cmds) -> {
                    if (!i.keyword().equals("HEALTHCHECK") && aptInstalls(cmds) && !cleansAptLists(i, cmds)) {
                        emit.emit(i.line(), i.keyword(), "apt-get install without rm -rf /var/lib/apt/lists/*");
                    }
                }));
        unpinned("apt-unpinned", "apt-get/apt/aptitude install", List.of("DL3008"),
                Set.of("apt-get", "apt", "aptitude"), Set.of("install"), Set.of(), false,
                BuiltinRunRules::aptPinned,
                " A package counts as pinned with =version (a glob such as =1.2.* included), as a local .deb or a"
                        + " path. Stricter than DL3008 because a release selection (pkg/bookworm-backports) is not a"
                        + " version: hadolint accepts any word with '/'.");
        unpinned("apk-unpinned", "apk add", List.of("DL3018"), Set.of("apk"), Set.of("add"),
                Set.of("-t", "--virtual", "-X", "--repository"), false,
                w -> w.indexOf('=') >= 0 || w.indexOf('~') >= 0 || w.endsWith(".apk"),
                " As in DL3018, a constraint containing '=' or '~' counts as pinned (=1.2, ~1.2, >=1.2, <=1.2,"
                        + " =~1.2) and so does a local .apk; a bare < or > does not.");
        unpinned("pip-unpinned", "pip install", List.of("DL3013"), Set.of("pip", "pip2", "pip3", "pipx"),
                Set.of("install"), PIP_VALUE_OPTIONS, false, BuiltinRunRules::pipPinned,
                " pip, pip2, pip3, pip3.x, pipx and python -m pip are installers. As in DL3013 any version specifier"
                        + " counts as pinned (==, ===, ~=, !=, >=, <=, >, <), and so do local paths, wheels and source"
                        + " archives; an install from requirement or constraint files (-r, -c) is left to those"
                        + " files. A VCS source (git+https://…) is pinned only with @<revision> in its path, and a"
                        + " plain URL only when it names an archive: a URL is not a pin because it contains ://."
                        + " Stricter than DL3013 because hadolint counts any other word with '/' as pinned (a URL"
                        + " that serves whatever is newest passes) and a VCS source with '@' anywhere (the user of"
                        + " git+ssh://git@host/repo.git passes without a revision).");
        unpinned("npm-unpinned", "npm install", List.of("DL3016"), Set.of("npm"), Set.of("install", "i"),
                NPM_VALUE_OPTIONS, false, BuiltinRunRules::npmPinned,
                " As in DL3016: name@version or @tag (after the scope), a git source with #<commit> or"
                        + " #semver:<range>, a tarball (.tar, .tgz, .tar.gz) and a folder (/, ./, ../, ~/) count as"
                        + " pinned; a git or URL source without # does not. Stricter than DL3016 because the alias"
                        + " npm i is checked as well.");
        unpinned("gem-unpinned", "gem install", List.of("DL3028"), Set.of("gem"), Set.of("install", "i"),
                GEM_VALUE_OPTIONS, true, w -> w.indexOf(':') >= 0 || w.endsWith(".gem"),
                " As in DL3028: name:version, -v/--version, a local .gem; gem i is gem install, and the words after"
                        + " -- are build options, not gems.");
        unpinned("yum-dnf-unpinned", "yum/dnf install", List.of("DL3033", "DL3041"),
                Set.of("yum", "dnf", "microdnf"), Set.of("install"), Set.of(), false,
                w -> RPM_VERSION.matcher(w).find() || w.endsWith(".rpm"),
                " A package is pinned as name-version or a local .rpm; a module (module install) as name:stream,"
                        + " as in DL3033/DL3041; a group (group install, groupinstall, @group) names no package"
                        + " version and is not judged, nor is an @module in a plain install.");
        unpinned("zypper-unpinned", "zypper install", List.of("DL3037"), Set.of("zypper"), Set.of("install", "in"),
                Set.of(), false,
                w -> w.indexOf('=') >= 0 || w.indexOf('>') >= 0 || w.indexOf('<') >= 0 || w.endsWith(".rpm"),
                " As in DL3037: =, >=, >, <=, < or a local .rpm.");
        unpinned("go-install-unpinned", "go install/get/run", List.of("DL3062"), Set.of("go"),
                Set.of("install", "get", "run"), Set.of("-C", "-o", "-tags", "-ldflags", "-gcflags", "-mod",
                        "-modfile", "-exec", "-p", "-pkgdir", "-toolexec", "-overlay"), false,
                w -> (w.indexOf('@') >= 0 && !w.endsWith("@latest")) || goLocal(w),
                " go get and go run download a module like go install and are checked the same way; a local"
                        + " package (., ./cmd/…, a .go file) is not downloaded. Stricter than DL3062 because @latest"
                        + " is not a version.");
    }

    /** Options of pip (and pipx) that take a value as the next word. */
    private static final Set<String> PIP_VALUE_OPTIONS = Set.of("--root-user-action", "--progress-bar",
            "--upgrade-strategy", "--src", "-e", "--editable", "-b", "--build", "--abi", "--implementation",
            "--no-binary", "--only-binary", "--proxy", "--timeout", "--retries", "--log", "--exists-action",
            "--python", "--report", "--suffix", "--pip-args", "--cert", "--client-cert");
    /** Options of npm that take a value as the next word. */
    private static final Set<String> NPM_VALUE_OPTIONS = Set.of("--loglevel", "--cache", "--userconfig",
            "--globalconfig", "--tag", "-w", "--workspace", "--omit", "--include", "--install-strategy", "--before",
            "--location", "--script-shell", "--fetch-retries", "--fetch-timeout");
    /** Options of gem that take a value as the next word. */
    private static final Set<String> GEM_VALUE_OPTIONS = Set.of("--install-dir", "-n", "--bindir", "-s",
            "--source", "-P", "--trust-policy", "--build-root", "-g", "--file", "--platform");
    private static final List<String> TARBALL = List.of(".tar", ".tar.gz", ".tgz");
    private static final List<String> PIP_ARCHIVE = List.of(".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz",
            ".zip");
    private static final List<String> PIP_VCS = List.of("git+", "hg+", "svn+", "bzr+", "git://", "svn://");

    static boolean aptPinned(String w) {
        return w.indexOf('=') >= 0 || w.endsWith(".deb") || w.startsWith("/") || w.startsWith("./")
                || w.startsWith("../") || w.startsWith("~/");
    }

    static boolean pipPinned(String w) {
        String l = w.toLowerCase(Locale.ROOT);
        for (String vcs : PIP_VCS) {
            if (l.startsWith(vcs)) {
                // The revision is an '@' in the path (git+ssh://git@host/… has a user before the host).
                int scheme = l.indexOf("://");
                int path = l.indexOf('/', scheme < 0 ? 0 : scheme + 3);
                return path >= 0 && l.indexOf('@', path) >= 0;
            }
        }
        if (l.startsWith("file:")) {
            return true;
        }
        if (l.contains("://")) {
            return endsWithAny(l, PIP_ARCHIVE) || l.contains("#sha256=");
        }
        return w.indexOf('=') >= 0 || w.indexOf('<') >= 0 || w.indexOf('>') >= 0 || endsWithAny(l, PIP_ARCHIVE)
                || w.startsWith(".") || w.indexOf('/') >= 0 || w.startsWith("~");
    }

    static boolean npmPinned(String w) {
        String l = w.toLowerCase(Locale.ROOT);
        if (endsWithAny(l, TARBALL)) {
            return true;
        }
        if (l.contains("://") || l.startsWith("git@") || l.startsWith("github:") || l.startsWith("gitlab:")
                || l.startsWith("bitbucket:") || l.startsWith("gist:")) {
            return w.indexOf('#') >= 0;
        }
        if (w.startsWith("/") || w.startsWith("./") || w.startsWith("../") || w.startsWith("~/") || w.equals(".")
                || w.equals("..")) {
            return true;
        }
        if (w.indexOf('#') >= 0) {
            return true; // user/repo#commit: a GitHub shorthand with a revision
        }
        return NPM_VERSIONED.matcher(w).matches();
    }

    static boolean goLocal(String w) {
        return w.startsWith(".") || w.startsWith("/") || w.endsWith(".go");
    }

    private static boolean endsWithAny(String w, List<String> suffixes) {
        for (String suffix : suffixes) {
            if (w.endsWith(suffix)) {
                return true;
            }
        }
        return false;
    }

    static boolean isPip(String program) {
        return program.equals("pip") || program.equals("pip2") || program.equals("pip3") || program.equals("pipx")
                || program.startsWith("pip2.") || program.startsWith("pip3.");
    }

    private static void unpinned(String id, String what, List<String> refs, Set<String> programNames,
            Set<String> subs, Set<String> valueOptions, boolean stopAtDoubleDash,
            java.util.function.Predicate<String> pinned, String semantics) {
        Set<String> programs = Subject.Programs.of(programNames); // a bit per name: a RUN's programs by one AND
        boolean pip = programs.contains("pip");
        add(id, W, "packages", "Versions are pinned in " + what,
                "An unpinned install takes whatever the repository serves on the day of the build, so two builds of"
                        + " the same context differ and a rebuild can pull in a broken or malicious release."
                        + semantics + " A version taken from a variable counts as pinned, unless the variable is"
                        + " declared only where the step cannot see it (another stage, or a global ARG not"
                        + " redeclared in the stage): then it is empty when the step runs.",
                refs, (s, emit) -> {
                    if (!s.runsAnyOf(programs) && !(pip && (s.runsPython() || s.runsPrefixed("pip")))) {
                        return; // none of the programs runs: nothing to look at
                    }
                    for (Subject.Run run : s.runs()) {
                        // A command is looked at only for one of the programs, a pip* or (for pip) a python*:
                        // a RUN without any of them is skipped unwalked.
                        if (!run.runsAnyOf(programs) && !(pip && (run.runsPrefixed("python")
                                || run.runsPrefixed("pip")))) {
                            continue;
                        }
                        Instruction i = run.instruction();
                        for (ShellCommands.Command c : run.commands()) {
                            String p = c.program();
                            boolean python = pip && p.startsWith("python") && c.has("pip");
                            if (!programs.contains(p) && !(pip && isPip(p)) && !python) {
                                continue;
                            }
                            if (p.equals("gem") && (hasArg(c, "-v", "--version"))) {
                                continue;
                            }
                            if ((pip || python) && hasArg(c, "-c", "--constraint")) {
                                continue; // versions come from the constraint file
                            }
                            List<String> words = packages(c, subs, valueOptions, stopAtDoubleDash);
                            java.util.function.Predicate<String> test = pinned;
                            if (programs.contains("yum")) {
                                if (c.has("group") || c.has("groups")) {
                                    continue; // a group names no package version
                                }
                                if (c.has("module")) {
                                    test = w -> w.indexOf(':') >= 0;
                                } else {
                                    // @name is a group or a module: a group has no version, a module's is :stream
                                    test = w -> w.startsWith("@") || pinned.test(w);
                                }
                            }
                            if (p.equals("go") && words.size() > 1 && "run".equals(firstOf(c.args(), subs))) {
                                words = words.subList(0, 1); // go run pkg args…: the rest are the program's
                            }
                            List<String> loose = new java.util.ArrayList<>();
                            for (String w : words) {
                                if (w.indexOf('$') >= 0 ? outOfScope(s, i, w) : !test.test(w)) {
                                    loose.add(w);
                                }
                            }
                            if (!loose.isEmpty()) {
                                emit.emit(i.line(), i.keyword(), what + " without pinned versions: "
                                        + abbreviate(String.join(" ", loose)));
                            }
                        }
                    }
                });
    }

    private static String firstOf(List<String> words, Set<String> candidates) {
        for (String w : words) {
            if (candidates.contains(w)) {
                return w;
            }
        }
        return null;
    }

    /** Whether a word names a variable that is declared in the file but not in scope for this RUN. */
    private static boolean outOfScope(Subject s, Instruction run, String w) {
        for (int k = w.indexOf('$'); k >= 0 && k + 1 < w.length(); k = w.indexOf('$', k + 1)) {
            int from = w.charAt(k + 1) == '{' ? k + 2 : k + 1;
            int to = from;
            while (to < w.length() && (Character.isLetterOrDigit(w.charAt(to)) || w.charAt(to) == '_')) {
                to++;
            }
            if (to > from && s.declaredButOutOfScope(run.line(), w.substring(from, to))) {
                return true;
            }
        }
        return false;
    }

    private static void runFlag(Subject s, BuiltinRules.Emitter emit, String flag,
            java.util.function.Predicate<String> bad, String what) {
        java.util.Set<Integer> seen = null;
        for (Instruction i : s.instructions("RUN")) {
            List<Instruction.Flag> flags = i.flags();
            for (int k = 0; k < flags.size(); k++) {
                Instruction.Flag f = flags.get(k);
                if (f.name().equals(flag) && bad.test(f.value())) {
                    emit.emit(i.line(), "RUN", what + " is not allowed (" + flag + "=" + f.value() + ")");
                    if (seen == null) {
                        seen = new java.util.HashSet<>();
                    }
                    seen.add(i.line());
                }
            }
        }
        // ONBUILD RUN triggers with their own flags, also when no stage of this file builds FROM theirs (a trigger
        // that a later stage inherits is among the RUNs above, at the same line).
        for (Instruction i : s.onbuildRuns()) {
            for (Instruction.Flag f : i.flags()) {
                if (f.name().equals(flag) && bad.test(f.value()) && (seen == null || !seen.contains(i.line()))) {
                    emit.emit(i.line(), "ONBUILD", "ONBUILD " + what + " is not allowed (" + flag + "=" + f.value()
                            + ")");
                }
            }
        }
    }

    /**
     * Whether a word matches {@link #CURL_SHORT_K} (curl's short options with {@code -k} among them): {@code -} then
     * ASCII letters only, one of them {@code k}. By hand: the expression ran on every word of every curl command.
     */
    static boolean anyShortOptionWithK(List<String> words) {
        for (int w = 0; w < words.size(); w++) {
            String word = words.get(w);
            if (word.length() < 2 || word.charAt(0) != '-') {
                continue;
            }
            boolean letters = true;
            boolean k = false;
            for (int j = 1; j < word.length() && letters; j++) {
                char ch = word.charAt(j);
                letters = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
                k |= ch == 'k';
            }
            if (letters && k) {
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
            if ((text.charAt(dot + 1) | 0x20) != 's') {
                continue; // only 's' and 'S' lower-case to 's': most dots (file names, versions) end here
            }
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
            // As insecureAssignment(key + "=" + value) reads it (a null value as "null"), without the concatenation.
            String key = e.getKey();
            if (key.indexOf('=') >= 0 ? insecureAssignment(key + "=" + e.getValue())
                    : !key.isEmpty() && insecureValue(key, String.valueOf(e.getValue()))) {
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
        if (eq <= 0) {
            return false;
        }
        // Asked of every word with '=' of every command: an ASCII name that is none of the variables (nearly all of
        // them) is answered without cutting and upper-casing the word; anything else as before.
        if (asciiNameOfNoInsecureVariable(w, eq)) {
            return false;
        }
        return insecureValue(w.substring(0, eq), w.substring(eq + 1));
    }

    /**
     * Whether {@code w}'s first {@code length} characters are ASCII and, upper-cased, none of {@link #INSECURE_ENV}'s
     * names: then {@code INSECURE_ENV.get(name.toUpperCase(Locale.ROOT))} is null. (Outside ASCII, upper-casing can
     * change the length, e.g. 'ß' to "SS", so such names are left to the full test.)
     */
    static boolean asciiNameOfNoInsecureVariable(String w, int length) {
        for (int k = 0; k < length; k++) {
            if (w.charAt(k) >= 0x80) {
                return false;
            }
        }
        for (String name : INSECURE_NAMES) {
            if (name.length() == length && w.regionMatches(true, 0, name, 0, length)) {
                return false;
            }
        }
        return true;
    }

    private static final List<String> INSECURE_NAMES = List.copyOf(INSECURE_ENV.keySet());

    /** Whether setting the variable {@code name} to {@code value} switches TLS verification off. */
    private static boolean insecureValue(String name, String value) {
        String bad = INSECURE_ENV.get(name.toUpperCase(Locale.ROOT));
        if (bad != null) {
            String lower = value.toLowerCase(Locale.ROOT);
            return bad.equals("*") ? !lower.isEmpty() : lower.equals(bad);
        }
        return false;
    }

    static String abbreviate(String text) {
        return text.length() > 120 ? text.substring(0, 120) + "…" : text;
    }
}
