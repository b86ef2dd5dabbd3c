package io.buildgateway.dockerfile;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Writes the Dockerfile the daemon builds from the gateway's own parse, so that what the policy checked is what the
 * daemon runs: the directives the parse used written explicitly at the top ({@code # syntax=} when present, then
 * {@code # escape=} always), then one instruction per line as the parse joined it, with no comments, continuations
 * or blank lines; heredoc bodies only where the builder supports them. Whatever this form cannot express without
 * ambiguity is a problem, and then there is no text. The writer checks itself: its output is parsed again and must
 * give the same instructions, or it is refused.
 */
public final class CanonicalDockerfile {

    private CanonicalDockerfile() {
    }

    /**
     * The flags the classic builder of dockerd 20.10 accepts, by instruction (checked against it): any other is
     * "Unknown flag" before the first step. (ONBUILD's trigger is not checked until it fires.)
     */
    static final java.util.Map<String, java.util.Set<String>> CLASSIC_FLAGS = java.util.Map.of(
            "FROM", java.util.Set.of("platform"),
            "COPY", java.util.Set.of("from", "chown", "chmod"),
            "ADD", java.util.Set.of("chown", "chmod"),
            "RUN", java.util.Set.of("mount"),
            "HEALTHCHECK", java.util.Set.of("interval", "timeout", "start-period", "retries"));

    /** The canonical text ({@code null} when refused) and the problems that refused it. */
    public record Result(String text, List<Problem> problems) {
        public Result {
            problems = List.copyOf(problems);
        }
    }

    /** Why the canonical form cannot be written: a line of the input and what is wrong there. */
    public record Problem(int line, String message) {
    }

    /**
     * The flags the Dockerfile 1.7 frontend built into BuildKit 0.13 (dockerd 26) accepts without a {@code # syntax=}
     * line, by instruction. {@code COPY --parents} and {@code COPY/ADD --exclude} are labs-only in 1.7 (stable in
     * later frontends) and {@code RUN --security} and {@code --device} are labs-only too: see {@link #LABS_FLAGS}.
     */
    static final java.util.Map<String, java.util.Set<String>> BUILDKIT_FLAGS = java.util.Map.of(
            "FROM", java.util.Set.of("platform"),
            "COPY", java.util.Set.of("from", "chown", "chmod", "link"),
            "ADD", java.util.Set.of("chown", "chmod", "link", "checksum", "keep-git-dir"),
            "RUN", java.util.Set.of("mount", "network"),
            "HEALTHCHECK", java.util.Set.of("interval", "timeout", "start-period", "start-interval", "retries"));

    /**
     * Flags of the labs frontend (docker/dockerfile:1.7-labs) the gateway can judge: accepted only with an approved
     * {@code # syntax=} frontend, which then decides whether it knows them.
     */
    static final java.util.Map<String, java.util.Set<String>> LABS_FLAGS = java.util.Map.of(
            "COPY", java.util.Set.of("parents", "exclude"),
            "ADD", java.util.Set.of("exclude"));

    /**
     * How to write: {@code buildkit} whether the host builds with BuildKit (heredocs, {@code RUN --mount} and the
     * other flags of its built-in frontend) or with the classic builder; {@code cacheNamespace} the namespace every
     * cache mount's id is moved into ({@code [a-z0-9._-]+}, e.g. the team, or the team and a build id for a build
     * that must not read any existing cache), null when there is none (then a cache mount is refused under BuildKit);
     * {@code frontend} maps a {@code # syntax=} value to the approved frontend image pinned by digest, or null when
     * it is not approved (null function: the directive is written as it is, for callers that judge it elsewhere).
     * {@code baseVariables}: the variables the build's base images may set to an empty value, each to the words that
     * say which base and how ({@code base image 'r/x:1' sets X to an empty value (its config's Env)}), else null;
     * a RUN pattern that starts with one of them is refused as one that starts with a variable the file declares
     * (null function: no base's environment is known).
     */
    public record Options(boolean buildkit, String cacheNamespace,
            java.util.function.UnaryOperator<String> frontend,
            java.util.function.Function<String, String> baseVariables,
            java.util.function.IntFunction<String> pinnedBases,
            java.util.function.IntFunction<java.util.Map<String, String>> pinnedSources) {

        public Options {
            if (cacheNamespace != null && !validNamespace(cacheNamespace)) {
                throw new IllegalArgumentException("not a cache namespace: " + cacheNamespace);
            }
        }

        /**
         * Without pinned bases: {@code pinnedBases} maps the line of a FROM to the reference its base is written as
         * ({@code name:tag@sha256:…}, the digest of the manifest whose config the policy judged), or null to keep it
         * as written; a null function pins nothing (lint, and builds whose bases were not read).
         */
        public Options(boolean buildkit, String cacheNamespace, java.util.function.UnaryOperator<String> frontend,
                java.util.function.Function<String, String> baseVariables) {
            this(buildkit, cacheNamespace, frontend, baseVariables, null, null);
        }

        /**
         * Without pinned sources: {@code pinnedSources} maps the line of a COPY (or ADD) with {@code --from=<image>},
         * or of a RUN with a mount {@code from=<image>}, to the images to write pinned there: the source as written
         * (the flag's value, or the mount's {@code from=}, variables and all) to the image it names after
         * substitution pinned by the digest the policy read ({@code name:tag@sha256:…}); null to keep the line as
         * written. Each of them must be written so, or the file is refused: never built by tag. A null function
         * pins nothing.
         */
        public Options(boolean buildkit, String cacheNamespace, java.util.function.UnaryOperator<String> frontend,
                java.util.function.Function<String, String> baseVariables,
                java.util.function.IntFunction<String> pinnedBases) {
            this(buildkit, cacheNamespace, frontend, baseVariables, pinnedBases, null);
        }

        public Options(boolean buildkit, String cacheNamespace, java.util.function.UnaryOperator<String> frontend) {
            this(buildkit, cacheNamespace, frontend, null, null, null);
        }

        private static final java.util.regex.Pattern NAMESPACE = java.util.regex.Pattern.compile(
                "[a-z0-9][a-z0-9._-]{0,127}");

        public static boolean validNamespace(String namespace) {
            return NAMESPACE.matcher(namespace).matches();
        }

        public static Options classic() {
            return new Options(false, null, null);
        }
    }

    /**
     * @param parsed the gateway's parse of the submitted Dockerfile
     * @param heredocsSupported whether the host's builder reads heredocs (BuildKit); the classic builder does not
     */
    public static Result write(Dockerfile parsed, boolean heredocsSupported) {
        return write(parsed, new Options(heredocsSupported, null, null), true);
    }

    /** As {@link #write(Dockerfile, Options, boolean)} with the self-check. */
    public static Result write(Dockerfile parsed, Options options) {
        return write(parsed, options, true);
    }

    /**
     * {@code selfCheck} false leaves out the re-parse of the output, for a caller that only wants the problems (a
     * lint: nothing is built from the text, and the re-parse was about a tenth of a lint's time,
     * docs/benchmarks.md). Whatever is built must come from a checked writing.
     */
    public static Result write(Dockerfile parsed, Options options, boolean selfCheck) {
        return write(parsed, options, selfCheck, true);
    }

    /**
     * The problems {@link #write(Dockerfile, Options, boolean)} without its self-check reports, without writing the
     * text (a lint wants only them: nothing is built from it). Exactly that call's problems; it has a text exactly
     * when there are none.
     */
    public static List<Problem> problems(Dockerfile parsed, Options options) {
        return write(parsed, options, false, false).problems();
    }

    private static Result write(Dockerfile parsed, Options options, boolean selfCheck, boolean withText) {
        boolean heredocsSupported = options.buildkit();
        List<Problem> problems = new ArrayList<>();
        if (!parsed.errors().isEmpty()) {
            problems.add(new Problem(parsed.errors().get(0).line(),
                    "no canonical Dockerfile can be written while it has syntax errors"));
            return new Result(null, problems);
        }
        // Sized for a typical line per instruction, so that the text is not copied again and again as it grows.
        StringBuilder out = withText ? new StringBuilder(64 + 64 * parsed.instructions().size()) : null;
        String syntax = parsed.directives().get("syntax");
        String writtenSyntax = syntax;
        if (syntax != null) {
            String problem = unwritable(syntax, '\\');
            if (problem != null) {
                problems.add(new Problem(1, "the syntax directive " + problem));
            } else if (options.frontend() != null) {
                writtenSyntax = options.frontend().apply(syntax);
                if (writtenSyntax == null) {
                    problems.add(new Problem(1, "the # syntax= frontend '" + syntax + "' is not approved: a frontend"
                            + " image runs the whole build, so only those the policy lists under frontends (pinned"
                            + " by digest, in the gateway's registry) may be named; remove the line to build with the"
                            + " build host's built-in frontend"));
                    writtenSyntax = syntax;
                }
            }
            if (out != null) {
                out.append("# syntax=").append(writtenSyntax).append('\n');
            }
        }
        boolean labs = syntax != null && options.frontend() != null;
        if (out != null) {
            out.append("# escape=").append(parsed.escape()).append('\n');
        }
        boolean staged = false;
        List<Instruction> expected = selfCheck ? new ArrayList<>(parsed.instructions().size()) : null;
        List<Instruction> instructions = parsed.instructions();
        DeclaredVariables declared = new DeclaredVariables(parsed);
        for (int index = 0; index < instructions.size(); index++) {
            Instruction in = instructions.get(index);
            // The daemon refuses a file with an instruction other than ARG before its first FROM ("no build stage in
            // current context") or with no FROM at all, before it runs a step.
            if (in.keyword().equals("FROM")) {
                staged = true;
            } else if (!staged && !in.keyword().equals("ARG")) {
                problems.add(new Problem(in.line(), in.keyword() + " comes before the first FROM: the build host's"
                        + " builder refuses the file (no build stage)"));
                continue;
            }
            Instruction written = in;
            if (heredocsSupported) {
                written = buildkitForm(in, options, labs, problems);
            }
            String pin = in.keyword().equals("FROM") && options.pinnedBases() != null
                    ? options.pinnedBases().apply(in.line()) : null;
            if (pin != null) {
                written = pinned(written, pin, parsed.escape(), problems);
                if (written == null) {
                    continue;
                }
            }
            java.util.Map<String, String> sources = options.pinnedSources() == null ? null
                    : options.pinnedSources().apply(in.line());
            if (sources != null && !sources.isEmpty() && !in.keyword().equals("FROM")) {
                written = sourcesPinned(written, sources, problems);
                if (written == null) {
                    continue;
                }
            }
            if (expected != null) {
                expected.add(written);
            }
            String line = written.original();
            String problem = unwritable(line, parsed.escape());
            if (problem == null && !in.keyword().equals("RUN") && Substitution.mayNestTooDeep(line)) {
                problem = "has more than " + Substitution.MAX_DEPTH + " variable substitutions (${…}), more than the"
                        + " policy reads nested";
            }
            if (problem == null) {
                problem = crashesTheDaemon(in, line, declared, options.baseVariables());
            }
            if (problem != null) {
                problems.add(new Problem(in.line(), in.keyword() + " " + problem));
                continue;
            }
            List<Instruction.Flag> flags = in.flags();
            if (!heredocsSupported && !flags.isEmpty()) {
                java.util.Set<String> known = CLASSIC_FLAGS.getOrDefault(in.keyword(), java.util.Set.of());
                for (int f = 0; f < flags.size(); f++) { // by index: an iterator per instruction showed in JFR
                    Instruction.Flag flag = flags.get(f);
                    if (!known.contains(flag.name())) {
                        problems.add(new Problem(in.line(), in.keyword() + " --" + flag.name() + " is unknown to the"
                                + " build host's builder (the classic builder of dockerd 20.10), which refuses it"));
                    }
                }
            }
            if (out != null) {
                out.append(line).append('\n');
            }
            if (!in.heredocs().isEmpty()) {
                if (!heredocsSupported) {
                    problems.add(new Problem(in.line(), in.keyword() + " has a heredoc, which the build host's builder"
                            + " does not read: it would run the lines of the document as instructions"));
                    continue;
                }
                boolean escapedName = false;
                for (String[] opener : Heredocs.openers(in.original())) {
                    if (opener[4].indexOf('\\') >= 0 || opener[4].indexOf(parsed.escape()) >= 0) {
                        escapedName = true;
                    }
                }
                if (escapedName) {
                    // Where an escape ends inside a heredoc's name depends on the lexer's quoting rules and on the
                    // escape character; a builder reading it otherwise ends the document at another line and runs
                    // the rest as instructions (a review's finding, 2026-12-07). Nobody needs one in a name.
                    problems.add(new Problem(in.line(), in.keyword() + " has a heredoc whose name holds an escape"
                            + " character; name it with letters, digits and _ only (for example <<EOF)"));
                    continue;
                }
                for (Instruction.Heredoc h : in.heredocs()) {
                    String body = h.body();
                    for (String bodyLine : body.split("\n", -1)) {
                        if (bodyLine.equals(h.delimiter()) || hasControl(bodyLine, false)) {
                            problems.add(new Problem(in.line(), in.keyword() + " has a heredoc whose body cannot be"
                                    + " written unambiguously"));
                            break;
                        }
                    }
                    if (out != null) {
                        out.append(body).append(h.delimiter()).append('\n');
                    }
                }
            }
        }
        if (!staged && problems.isEmpty() && !parsed.instructions().isEmpty()) {
            problems.add(new Problem(1, "there is no FROM: the build host's builder refuses the file (no build stage)"));
        }
        if (!problems.isEmpty()) {
            return new Result(null, problems);
        }
        if (out == null) {
            return new Result(null, problems); // no problems; the text was not asked for
        }
        String text = out.toString();
        if (!selfCheck) {
            return new Result(text, problems);
        }
        java.util.Map<String, String> directives = new java.util.HashMap<>(parsed.directives());
        if (writtenSyntax != null) {
            directives.put("syntax", writtenSyntax);
        }
        Dockerfile intended = new Dockerfile(directives, parsed.escape(), expected, parsed.commentLines(), List.of());
        String difference = difference(intended, DockerfileParser.parse(text, heredocsSupported));
        if (difference != null) {
            problems.add(new Problem(difference.startsWith("@") ? Integer.parseInt(difference.substring(1,
                    difference.indexOf(' '))) : 1, "the canonical form would read differently: "
                    + difference.substring(difference.indexOf(' ') + 1)));
            return new Result(null, problems);
        }
        return new Result(text, problems);
    }

    /**
     * A FROM with its base written as {@code pin} (a literal reference: the base after substitution, pinned by the
     * digest the policy's read of it found), its flags ({@code --platform}) and stage name as written; so the daemon
     * builds the image whose config was judged even when the tag has moved since. The line is parsed again and must
     * read as the same FROM with only the base changed; if it does not (a form this does not write), a problem: the
     * build is refused rather than built by tag.
     */
    private static Instruction pinned(Instruction from, String pin, char escape, List<Problem> problems) {
        String original = from.original();
        String arguments = from.arguments();
        String line = null;
        if (original.endsWith(arguments) && !from.isJsonForm()) {
            String head = original.substring(0, original.length() - arguments.length());
            int end = 0;
            while (end < arguments.length() && !DockerfileParser.isGoSpace(arguments.charAt(end))) {
                end++;
            }
            line = head + pin + arguments.substring(end);
        }
        Instruction read = null;
        if (line != null && unwritable(line, escape) == null) {
            List<Instruction> parsed = DockerfileParser.parse("# escape=" + escape + "\n" + line).instructions();
            read = parsed.size() == 1 ? parsed.get(0) : null;
        }
        List<String> before = from.words(escape);
        List<String> after = read == null ? List.of() : read.words(escape);
        boolean same = read != null && read.keyword().equals("FROM") && read.flags().equals(from.flags())
                && !before.isEmpty() && after.size() == before.size() && after.get(0).equals(pin)
                && after.subList(1, after.size()).equals(before.subList(1, before.size()));
        if (!same) {
            problems.add(new Problem(from.line(), "FROM cannot be written with its base pinned to the digest that"
                    + " was judged (" + pin + "); write it as FROM [--platform=…] image [AS name]"));
            return null;
        }
        return new Instruction("FROM", read.flags(), read.arguments(), read.json(), read.heredocs(), from.line(),
                from.endLine(), read.original());
    }

    /** The flags of COPY and ADD that take no value: written bare ({@code --link=} is not {@code --link}). */
    private static final java.util.Set<String> BOOLEAN_FLAGS = java.util.Set.of("link", "keep-git-dir", "parents");

    /**
     * A COPY or ADD whose {@code --from} names an image, or a RUN whose mounts name one ({@code from=}), with each
     * such image written as {@code pins} has it (the source as written to the image after substitution, pinned by
     * the digest the policy read): so the daemon copies from the image that was read, even when the tag moved. The
     * other flags, the mounts' other fields and the arguments stay as they were. Every pin must be written, or a
     * problem: the build is refused rather than built by tag.
     */
    private static Instruction sourcesPinned(Instruction in, java.util.Map<String, String> pins,
            List<Problem> problems) {
        java.util.Set<String> unwritten = new java.util.TreeSet<>(pins.values());
        List<Instruction.Flag> flags = new ArrayList<>(in.flags().size());
        boolean run = in.keyword().equals("RUN");
        for (Instruction.Flag flag : in.flags()) {
            String pin = null;
            if (run && flag.name().equals("mount")) {
                try {
                    RunMount mount = RunMount.parse(flag.value());
                    pin = mount.from() == null ? null : pins.get(mount.from());
                    if (pin != null) {
                        flag = new Instruction.Flag("mount", mount.withFrom(pin).value());
                    }
                } catch (RunMount.Refused e) {
                    // refused by the RUN checks, or read otherwise after substitution: not written pinned below
                }
            } else if (!run && flag.name().equals("from")) {
                pin = pins.get(flag.value());
                if (pin != null) {
                    flag = new Instruction.Flag("from", pin);
                }
            }
            if (pin != null) {
                unwritten.remove(pin);
            }
            flags.add(flag);
        }
        if (!unwritten.isEmpty()) {
            problems.add(new Problem(in.line(), in.keyword() + " cannot be written with the image" + (unwritten.size()
                    == 1 ? "" : "s") + " it reads from pinned to the digest that was read (" + String.join(", ",
                    unwritten) + "); name " + (run ? "the image in the mount's from= field" : "the image in --from")
                    + " itself, or through a variable in that word alone"));
            return null;
        }
        StringBuilder line = new StringBuilder(in.keyword()).append(' ');
        for (Instruction.Flag f : flags) {
            if (!run && f.value().isEmpty() && BOOLEAN_FLAGS.contains(f.name())) {
                line.append("--").append(f.name()).append(' ');
            } else {
                line.append(flagText(List.of(f)));
            }
        }
        line.append(in.arguments());
        return new Instruction(in.keyword(), flags, in.arguments(), in.json(), in.heredocs(), in.line(),
                in.endLine(), line.toString());
    }

    /**
     * The instruction as BuildKit's built-in frontend is to receive it: its flags checked against the frontend's,
     * {@code RUN --network} only {@code none}, each {@code RUN --mount} read and checked, and every cache mount's id
     * moved into the cache namespace (the line rewritten, its other flags written {@code --name=value}). ONBUILD RUN
     * triggers are checked and rewritten the same way: they run in a later build with the mounts written here.
     */
    private static Instruction buildkitForm(Instruction in, Options options, boolean labs, List<Problem> problems) {
        if (in.keyword().equals("ONBUILD")) {
            return onbuildForm(in, options, problems);
        }
        java.util.Set<String> known = BUILDKIT_FLAGS.getOrDefault(in.keyword(), java.util.Set.of());
        java.util.Set<String> labsOnly = LABS_FLAGS.getOrDefault(in.keyword(), java.util.Set.of());
        int before = problems.size();
        for (Instruction.Flag flag : in.flags()) {
            if (known.contains(flag.name()) || (labs && labsOnly.contains(flag.name()))) {
                continue;
            }
            if (labsOnly.contains(flag.name())) {
                problems.add(new Problem(in.line(), in.keyword() + " --" + flag.name() + " is a labs feature of the"
                        + " Dockerfile 1.7 frontend that the build hosts' built-in frontend (BuildKit 0.13) refuses:"
                        + (flag.name().equals("parents") ? " copy each directory with a COPY of its own"
                        : " list the sources to copy, or keep the excluded files out of the context (.dockerignore)")
                        + ", or name a labs frontend the policy approves (frontends) with # syntax="));
            } else if (in.keyword().equals("RUN") && flag.name().equals("security")) {
                problems.add(new Problem(in.line(), "RUN --security=" + flag.value() + " is refused: a build step"
                        + " gets no extra privileges on a gateway build host (and the built-in frontend does not"
                        + " know the flag)"));
            } else {
                problems.add(new Problem(in.line(), in.keyword() + " --" + flag.name() + " is unknown to the build"
                        + " hosts' builder (BuildKit 0.13's built-in Dockerfile 1.7 frontend), which refuses it"));
            }
        }
        if (!in.keyword().equals("RUN") || problems.size() > before) {
            return in;
        }
        List<Instruction.Flag> flags = runFlags(in.flags(), in.line(), "RUN", options, problems);
        if (flags == null) {
            return in;
        }
        String line = "RUN " + flagText(flags) + in.arguments();
        return new Instruction("RUN", flags, in.arguments(), in.json(), in.heredocs(), in.line(), in.endLine(), line);
    }

    /** ONBUILD RUN with flags: the trigger checked and rewritten like a RUN. */
    private static Instruction onbuildForm(Instruction in, Options options, List<Problem> problems) {
        String args = in.arguments();
        int space = DockerfileParser.indexOfSeparator(args);
        if (space < 0 || !"RUN".equals(DockerfileParser.keyword(args, space))) {
            return in;
        }
        String rest = args.substring(space);
        String trimmed = DockerfileParser.goTrimLeft(rest);
        if (!trimmed.startsWith("--")) {
            return in;
        }
        List<Instruction.Flag> triggerFlags = new ArrayList<>();
        String command = DockerfileParser.goTrim(DockerfileParser.takeFlags(trimmed, triggerFlags));
        for (Instruction.Flag flag : triggerFlags) {
            if (!flag.name().equals("mount") && !flag.name().equals("network")) {
                problems.add(new Problem(in.line(), "ONBUILD RUN --" + flag.name() + " is refused: the trigger would"
                        + " run with it in a later build, and BuildKit's built-in frontend does not know it"));
            }
        }
        List<Instruction.Flag> flags = runFlags(triggerFlags, in.line(), "ONBUILD RUN", options, problems);
        if (flags == null) {
            return in;
        }
        String arguments = "RUN " + flagText(flags) + command;
        return new Instruction("ONBUILD", in.flags(), arguments, in.json(), in.heredocs(), in.line(), in.endLine(),
                "ONBUILD " + arguments);
    }

    /**
     * RUN's flags as they are to be written: {@code --network} must be {@code none}; each mount must read as one the
     * gateway builds; cache mounts get their namespaced id. Null when nothing changes or something is refused.
     */
    private static List<Instruction.Flag> runFlags(List<Instruction.Flag> flags, int line, String what,
            Options options, List<Problem> problems) {
        boolean changed = false;
        boolean refused = false;
        List<Instruction.Flag> out = new ArrayList<>(flags.size());
        for (Instruction.Flag flag : flags) {
            if (flag.name().equals("network") && !flag.value().equals("none")) {
                problems.add(new Problem(line, what + " --network=" + flag.value() + " is refused: build steps run"
                        + " with no network on the gateway's hosts; only --network=none may be written"));
                refused = true;
            }
            if (!flag.name().equals("mount")) {
                out.add(flag);
                continue;
            }
            RunMount mount;
            try {
                mount = RunMount.parse(flag.value());
            } catch (RunMount.Refused e) {
                problems.add(new Problem(line, what + " --mount=" + flag.value() + " is refused: " + e.getMessage()));
                refused = true;
                continue;
            }
            if (mount.type().equals("cache")) {
                if (options.cacheNamespace() == null) {
                    problems.add(new Problem(line, what + " has a cache mount, and no cache namespace was given to"
                            + " keep it apart from other teams' caches"));
                    refused = true;
                    continue;
                }
                out.add(new Instruction.Flag("mount", mount.namespaced(options.cacheNamespace()).value()));
                changed = true;
            } else {
                out.add(flag);
            }
        }
        return changed && !refused ? out : null;
    }

    /** Flags as {@code --name=value } each, the value in double quotes where the flag reader needs them. */
    static String flagText(List<Instruction.Flag> flags) {
        StringBuilder out = new StringBuilder();
        for (Instruction.Flag f : flags) {
            out.append("--").append(f.name()).append('=');
            String v = f.value();
            boolean plain = !v.isEmpty();
            for (int k = 0; k < v.length() && plain; k++) {
                char c = v.charAt(k);
                plain = !DockerfileParser.isGoSpace(c) && c != '"' && c != '\'' && c != '\\' && c < 0x80;
            }
            if (plain) {
                out.append(v);
            } else {
                out.append('"').append(v.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
            }
            out.append(' ');
        }
        return out.toString();
    }

    /**
     * Why BuildKit's expansion of this instruction would panic the build host's daemon
     * ({@link Substitution#emptyPatternCrash}), or null. BuildKit expands every instruction's words with unset
     * variables empty, so any pattern that starts with a variable counts. RUN's line and heredoc bodies it expands too
     * (its command's environment, v0.13 {@code dispatchRun}), but keeps an unset variable as written there: a pattern
     * that starts with a variable is empty only when that variable is set, which for a shell script's own variables
     * it is not; so in RUN only the variables the Dockerfile declares (ENV, ARG) count, besides patterns that are
     * empty as written ({@code ${x#}}, meaningless in a shell too). A variable a base image sets to an empty value
     * (its config's Env, or an ENV or ARG among its ONBUILD triggers) counts too when the caller read it
     * ({@code baseVariables}, null when it did not), and then the problem names the base.
     */
    private static String crashesTheDaemon(Instruction in, String line, DeclaredVariables declared,
            java.util.function.Function<String, String> baseVariables) {
        if (!in.keyword().equals("RUN")) {
            String found = Substitution.emptyPatternCrash(line);
            for (int h = 0; found == null && h < in.heredocs().size(); h++) {
                found = Substitution.emptyPatternCrash(in.heredocs().get(h).body());
            }
            return found == null ? null : crash(found);
        }
        // RUN's flags (--mount values) are expanded with unset variables empty, as other instructions' words.
        String found = null;
        for (int f = 0; found == null && f < in.flags().size(); f++) {
            found = Substitution.emptyPatternCrash(in.flags().get(f).value());
        }
        if (found == null && (Substitution.emptyPatternCrash(line) != null || in.heredocs().stream()
                .anyMatch(h -> Substitution.emptyPatternCrash(h.body()) != null))) {
            java.util.function.Predicate<String> declaredByFile = declared.mayBeSet();
            // The base that sets the variable the pattern found starts with, when the file does not declare it: the
            // search stops at the first pattern the predicate calls empty, so the last base named is that one's.
            String[] setBy = new String[1];
            java.util.function.Predicate<String> mayBeEmpty = baseVariables == null ? declaredByFile : name -> {
                if (declaredByFile.test(name)) {
                    setBy[0] = null;
                    return true;
                }
                setBy[0] = baseVariables.apply(name);
                return setBy[0] != null;
            };
            found = Substitution.emptyPatternCrash(line, mayBeEmpty, true);
            for (int h = 0; found == null && h < in.heredocs().size(); h++) {
                found = Substitution.emptyPatternCrash(in.heredocs().get(h).body(), mayBeEmpty, true);
            }
            if (found != null && setBy[0] != null) {
                return "has " + found + ", a pattern that may be empty: " + setBy[0] + ", and the build host's"
                        + " BuildKit (dockerd 26) crashes on an empty ${name#…} or ${name%…} pattern, ending every"
                        + " build on the host";
            }
        }
        return found == null ? null : crash(found);
    }

    private static String crash(String found) {
        return "has " + found + ", a pattern that may be empty: the build host's BuildKit (dockerd 26) crashes on an"
                + " empty ${name#…} or ${name%…} pattern, ending every build on the host";
    }

    /**
     * Whether a variable may be set (and empty) when BuildKit expands a RUN line: every name an ENV or ARG of the file
     * declares (ONBUILD's included), over-approximated from its words with quotes and escapes taken out; a name
     * BuildKit would expand ({@code ENV ${N}=}) makes every variable count. Read once per file, and only when a RUN
     * has a pattern that may be empty.
     */
    private static final class DeclaredVariables {
        private final Dockerfile parsed;
        private java.util.function.Predicate<String> mayBeSet;

        DeclaredVariables(Dockerfile parsed) {
            this.parsed = parsed;
        }

        java.util.function.Predicate<String> mayBeSet() {
            if (mayBeSet == null) {
                mayBeSet = read();
            }
            return mayBeSet;
        }

        private java.util.function.Predicate<String> read() {
            java.util.Set<String> names = new java.util.HashSet<>();
            for (Instruction i : parsed.instructions()) {
                String kw = i.keyword();
                String args = i.arguments();
                if (kw.equals("ONBUILD")) {
                    // The trigger's keyword as the parser reads one (onbuildForm does the same).
                    int space = DockerfileParser.indexOfSeparator(args);
                    kw = space < 0 ? null : DockerfileParser.keyword(args, space);
                    args = space < 0 ? "" : DockerfileParser.goTrimLeft(args.substring(space));
                }
                if (!"ENV".equals(kw) && !"ARG".equals(kw)) {
                    continue;
                }
                for (String word : DockerfileParser.nameValueWords(args, parsed.escape())) {
                    int eq = word.indexOf('=');
                    String name = (eq < 0 ? word : word.substring(0, eq)).replace("\"", "").replace("'", "")
                            .replace(String.valueOf(parsed.escape()), "");
                    if (name.indexOf('$') >= 0) {
                        return n -> true;
                    }
                    names.add(name);
                }
            }
            return names::contains;
        }
    }

    /** Why this logical line cannot stand alone on a line of the canonical text, or null. */
    private static String unwritable(String line, char escape) {
        if (hasControl(line, false)) {
            return "has a control character (other than tab) the daemon would read differently";
        }
        if (!line.equals(DockerfileParser.goTrim(line))) {
            return "begins or ends with whitespace the daemon would trim";
        }
        if (DockerfileParser.continuation(line, escape) >= 0) {
            return "ends with the escape character, which would join it with the next line";
        }
        if (line.indexOf('\uFFFD') >= 0) {
            return "has a character that is not valid UTF-8";
        }
        // A char is at most 3 bytes of UTF-8 (a surrogate pair 4 for 2): only a line this long needs counting.
        if (line.length() > DockerfileParser.MAX_LINE_BYTES / 3
                && DockerfileParser.utf8Length(line) > DockerfileParser.MAX_LINE_BYTES) {
            return "is longer than the daemon's " + DockerfileParser.MAX_LINE_BYTES + "-byte line limit once joined";
        }
        return null;
    }

    /** Control characters (C0, DEL, C1; line and paragraph separators; the BOM) other than tab. */
    private static boolean hasControl(String s, boolean allowCr) {
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            if (c >= 0x20 && c < 0x7F) {
                continue; // printable ASCII, nearly every character of a Dockerfile: none of the tests below
            }
            if ((c < 0x20 && c != '\t' && !(allowCr && c == '\r')) || (c >= 0x7F && c <= 0x9F) || c == 0x2028
                    || c == 0x2029 || c == '\uFEFF') {
                return true;
            }
        }
        return false;
    }

    /** The first difference between two parses' instructions and directives, as "@line what", or null. */
    static String difference(Dockerfile a, Dockerfile b) {
        if (!b.errors().isEmpty()) {
            return "@1 " + b.errors().get(0).message();
        }
        if (a.escape() != b.escape()) {
            return "@1 escape character " + a.escape() + " became " + b.escape();
        }
        if (!Objects.equals(a.directives().get("syntax"), b.directives().get("syntax"))) {
            return "@1 the syntax directive changed";
        }
        int n = Math.min(a.instructions().size(), b.instructions().size());
        for (int k = 0; k < n; k++) {
            Instruction x = a.instructions().get(k);
            Instruction y = b.instructions().get(k);
            if (!sameInstruction(x, y)) {
                return "@" + x.line() + " " + x.keyword() + " would read as " + y.keyword() + " with other arguments";
            }
        }
        if (a.instructions().size() != b.instructions().size()) {
            int line = n < a.instructions().size() ? a.instructions().get(n).line() : 1;
            return "@" + line + " " + a.instructions().size() + " instructions would read as "
                    + b.instructions().size();
        }
        return null;
    }

    /** Equal but for where they stand: keyword, flags, arguments, exec form, heredocs and the joined line. */
    public static boolean sameInstruction(Instruction x, Instruction y) {
        return x.keyword().equals(y.keyword()) && x.flags().equals(y.flags()) && x.arguments().equals(y.arguments())
                && Objects.equals(x.json(), y.json()) && x.heredocs().equals(y.heredocs())
                && x.original().equals(y.original());
    }
}
