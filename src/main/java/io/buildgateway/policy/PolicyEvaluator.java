package io.buildgateway.policy;

import io.buildgateway.dockerfile.BuildStages;
import io.buildgateway.dockerfile.CanonicalDockerfile;
import io.buildgateway.dockerfile.Dockerfile;
import io.buildgateway.dockerfile.DockerfileParser;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Service;

/**
 * Evaluates a Dockerfile — and, when given, its context — against the policy in force: every enabled built-in rule
 * runs on the build as it will actually run (after substitution of the request's build args, for the requested
 * target); the policy's severities (and the team's) apply; waivers mark findings {@code waived}; a build is rejected
 * when an unwaived finding reaches the failure threshold.
 */
@Service
public class PolicyEvaluator {

    static final String RULESET_VERSION = "builtin-3";

    private final Supplier<PolicyDocument> policy;
    private final Clock clock;
    private final ShellCheck shellCheck;

    /** The canonical writing's cost (bench/build-vs-direct.sh reports its share of the gateway's overhead). */
    private static final io.micrometer.core.instrument.Timer CANONICAL_TIMER = io.micrometer.core.instrument.Metrics
            .timer("gateway.policy.canonical");

    @Autowired
    PolicyEvaluator(PolicyStore store, Clock clock, ShellCheckProperties shellCheck) {
        this(store::current, clock, new ShellCheck(shellCheck.binary(), shellCheck.timeout()));
    }

    PolicyEvaluator(Supplier<PolicyDocument> policy, Clock clock) {
        this(policy, clock, new ShellCheck("shellcheck", java.time.Duration.ofSeconds(20)));
    }

    PolicyEvaluator(Supplier<PolicyDocument> policy, Clock clock, ShellCheck shellCheck) {
        this.policy = policy;
        this.clock = clock;
        this.shellCheck = shellCheck;
    }

    /**
     * A {@code baseEmptyEnv} lookup ({@link Request}) that also knows each base's whole environment: the expansion then
     * starts a stage built on that base with the base's Env, as BuildKit does (plus the default PATH where it sets
     * none), so words with its variables are read as the builder reads them instead of as unknown.
     */
    public interface BaseEnvironment extends java.util.function.Function<String, Set<String>> {
        /** The base's config Env as name → value; null when it is not one environment (an index whose images differ). */
        Map<String, String> values(String imageRef);

        /**
         * The {@code sha256:} digest of the manifest (or index) the base's config was read from, or null when not
         * known: a build pins each FROM whose base was read to it ({@code name:tag@digest}, in the canonical
         * Dockerfile and in {@link Evaluation#pulls}), so that the daemon builds the image that was judged.
         */
        default String digest(String imageRef) {
            return null;
        }

        /**
         * Whether the build's daemon would be granted a pull of this base although the policy does not approve it (a
         * waived {@code unapproved-image}, or that rule off for the team): an image of the gateway's registry in the
         * team's own repositories or under a prefix every build may pull. Such a base is read and pinned as an
         * approved one is, so its ONBUILD triggers are judged and the daemon builds the image judged; any other base
         * (an address the Dockerfile chose) is never read. False when not known (lint).
         */
        default boolean granted(String imageRef) {
            return false;
        }
    }

