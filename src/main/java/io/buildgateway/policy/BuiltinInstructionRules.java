package io.buildgateway.policy;

import static io.buildgateway.policy.BuiltinRules.add;

import io.buildgateway.dockerfile.BuildStages;
import io.buildgateway.dockerfile.Instruction;
import io.buildgateway.shared.SecretNames;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Rules about instructions: secrets, ADD, ports, structure, metadata, and ignore comments. */
final class BuiltinInstructionRules {

    private static final Finding.Severity E = Finding.Severity.error;
    private static final Finding.Severity W = Finding.Severity.warning;
    private static final Finding.Severity I = Finding.Severity.info;

    private static final Set<String> ONCE_PER_STAGE = Set.of("CMD", "ENTRYPOINT", "HEALTHCHECK");
    private static final Set<String> NOT_TRIGGERS = Set.of("ONBUILD", "FROM", "MAINTAINER");
    private static final java.util.regex.Pattern ARCHIVE = java.util.regex.Pattern.compile(
            ".*\\.(tar|tar\\.gz|tgz|tar\\.bz2|tbz2|tar\\.xz|txz|tar\\.zst)");

    private BuiltinInstructionRules() {
    }

    static void register() {
        // ---- secrets ----------------------------------------------------------------------------------------------
        add("secret-in-arg-or-env", E, "secrets", "No secrets in ARG or ENV",
                "ARG and ENV values are stored in the image's history and configuration for anyone who can pull it."
                        + " Names that look like secrets (…_TOKEN, PASSWORD, DB_PASS, API_KEY, RAILS_MASTER_KEY, …;"
                        + " not GPG_KEY or PUBLIC_KEY, which name public material) and values that look like keys"
                        + " (AKIA…, -----BEGIN PRIVATE KEY, ghp_…, JWTs, a URL with a password:"
                        + " postgres://app:pw@db) are refused; use RUN --mount=type=secret."
                        + " A name that says where a secret is kept, with a plain path as its value, is not one: the"
                        + " Docker secrets convention (POSTGRES_PASSWORD_FILE=/run/secrets/db; …_FILE, …_FILENAME,"
                        + " …_PATH, …_DIR). BuildKit's SecretsUsedInArgOrEnv judges the name alone; here such a name"
                        + " passes only with a value shaped like a path, and every value is still checked for"
                        + " credentials.",
                List.of("BuildKit:SecretsUsedInArgOrEnv", "DS031", "CIS-4.10"),
                (s, emit) -> {
                    for (Instruction i : s.instructions("ENV")) {
                        secretPairs(i, s.env(i), emit);
                    }
                    for (Instruction i : s.instructions("ARG")) {
                        secretPairs(i, s.argPairs(i), emit);
                    }
                });
        add("secret-build-arg", E, "secrets", "No secrets passed as build args",
                "Build args end up in the image history like ARG defaults. A request whose build args look like"
                        + " secrets is refused; the values are never echoed back. As for secret-in-arg-or-env, a"
                        + " name that says where a secret is kept (…_FILE, …_PATH) with a path as its value is not"
                        + " one.",
                List.of("DS031", "CIS-4.10"),
                (s, emit) -> s.buildArgs().forEach((k, v) -> {
                    if (SecretNames.looksSecret(k, v) || BuiltinRules.looksSecretValue(v)) {
                        emit.emit(null, null, "build arg " + k + " looks like a secret");
                    }
                }));
        add("secret-in-label-or-run", W, "secrets", "No credentials written into RUN or LABEL",
                "A credential in a RUN command line or a LABEL is in the image history.", List.of("CIS-4.10"),
                (s, emit) -> {
                    for (String keyword : List.of("RUN", "LABEL")) {
                        for (Instruction i : s.instructions(keyword)) {
                            if (BuiltinRules.looksSecretValue(s.scriptOf(i))) {
                                emit.emit(i.line(), keyword, keyword + " contains something that looks like a"
                                        + " credential");
                            }
                        }
                    }
                });

        // ---- ADD ------------------------------------------------------------------------------------------------
        add("add-url-without-checksum", E, "network", "ADD of a URL has --checksum",
                "ADD <url> fetches at build time whatever the server returns; only a --checksum=sha256:… pins it."
                        + " (Only a team whose egress allowlist admits the URL may ADD it at all, and the gateway"
                        + " then checks the digest on what it fetched: add-url-outside-egress.) Sources are judged"
                        + " after substitution, as the daemon expands them (ARG defaults, build args, ENV, ONBUILD"
                        + " triggers included); a source that depends on a variable whose value is not known before"
                        + " the build counts as a possible URL. Stricter than DL3020 because hadolint (and Trivy's"
                        + " DS005) accept ADD <url>, asking for COPY only for local files; here a URL without"
                        + " --checksum is an error, as its content is whatever the server sends on the day.",
                List.of("CKV_DOCKER_4", "CIS-4.9"),
                (s, emit) -> {
                    for (Instruction i : s.instructions("ADD")) {
                        if (i.flag("checksum").isPresent()) {
                            continue;
                        }
                        List<String> sources = sources(s, i);
                        if (sources.stream().anyMatch(BuiltinInstructionRules::isUrl)) {
                            emit.emit(i.line(), "ADD", "ADD of a URL without --checksum");
                        } else {
                            // Worst case: a source whose value is not known before the build may be a URL.
                            sources.stream().filter(w -> w.contains("$")).findFirst().ifPresent(w -> emit.emit(
                                    i.line(), "ADD", "ADD source '" + BuiltinRunRules.abbreviate(w) + "' depends on"
                                            + " a variable whose value is not known before the build, so it may be"
                                            + " a URL; give it a value (ARG default or build arg) or use COPY"));
                        }
                    }
                });
        add("add-url-outside-egress", E, "network", "ADD of a URL is admitted by the team's egress allowlist",
                "The gateway fetches an ADD <url> for the build through the build's egress proxy session and hands"
                        + " the daemon a COPY of the file (docs/egress.md): a URL only the team's effective egress"
                        + " allowlist (the global egress: entries and the team's own, never another team's) admits."
                        + " A team without an allowlist builds with network none, so every ADD <url> of it is refused"
                        + " here rather than failing in the confined daemon. Only http(s) URLs are fetched; git, ftp"
                        + " and ssh sources are refused. The egress proxy judges the URL again when it is fetched.",
                List.of(),
                (s, emit) -> {
                    List<io.buildgateway.shared.UrlPrefix> allow = null;
                    for (Instruction i : s.instructions("ADD")) {
                        for (String w : sources(s, i)) {
                            if (!isUrl(w)) {
                                continue;
                            }
                            if (allow == null) {
                                allow = s.policy().egressFor(s.team()).stream()
                                        .map(io.buildgateway.shared.UrlPrefix::parse).toList();
                            }
                            if (!egressAdmits(allow, w)) {
                                emit.emit(i.line(), "ADD", "ADD of " + BuiltinRunRules.abbreviate(w) + ": not in the"
                                        + " egress allowlist" + (s.team() == null ? "" : " of team " + s.team())
                                        + (allow.isEmpty()
                                        ? " (it has none: its builds run with network none)" : ""));
                            }
                        }
                    }
                });
        add("add-instead-of-copy", W, "files", "COPY for local files, not ADD",
                "ADD unpacks archives and fetches URLs implicitly; for plain files COPY says exactly what happens.",
                List.of("DL3020", "DS005", "CKV_DOCKER_4", "CIS-4.9"),
                (s, emit) -> {
                    for (Instruction i : s.instructions("ADD")) {
                        if (sources(s, i).stream().noneMatch(w -> isUrl(w) || ARCHIVE.matcher(w).matches())) {
                            emit.emit(i.line(), "ADD", "use COPY instead of ADD for local files");
                        }
                    }
                });
        add("copy-whole-filesystem", E, "files", "COPY --from copies what it needs, not /",
                "Copying the whole filesystem of another stage or image brings its users, setuid binaries, keys and"
                        + " package database along, and undoes the approved base's hardening.", List.of(),
                (s, emit) -> {
                    for (String keyword : List.of("COPY", "ADD")) {
                        for (Instruction i : s.instructions(keyword)) {
                            if (i.flag("from").isPresent() && sources(s, i).stream()
                                    .anyMatch(w -> w.equals("/") || w.equals("/.") || w.equals("/*"))) {
                                emit.emit(i.line(), keyword, keyword + " --from copies the whole filesystem");
                            }
                        }
                    }
                });
        add("copy-dest-slash", E, "structure", "COPY with several sources ends the destination with /",
                "With more than one source the destination must be a folder.", List.of("DL3021", "DS011"),
                (s, emit) -> {
                    for (String keyword : List.of("COPY", "ADD")) {
                        for (Instruction i : s.instructions(keyword)) {
                            if (!i.heredocs().isEmpty()) {
                                continue;
                            }
                            List<String> w = s.argumentWords(i);
                            if (w.size() > 2 && !w.get(w.size() - 1).endsWith("/")) {
                                emit.emit(i.line(), keyword, keyword + " with several sources needs a"
                                        + " destination ending in /");
                            }
                        }
                    }
                });

        // ---- ports ----------------------------------------------------------------------------------------------
        add("expose-ssh", E, "ports", "No SSH port exposed",
                "An image that serves SSH is a host, not a container; use docker exec / kubectl exec.",
                List.of("DS004", "CKV_DOCKER_1"),
                (s, emit) -> exposed(s, (i, word) -> {
                    if (!word.contains("22") && word.indexOf('-') < 0) {
                        return; // neither port 22 nor a range: the expression's answer, without it
                    }
                    java.util.regex.Matcher m = PORT.matcher(word);
                    if (m.matches() && (m.group(1).equals("22") || m.group(2) != null
                            && Integer.parseInt(m.group(1)) <= 22 && Integer.parseInt(m.group(2)) >= 22)) {
                        emit.emit(i.line(), "EXPOSE", "EXPOSE " + word + " (SSH)");
                    }
                }));
        add("invalid-port", E, "ports", "Exposed ports are valid",
                "Ports are 0–65535, optionally a range, optionally /tcp, /udp or /sctp.", List.of("DL3011", "DS008"),
                BuiltinInstructionRules::invalidPorts);

        // ---- structure ------------------------------------------------------------------------------------------
        add("duplicate-stage-name", E, "structure", "Stage names are unique",
                "Two stages with one name make COPY --from ambiguous.",
                List.of("DL3024", "DS012", "CKV_DOCKER_11", "BuildKit:DuplicateStageName"),
                (s, emit) -> {
                    Set<String> seen = new HashSet<>();
                    for (Instruction i : s.instructions("FROM")) {
                        List<String> w = s.words(i);
                        if (w.size() >= 3 && w.get(1).equalsIgnoreCase("AS")
                                && !seen.add(w.get(2).toLowerCase(Locale.ROOT))) {
                            emit.emit(i.line(), "FROM", "stage name '" + w.get(2) + "' is used twice");
                        }
                    }
                });
        add("copy-from-own-stage", E, "structure", "COPY --from does not name its own stage",
                "A stage cannot copy from itself: the builder fails, or (when another stage or image has the same name)"
                        + " copies from something other than the author meant.", List.of("DL3023", "DS006"),
                (s, emit) -> {
                    String current = null;
                    for (Instruction i : s.dockerfile().instructions()) {
                        if (i.keyword().equals("FROM")) {
                            List<String> w = s.words(i);
                            current = w.size() >= 3 && w.get(1).equalsIgnoreCase("AS") ? w.get(2).toLowerCase(Locale.ROOT)
                                    : null;
                        } else if (current != null && i.keyword().equals("COPY")
                                && i.flag("from").map(f -> f.toLowerCase(Locale.ROOT)).filter(current::equals)
                                .isPresent()) {
                            emit.emit(i.line(), "COPY", "COPY --from=" + current + " inside stage " + current);
                        }
                    }
                });
        add("relative-workdir", W, "structure", "WORKDIR is absolute",
                "A relative WORKDIR depends on every WORKDIR before it. Quotes (double or single) are removed"
                        + " before judging, as the builder does.",
                List.of("DL3000", "DS009", "CKV_DOCKER_10", "BuildKit:WorkdirRelativePath"),
                (s, emit) -> {
                    for (Instruction i : s.instructions("WORKDIR")) {
                        String dir = unquote(i.arguments().strip());
                        if (!dir.startsWith("/") && !dir.startsWith("$")
                                && !(dir.length() > 1 && dir.charAt(1) == ':')) {
                            emit.emit(i.line(), "WORKDIR", "WORKDIR " + dir + " is relative");
                        }
                    }
                });
        add("multiple-cmd-entrypoint-healthcheck", W, "structure", "One CMD, ENTRYPOINT and HEALTHCHECK per stage",
                "Only the last one counts; the others mislead readers.",
                List.of("DL4003", "DL4004", "DL3012", "DS007", "DS016", "DS023",
                        "BuildKit:MultipleInstructionsDisallowed"),
                (s, emit) -> {
                    Map<String, Integer> counts = new HashMap<>();
                    for (Instruction i : s.dockerfile().instructions()) {
                        if (i.keyword().equals("FROM")) {
                            counts.clear();
                        } else if (ONCE_PER_STAGE.contains(i.keyword())
                                && counts.merge(i.keyword(), 1, Integer::sum) == 2) {
                            emit.emit(i.line(), i.keyword(), "more than one " + i.keyword() + " in a stage");
                        }
                    }
                });
        add("onbuild-misuse", E, "structure", "ONBUILD does not trigger ONBUILD, FROM or MAINTAINER",
                "Docker refuses these triggers; they fail in whoever builds FROM this image.", List.of("DL3043"),
                (s, emit) -> {
                    for (Instruction i : s.instructions("ONBUILD")) {
                        String inner = s.words(i).get(0).toUpperCase(Locale.ROOT);
                        if (NOT_TRIGGERS.contains(inner)) {
                            emit.emit(i.line(), "ONBUILD", "ONBUILD " + inner + " is not allowed");
                        }
                    }
                });
        add("onbuild-trigger", I, "structure", "ONBUILD triggers are visible",
                "ONBUILD instructions run later, in someone else's build; they are listed so reviewers see them.",
                List.of(),
                (s, emit) -> {
                    for (Instruction i : s.instructions("ONBUILD")) {
                        emit.emit(i.line(), "ONBUILD", "ONBUILD " + BuiltinRunRules.abbreviate(i.arguments()));
                    }
                });
        add("maintainer-deprecated", I, "style", "LABEL instead of MAINTAINER",
                "MAINTAINER is deprecated and invisible to tools that read labels; use LABEL"
                        + " org.opencontainers.image.authors.", List.of("DL4000", "DS022", "CKV_DOCKER_6", "BuildKit:MaintainerDeprecated"),
                (s, emit) -> {
                    for (Instruction i : s.instructions("MAINTAINER")) {
                        emit.emit(i.line(), "MAINTAINER", "MAINTAINER is deprecated; use a LABEL");
                    }
                });
        add("json-args-recommended", I, "style", "CMD and ENTRYPOINT in exec (JSON) form",
                "The shell form wraps the process in /bin/sh -c, which does not forward signals.",
                List.of("DL3025", "BuildKit:JSONArgsRecommended"),
                (s, emit) -> {
                    for (String keyword : List.of("CMD", "ENTRYPOINT")) {
                        for (Instruction i : s.instructions(keyword)) {
                            if (!i.isJsonForm()) {
                                emit.emit(i.line(), keyword, keyword + " in shell form");
                            }
                        }
                    }
                });
        add("missing-healthcheck", W, "metadata", "The image declares a HEALTHCHECK",
                "Without one, the platform cannot tell a hung service from a healthy one. Set requireHealthcheck in"
                        + " the policy to have this reported (it is off by default).",
                List.of("DL3057", "CKV_DOCKER_2", "DS026", "CIS-4.6"),
                (s, emit) -> {
                    if (!s.policy().requireHealthcheck() || s.plan() == null) {
                        return;
                    }
                    if (!declares(s.targetChain(), "HEALTHCHECK")) {
                        emit.emit(s.plan().targetStage().line(), "FROM", "the final stage has no HEALTHCHECK");
                    }
                });
        add("missing-required-label", W, "metadata", "Required labels are present",
                "The policy can require labels (owner, source, …) on every image.", List.of("DL3049"),
                (s, emit) -> {
                    if (s.plan() == null || s.policy().requiredLabels().isEmpty()) {
                        return;
                    }
                    Set<String> present = new HashSet<>();
                    for (BuildStages.Stage st : s.targetChain()) {
                        for (Instruction i : st.instructions()) {
                            if (i.keyword().equals("LABEL")) {
                                present.addAll(s.env(i).keySet());
                            }
                        }
                    }
                    for (String label : s.policy().requiredLabels()) {
                        if (!present.contains(label)) {
                            emit.emit(s.plan().targetStage().line(), "LABEL", "required label " + label + " is missing");
                        }
                    }
                });
        add("inline-ignore-comment", W, "policy", "Exceptions live in the policy, not in the Dockerfile",
                "Inline ignore comments (# hadolint ignore=, # checkov:skip=, # trivy:ignore, # check=skip, …) are"
                        + " not obeyed: an exception needs a waiver in the policy files, with a reason, an approver"
                        + " and an expiry. The comment is reported so the author knows it had no effect.",
                List.of(),
                (s, emit) -> {
                    String check = s.dockerfile().directives().get("check");
                    if (check != null && check.contains("skip")) {
                        emit.emit(1, null, "# check=" + check + " is not obeyed; ask for a waiver in the policy");
                    }
                    for (int line : s.dockerfile().commentLines().keySet()) {
                        String comment = s.dockerfile().commentLines().get(line);
                        if (BuiltinRules.isInlineIgnore(comment)) {
                            emit.emit(line, null, "ignore comment is not obeyed: " + BuiltinRunRules.abbreviate(
                                    comment.strip()));
                        }
                    }
                });
        add("dockerfile-syntax", E, "structure", "The Dockerfile parses",
                "A syntax error is reported with its line; nothing after a broken instruction can be trusted.",
                List.of(), (s, emit) -> {
                    s.dockerfile().errors().forEach(e -> emit.emit(e.line(), null, e.message()));
                    if (s.instructions("FROM").isEmpty()) {
                        emit.emit(1, null, "the Dockerfile has no FROM instruction");
                    }
                });
        add(PolicyEvaluator.CANONICAL_RULE, E, "structure",
                "What the policy checked is what the daemon builds",
                "The daemon never sees the submitted Dockerfile: it builds one the gateway writes from its own parse"
                        + " (directives explicit, one instruction per line, no comments or continuations, heredocs"
                        + " only where the host's builder reads them). A construct that form cannot express without"
                        + " ambiguity (a control character, a line the daemon would join or split, a heredoc for the"
                        + " classic builder) is refused. Always an error and never waived, whatever the policy"
                        + " files say: without the text there is nothing to build.",
                List.of(), (s, emit) -> {
                    // Reported by PolicyEvaluator itself from CanonicalDockerfile's problems, outside severities
                    // and waivers.
                });
        add("unknown-target", E, "structure", "The requested target is a stage",
                "A target that names no stage would build something other than what was reviewed.", List.of(),
                (s, emit) -> {
                    if (s.plan() == null && s.target() != null && !s.instructions("FROM").isEmpty()) {
                        emit.emit(null, null, "build target '" + s.target() + "' is not a stage name");
                    }
                });
    }

