package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * docs/policy-rules.md is generated from the rule registry. This test fails when the committed file is stale;
 * regenerate it with {@code mvn test -Dtest=PolicyRulesDocTest -Dpolicy.docs.write=true}.
 */
class PolicyRulesDocTest {

    private static final Path DOC = Path.of("docs", "policy-rules.md");

    @Test
    void committedRuleDocumentationMatchesTheRegistry() throws Exception {
        String generated = generate();
        if (Boolean.getBoolean("policy.docs.write")) {
            Files.writeString(DOC, generated, StandardCharsets.UTF_8);
        }
        assertThat(Files.exists(DOC)).as(DOC + " is missing; run with -Dpolicy.docs.write=true").isTrue();
        assertThat(Files.readString(DOC, StandardCharsets.UTF_8))
                .as(DOC + " is stale; run mvn test -Dtest=PolicyRulesDocTest -Dpolicy.docs.write=true")
                .isEqualTo(generated);
    }

    static String generate() {
        List<RuleInfo> rules = PolicyEvaluator.registry();
        StringBuilder out = new StringBuilder();
        out.append("# Policy rules\n\n")
                .append("Generated from the rule registry by `PolicyRulesDocTest` (do not edit by hand). ")
                .append(rules.size()).append(" built-in rules: those of the Dockerfile, checked before the build, ")
                .append("and those of the built image (category `image`), checked by post-build verification ")
                .append("before the push. Severities are the defaults; the policy files in ")
                .append("`config/policy/` override them (`rules:`), per team too (`teams:`), set the failure ")
                .append("threshold (`failOn:`) and grant waivers (`waivers:`). `GET /api/v1/policy` shows the ")
                .append("policy in force with its digest.\n\n");
        out.append("## Coverage\n\nOur rule beside the rules of other tools that it covers. Rows with no other tool")
                .append(" are checks none of them has.\n\n")
                .append("| rule | severity | hadolint | Trivy | Checkov | BuildKit | CIS Docker |\n")
                .append("|---|---|---|---|---|---|---|\n");
        for (RuleInfo r : rules) {
            out.append("| `").append(r.id()).append("` | ").append(r.severity()).append(" | ")
                    .append(refs(r, "DL")).append(" | ").append(refs(r, "DS")).append(" | ")
                    .append(refs(r, "CKV")).append(" | ").append(refs(r, "BuildKit:")).append(" | ")
                    .append(refs(r, "CIS-")).append(" |\n");
        }
        out.append("\nChecks of those tools that no rule above claims, and why (a gateway that builds with network")
                .append(" none from approved bases, with the context in hand):\n\n| check | why |\n|---|---|\n");
        java.util.Set<String> claimed = new java.util.HashSet<>();
        rules.forEach(r -> claimed.addAll(r.references()));
        BuiltinLintRules.NOT_APPLICABLE.entrySet().stream().filter(e -> !claimed.contains(e.getKey()))
                .forEach(e -> out.append("| ")
                        .append(e.getKey().startsWith("BuildKit:") ? "BuildKit " + e.getKey().substring(9)
                                : e.getKey()).append(" | ").append(e.getValue()).append(" |\n"));
        out.append("""

                ## The policy file

                Every `*.yaml` in `config/policy/` is read in name order and merged (lists append, maps merge);
                the digest covers all of them. Keys: `failOn` (error | warning | info), `approvedImages` (a prefix,
                or `{prefix, tags: <RE2 regex>, requireDigest}`; a prefix matches on path boundaries only, so
                `reg/base/busybox` approves `reg/base/busybox` and `reg/base/busybox/x` but not `reg/base/busybox-evil`;
                a trailing `*` asks for any continuation; `tags` are RE2 since 2026-12-06, matched in linear time: lookaround,
                backreferences, possessive quantifiers and Java's class intersection `[a-z&&[^x]]` are refused at load
                with the reason), `deniedImages` (globs), `requireDigest`,
                `requireHealthcheck`, `requiredLabels`, `publicBuildArgs` (build-arg names whose values are stored,
                shown and audited as given; every other value is kept only as `sha256:<hex>` of the value, and a build
                with such a value cannot be rebuilt; names that look like secrets are refused; wherever such a value of 4
                characters or more would appear in a finding message, a build-log line (the gateway's or a step's), a
                failure reason or audit details, it is replaced by `[build arg NAME]`: shorter values are left alone, as
                replacing them would mangle every log), `rules`
                (`<id>: error | warning | info | off`), `teams` (`<team>: {failOn, rules, autoRebuild,
                publicBuildArgs, egress, egressTunnels}`; a team's public names add to the global ones), `egress` (a list of
                mirror URL prefixes, globally and per team, e.g. `"http://mirror.corp/debian/"`: a team's builds may fetch
                through the gateway's egress proxy from the global entries and its own, never another team's; each entry is
                `http|https://host[:port]/path/`, parsed strictly at load (no userinfo, query, fragment, `.`/`..` segment or
                encoded separator; a bad entry fails the load naming it); a team with no entry builds with network none; per team
                `egressTunnels: allow | refuse` (default `allow`; `refuse` = no CONNECT, only digest-recorded downloads); see
                `docs/egress.md`), `waivers` (`{rule, team | "*", image?, line?, reason, approver,
                expires: YYYY-MM-DD}`), `customRules`, and for built images `image` (`protectedPaths`: paths or
                `{path, refuse: [modify, delete]}`, globs with `*` and a trailing `/**`; `setuidAllowed`;
                `allowedPorts`) and `vulnerabilities` (`failOn`: critical | high | medium | low | none;
                `onlyWithFix`; `allow`: `{id, package?, reason, approver, expires}`), and `shellcheck`
                (`{enabled: true | false}`: the ShellCheck pass over RUN scripts in the build gate, see the rule
                `shellcheck`; its findings' ids `shellcheck-SC<code>` are valid under `rules`, `teams` and `waivers`),
                and `frontends` (Dockerfile frontend images a `# syntax=` line may name, each pinned by digest in a
                registry: `registry/repository[:tag]@sha256:<64 hex>`, e.g.
                `127.0.0.1:5000/base/dockerfile:1.7-labs@sha256:…`; a frontend runs the whole build, so an
                `approvedImages` prefix does not approve one; a `# syntax=` value naming a listed frontend by its
                repository with the same tag, or the same digest, or neither, is written into the canonical Dockerfile
                as the listed, digest-pinned reference, and any other `# syntax=` line is refused by
                `dockerfile-canonical`; the frontend must be in the gateway's registry under a repository the build
                token grants (`gateway.hostpool.registry.tokens.pullable-prefixes`, default `base/`); with an approved
                frontend `COPY --parents` and `COPY/ADD --exclude` are accepted, the frontend deciding whether it
                knows them). Unknown keys, unknown rule ids, waivers without reason,
                approver or expiry, and CEL that does not compile are refused at load with the file and key.

                ## BuildKit build hosts

                On a BuildKit host (dockerd 26, BuildKit 0.13, its built-in Dockerfile 1.7 frontend) the canonical
                Dockerfile keeps heredocs (RUN, COPY, ADD; quoted markers, `<<-`, several on one line) and the flags
                that frontend knows: `FROM --platform`; `COPY --from/--chown/--chmod/--link`; `ADD
                --chown/--chmod/--link/--checksum/--keep-git-dir`; `RUN --mount` and `RUN --network=none`;
                `HEALTHCHECK --interval/--timeout/--start-period/--start-interval/--retries`. Anything else is refused
                by `dockerfile-canonical` with the reason: `--parents` and `--exclude` (labs features of that
                frontend) unless an approved `# syntax=` frontend is named, any `RUN --network` but `none`,
                `RUN --security`, and mounts the gateway cannot build (`type=secret` and `type=ssh` need a client
                session, which the gateway never passes; an unknown key or type, a key given twice, a mount without a
                target). Mounts are read as BuildKit reads them (one CSV line of `key=value` fields), and the `from=`
                of a bind or cache mount is an image pull judged by `unapproved-image` unless it names a stage. Every
                cache mount's `id` (or, without one, its target: BuildKit's default id) is replaced by
                `bgw-<namespace>-<first 16 hex digits of SHA-256 of that id>`, `sharing` and every other field kept,
                in RUN and ONBUILD RUN: the namespace is the build's team, or for a `noCache` build and every rebuild
                `<team>.fresh-<build id>`, so no team reads or writes another's cache mounts and a fresh build reads
                none. Build args named `BUILDKIT_*` (the frontend's own settings: `BUILDKIT_SYNTAX` would choose the
                frontend image) are refused. Heredoc bodies are judged as the RUN's script (installers, pins,
                `curl | sh`, ShellCheck at the body's own lines), except a body handed to an interpreter that is not a
                shell (`RUN python3 <<EOF`, or `RUN <<EOF` whose body starts with `#!` naming python, perl, node, ruby,
                php or lua).

                ## What the rules see

                Rules judge the build as the daemon runs it. Variables are substituted the way the builder does,
                per stage and in order (global ARGs for FROM; in a stage its ARG declarations with the request's
                build args over their defaults, and ENV in scope, including the ENV of an earlier stage it builds
                FROM) in ADD and COPY sources and flags, RUN flags (`--mount from=`), WORKDIR, USER, EXPOSE, VOLUME
                and STOPSIGNAL. A word that uses a variable whose value is not known before the build (one the
                Dockerfile never declares, in a stage built FROM an image whose ENV may set it), or that still holds a
                `$` after substitution, is judged by its worst case: as an ADD source it may be a URL, as an image it
                is not approved. ONBUILD triggers of a stage that a later stage builds FROM are judged as instructions
                of the later stage (at the ONBUILD line, in the later stage's scope); the triggers in an approved base
                image's config are read from the registry before the build and judged the same way (at the FROM
                line); a base whose triggers cannot be read fails closed (`base-image-triggers`). Image references
                that do not parse after substitution (whitespace or control characters such as a newline smuggled in
                through a build arg, upper case, empty parts) are refused by `unapproved-image`.

                ## Custom rules (CEL)

                ```yaml
                customRules:
                  - id: no-wget                  # lowercase words joined by '-', unlike any built-in id
                    severity: warning            # the default; rules:/teams: override it like any rule
                    description: Use curl, not wget
                    scope: instruction           # instruction (default: once per instruction) | build (once)
                    message: optional finding text (default: the description)
                    expression: instruction.keyword == 'RUN' && instruction.arguments.contains('wget')
                ```

                A true result is a finding (at the instruction's line). An evaluation error is a finding too:
                custom rules fail closed. The variables:

                | variable | fields |
                |---|---|
                | `instruction` | `keyword`, `arguments` (as written, continuations joined), `words`, `flags` (map), `json` (exec-form list, empty for shell form), `line`, `stage` (index, -1 before the first FROM); empty map for `scope: build` |
                | `dockerfile` | `instructions` (list of the above), `stages` (`index`, `name`, `base` — after build-arg substitution — `baseWritten`, `fromStage`, `line`), `target` (index of the target stage), `directives` (map) |
                | `request` | `image`, `team`, `target`, `buildArgs` (map) |

                The standard macros (`exists`, `all`, `exists_one`, `map`, `filter`) and functions are available.
                """);
        out.append("\n## Rules\n");
        String category = null;
        for (RuleInfo r : rules.stream().sorted(java.util.Comparator.comparing(RuleInfo::category)).toList()) {
            if (!r.category().equals(category)) {
                category = r.category();
                out.append("\n### ").append(category).append("\n");
            }
            out.append("\n#### `").append(r.id()).append("` — ").append(r.title()).append("\n\n")
                    .append("Default severity: **").append(r.severity()).append("**.");
            if (!r.references().isEmpty()) {
                out.append(" Covers: ").append(String.join(", ", r.references())).append('.');
            }
            out.append("\n\n").append(r.rationale()).append('\n');
        }
        return out.toString();
    }

    private static String refs(RuleInfo r, String prefix) {
        String s = r.references().stream().filter(x -> x.startsWith(prefix))
                .map(x -> x.startsWith("BuildKit:") ? x.substring(9) : x.startsWith("CIS-") ? x.substring(4) : x)
                .collect(Collectors.joining(", "));
        return s.isEmpty() ? "—" : s;
    }
}