    /**
     * What is evaluated: the Dockerfile text, the request, the context's file names (null for a lone file), and
     * {@code baseTriggers}: from an image reference (a base, after substitution) to the ONBUILD triggers
     * in its config, as the registry has them (null or an empty list: none). It is asked only for well-formed bases
     * that are approved (or, with a {@link BaseEnvironment}, that its daemon would be granted and the policy approves
     * or lets through: {@link BaseEnvironment#granted}); if it throws (registry unreachable, manifest unreadable), the build gets an error finding
     * ({@code base-image-triggers}): it fails closed. A null function means "not known here" (lint).
     * {@code heredocsSupported}: whether the build host builds with BuildKit (heredocs, {@code RUN --mount} and the
     * other flags of its built-in Dockerfile 1.7 frontend, checked and written by
     * {@link CanonicalDockerfile.Options}); false for the classic builder of dockerd 20.10, the default, so that a
     * heredoc is refused rather than run as instructions.
     * {@code shellcheck}: null lets the policy decide ({@code shellcheck.enabled}); true asks for the ShellCheck pass
     * (lint), and then a ShellCheck that cannot run throws {@link ShellCheck.Unavailable} instead of an error
     * finding; false turns it off.
     * {@code cacheNamespace}: the namespace the canonical Dockerfile moves every {@code RUN --mount=type=cache} id
     * into ({@code [a-z0-9][a-z0-9._-]*}); null means the team's own (see {@link #cacheNamespace(String, String)}).
     * A build that must not read any existing cache (noCache, a rebuild) gets one of its own.
     * {@code baseEmptyEnv}: from the same image references as {@code baseTriggers} (asked right after it, for the
     * bases whose triggers were read) to the names the base's config {@code Env} sets to an empty value; dockerd 26's
     * BuildKit crashes on a RUN's {@code ${v#$X}} with {@code X} set and empty, so such a pattern is refused
     * ({@code dockerfile-canonical}). Null: no base's environment is known (lint, and callers that read none).
     */
    public record Request(String dockerfile, Map<String, String> buildArgs, String target, String team, String image,
            Set<String> contextFiles, java.util.function.Function<String, List<String>> baseTriggers,
            boolean heredocsSupported, Boolean shellcheck, String cacheNamespace,
            java.util.function.Function<String, Set<String>> baseEmptyEnv) {

        public Request(String dockerfile, Map<String, String> buildArgs, String target, String team, String image,
                Set<String> contextFiles, java.util.function.Function<String, List<String>> baseTriggers,
                boolean heredocsSupported, Boolean shellcheck, String cacheNamespace) {
            this(dockerfile, buildArgs, target, team, image, contextFiles, baseTriggers, heredocsSupported, shellcheck,
                    cacheNamespace, null);
        }

        public Request(String dockerfile, Map<String, String> buildArgs, String target, String team, String image,
                Set<String> contextFiles, java.util.function.Function<String, List<String>> baseTriggers,
                boolean heredocsSupported, Boolean shellcheck) {
            this(dockerfile, buildArgs, target, team, image, contextFiles, baseTriggers, heredocsSupported, shellcheck,
                    null);
        }

        /** This request with its cache mounts in the given namespace. */
        public Request withCacheNamespace(String namespace) {
            return new Request(dockerfile, buildArgs, target, team, image, contextFiles, baseTriggers,
                    heredocsSupported, shellcheck, namespace, baseEmptyEnv);
        }

        /** This request with the bases' empty-valued Env names read through {@code lookup}. */
        public Request withBaseEmptyEnv(java.util.function.Function<String, Set<String>> lookup) {
            return new Request(dockerfile, buildArgs, target, team, image, contextFiles, baseTriggers,
                    heredocsSupported, shellcheck, cacheNamespace, lookup);
        }

        public Request(String dockerfile, Map<String, String> buildArgs, String target, String team, String image,
                Set<String> contextFiles, java.util.function.Function<String, List<String>> baseTriggers,
                Boolean shellcheck) {
            this(dockerfile, buildArgs, target, team, image, contextFiles, baseTriggers, false, shellcheck);
        }

        public Request(String dockerfile, Map<String, String> buildArgs, String target, String team, String image,
                Set<String> contextFiles, java.util.function.Function<String, List<String>> baseTriggers) {
            this(dockerfile, buildArgs, target, team, image, contextFiles, baseTriggers, false, null);
        }

        public Request(String dockerfile, Map<String, String> buildArgs, String target, String team, String image,
                Set<String> contextFiles, boolean heredocsSupported) {
            this(dockerfile, buildArgs, target, team, image, contextFiles, null, heredocsSupported, null);
        }

        public Request(String dockerfile, Map<String, String> buildArgs, String target, String team, String image,
                Set<String> contextFiles) {
            this(dockerfile, buildArgs, target, team, image, contextFiles, null, false, null);
        }
    }

    /**
     * The cache namespace of a team's builds: the team, or, for a build that must start from an empty cache (noCache,
     * a security rebuild), the team and the build's own id, so that it reads no cache any earlier build wrote.
     */
    public static String cacheNamespace(String team, String freshFor) {
        return freshFor == null ? team : team + ".fresh-" + freshFor.toLowerCase(java.util.Locale.ROOT);
    }

    /** The built-in rule whose findings are the canonical writer's problems: always an error, never waived. */
    static final String CANONICAL_RULE = "dockerfile-canonical";

    /** The policy in force as the API shows it. */
    public record PolicyView(String digest, String source, List<RuleView> rules) {
    }

    public record RuleView(String id, Finding.Severity severity, boolean enabled, String category, String description,
            String rationale, List<String> references) {
    }

    public String policyDigest() {
        return policy.get().digest();
    }

    public Evaluation evaluate(String dockerfile, Map<String, String> buildArgs, String target) {
        return evaluate(new Request(dockerfile, buildArgs, target, null, null, null));
    }

    public Evaluation evaluate(Request request) {
        return evaluate(request, true);
    }

    /** Whether the stages' bases differ when BuildKit's platform arguments are defined. */
    private static boolean platformDependent(Dockerfile parsed, BuildStages.Plan plan, Request request) {
        String text = request.dockerfile();
        boolean mentions = false;
        for (String name : BuildStages.PLATFORM_ARGS.keySet()) {
            mentions |= text.contains(name);
        }
        if (!mentions) {
            return false;
        }
        BuildStages.Plan withPlatform = BuildStages.plan(parsed, request.buildArgs(), request.target(), true);
        if (withPlatform == null || withPlatform.stages().size() != plan.stages().size()) {
            return true;
        }
        for (int i = 0; i < plan.stages().size(); i++) {
            if (!plan.stages().get(i).base().equals(withPlatform.stages().get(i).base())) {
                return true;
            }
        }
        return false;
    }

    /**
     * A lint: the findings and verdict {@link #evaluate(Request)} gives, without a canonical Dockerfile (nothing is
     * built from a lint, so its canonical writing is not re-parsed to prove it reads the same; a build's is).
     */
    public Evaluation lint(Request request) {
        return evaluate(request, false);
    }