    /** A WORKDIR path without its quotes: double or single, as the builder's word processing removes both. */
    static String unquote(String dir) {
        return dir.indexOf('"') < 0 && dir.indexOf('\'') < 0 ? dir : dir.replace("\"", "").replace("'", "");
    }

    /** Whether an entry admits this URL, read as the egress proxy reads a request (an unsafe path: never). */
    static boolean egressAdmits(List<io.buildgateway.shared.UrlPrefix> allow, String url) {
        if (allow.isEmpty()) {
            return false; // what every path below answers without a prefix (no allowlist: network none), unparsed
        }
        try {
            java.net.URI u = new java.net.URI(url);
            String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") || u.getHost() == null || u.getRawUserInfo() != null) {
                return false;
            }
            String path = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
            if (io.buildgateway.shared.UrlPrefix.unsafePath(path) != null) {
                return false;
            }
            int port = u.getPort() < 0 ? io.buildgateway.shared.UrlPrefix.defaultPort(scheme) : u.getPort();
            String host = u.getHost().toLowerCase(Locale.ROOT);
            return allow.stream().anyMatch(p -> p.admits(scheme, host, port, path));
        } catch (java.net.URISyntaxException e) {
            return false;
        }
    }

    static boolean isUrl(String w) {
        return io.buildgateway.dockerfile.RemoteAdds.isRemote(w);
    }

    /** The source words of COPY/ADD (everything but the destination), JSON or shell form. */
    static List<String> sources(Subject s, Instruction i) {
        List<String> w = s.argumentWords(i);
        return w.size() <= 1 ? List.of() : w.subList(0, w.size() - 1);
    }

    /** The exec form's strings; of COPY and ADD the words but the heredoc markers; else the words before any heredoc. */
    static List<String> words(Instruction i) {
        if (i.isJsonForm()) {
            return i.json();
        }
        if (i.keyword().equals("COPY") || i.keyword().equals("ADD")) {
            // BuildKit takes the heredoc markers out and keeps every other word: `ADD <url> <<EOF /d/` fetches <url>.
            return i.withoutHeredocMarkers(BuiltinRules.splitWords(i.arguments()));
        }
        int heredoc = i.arguments().indexOf("<<");
        return BuiltinRules.splitWords(heredoc < 0 ? i.arguments() : i.arguments().substring(0, heredoc));
    }

    private static void secretPairs(Instruction i, Map<String, String> pairs, BuiltinRules.Emitter emit) {
        pairs.forEach((k, v) -> {
            if (SecretNames.looksSecret(k, v)) {
                emit.emit(i.line(), i.keyword(), i.keyword() + " " + k + " looks like a secret");
            } else if (BuiltinRules.looksSecretValue(v)) {
                emit.emit(i.line(), i.keyword(), i.keyword() + " " + k + " has a value that looks like a credential");
            }
        });
    }

    private static boolean declares(List<BuildStages.Stage> stages, String keyword) {
        for (BuildStages.Stage st : stages) {
            for (Instruction i : st.instructions()) {
                if (i.keyword().equals(keyword)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Every literal word of every EXPOSE (words with variables are left to the builder). */
    private static void exposed(Subject s, java.util.function.BiConsumer<Instruction, String> each) {
        for (Instruction i : s.instructions("EXPOSE")) {
            for (String word : s.words(i)) {
                if (!word.contains("$")) {
                    each.accept(i, word);
                }
            }
        }
    }

    private static final java.util.regex.Pattern PORT = java.util.regex.Pattern.compile(
            "(\\d{1,5})(?:-(\\d{1,5}))?(?:/(?i:tcp|udp|sctp))?");

    /** EXPOSE words that are not valid ports. */
    static void invalidPorts(Subject s, BuiltinRules.Emitter emit) {
        exposed(s, (i, word) -> {
            java.util.regex.Matcher m = PORT.matcher(word);
            boolean valid = m.matches() && Integer.parseInt(m.group(1)) <= 65535
                    && (m.group(2) == null || Integer.parseInt(m.group(2)) <= 65535);
            if (!valid) {
                emit.emit(i.line(), "EXPOSE", "'" + word + "' is not a valid port");
            }
        });
    }
}
