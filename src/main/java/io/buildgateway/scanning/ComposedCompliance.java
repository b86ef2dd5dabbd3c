package io.buildgateway.scanning;

import io.buildgateway.scanning.compliance.ComplianceCache;
import io.buildgateway.scanning.compliance.ComplianceResult;
import io.buildgateway.scanning.compliance.Composition;
import io.buildgateway.scanning.compliance.OpenScap;
import io.buildgateway.scanning.compliance.RuleResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * OpenSCAP on an image whose base was evaluated before (issue #13: "evaluate a base once per base digest, so that a
 * derived image costs only its own layers"; docs/scanning.md, "Composed over the base's evaluation").
 *
 * <p>The base is the longest proper prefix of the image's layer chain with a stored result under the same
 * configuration digest ({@link ComplianceCache}). A content file is composed when it declares a {@link Composition}
 * and the base's result has every declared rule, each {@code pass}: it is evaluated on the {@link DeltaView} (what the
 * image's own layers write, their parents, the named paths), and its rules take that run's results. Everything else
 * is evaluated on the whole merged tree as before: content files that declare nothing, a base that failed, errored or
 * lacks a declared rule, no base result at all. A delta run that errors, or that reports a rule the declaration does
 * not name, is thrown away and the content file evaluated in full.
 */
final class ComposedCompliance {

    /** The base a chain can be composed over: its layer count, its key and its stored result. */
    record Base(int layers, String key, ComplianceResult result) {
    }

    /** A result and, for the scan's timings, what composing took. */
    record Outcome(ComplianceResult result, long deltaMs, long deltaEntries) {
    }

    private final OpenScap openScap;
    private final ComplianceCache results;
    private final LayerCache layers;

    ComposedCompliance(OpenScap openScap, ComplianceCache results, LayerCache layers) {
        this.openScap = openScap;
        this.results = results;
        this.layers = layers;
    }

    /** The longest proper prefix of {@code chain} with a stored result, or empty. */
    Optional<Base> base(List<String> chain, String configurationDigest) {
        for (int n = chain.size() - 1; n >= 1; n--) {
            String key = ComplianceCache.key(chain.subList(0, n), configurationDigest);
            if (results.has(key)) {
                Optional<ComplianceResult> r = results.get(key);
                if (r.isPresent()) {
                    return Optional.of(new Base(n, key, r.get()));
                }
            }
        }
        return Optional.empty();
    }

    /** The content files that may be composed over {@code base}: declared, every declared rule passed there. */
    static Set<String> composable(Map<String, Composition> declared, ComplianceResult base) {
        Set<String> out = new LinkedHashSet<>();
        if (base.status() != ComplianceResult.Status.PASSED && base.status() != ComplianceResult.Status.FAILED) {
            return out;
        }
        for (Map.Entry<String, Composition> c : declared.entrySet()) {
            boolean allPassed = c.getValue().rules().keySet().stream().allMatch(rule -> base.rules().stream()
                    .anyMatch(r -> r.ruleId().equals(rule) && r.result().equals("pass")));
            if (allPassed) {
                out.add(c.getKey());
            }
        }
        return out;
    }

    /**
     * Where the merged root filesystem comes from: the whole view, or one that holds only what the delta view of a
     * given base reads ({@link PartialRootfs}). Each is laid out when first asked for.
     */
    interface Views {

        /** The whole merged view. */
        Path full() throws IOException;

        /**
         * A merged view that holds, as the whole one does, every path the own layers (the chain above its bottom
         * {@code baseLayers}) write and the named paths, with what resolving them meets; the whole view when that
         * cannot be laid out apart.
         */
        Path partial(int baseLayers, Set<String> named) throws IOException;

        /** One laid-out view serves both. */
        static Views of(Path rootfs) {
            return new Views() {
                @Override
                public Path full() {
                    return rootfs;
                }

                @Override
                public Path partial(int baseLayers, Set<String> named) {
                    return rootfs;
                }
            };
        }
    }

    /**
     * What the evaluation of a chain will do, decided from the content's declarations and the stored results: the base
     * it composes over (empty: none) and the content files composed over it; every other content file of
     * {@code contents} is evaluated in full.
     */
    record Plan(Map<String, Composition> declared, Optional<Base> base, Set<String> composed, List<String> contents) {

        /** Composed over a stored base for every content file: the whole merged view is needed only if that fails. */
        boolean deltaOnly() {
            return base.isPresent() && composed.containsAll(contents);
        }
    }

    /** The plan of {@code chain}'s evaluation; it reads the base's stored result (its ARFs with it) once. */
    Plan plan(List<String> chain) throws IOException {
        Map<String, Composition> declared = openScap.compositions();
        Optional<Base> base = declared.isEmpty() ? Optional.empty() : base(chain, openScap.configurationDigest());
        Set<String> composed = base.map(b -> composable(declared, b.result())).orElse(Set.of());
        return new Plan(declared, base, composed, openScap.contentNames());
    }

    /**
     * Whether an image whose chain begins with {@code bottom} would be evaluated on its own layers alone
     * ({@link Plan#deltaOnly}): a stored result for {@code bottom} or one of its prefixes lets every content file
     * compose.
     */
    boolean deltaOnlyOver(List<String> bottom) {
        if (bottom.isEmpty()) {
            return false;
        }
        List<String> probe = new ArrayList<>(bottom);
        probe.add(""); // base() looks at proper prefixes only
        try {
            return plan(probe).deltaOnly();
        } catch (IOException e) {
            return false; // asked again, and answered, by the evaluation itself
        }
    }

    /**
     * Evaluates the image whose merged root filesystem is {@code rootfs} (laid out from {@code chain}, leased by the
     * caller): composed over the chain's base where it may be, in full otherwise. {@code work} is a folder for the
     * delta view, removed by the caller.
     */
    Outcome evaluate(List<String> chain, Path rootfs, Path work, ScanBudget budget, String image,
            Consumer<String> notes) throws IOException {
        return evaluate(chain, plan(chain), Views.of(rootfs), work, budget, image, notes);
    }

    /**
     * As above, by {@code plan} (made by {@link #plan} for this chain), with the merged view laid out only as far as
     * needed: a content file composed over the base reads the partial view; the whole view is laid out only for what
     * is evaluated in full.
     */
    Outcome evaluate(List<String> chain, Plan plan, Views views, Path work, ScanBudget budget, String image,
            Consumer<String> notes) throws IOException {
        Map<String, Composition> declared = plan.declared();
        Optional<Base> base = plan.base();
        Set<String> composed = plan.composed();
        if (composed.isEmpty()) {
            return new Outcome(openScap.evaluate(views.full(), null, budget.remaining(), image, notes), 0, 0);
        }
        long t = System.nanoTime();
        Set<String> named = new LinkedHashSet<>();
        Set<String> rules = new LinkedHashSet<>();
        for (String c : composed) {
            named.addAll(declared.get(c).namedPaths());
            rules.addAll(declared.get(c).rules().keySet());
        }
        Path rootfs = views.partial(base.get().layers(), named);
        Path delta = Files.createDirectories(work.resolve("delta"));
        long entries = DeltaView.build(rootfs, layers, chain.subList(base.get().layers(), chain.size()), named, delta,
                budget);
        long deltaMs = (System.nanoTime() - t) / 1_000_000;
        budget.check();
        ComplianceResult onDelta = openScap.evaluate(delta, composed, budget.remaining(), image, notes);
        List<String> undeclared = onDelta.rules().stream().map(RuleResult::ruleId).filter(r -> !rules.contains(r))
                .toList();
        List<ComplianceResult> parts = new ArrayList<>();
        if (onDelta.status() == ComplianceResult.Status.ERROR || !undeclared.isEmpty()) {
            notes.accept("OpenSCAP: the run on the image's own layers "
                    + (undeclared.isEmpty() ? "ended in an error" : "reported rules its content does not declare "
                    + "composable " + undeclared) + "; evaluating the whole root filesystem\n");
            return new Outcome(openScap.evaluate(views.full(), null, budget.remaining(), image, notes), deltaMs,
                    entries);
        }
        parts.add(withBaseArfs(onDelta, base.get(), composed));
        List<String> rest = new ArrayList<>(plan.contents());
        rest.removeAll(composed);
        if (!rest.isEmpty()) {
            parts.add(openScap.evaluate(views.full(), new LinkedHashSet<>(rest), budget.remaining(), image, notes));
        }
        ComplianceResult all = ComplianceResult.combine(parts);
        String message = (all.message() == null ? "" : all.message() + "; ") + String.join(", ", composed)
                + " composed over the base's evaluation of the bottom " + base.get().layers() + " layer(s)";
        return new Outcome(new ComplianceResult(all.status(), all.rules(), all.arfs(), message,
                new ComplianceResult.ComposedWith(base.get().layers(), base.get().key(), List.copyOf(composed))),
                deltaMs, entries);
    }

    /** The delta run's ARFs, then the base's for the same content files under {@code base:} (a chain keeps its own). */
    private static ComplianceResult withBaseArfs(ComplianceResult onDelta, Base base, Set<String> composed) {
        List<ComplianceResult.Arf> arfs = new ArrayList<>(onDelta.arfs());
        for (ComplianceResult.Arf a : base.result().arfs()) {
            String content = a.content();
            while (content.startsWith(ComplianceResult.BASE_ARF_PREFIX)) {
                content = content.substring(ComplianceResult.BASE_ARF_PREFIX.length());
            }
            if (composed.contains(content)) {
                arfs.add(new ComplianceResult.Arf(ComplianceResult.BASE_ARF_PREFIX + a.content(), a.xml()));
            }
        }
        return new ComplianceResult(onDelta.status(), onDelta.rules(), arfs, onDelta.message());
    }

    /** Evaluates a chain in full on a view laid out in {@code work} and keeps the result; for a base's own chain. */
    ComplianceResult evaluateChain(List<String> chain, Path work, Duration limit, String what) throws IOException {
        try (LayerCache.Lease lease = layers.lease(chain)) {
            Path rootfs = Files.createDirectories(work.resolve("rootfs"));
            new RootfsView().build(layers, chain, rootfs, ScanBudget.unlimited());
            ComplianceResult r = openScap.evaluate(rootfs, null, limit, what, note -> { });
            results.put(ComplianceCache.key(chain, openScap.configurationDigest()), r);
            return r;
        }
    }
}