    private Evaluation evaluate(Request request, boolean forBuild) {
        long parseStart = io.buildgateway.shared.RequestTimings.start();
        PolicyDocument doc = policy.get();
        Dockerfile parsed = DockerfileParser.parse(request.dockerfile());
        BuildStages.Plan plan = BuildStages.plan(parsed, request.buildArgs(), request.target(),
                request.heredocsSupported());
        Subject subject = new Subject(parsed, plan, request.buildArgs(), request.target(), request.team(),
                request.image(), doc, request.contextFiles(), request.baseTriggers(), request.baseEmptyEnv());
        PolicyDocument.TeamSettings team = request.team() == null ? null : doc.teams().get(request.team());
        // Today's date only matters to waivers.
        LocalDate today = doc.waivers().isEmpty() ? null : LocalDate.now(clock.withZone(ZoneOffset.UTC));
        if (request.baseEmptyEnv() instanceof BaseEnvironment) {
            subject.letsUnapprovedThrough(letsUnapprovedThrough(doc, team, request, today));
        }
        PlansOf plans = this.plans;
        if (plans.doc() != doc) {
            plans = new PlansOf(doc, new java.util.concurrent.ConcurrentHashMap<>());
            this.plans = plans;
        }
        RulePlan rulePlan = plans.byTeam().computeIfAbsent(request.team() == null ? "" : request.team(),
                k -> rulePlan(doc, team));
        Collector collector = new Collector(doc, request, today);
        io.buildgateway.shared.RequestTimings.end("parse", parseStart);
        // Timed or not is the thread's request's state, the same for the whole lint: one thread-local read decides.
        boolean timed = parseStart != 0;
        long rulesStart = timed ? io.buildgateway.shared.RequestTimings.start() : 0;
        for (int r = 0; r < rulePlan.rules().size(); r++) {
            BuiltinRules.Rule rule = rulePlan.rules().get(r);
            collector.rule = rule.info().id();
            collector.severity = rulePlan.settings().get(r).severity();
            rule.check().run(subject, collector);
        }
        if (request.shellcheck() != null ? request.shellcheck() : doc.shellcheck()) {
            shellCheck(subject, request, doc, team, collector);
        }
        List<Finding> findings = collector.findings;
        io.buildgateway.shared.RequestTimings.end("rules", rulesStart);
        // What the daemon builds is written from this parse. Its problems are errors whatever the policy says about
        // the rule: there is nothing to build without the text.
        // The variables the bases may set to an empty value (read with their triggers, for the stages built): a RUN
        // pattern starting with one crashes dockerd 26's BuildKit as one starting with a variable the file declares.
        Expansion.BaseVariables baseVariables = request.baseEmptyEnv() == null && request.baseTriggers() == null
                ? Expansion.BaseVariables.NONE : subject.expansion().baseVariables();
        long t0 = System.nanoTime();
        long canonicalStart = timed ? io.buildgateway.shared.RequestTimings.start() : 0;
        String namespace = request.cacheNamespace() != null ? request.cacheNamespace() : request.team();
        if (namespace != null && !CanonicalDockerfile.Options.validNamespace(namespace)) {
            namespace = null; // then a cache mount is refused: never a shared cache by accident
        }
        // Each FROM whose base's config was read is written (and pulled) by the digest of what was read: the daemon
        // builds the image whose triggers and Env were judged, not whatever the tag names by dispatch.
        Map<Integer, String> pins = pins(plan, subject, request);
        // So is each image a COPY --from or a mount's from= names (the file's own instructions): what was read and
        // approved is what the daemon copies from.
        Map<Integer, Map<String, String>> sourcePins = sourcePins(plan, subject, request);
        // And each stage a COPY --from or a mount's from= names through a variable, by the name (or index) it resolved
        // to: the daemon does not substitute there, and would read "$S" as an image.
        Map<Integer, Map<String, String>> writtenSources = withStageSources(sourcePins, stageSources(plan, subject));
        CanonicalDockerfile.Options options = new CanonicalDockerfile.Options(request.heredocsSupported(), namespace,
                doc::frontend, baseVariables.isEmpty() ? null : baseVariables::setBy,
                pins.isEmpty() ? null : pins::get, writtenSources.isEmpty() ? null : writtenSources::get);
        // A lint needs only the writer's problems (it has a text exactly when there are none), not the text itself.
        List<CanonicalDockerfile.Problem> canonicalProblems;
        String canonicalText;
        boolean written;
        if (forBuild) {
            CanonicalDockerfile.Result canonical = CanonicalDockerfile.write(parsed, options, true);
            canonicalProblems = canonical.problems();
            canonicalText = canonical.text();
            written = canonicalText != null;
        } else {
            canonicalProblems = CanonicalDockerfile.problems(parsed, options);
            canonicalText = null;
            written = canonicalProblems.isEmpty();
        }
        CANONICAL_TIMER.record(System.nanoTime() - t0, java.util.concurrent.TimeUnit.NANOSECONDS);
        io.buildgateway.shared.RequestTimings.end("canonical", canonicalStart);
        boolean canonicalRefused = false;
        boolean syntaxReported = false;
        for (int k = 0; k < findings.size() && !syntaxReported; k++) { // by index: no stream per lint
            syntaxReported = findings.get(k).rule().equals("dockerfile-syntax");
        }
        for (CanonicalDockerfile.Problem p : parsed.errors().isEmpty() || !syntaxReported ? canonicalProblems
                : List.<CanonicalDockerfile.Problem>of()) {
            if (unwaivedErrorAt(findings, p.line())) {
                // A rule already refuses this line (RUN --network=host, a type=ssh mount…) and says why; the build
                // is refused either way (no canonical text), so the writer's own word on it would only repeat it.
                continue;
            }
            findings.add(new Finding(CANONICAL_RULE, Finding.Severity.error, p.message(), p.line(),
                    instructionAt(parsed, p.line()), null));
        }
        if (onbuildSourcesRefused(parsed, subject, findings)) {
            canonicalRefused = true;
        }
        if (!request.heredocsSupported() && plan != null && platformDependent(parsed, plan, request)) {
            // Judged without BuildKit's platform arguments (a pool not all BuildKit: the classic builder has none),
            // while a BuildKit host would build with them: the bases would depend on the host the build gets.
            findings.add(new Finding(CANONICAL_RULE, Finding.Severity.error, "a FROM line depends on BuildKit's"
                    + " platform arguments (" + String.join(", ", BuildStages.PLATFORM_ARGS.keySet().stream().sorted()
                    .toList()) + "), which only some of the build hosts define: write the base out", null, null,
                    null));
            canonicalRefused = true;
        }
        for (String name : request.buildArgs() == null ? Set.<String>of() : request.buildArgs().keySet()) {
            if (name.startsWith("BUILDKIT_")) {
                // BuildKit's frontend reads these as its own settings (BUILDKIT_SYNTAX picks the frontend image,
                // BUILDKIT_CACHE_MOUNT_NS the cache namespace…): a request steering the builder is not a build arg.
                findings.add(new Finding(CANONICAL_RULE, Finding.Severity.error, "build arg " + name + " is a setting"
                        + " of BuildKit's frontend, not of the Dockerfile; the gateway sets the builder up itself",
                        null, null, null));
                canonicalRefused = true;
            } else if (BuildStages.PLATFORM_ARGS.containsKey(name)) {
                // BuildKit gives these the build's platform, and a build arg of the name overrides it in FROM: the
                // policy would judge another base than the one built.
                findings.add(new Finding(CANONICAL_RULE, Finding.Severity.error, "build arg " + name + " names one of"
                        + " BuildKit's platform arguments; the build hosts build " + BuildStages.HOST_PLATFORM
                        + " and set them themselves", null, null, null));
                canonicalRefused = true;
            }
        }
        List<BuildStages.Stage> chain = subject.targetChain();
        BuildStages.Stage root = chain.isEmpty() ? null : chain.get(chain.size() - 1);
        java.util.LinkedHashSet<String> pulls = new java.util.LinkedHashSet<>();
        java.util.LinkedHashSet<String> bases = new java.util.LinkedHashSet<>();
        record Source(BuiltinRules.Pull pull, String pulled) {
        }
        List<Source> sources = new ArrayList<>();
        for (BuiltinRules.Pull p : subject.pulls()) {
            String pinned = p.where().equals("FROM") ? pins.get(p.line()) : null;
            if (SOURCE_PULLS.contains(p.where()) && p.image().indexOf('@') < 0) {
                Map<String, String> read = subject.expansion().sourceDigests().get(p.line());
                String digest = read == null || sourcePins.get(p.line()) == null ? null : read.get(p.image());
                pinned = digest == null ? null : p.image() + "@" + digest;
            }
            pulls.add(pinned != null ? pinned : p.image());
            if (p.where().equals("FROM")) {
                bases.add(pinned != null ? pinned : p.image());
            } else if (SOURCE_PULLS.contains(p.where())) {
                sources.add(new Source(p, pinned != null ? pinned : p.image()));
            }
        }
        for (Source source : sources) {
            String other = sameNameOtherDigest(source.pulled(), bases);
            if (other != null) {
                // BuildKit names a FROM vertex by the reference alone, and shares one vertex among the builds of a
                // host that load the same image: the post-build check can tell a base from a copy source of the same
                // name only by its digest, so one name must not be both by different digests.
                findings.add(new Finding(CANONICAL_RULE, Finding.Severity.error, "image '"
                        + source.pulled() + "' is named here by another digest than the base of the"
                        + " same name ('" + other + "'): the build's check could not tell them apart; copy"
                        + " from the base's digest, or from the image under another tag", source.pull().line(),
                        source.pull().where(), null));
                canonicalRefused = true;
            }
        }
        findings.sort(BY_LINE_THEN_RULE);
        Finding.Severity threshold = team != null && team.failOn() != null ? team.failOn() : doc.failOn();
        boolean passed = written && !canonicalRefused;
        for (Finding f : findings) {
            if (!Boolean.TRUE.equals(f.waived()) && f.severity().ordinal() <= threshold.ordinal()) {
                passed = false;
                break;
            }
        }
        return new Evaluation(passed, doc.digest(), findings, root != null && root.fromImage() ? root.base() : null,
                List.copyOf(pulls), canonicalText, List.copyOf(bases));
    }

    /**
     * The FROM lines whose base was read (its triggers and Env judged) to the base pinned by the digest of the
     * manifest read, {@code name[:tag]@sha256:…}; a base named by digest already, or not read (lint: no registry;
     * a base the build's daemon would not be granted or the policy does not let through, or an unreadable one), is not
     * in it.
     */
    private static Map<Integer, String> pins(BuildStages.Plan plan, Subject subject, Request request) {
        if (!readsBases(plan, request)) {
            return Map.of();
        }
        Map<String, String> digests = subject.expansion().baseDigests();
        if (digests.isEmpty()) {
            return Map.of();
        }
        Map<Integer, String> pins = new java.util.HashMap<>();
        for (BuildStages.Stage stage : plan.stages()) {
            String digest = stage.fromImage() ? digests.get(stage.base()) : null;
            if (digest != null && stage.base().indexOf('@') < 0) {
                pins.put(stage.line(), stage.base() + "@" + digest);
            }
        }
        return pins;
    }

    /** Whether this evaluation read images from the registry (a build's, with a plan): only then is anything pinned. */
    private static boolean readsBases(BuildStages.Plan plan, Request request) {
        return plan != null && request.baseTriggers() != null && request.baseEmptyEnv() instanceof BaseEnvironment;
    }

    /** The pulls of the file's own instructions that name an image to copy or mount from ({@link BuiltinRules#pulls}). */
    private static final Set<String> SOURCE_PULLS = Set.of("COPY --from", "ADD --from", "RUN --mount from=");

    /**
     * Per line of a COPY/ADD {@code --from=<image>} or a RUN mount {@code from=<image>} of the file's own (not an
     * ONBUILD trigger: the daemon reads a trigger's text from the image it is in), the sources as written to the
     * images they name after substitution pinned by the digest read ({@code name:tag@sha256:…},
     * {@link Expansion.Result#sourceDigests}). A source named by digest already, or not read (lint; an unapproved or
     * unreadable image, refused anyway), is not in it. A mount whose from= cannot be told apart as written (the whole
     * value a variable) is put in under a key no mount has, so that the writer refuses the line rather than write it
     * by tag.
     */
    private static Map<Integer, Map<String, String>> sourcePins(BuildStages.Plan plan, Subject subject,
            Request request) {
        if (!readsBases(plan, request)) {
            return Map.of();
        }
        Map<Integer, Map<String, String>> digests = subject.expansion().sourceDigests();
        if (digests.isEmpty()) {
            return Map.of();
        }
        Map<Integer, Map<String, String>> pins = new java.util.HashMap<>();
        for (Expansion.Effective e : subject.expansion().instructions()) {
            Map<String, String> read = e.via() == null ? digests.get(e.instruction().line()) : null;
            if (read == null) {
                continue;
            }
            io.buildgateway.dockerfile.Instruction ran = e.instruction();
            io.buildgateway.dockerfile.Instruction written = e.written();
            Map<String, String> line = new java.util.LinkedHashMap<>();
            if (ran.keyword().equals("COPY") || ran.keyword().equals("ADD")) {
                String image = ran.flag("from").orElse(null);
                String as = written.flag("from").orElse(null);
                if (image != null && as != null && image.indexOf('@') < 0 && read.containsKey(image)) {
                    line.put(as, image + "@" + read.get(image));
                }
            } else if (ran.keyword().equals("RUN")) {
                for (int k = 0; k < ran.flags().size() && k < written.flags().size(); k++) {
                    io.buildgateway.dockerfile.Instruction.Flag flag = ran.flags().get(k);
                    if (!flag.name().equals("mount") || flag.value() == null) {
                        continue;
                    }
                    List<String> images = BuiltinRules.mountFroms(flag.value());
                    List<String> as = BuiltinRules.mountFroms(written.flags().get(k).value());
                    for (String image : images) {
                        if (image.indexOf('@') >= 0 || !read.containsKey(image)) {
                            continue;
                        }
                        // One from= as written and one as run: that written word is the image. Any other count (a
                        // mount that does not read, whose fields may not be BuildKit's) gets a key per image that no
                        // mount has: the writer refuses the line rather than pin one image where another is named.
                        String key = as.size() == 1 && images.size() == 1 ? as.get(0)
                                : "\0" + image + "\0" + written.flags().get(k).value();
                        line.put(key, image + "@" + read.get(image));
                    }
                }
            }
            if (!line.isEmpty()) {
                pins.put(e.instruction().line(), line);
            }
        }
        return pins;
    }

    /**
     * Per line of the file's own COPY/ADD {@code --from=…} or RUN mount {@code from=…} whose source as written is not
     * what it resolved to, and resolved to a stage of the file (as {@link BuiltinRules#pulls} tells a stage from an
     * image: a stage named so far, lower-cased; scratch; for COPY/ADD a stage index), the source as written to the
     * value it resolved to. BuildKit 0.13 substitutes no variable there (dockerfile2llb's toCommand reads
     * {@code --from=$S} as the image "$S", "failed to parse stage name"; a mount's {@code from=$S} is refused, "doesn't
     * support variable expansion"; later frontends refuse both): the canonical Dockerfile writes the stage as the
     * policy judged it, so the daemon copies from that stage. A value that is no stage is an image, pinned or refused
     * as such ({@link #sourcePins}). An ONBUILD trigger's text is the daemon's to read where it runs: not here.
     */
    private static Map<Integer, Map<String, String>> stageSources(BuildStages.Plan plan, Subject subject) {
        if (plan == null) {
            return Map.of();
        }
        Map<Integer, Map<String, String>> out = new java.util.HashMap<>();
        Set<String> names = new java.util.HashSet<>();
        List<Expansion.Effective> effective = subject.expansion().instructions();
        int next = 0;
        for (BuildStages.Stage stage : plan.stages()) {
            if (stage.name() != null) {
                names.add(stage.name()); // as BuiltinRules.pulls: its own name inside it is no image either
            }
            while (next < effective.size() && effective.get(next).stage() == stage.index()) {
                Expansion.Effective e = effective.get(next++);
                if (e.via() != null) {
                    continue;
                }
                io.buildgateway.dockerfile.Instruction ran = e.instruction();
                if (ran.flags().isEmpty()) {
                    continue; // most instructions: no --from, no mount (this runs for every lint too)
                }
                io.buildgateway.dockerfile.Instruction written = e.written();
                Map<String, String> line = new java.util.LinkedHashMap<>(2);
                if (ran.keyword().equals("COPY") || ran.keyword().equals("ADD")) {
                    String value = ran.flag("from").orElse(null);
                    String as = written.flag("from").orElse(null);
                    if (value != null && as != null && !value.equals(as)
                            && !BuiltinRules.isImageRef(value, names)) {
                        line.put(as, value);
                    }
                } else if (ran.keyword().equals("RUN")) {
                    for (int k = 0; k < ran.flags().size() && k < written.flags().size(); k++) {
                        io.buildgateway.dockerfile.Instruction.Flag flag = ran.flags().get(k);
                        if (!flag.name().equals("mount") || flag.value() == null) {
                            continue;
                        }
                        List<String> values = BuiltinRules.mountFroms(flag.value());
                        List<String> as = BuiltinRules.mountFroms(written.flags().get(k).value());
                        // A mount's from= is a stage by name only: from=0 is the image "0".
                        if (values.size() == 1 && as.size() == 1 && !values.get(0).equals(as.get(0))
                                && (values.get(0).equalsIgnoreCase("scratch")
                                || names.contains(values.get(0).toLowerCase(java.util.Locale.ROOT)))) {
                            line.put(as.get(0), values.get(0));
                        }
                    }
                }
                if (!line.isEmpty()) {
                    out.put(ran.line(), line);
                }
            }
        }
        return out;
    }

    /** The pins per line with the stage sources added (a line's source is one or the other, never both). */
    private static Map<Integer, Map<String, String>> withStageSources(Map<Integer, Map<String, String>> pins,
            Map<Integer, Map<String, String>> stages) {
        if (stages.isEmpty()) {
            return pins;
        }
        Map<Integer, Map<String, String>> out = new java.util.HashMap<>(pins);
        stages.forEach((line, sources) -> out.merge(line, sources, (a, b) -> {
            Map<String, String> both = new java.util.LinkedHashMap<>(a);
            both.putAll(b);
            return both;
        }));
        return out;
    }

    /**
     * Refuses ({@code dockerfile-canonical}) an image that an ONBUILD trigger of the file's own copies or mounts from
     * ({@code ONBUILD COPY --from=<image>}, {@code ONBUILD RUN --mount=…,from=<image>}) when a later stage of the file
     * inherits the trigger: the daemon reads the trigger's text from the stage it is in, so the canonical Dockerfile
     * cannot pin that image for the stage that runs it, and it would be read by tag when the trigger runs. (The build
     * hosts' BuildKit 0.13 refuses such a trigger anyway, "cannot copy from stage"; a newer frontend would run it.) One
     * named by digest already is left alone, as everywhere. A trigger that a base image's config carries is not
     * the file's: its sources stay by tag (docs/security.md). Returns whether one was refused.
     */
    private static boolean onbuildSourcesRefused(Dockerfile parsed, Subject subject, List<Finding> findings) {
        Set<String> seen = new java.util.HashSet<>();
        boolean refused = false;
        for (BuiltinRules.Pull p : subject.pulls()) {
            // a base image's trigger is reported at its FROM; the file's own at its ONBUILD line
            if (!p.where().startsWith("ONBUILD ") || p.image().indexOf('@') >= 0
                    || !"ONBUILD".equals(instructionAt(parsed, p.line())) || !seen.add(p.line() + "\0" + p.image())) {
                continue;
            }
            boolean mount = p.where().contains("--mount");
            findings.add(new Finding(CANONICAL_RULE, Finding.Severity.error, "the ONBUILD trigger "
                    + (mount ? "mounts" : "copies from") + " image '" + p.image() + "' (" + p.where().substring(8)
                    + "), and a later stage of this file inherits it: an image named in an ONBUILD trigger cannot be"
                    + " pinned to the digest that was read, so it would be read by tag when the trigger runs (the build"
                    + " hosts' BuildKit refuses such a trigger anyway); " + (mount ? "mount it with RUN --mount=…,from="
                    : "copy from it with COPY --from=") + " in the stage that needs it instead", p.line(), "ONBUILD",
                    null));
            refused = true;
        }
        return refused;
    }

    private static boolean unwaivedErrorAt(List<Finding> findings, int line) {
        for (Finding f : findings) {
            if (f.line() != null && f.line() == line && f.severity() == Finding.Severity.error
                    && !Boolean.TRUE.equals(f.waived()) && !f.rule().equals(CANONICAL_RULE)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The keyword of the instruction that starts on this line. The parser lists instructions in the order of their
     * lines, so a binary search finds it: asked once per problem of the canonical writer, which a scan made quadratic
     * in the files it refuses (issue #12: a JFR profile put 3.4 % of a lint there; LintAB measured the search at
     * 1.01x, docs/benchmarks.md).
     */
    static String instructionAt(Dockerfile parsed, int line) {
        List<io.buildgateway.dockerfile.Instruction> all = parsed.instructions();
        int lo = 0;
        int hi = all.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int at = all.get(mid).line();
            if (at < line) {
                lo = mid + 1;
            } else if (at > line) {
                hi = mid - 1;
            } else {
                return all.get(mid).keyword();
            }
        }
        return null;
    }

    /**
     * The ShellCheck pass: every RUN script, one run of the binary, each comment a finding {@code shellcheck-SC<code>}
     * at its Dockerfile line, with ShellCheck's level as the default severity (error, warning; info and style as
     * info), the policy's (or the team's) setting of that id overriding it, and waivers applying as to any rule.
     */
    private void shellCheck(Subject subject, Request request, PolicyDocument doc, PolicyDocument.TeamSettings team,
            Collector collector) {
        List<ShellScripts.Script> scripts = ShellScripts.of(subject, request.dockerfile());
        List<ShellCheck.Comment> comments;
        try {
            comments = shellCheck.check(scripts);
        } catch (ShellCheck.Unavailable e) {
            if (Boolean.TRUE.equals(request.shellcheck())) {
                throw e;
            }
            PolicyDocument.RuleSetting s = setting(ShellCheck.UNAVAILABLE, doc, team);
            if (s.enabled()) {
                collector.rule = ShellCheck.UNAVAILABLE.id();
                collector.severity = s.severity();
                collector.emit(null, null, "the policy asks for ShellCheck, which could not run: " + e.getMessage());
            }
            return;
        }
        for (ShellCheck.Comment c : comments) {
            ShellScripts.Script script = scripts.get(c.script());
            int line = script.dockerfileLine(c.line());
            if (line < 0) {
                continue;
            }
            String id = "shellcheck-SC" + c.code();
            PolicyDocument.RuleSetting s = team != null && team.rules().containsKey(id) ? team.rules().get(id)
                    : doc.rules().get(id);
            if (s != null && !s.enabled()) {
                continue;
            }
            collector.rule = id;
            collector.severity = s != null ? s.severity() : ShellCheck.severity(c.level());
            collector.emit(line, script.keyword(), "SC" + c.code() + " (" + c.level() + ", column " + c.column()
                    + "): " + c.message());
        }
    }

    /** Findings by line (none counts as 0), then rule id; the sort is stable, so a rule's own order stays. */
    private static final Comparator<Finding> BY_LINE_THEN_RULE = (a, b) -> {
        int byLine = Integer.compare(a.line() == null ? 0 : a.line(), b.line() == null ? 0 : b.line());
        return byLine != 0 ? byLine : a.rule().compareTo(b.rule());
    };

    /** Turns what the rules emit into findings: the rule running now, its severity, and whether a waiver covers it. */
    private static final class Collector implements BuiltinRules.Emitter {
        private final PolicyDocument doc;
        private final Request request;
        private final LocalDate today;
        private final List<Finding> findings = new ArrayList<>();
        private String rule;
        private Finding.Severity severity;

        Collector(PolicyDocument doc, Request request, LocalDate today) {
            this.doc = doc;
            this.request = request;
            this.today = today;
        }

        @Override
        public void emit(Integer line, String instruction, String message) {
            findings.add(new Finding(rule, severity, message, line, instruction, waived(line) ? Boolean.TRUE : null));
        }

        private boolean waived(Integer line) {
            for (PolicyDocument.Waiver w : doc.waivers()) {
                if (w.covers(rule, request.team(), request.image(), line, today)) {
                    return true;
                }
            }
            return false;
        }
    }

    public PolicyView describe() {
        PolicyDocument doc = policy.get();
        List<RuleInfo> all = new java.util.ArrayList<>(registry());
        doc.customRules().forEach(c -> all.add(c.info()));
        List<RuleView> rules = all.stream().map(r -> {
            PolicyDocument.RuleSetting s = setting(r, doc, null);
            return new RuleView(r.id(), s.enabled() ? s.severity() : r.severity(), s.enabled(), r.category(),
                    r.title(), r.rationale(), r.references());
        }).toList();
        return new PolicyView(doc.digest(), doc.source(), rules);
    }

    /** Every rule of the registry (Dockerfile rules, then image rules), for documentation and SARIF. */
    public static List<RuleInfo> registry() {
        List<RuleInfo> all = new ArrayList<>(BuiltinRules.all().stream().map(BuiltinRules.Rule::info).toList());
        all.addAll(ImageRules.ALL);
        all.add(ShellCheck.UNAVAILABLE);
        return List.copyOf(all);
    }

    static Set<String> knownRuleIds() {
        Set<String> ids = new java.util.HashSet<>(BuiltinRules.ids());
        ImageRules.ALL.forEach(r -> ids.add(r.id()));
        ids.add(ShellCheck.UNAVAILABLE.id());
        return ids;
    }

    /** Whether a repository reference (without tag) falls under an approved image of the policy in force. */
    public boolean isApprovedImage(String repository) {
        return policy.get().approvedImages().stream().anyMatch(r -> r.matches(repository, null));
    }

    /** Whether the policy in force declares this build-arg name public (for everyone or for the team). */
    public boolean isPublicBuildArg(String team, String name) {
        return policy.get().publicBuildArg(team, name);
    }

    /**
     * Build args as they may be stored, shown and audited: a public name's value as given, every other value as
     * {@code sha256:<hex>} of its UTF-8 bytes (the daemon still gets the real value). Order kept.
     */
    public Map<String, String> shownBuildArgs(String team, Map<String, String> buildArgs) {
        PolicyDocument doc = policy.get();
        Map<String, String> out = new java.util.LinkedHashMap<>();
        buildArgs.forEach((k, v) -> out.put(k, doc.publicBuildArg(team, k) ? v : valueDigest(v)));
        return out;
    }

    /** {@code sha256:<hex>} of a build-arg value. */
    public static String valueDigest(String value) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256")
                    .digest((value == null ? "" : value).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return "sha256:" + java.util.HexFormat.of().formatHex(d);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * What a team's builds may fetch through the egress proxy under the policy in force (docs/egress.md): the global
     * {@code egress:} entries and the team's own, in normal form, and whether the team refuses CONNECT tunnels.
     */
    public record EgressAllowance(String policyDigest, List<String> allow, boolean refuseTunnels) {
    }

    /** The team's effective egress allowlist under the policy in force, read from one snapshot of it. */
    public EgressAllowance egress(String team) {
        PolicyDocument doc = policy.get();
        return new EgressAllowance(doc.digest(), doc.egressFor(team), doc.refusesTunnels(team));
    }

    /** The teams whose images the policy has rebuilt automatically when their base tag moves. */
    public java.util.Set<String> autoRebuildTeams() {
        java.util.Set<String> out = new java.util.TreeSet<>();
        policy.get().teams().forEach((team, settings) -> {
            if (settings.autoRebuild()) {
                out.add(team);
            }
        });
        return out;
    }

    /** The policy's settings for built images, as in force now. */
    public ImagePolicy imagePolicy() {
        return policy.get().image();
    }

    /** The labels the policy requires on every image. */
    public List<String> requiredLabels() {
        return policy.get().requiredLabels();
    }

    /**
     * One piece of evidence about a built image, found by the scanning module: the image rule it bears on, what was
     * found and where, and whether the policy's vulnerability allowlist already accepts it (with the reason).
     */
    public record Evidence(String rule, String message, String allowedBecause) {
    }

    /**
     * Applies the policy in force to evidence about a built image as it does to Dockerfile findings: each rule's
     * severity (or off) for the team, waivers (by rule, team and image), and the failure threshold.
     */
    public Evaluation judge(String team, String image, List<Evidence> evidence) {
        PolicyDocument doc = policy.get();
        PolicyDocument.TeamSettings teamSettings = team == null ? null : doc.teams().get(team);
        LocalDate today = LocalDate.now(clock.withZone(ZoneOffset.UTC));
        Map<String, RuleInfo> rules = new java.util.HashMap<>();
        ImageRules.ALL.forEach(r -> rules.put(r.id(), r));
        List<Finding> findings = new ArrayList<>();
        for (Evidence e : evidence) {
            RuleInfo info = rules.get(e.rule());
            if (info == null) {
                throw new IllegalArgumentException("not an image rule: " + e.rule());
            }
            PolicyDocument.RuleSetting setting = setting(info, doc, teamSettings);
            if (!setting.enabled()) {
                continue;
            }
            boolean waived = e.allowedBecause() != null || doc.waivers().stream()
                    .anyMatch(w -> w.covers(info.id(), team, image, null, today));
            String message = e.allowedBecause() == null ? e.message()
                    : e.message() + " (allowed: " + e.allowedBecause() + ")";
            findings.add(new Finding(info.id(), setting.severity(), message, null, null, waived ? Boolean.TRUE : null));
        }
        Finding.Severity threshold = teamSettings != null && teamSettings.failOn() != null ? teamSettings.failOn()
                : doc.failOn();
        boolean passed = findings.stream().noneMatch(f -> !Boolean.TRUE.equals(f.waived())
                && f.severity().ordinal() <= threshold.ordinal());
        return new Evaluation(passed, doc.digest(), findings, null, null, null);
    }

    /** The enabled rules of a policy for a team, with their settings: resolved once, not per evaluation. */
    private record RulePlan(List<BuiltinRules.Rule> rules, List<PolicyDocument.RuleSetting> settings) {
    }

    /** The plans of one policy document (compared by identity: a reload makes a new document), per team. */
    private record PlansOf(PolicyDocument doc, java.util.Map<String, RulePlan> byTeam) {
    }

    private volatile PlansOf plans = new PlansOf(null, java.util.Map.of());

    private static RulePlan rulePlan(PolicyDocument doc, PolicyDocument.TeamSettings team) {
        List<BuiltinRules.Rule> all = new ArrayList<>(BuiltinRules.all());
        for (CustomRules.CustomRule custom : doc.customRules()) {
            all.add(new BuiltinRules.Rule(custom.info(), (sub, emit) -> CustomRules.run(custom, sub, emit)));
        }
        List<BuiltinRules.Rule> rules = new ArrayList<>();
        List<PolicyDocument.RuleSetting> settings = new ArrayList<>();
        for (BuiltinRules.Rule rule : all) {
            PolicyDocument.RuleSetting setting = setting(rule.info(), doc, team);
            if (setting.enabled()) {
                rules.add(rule);
                settings.add(setting);
            }
        }
        return new RulePlan(List.copyOf(rules), List.copyOf(settings));
    }

    /**
     * The base among {@code bases} of the same image name as {@code source} ({@code name:tag}, {@code :latest} when
     * untagged) but another digest, or null: both by digest, and differing.
     */
    static String sameNameOtherDigest(String source, java.util.Collection<String> bases) {
        io.buildgateway.shared.ImageReference s = io.buildgateway.shared.ImageReference.split(source);
        if (s.digest() == null) {
            return null;
        }
        for (String base : bases) {
            io.buildgateway.shared.ImageReference b = io.buildgateway.shared.ImageReference.split(base);
            if (b.digest() != null && !b.digest().equals(s.digest()) && b.name().equals(s.name())
                    && java.util.Objects.equals(b.tag() == null ? "latest" : b.tag(),
                            s.tag() == null ? "latest" : s.tag())) {
                return base;
            }
        }
        return null;
    }

    /**
     * Whether an unapproved base cannot refuse this build: {@code unapproved-image} off for the team, set below its
     * failure threshold, or waived for the team and image (on any line: the base is read, which refuses nothing).
     */
    private static boolean letsUnapprovedThrough(PolicyDocument doc, PolicyDocument.TeamSettings team,
            Request request, LocalDate today) {
        RuleInfo info = BuiltinRules.info(BuiltinRules.UNAPPROVED_IMAGE);
        PolicyDocument.RuleSetting setting = setting(info, doc, team);
        Finding.Severity threshold = team != null && team.failOn() != null ? team.failOn() : doc.failOn();
        if (!setting.enabled() || setting.severity().ordinal() > threshold.ordinal()) {
            return true;
        }
        return today != null && doc.waivers().stream().anyMatch(w -> w.coversOnAnyLine(info.id(), request.team(),
                request.image(), today));
    }

    private static PolicyDocument.RuleSetting setting(RuleInfo info, PolicyDocument doc,
            PolicyDocument.TeamSettings team) {
        if (team != null && team.rules().containsKey(info.id())) {
            return team.rules().get(info.id());
        }
        return doc.rules().getOrDefault(info.id(), new PolicyDocument.RuleSetting(info.severity(), true));
    }
}
