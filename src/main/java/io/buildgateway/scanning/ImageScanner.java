package io.buildgateway.scanning;

import io.buildgateway.hostpool.BuiltImage;
import io.buildgateway.hostpool.ImageFacts;
import io.buildgateway.hostpool.ImageGate;
import io.buildgateway.hostpool.RegistryCopy;
import io.buildgateway.policy.Evaluation;
import io.buildgateway.policy.Finding;
import io.buildgateway.policy.ImagePolicy;
import io.buildgateway.policy.ImageRules;
import io.buildgateway.policy.PolicyEvaluator;
import io.buildgateway.policy.PolicyEvaluator.Evidence;
import io.buildgateway.scanning.compliance.ComplianceCache;
import io.buildgateway.scanning.compliance.ComplianceResult;
import io.buildgateway.scanning.compliance.OpenScap;
import io.buildgateway.scanning.compliance.RuleResult;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.BuildPhases;
import io.buildgateway.shared.RequestInfo;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.json.JsonMapper;

/**
 * The gate between build and push: verifies the image (configuration, lineage, what its own layers add or remove),
 * writes its SBOM, matches it against the imported advisories, evaluates the compliance content on its filesystem,
 * has the policy judge all of it, and records the scan — passed or refused — with an audit event. Fails closed:
 * what could not be read or checked does not pass.
 */
@Service
class ImageScanner implements ImageGate {

    private static final Logger log = LoggerFactory.getLogger(ImageScanner.class);

    private final PolicyEvaluator policy;
    private final Advisories advisories;
    private final ScanStore store;
    private final OpenScap openScap;
    private final LayerCache layerCache;
    private final ComplianceCache complianceCache;
    /** What the layer audit found in each layer read before, so that it is not read again. */
    private final LayerAuditCache auditCache;
    /** Reads the layers not read before from the image's quarantine copy in the registry. */
    private final RegistryLayers registryLayers;
    /** OpenSCAP composed over a base's stored evaluation, and the base's own evaluation after a build. */
    private final ComposedCompliance composer;
    /** The keys of base chains being evaluated in the background (one evaluation per base at a time). */
    private final java.util.Set<String> basesInFlight = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** The layout started at each build's start that no scan has taken over yet, by build id. */
    private final Map<String, EarlyLayout> startedEarly = new java.util.concurrent.ConcurrentHashMap<>();
    private final BuildPhases phases;
    private final ScanningProperties properties;
    private final TransactionTemplate tx;
    private final ApplicationEventPublisher events;
    private final JsonMapper json;
    private final Clock clock;
    /** OpenSCAP's legs (root filesystem, oscap, results): background work, below the API's CPU priority. */
    private final ExecutorService workers;
    /** The base image's inspection, beside the save stream (a short daemon call, at the request threads' priority). */
    private final ExecutorService inspections = Executors.newCachedThreadPool(
            io.buildgateway.shared.DaemonThreads.named("image-base"));
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "image-scan-deadline");
        t.setDaemon(true);
        return t;
    });

    ImageScanner(PolicyEvaluator policy, Advisories advisories, ScanStore store, OpenScap openScap,
            LayerCache layerCache, ComplianceCache complianceCache, ScanningProperties properties,
            TransactionTemplate tx, ApplicationEventPublisher events, JsonMapper json, Clock clock,
            BuildPhases phases, io.buildgateway.shared.BackgroundPriority priority) {
        this.workers = Executors.newCachedThreadPool(priority.threads("image-compliance"));
        this.composer = new ComposedCompliance(openScap, complianceCache, layerCache);
        this.phases = phases;
        this.policy = policy;
        this.advisories = advisories;
        this.store = store;
        this.openScap = openScap;
        this.layerCache = layerCache;
        this.complianceCache = complianceCache;
        this.auditCache = new LayerAuditCache(properties.layerAuditCache().toBytes());
        this.registryLayers = new RegistryLayers(json);
        this.properties = properties;
        this.tx = tx;
        this.events = events;
        this.json = json;
        this.clock = clock;
    }

    @Override
    public Verdict examine(BuiltImage image) throws InterruptedException {
        ScanBudget budget = new ScanBudget(ScanBudget.Limits.of(properties), image.deadline(), clock);
        Duration left = budget.remaining();
        // At the deadline the budget stops every read and closes the daemon streams still open (a read blocked on a
        // daemon that stopped sending ends too); oscap is killed by the compliance task's own bound.
        ScheduledFuture<?> expiry = left == null ? null
                : timer.schedule(budget::expire, left.toMillis(), TimeUnit.MILLISECONDS);
        try {
            return scan(image, budget);
        } catch (RuntimeException e) {
            log.error("verification of build {} failed", image.job().buildId(), e);
            image.output().accept("Verification error: the image could not be verified; it is not pushed\n");
            return Verdict.refuse("the image could not be verified (internal error); it was not pushed");
        } finally {
            if (expiry != null) {
                expiry.cancel(false);
            }
        }
    }

    private Verdict scan(BuiltImage image, ScanBudget budget) throws InterruptedException {
        long start = System.nanoTime();
        Map<String, Long> timings = new LinkedHashMap<>();
        ImagePolicy imagePolicy = policy.imagePolicy();
        ImageFacts facts = image.facts();
        String repository = image.job().repository();
        image.output().accept("Verifying " + facts.id() + " (lineage, layers, configuration, SBOM, "
                + "vulnerabilities, compliance)\n");
        List<Evidence> evidence = new ArrayList<>();

        // The base's inspection (a daemon call) runs beside the save stream's request instead of before it; its
        // evidence still comes first, as when it was read first.
        long tb = System.nanoTime();
        long[] baseEnd = new long[1];
        CompletableFuture<Optional<ImageFacts>> baseRead = readBase(image, baseEnd);

        // One read of the layers (docker save) serves the checks, the SBOM and OpenSCAP: the layers the layer cache
        // does not hold yet are copied aside as they are read, and OpenSCAP's root filesystem is then built from the
        // cache while this thread writes the SBOM and matches advisories.
        long t = System.nanoTime();
        boolean evaluate = openScap.available();
        ComplianceTask task = new ComplianceTask(image, budget, imagePolicy);
        if (evaluate) {
            // the layers the cache already holds (the base's, from earlier builds on it) are laid out for OpenSCAP
            // while the daemon prepares and sends the save stream; the image's own layers follow once read
            task.layOutCachedEarly();
        }
        Map<String, LayerAudit.Layer> layers = new LinkedHashMap<>();
        boolean layersRead = false;
        Path scratch = properties.workDir().resolve(image.job().buildId()).resolve("layers");
        // Owned by the compliance task once it is handed over; closed here otherwise.
        LayerCache.Capture capture = layerCache.capture(scratch, false);
        try {
            LayerAudit audit = new LayerAudit(imagePolicy, budget);
            String auditKey = LayerAuditCache.policyKey(imagePolicy);
            // The layers this gateway has read before (a base's) are not read again: only the others, from the image's
            // quarantine copy in the registry, once its push has ended; the save stream otherwise (docs/scanning.md).
            LayerSource source = readFromRegistry(image, audit, auditKey, evaluate, capture, budget, timings, layers,
                    evidence);
            if (source == LayerSource.SAVE_AGAIN) {
                capture.close(); // what a failed registry read captured: the save stream captures it again
                capture = layerCache.capture(scratch, false);
            }
            if (source == LayerSource.REGISTRY) {
                layersRead = true;
            } else if (source != LayerSource.MISMATCH) {
                timings.put("layersFromSave", 1L);
                long ts = System.nanoTime();
                LayerCache.Capture saving = capture;
                Map<String, LayerAudit.Read> read = new LinkedHashMap<>();
                image.save(in -> {
                    // where the read's time goes: the daemon's answer, its first byte, the rest (docs/benchmarks.md)
                    timings.put("saveOpenMs", ms(ts));
                    read.putAll(audit.readAll(FirstByte.noting(in, first -> timings.put("saveFirstByteMs",
                            (first - ts) / 1_000_000)), evaluate ? saving : null));
                });
                read.forEach((id, r) -> {
                    layers.put(id, r.layer());
                    auditCache.put(id, auditKey, new LayerAuditCache.Entry(r.layer(), r.entries(), r.metadataBytes(),
                            r.tarBytes()));
                });
                layersRead = true;
            }
        } catch (IOException | RuntimeException e) {
            if (budget.stopped() == null) {
                if (e instanceof RuntimeException r) {
                    capture.close();
                    task.abandonEarly();
                    LayerCache.deleteTree(properties.workDir().resolve(image.job().buildId()));
                    throw r;
                }
                evidence.add(new Evidence(ImageRules.UNREADABLE, "the image's layers could not be read: "
                        + e.getMessage(), null));
            }
        }
        timings.put("layersMs", ms(t));
        if (budget.stopped() != null || !evaluate) {
            capture.close();
            task.abandonEarly();
            LayerCache.deleteTree(properties.workDir().resolve(image.job().buildId()));
        }
        Future<TimedCompliance> compliance = null;
        if (budget.stopped() == null) {
            // OpenSCAP needs the layers only: it starts before the base's inspection is awaited
            task.capture(capture, layersRead);
            compliance = evaluate ? workers.submit(task)
                    : task.notRun("oscap is not available on this gateway (" + properties.oscapCommand() + ")");
        }
        Optional<ImageFacts> base = Optional.empty();
        List<Evidence> baseEvidence = new ArrayList<>();
        try {
            base = awaitBase(baseRead);
        } catch (IOException e) {
            baseEvidence.add(new Evidence(ImageRules.UNREADABLE, e.getMessage(), null));
        } catch (RuntimeException | InterruptedException e) {
            if (compliance != null) {
                task.stop(); // kills oscap; the task removes its folder
            }
            throw e;
        }
        timings.put("baseMs", (baseEnd[0] - tb) / 1_000_000); // written before the future completed
        int baseLayers = ImageChecks.lineage(facts, base, image.job().baseImage(), baseEvidence);
        evidence.addAll(0, baseEvidence);
        if (budget.stopped() != null) {
            return stopped(image, base, baseLayers, evidence, budget, task,
                    compliance != null ? compliance : task.notRun("not evaluated: the scan stopped"), timings, start);
        }
        evidence.addAll(ImageChecks.addedLayers(facts, baseLayers, layers));
        LayerAudit.Flattened files = LayerAudit.flatten(facts.layers(), layers);

        ImageChecks.ResolvedUser user = ImageChecks.resolveUser(facts.user(), files.files().get("/etc/passwd"));
        evidence.addAll(ImageChecks.configuration(facts, base, user, image.job().labels(), policy.requiredLabels(),
                imagePolicy));

        t = System.nanoTime();
        List<Packages.Package> packages = Packages.all(files.files(), files.javaPackages());
        Packages.Distro distro = Packages.distro(files.files());
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        String sbom = Sboms.cycloneDx(image.reference(), facts.id(), distro, packages, now);
        timings.put("sbomMs", ms(t));

        t = System.nanoTime();
        List<VulnerabilityMatcher.Vulnerability> vulnerabilities = advisories.matcherFor(packages).match(packages);
        List<Evidence> vulnerabilityEvidence = vulnerabilityEvidence(vulnerabilities, imagePolicy);
        evidence.addAll(vulnerabilityEvidence);
        timings.put("matchMs", ms(t));

        t = System.nanoTime();
        ComplianceResult result = null;
        Map<String, Long> complianceParts = Map.of();
        try {
            Duration left = budget.remaining();
            TimedCompliance timed = left == null ? compliance.get()
                    : compliance.get(left.toMillis() + 1, TimeUnit.MILLISECONDS);
            result = timed.result();
            complianceParts = timed.parts();
        } catch (TimeoutException e) {
            budget.stop(ScanBudget.DEADLINE);
        } catch (ExecutionException e) {
            log.error("compliance evaluation of build {} failed", image.job().buildId(), e.getCause());
            result = new ComplianceResult(ComplianceResult.Status.ERROR, List.of(), List.of(),
                    "the compliance evaluation failed: " + e.getCause().getClass().getSimpleName());
        } catch (InterruptedException e) {
            task.stop();
            throw e;
        }
        try {
            budget.check(); // a limit the extraction reached, or the deadline passing while matching or evaluating
        } catch (ScanBudget.Exceeded over) {
            // handled below
        }
        if (budget.stopped() != null) {
            return stopped(image, base, baseLayers, evidence, budget, task, compliance, timings, start);
        }
        evidence.addAll(complianceEvidence(result));
        timings.put("complianceWaitMs", ms(t));
        timings.put("complianceMs", complianceParts.getOrDefault("complianceMs", 0L));
        complianceParts.forEach((k, v) -> {
            if (!k.equals("complianceMs")) {
                timings.put(k, v);
            }
        });

        if (evaluate && result != null && result.composedWith() == null && complianceParts.getOrDefault(
                "complianceReused", 0L) == 0L && baseLayers > 0 && baseLayers < facts.layers().size()) {
            evaluateBaseLater(facts.layers().subList(0, baseLayers), facts.id());
        }
        Evaluation verdict = policy.judge(image.job().team(), repository, evidence);
        timings.put("totalMs", ms(start));
        String id = image.job().buildId();
        phases.record(id, BuildPhases.VERIFY, TimeUnit.MILLISECONDS.toNanos(timings.get("layersMs")));
        phases.record(id, BuildPhases.SBOM, TimeUnit.MILLISECONDS.toNanos(timings.get("sbomMs")));
        phases.record(id, BuildPhases.VULNERABILITIES, TimeUnit.MILLISECONDS.toNanos(timings.get("matchMs")));
        phases.record(id, BuildPhases.OPENSCAP, TimeUnit.MILLISECONDS.toNanos(timings.get("complianceMs")));
        t = System.nanoTime();
        for (int attempt = 1; ; attempt++) {
            try {
                // Matched once more where it is recorded, under the advisories' lock (ScanStore#holdAdvisories): an
                // import that committed since the match above changes what is recorded and judged.
                record(image, facts, base, baseLayers, user, distro, packages, vulnerabilities, sbom, result, verdict,
                        timings, now, null, attempt <= 3);
                break;
            } catch (AdvisoriesMoved moved) {
                log.info("scan of build {}: advisories imported meanwhile; judged again with {} vulnerabilities"
                        + " instead of {}", id, moved.fresh.size(), vulnerabilities.size());
                vulnerabilities = moved.fresh;
                evidence.removeAll(vulnerabilityEvidence);
                vulnerabilityEvidence = vulnerabilityEvidence(vulnerabilities, imagePolicy);
                evidence.addAll(vulnerabilityEvidence);
                verdict = policy.judge(image.job().team(), repository, evidence);
            }
        }
        // where a scan's time went (the record has these too, but for the time it took itself)
        log.info("scan of build {}: {}, record {} ms", id, timings, ms(t));
        report(image, packages, vulnerabilities, result, verdict, timings);
        if (verdict.passed()) {
            return Verdict.pass();
        }
        List<Finding> blocking = verdict.findings().stream().filter(f -> !Boolean.TRUE.equals(f.waived()))
                .filter(f -> f.severity() == Finding.Severity.error).toList();
        StringBuilder reason = new StringBuilder("image verification failed (" + blocking.size() + " finding(s)): ");
        for (int i = 0; i < Math.min(blocking.size(), 5); i++) {
            reason.append(i == 0 ? "" : "; ").append(blocking.get(i).rule()).append(": ")
                    .append(blocking.get(i).message());
        }
        if (blocking.size() > 5) {
            reason.append("; …");
        }
        return Verdict.refuse(reason.toString());
    }

    /** Where a scan read the image's layers. */
    private enum LayerSource {
        /** Only the layers not read before, from the registry; the others' audits were kept. */
        REGISTRY,
        /** The registry's copy is not the built image: evidence, nothing read elsewhere. */
        MISMATCH,
        /** From {@code docker save}: nothing was read from the registry. */
        SAVE,
        /** From {@code docker save}, after a registry read that failed part way (its captures are dropped). */
        SAVE_AGAIN
    }

    /**
     * Reads the image's layers whose audit result (or, with OpenSCAP, whose extracted copy) this gateway does not hold
     * from the image's quarantine copy in the registry, checked against the image id and diff ids the daemon reported
     * ({@link RegistryLayers}), and takes the other layers' kept audits (counted against the scan's limits as if
     * read). {@link LayerSource#SAVE} when there is nothing to gain (no layer was read before: the first build on a
     * base), no quarantine copy (no quarantine, a failed push, one that did not end within
     * {@code gateway.scanning.registry-wait}), or the registry could not be read; {@link LayerSource#MISMATCH}, with
     * evidence, when the copy is not the built image: the gateway would name that copy, so reading the image from the
     * daemon instead would verify something else than what is pushed.
     */
    private LayerSource readFromRegistry(BuiltImage image, LayerAudit audit, String auditKey, boolean evaluate,
            LayerCache.Capture capture, ScanBudget budget, Map<String, Long> timings,
            Map<String, LayerAudit.Layer> layers, List<Evidence> evidence) throws IOException {
        List<String> chain = image.facts().layers();
        if (!properties.registryLayers() || chain.isEmpty()) {
            return LayerSource.SAVE;
        }
        Map<String, LayerAuditCache.Entry> kept = new HashMap<>();
        List<Integer> wanted = new ArrayList<>();
        for (int i = 0; i < chain.size(); i++) {
            String id = chain.get(i);
            Optional<LayerAuditCache.Entry> audited = auditCache.get(id, auditKey);
            audited.ifPresent(e -> kept.put(id, e));
            if (audited.isEmpty() || (evaluate && !layerCache.has(id))) {
                wanted.add(i);
            }
        }
        if (wanted.size() == chain.size()) {
            return LayerSource.SAVE; // nothing read before: the save stream reads no more than the registry would
        }
        long tw = System.nanoTime();
        Optional<RegistryCopy> copy;
        try {
            copy = image.registryCopy(properties.registryWait());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the quarantine push");
        }
        timings.put("registryWaitMs", ms(tw));
        if (copy.isEmpty()) {
            timings.put("registryFallback", 1L);
            return LayerSource.SAVE;
        }
        long tr = System.nanoTime();
        RegistryLayers.Source source = source(copy.get());
        try {
            List<RegistryLayers.Layer> listed = registryLayers.layers(source, image.facts().id(), chain);
            RegistryLayers.Result result = registryLayers.read(source, listed, wanted, audit, budget,
                    evaluate ? capture : null);
            for (String id : chain) {
                LayerAudit.Read fresh = result.read().get(id);
                if (fresh != null) {
                    layers.putIfAbsent(id, fresh.layer());
                    auditCache.put(id, auditKey, new LayerAuditCache.Entry(fresh.layer(), fresh.entries(),
                            fresh.metadataBytes(), fresh.tarBytes()));
                } else if (!layers.containsKey(id)) {
                    LayerAuditCache.Entry e = kept.get(id);
                    budget.reusedLayer(e.entries(), e.metadataBytes(), e.tarBytes());
                    layers.put(id, e.layer());
                }
            }
            timings.put("layersFromRegistry", (long) result.read().size());
            timings.put("layersReused", (long) (layers.size() - result.read().size()));
            timings.put("registryBytes", result.blobBytes());
            timings.put("registryReadMs", ms(tr));
            return LayerSource.REGISTRY;
        } catch (RegistryLayers.Mismatch e) {
            log.warn("build {}: the image's quarantine copy {}@{} is not the built image {}: {}",
                    image.job().buildId(), copy.get().repository(), copy.get().digest(), image.facts().id(),
                    e.getMessage());
            layers.clear();
            timings.put("registryMismatch", 1L);
            evidence.add(new Evidence(ImageRules.UNREADABLE, "the image's copy in the registry is not the built image ("
                    + e.getMessage() + "); it is not named", null));
            return LayerSource.MISMATCH;
        } catch (ScanBudget.Exceeded e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            if (budget.stopped() != null) {
                throw e instanceof IOException io ? io : new ScanBudget.Exceeded(budget.stopped());
            }
            log.info("build {}: its layers are read from docker save instead of the registry: {}",
                    image.job().buildId(), e.toString());
            layers.clear();
            timings.put("registryFallback", 1L);
            return LayerSource.SAVE_AGAIN;
        }
    }

    private static RegistryLayers.Source source(RegistryCopy copy) {
        return new RegistryLayers.Source() {
            @Override
            public String manifestDigest() {
                return copy.digest();
            }

            @Override
            public byte[] manifest() throws IOException {
                return copy.manifest(RegistryLayers.DOCKER_MANIFEST, RegistryLayers.OCI_MANIFEST)
                        .orElseThrow(() -> new IOException("the registry has no manifest " + copy.digest() + " in "
                                + copy.repository()))
                        .body();
            }

            @Override
            public byte[] blob(String digest) throws IOException {
                return copy.blob(digest);
            }

            @Override
            public void stream(String digest, BuiltImage.StreamReader reader) throws IOException {
                copy.stream(digest, reader);
            }
        };
    }

    /** Forgets the kept layer audits (tests that need a scan to read every layer from the daemon again). */
    void forgetLayerAudits() {
        auditCache.clear();
    }

    /** Starts the base's inspection on a thread of its own; {@code endedAt[0]} gets the time it ended. */
    private CompletableFuture<Optional<ImageFacts>> readBase(BuiltImage image, long[] endedAt) {
        try {
            return CompletableFuture.supplyAsync(() -> {
                try {
                    return image.base();
                } catch (IOException e) {
                    throw new java.util.concurrent.CompletionException(e);
                } finally {
                    endedAt[0] = System.nanoTime();
                }
            }, inspections);
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            CompletableFuture<Optional<ImageFacts>> here = new CompletableFuture<>();
            try {
                here.complete(image.base());
            } catch (IOException | RuntimeException e) {
                here.completeExceptionally(e);
            }
            endedAt[0] = System.nanoTime();
            return here;
        }
    }

    /** The base's inspection's result: its IOException (the base is not on the host) or its RuntimeException. */
    private static Optional<ImageFacts> awaitBase(CompletableFuture<Optional<ImageFacts>> baseRead)
            throws IOException, InterruptedException {
        try {
            return baseRead.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof java.util.concurrent.CompletionException c && c.getCause() != null
                    ? c.getCause() : e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(cause);
        }
    }

    /**
     * A limit was reached or the deadline passed: nothing more is read, oscap is killed, the extraction folder is
     * removed, and the image fails with the budget's reason whatever the policy says of {@code image-unreadable}
     * (an image that was not read in full was not verified). The scan is recorded and audited as refused, with no
     * packages: a partial SBOM would claim more than is known.
     */
    private Verdict stopped(BuiltImage image, Optional<ImageFacts> base, int baseLayers, List<Evidence> evidence,
            ScanBudget budget, ComplianceTask task, Future<TimedCompliance> compliance, Map<String, Long> timings,
            long start) throws InterruptedException {
        String reason = budget.stopped();
        task.stop();
        try {
            compliance.get(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            log.warn("the compliance task of build {} did not end within {} of the scan stopping; its folder is "
                    + "removed when it ends", image.job().buildId(), STOP_WAIT);
        } catch (ExecutionException | java.util.concurrent.CancellationException e) {
            log.warn("the compliance task of build {} failed after the scan stopped", image.job().buildId(), e);
        }
        log.info("scan of build {} stopped: {}", image.job().buildId(), reason);
        String message = "the scan stopped: " + reason;
        evidence.add(new Evidence(ImageRules.UNREADABLE, message, null));
        Evaluation judged = policy.judge(image.job().team(), image.job().repository(), evidence);
        List<Finding> findings = new ArrayList<>(judged.findings());
        if (findings.stream().noneMatch(f -> f.rule().equals(ImageRules.UNREADABLE) && f.message().equals(message)
                && f.severity() == Finding.Severity.error && !Boolean.TRUE.equals(f.waived()))) {
            findings.removeIf(f -> f.rule().equals(ImageRules.UNREADABLE) && f.message().equals(message));
            findings.add(new Finding(ImageRules.UNREADABLE, Finding.Severity.error, message, null, null, null));
        }
        Evaluation verdict = new Evaluation(false, judged.policyDigest(), findings, null);
        ComplianceResult result = new ComplianceResult(ComplianceResult.Status.ERROR, List.of(), List.of(),
                "not evaluated: " + reason);
        ImageFacts facts = image.facts();
        ImageChecks.ResolvedUser user = ImageChecks.resolveUser(facts.user(), null);
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        String sbom = Sboms.cycloneDx(image.reference(), facts.id(), null, List.of(), now);
        timings.put("totalMs", ms(start));
        record(image, facts, base, baseLayers, user, null, List.of(), List.of(), sbom, result, verdict, timings, now,
                reason, false);
        image.output().accept("Verification STOPPED: " + reason + "; the image is not pushed (" + timings.get("totalMs")
                + " ms)\n");
        return Verdict.refuse("image verification stopped: " + reason + "; the image was not pushed");
    }

    /** How long a stopped scan waits for its compliance task to kill oscap and remove the extraction folder. */
    private static final Duration STOP_WAIT = Duration.ofSeconds(30);

    /**
     * Evaluates the compliance content on the image's root filesystem, built from its layers: a result stored for the
     * same layer chain and configuration is reused; otherwise the layers captured while they were read are stored in
     * the layer cache (a layer whose fingerprint misled is read once more from the daemon), the root filesystem is
     * laid out from the cache as hard links, and oscap runs on it (bounded by the time left before the deadline).
     * The work folder is removed afterwards. {@link #stop} interrupts it, which kills a running oscap; the interrupt
     * reaches only this task's own run (the pool clears it between tasks).
     */
    private final class ComplianceTask implements java.util.concurrent.Callable<TimedCompliance> {

        private final BuiltImage image;
        private final ScanBudget budget;
        private final ImagePolicy imagePolicy;
        private LayerCache.Capture capture;
        private boolean layersRead;
        private Thread runner; // guarded by this
        private boolean stopped; // guarded by this
        /**
         * The layout of the chain's bottom layers that the layer cache holds, under way before this task needs it
         * ({@link #layOutCachedEarly}); null when none was started, or it failed and the view starts again empty.
         */
        private volatile EarlyLayout early;
        /** Whether {@link #early} was started at the build's start ({@link #starting}) rather than the scan's. */
        private boolean earlyAtStart;
        /**
         * The evaluation's plan, made once at the scan's start (it reads the base's stored result, ARFs and all) and
         * followed by {@link #call}; null when it could not be made then (the task makes it itself).
         */
        private ComposedCompliance.Plan plan;

        ComplianceTask(BuiltImage image, ScanBudget budget, ImagePolicy imagePolicy) {
            this.image = image;
            this.budget = budget;
            this.imagePolicy = imagePolicy;
        }

        /** Hands over the layers captured while the save stream was read; this task closes it. */
        void capture(LayerCache.Capture captured, boolean read) {
            this.capture = captured;
            this.layersRead = read;
        }

        Future<TimedCompliance> notRun(String why) {
            return CompletableFuture.completedFuture(new TimedCompliance(ComplianceResult.notRun(why), Map.of()));
        }

        /**
         * Takes over the layout started at the build's start when the image's chain begins with the base it laid
         * out; otherwise starts laying out, on a thread of its own, the bottom of the image's layer chain that the
         * layer cache holds already (for an image built on a base the gateway has scanned before, the base's
         * layers), in the folder OpenSCAP will read. The task lays the rest over it once the save stream has been
         * read. The chain is the image configuration's diff ids, as for the whole view, and the cache holds a layer
         * only under the digest of the bytes it was extracted from, so this is the view the task would build itself,
         * sooner.
         */
        void layOutCachedEarly() {
            String buildId = image.job().buildId();
            List<String> chain = image.facts().layers();
            EarlyLayout atStart = startedEarly.remove(buildId);
            if (atStart != null) {
                if (chain.size() >= atStart.layers.size()
                        && chain.subList(0, atStart.layers.size()).equals(atStart.layers)) {
                    early = atStart;
                    earlyAtStart = true;
                    return;
                }
                // the build pulled a base other than the one the host held at its start: laid out again below
                atStart.abandon();
                LayerCache.deleteTree(work());
            }
            try {
                plan = composer.plan(chain);
            } catch (IOException e) {
                plan = null; // the task asks again, and reports what it finds
            }
            if (plan != null && plan.deltaOnly()) {
                return; // composed over a stored base: the evaluation reads a partial view, laid out when needed
            }
            List<String> cached = cachedPrefix(chain);
            if (!cached.isEmpty()) {
                EarlyLayout layout = new EarlyLayout(buildId, cached, budget, false);
                if (layout.start()) {
                    early = layout;
                }
            }
        }

        /**
         * Waits for the early layout and returns how many layers of the chain it laid out; 0 when there was none or
         * it failed, in which case the view starts again from an empty folder.
         */
        private int awaitEarly() throws IOException {
            EarlyLayout layout = early;
            if (layout == null) {
                return 0;
            }
            try {
                return layout.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while the root filesystem was laid out");
            } catch (TimeoutException e) {
                layout.halt(); // still running: abandonEarly waits for it before the folder goes
                throw new IOException("laying out the base's layers did not end within " + STOP_WAIT);
            } catch (ExecutionException | java.util.concurrent.CancellationException e) {
                log.debug("early layout of build {} failed; laid out again", image.job().buildId(), e);
                layout.release();
                early = null;
                LayerCache.deleteTree(work().resolve("rootfs"));
                return 0;
            }
        }

        /** The task will not run (or is ending): the early layout is stopped and waited for, its hold released. */
        void abandonEarly() {
            EarlyLayout layout = early;
            if (layout != null) {
                layout.abandon();
                early = null;
            }
        }

        private Path work() {
            return properties.workDir().resolve(image.job().buildId());
        }

        synchronized void stop() {
            stopped = true;
            EarlyLayout layout = early;
            if (layout != null) {
                layout.halt();
            }
            if (runner != null) {
                runner.interrupt();
            }
        }

        /**
         * The merged views this task's evaluation asks for, each laid out when first asked: the whole one (over what
         * the early layout laid out), or the partial one a composed evaluation reads ({@link PartialRootfs}), which
         * spares the base's files a link each. Their layout time is kept apart from oscap's.
         */
        private final class Views implements ComposedCompliance.Views {

            private final List<String> chain;
            private final Path work;
            private final Map<String, Long> parts;
            private Path full;
            private Path partial;
            long layoutMs;

            Views(List<String> chain, Path work, Map<String, Long> parts) {
                this.chain = chain;
                this.work = work;
                this.parts = parts;
            }

            @Override
            public Path full() throws IOException {
                if (full != null) {
                    return full;
                }
                long s = System.nanoTime();
                int laid = awaitEarly();
                EarlyLayout layout = early;
                RootfsView view = layout != null ? layout.view : new RootfsView();
                parts.put("rootfsWaitMs", ms(s));
                parts.put("rootfsEarlyLayers", (long) laid);
                parts.put("rootfsEarlyMs", layout != null ? layout.ms : 0L);
                parts.put("rootfsEarlyAtStart", layout != null && earlyAtStart ? 1L : 0L);
                Path rootfs = Files.createDirectories(work.resolve("rootfs"));
                view.add(layerCache, chain.subList(laid, chain.size()), rootfs, budget);
                view.finish();
                long took = ms(s);
                parts.put("rootfsMs", took);
                layoutMs += took;
                budget.check();
                full = rootfs;
                return full;
            }

            @Override
            public Path partial(int baseLayers, Set<String> named) throws IOException {
                if (full != null) {
                    return full;
                }
                if (partial != null) {
                    return partial;
                }
                if (early != null && awaitEarly() > 0) {
                    return full(); // the base was laid out already (it was not expected to compose): it is used
                }
                long s = System.nanoTime();
                Path dir = Files.createDirectories(work.resolve("rootfs-partial"));
                PartialRootfs.Layout laid = PartialRootfs.build(layerCache, chain,
                        chain.subList(baseLayers, chain.size()), named, dir, budget);
                long took = ms(s);
                layoutMs += took;
                parts.put("rootfsPartialMs", took);
                parts.put("rootfsPartialRounds", (long) laid.rounds());
                parts.put("rootfsPartialPaths", (long) laid.paths());
                if (!laid.settled()) {
                    log.info("the partial view of build {} did not settle in {} rounds; laid out in full",
                            image.job().buildId(), laid.rounds());
                    LayerCache.deleteTree(dir);
                    return full();
                }
                parts.put("rootfsPartial", 1L);
                budget.check();
                partial = dir;
                return partial;
            }
        }

        @Override
        public TimedCompliance call() {
            synchronized (this) {
                if (stopped) {
                    if (capture != null) {
                        capture.close();
                    }
                    abandonEarly();
                    LayerCache.deleteTree(work());
                    return new TimedCompliance(new ComplianceResult(ComplianceResult.Status.ERROR, List.of(),
                            List.of(), "not evaluated: the scan stopped"), Map.of());
                }
                runner = Thread.currentThread();
            }
            Map<String, Long> parts = new LinkedHashMap<>();
            long t = System.nanoTime();
            Path work = properties.workDir().resolve(image.job().buildId());
            try {
                if (!layersRead) {
                    return new TimedCompliance(new ComplianceResult(ComplianceResult.Status.ERROR, List.of(),
                            List.of(), "the image's layers could not be read for compliance"), parts);
                }
                List<String> chain = image.facts().layers();
                String key = ComplianceCache.key(chain, openScap.configurationDigest());
                Optional<ComplianceResult> known = complianceCache.get(key);
                if (known.isPresent()) {
                    parts.put("complianceReused", 1L);
                    parts.put("complianceComposed", known.get().composedWith() != null ? 1L : 0L);
                    parts.put("complianceMs", ms(t));
                    return new TimedCompliance(known.get(), parts);
                }
                parts.put("complianceReused", 0L);
                long s = System.nanoTime();
                capture.store(budget);
                if (!chain.stream().allMatch(layerCache::has)) {
                    // A fingerprint named a cached layer that the digest then showed was another: read them again.
                    try (LayerCache.Capture again = layerCache.capture(work.resolve("layers-again"), true)) {
                        LayerAudit audit = new LayerAudit(imagePolicy, ScanBudget.unlimited());
                        image.save(in -> audit.read(in, again));
                        again.store(budget);
                    }
                }
                parts.put("layerCacheMs", ms(s));
                s = System.nanoTime();
                try (LayerCache.Lease lease = layerCache.lease(chain)) {
                    Views views = new Views(chain, work, parts);
                    ComposedCompliance.Outcome outcome = composer.evaluate(chain,
                            plan != null ? plan : composer.plan(chain), views, work, budget, image.facts().id(),
                            image.output());
                    ComplianceResult result = outcome.result();
                    parts.put("oscapMs", ms(s) - outcome.deltaMs() - views.layoutMs);
                    parts.put("complianceComposed", result.composedWith() != null ? 1L : 0L);
                    if (result.composedWith() != null) {
                        parts.put("complianceBaseLayers", (long) result.composedWith().baseLayers());
                        parts.put("deltaMs", outcome.deltaMs());
                        parts.put("deltaEntries", outcome.deltaEntries());
                    }
                    keepLater(key, result);
                    parts.put("complianceMs", ms(t));
                    return new TimedCompliance(result, parts);
                }
            } catch (IOException e) {
                parts.put("complianceMs", ms(t));
                return new TimedCompliance(new ComplianceResult(ComplianceResult.Status.ERROR, List.of(), List.of(),
                        "the image's filesystem could not be built for compliance: " + e.getMessage()), parts);
            } finally {
                capture.close();
                abandonEarly();
                synchronized (this) {
                    runner = null;
                    Thread.interrupted(); // a stop that came late must not reach the pool's next task
                }
                LayerCache.deleteTree(work);
            }
        }
    }

    /**
     * The build is starting: when OpenSCAP runs here and the layer cache holds the bottom of the base the host has
     * now (a base the gateway has scanned before), its files are laid out for OpenSCAP while the image is built. The
     * scan takes the layout over when the built image's chain begins with it; {@link #ended} removes it otherwise.
     */
    @Override
    public void starting(String buildId, List<String> baseLayers) {
        if (baseLayers.isEmpty() || !openScap.available()) {
            return;
        }
        List<String> cached = cachedPrefix(baseLayers);
        if (cached.isEmpty()) {
            return;
        }
        EarlyLayout layout = new EarlyLayout(buildId, cached, ScanBudget.unlimited(), true);
        EarlyLayout before = startedEarly.put(buildId, layout);
        if (before != null) { // the same build started twice on this replica: the older layout is not anyone's
            before.abandon();
        }
        if (!layout.start()) {
            startedEarly.remove(buildId, layout);
        }
    }

    /** The build is over: a layout from its start that no scan took over is stopped and its folder removed. */
    @Override
    public void ended(String buildId) {
        EarlyLayout left = startedEarly.remove(buildId);
        if (left != null) {
            left.abandon();
            LayerCache.deleteTree(properties.workDir().resolve(buildId));
        }
    }

    /** The bottom of {@code chain} that the layer cache holds (empty when it does not hold the first layer). */
    private List<String> cachedPrefix(List<String> chain) {
        int n = 0;
        while (n < chain.size() && layerCache.has(chain.get(n))) {
            n++;
        }
        return List.copyOf(chain.subList(0, n));
    }

    /**
     * The bottom layers of an image's chain that the layer cache holds, laid out in the build's {@code rootfs}
     * folder on a pool thread before OpenSCAP needs them: from the build's start ({@link #starting}, the base on the
     * host) or from the scan's ({@code ComplianceTask.layOutCachedEarly}, the image's own chain). It holds a lease
     * on its layers until released, so that the cache's pruning cannot take them from under the view.
     */
    private final class EarlyLayout {

        private final String buildId;
        /** What it lays out, bottom first. */
        final List<String> layers;
        final RootfsView view = new RootfsView();
        /** Made with the layout, so that whoever takes it over waits on the same run. */
        private final java.util.concurrent.FutureTask<Integer> run;
        private volatile boolean halted;
        /** Its hold on {@link #layers}: set on its thread, read after awaiting {@link #run}. */
        private LayerCache.Lease lease;
        /** How long the layout took (set on its thread, read after awaiting it). */
        long ms;

        /**
         * With {@code unlessComposed}, the layout first asks whether an image on {@code layers} would be evaluated
         * over a stored base on its own layers alone ({@link ComposedCompliance#deltaOnlyOver}), and then lays out
         * nothing: the question reads stored results, so it is asked on the pool's thread, not the build's.
         */
        EarlyLayout(String buildId, List<String> layers, ScanBudget budget, boolean unlessComposed) {
            this.buildId = buildId;
            this.layers = layers;
            this.run = new java.util.concurrent.FutureTask<>(() -> unlessComposed && composer.deltaOnlyOver(layers)
                    ? 0 : layOut(budget));
        }

        /** Starts the layout on the pool; false when the pool refuses it (the gateway is stopping). */
        boolean start() {
            try {
                workers.execute(run);
                return true;
            } catch (java.util.concurrent.RejectedExecutionException stopping) {
                run.cancel(false);
                return false;
            }
        }

        private int layOut(ScanBudget budget) throws IOException {
            long t = System.nanoTime();
            lease = layerCache.lease(layers); // throws when one was pruned meanwhile: the task lays out all
            Path rootfs = Files.createDirectories(properties.workDir().resolve(buildId).resolve("rootfs"));
            for (String id : layers) {
                if (halted) {
                    throw new IOException("the layout was stopped");
                }
                view.add(layerCache, List.of(id), rootfs, budget);
            }
            ms = ms(t);
            return layers.size();
        }

        /** Waits for the layout (at most {@link #STOP_WAIT}) and returns how many layers it laid out. */
        int await() throws InterruptedException, ExecutionException, TimeoutException {
            return run.get(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        }

        /** Asks the layout to stop after the layer it is laying out; it then fails. */
        void halt() {
            halted = true;
        }

        /** Releases its hold on the layers; call once the run has ended. */
        void release() {
            if (lease != null) {
                lease.close();
                lease = null;
            }
        }

        /** Stops the layout, waits for its end and releases its hold; its folder is the caller's to remove. */
        void abandon() {
            halt();
            try {
                run.get(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException | java.util.concurrent.CancellationException e) {
                log.debug("early layout of build {} ended: {}", buildId, e.toString());
            }
            release();
        }
    }

    /**
     * Keeps a result for the same layer chain on another thread: writing it (the ARF with it) and pruning the folder
     * is not the scan's to wait for; a rebuild that comes before it is written evaluates again.
     */
    private void keepLater(String key, ComplianceResult result) {
        try {
            workers.execute(() -> complianceCache.put(key, result));
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            complianceCache.put(key, result);
        }
    }

    /**
     * Evaluates a base's own layer chain once, in the background at the workers' (background) priority, after a
     * derived image's scan found no stored result for it, so that later images on that base are composed over it
     * (docs/scanning.md, "Composed over the base's evaluation"). Not beside the image's own run: that would take CPU
     * from the build's critical path for a result only later builds use. The layers are in the cache (the scan just
     * stored them); one pruned meanwhile makes the lease fail and nothing is evaluated.
     */
    private void evaluateBaseLater(List<String> baseChain, String imageId) {
        String key;
        try {
            key = ComplianceCache.key(baseChain, openScap.configurationDigest());
        } catch (IOException e) {
            return;
        }
        if (complianceCache.has(key) || !basesInFlight.add(key)) {
            return;
        }
        try {
            workers.execute(() -> {
                Path work = properties.workDir().resolve("base-" + key.substring(0, 16) + "-" + UUID.randomUUID());
                long t = System.nanoTime();
                try {
                    ComplianceResult r = composer.evaluateChain(baseChain, work, null,
                            "the base layers of " + imageId);
                    log.info("OpenSCAP on the {} base layer(s) of image {}: {} in {} ms (kept for composing)",
                            baseChain.size(), imageId, r.status(), ms(t));
                } catch (IOException | RuntimeException e) {
                    log.info("OpenSCAP on the base layers of image {} not evaluated: {}", imageId, e.toString());
                } finally {
                    basesInFlight.remove(key);
                    LayerCache.deleteTree(work);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            basesInFlight.remove(key);
        }
    }

    /** How many base evaluations run in the background now (for tests that wait for one to be kept). */
    int baseEvaluationsRunning() {
        return basesInFlight.size();
    }

    /** A compliance result with the times its parts took (layer cache, root filesystem, oscap; whether reused). */
    private record TimedCompliance(ComplianceResult result, Map<String, Long> parts) {
    }

    @jakarta.annotation.PreDestroy
    void stop() {
        workers.shutdownNow();
        inspections.shutdownNow();
        timer.shutdownNow();
    }

    private List<Evidence> vulnerabilityEvidence(List<VulnerabilityMatcher.Vulnerability> vulnerabilities,
            ImagePolicy imagePolicy) {
        LocalDate today = LocalDate.now(clock.withZone(ZoneOffset.UTC));
        List<Evidence> out = new ArrayList<>();
        for (VulnerabilityMatcher.Vulnerability v : vulnerabilities) {
            ImagePolicy.VulnerabilitySeverity severity = severity(v.severity());
            if (!imagePolicy.vulnerabilities().blocks(severity, v.fixed() != null)) {
                continue;
            }
            String allowed = imagePolicy.vulnerabilities().allow().stream()
                    .filter(a -> a.covers(v.advisoryId(), v.aliases(), v.packageName(), today))
                    .map(a -> a.reason() + ", approved by " + a.approver() + " until " + a.expires())
                    .findFirst().orElse(null);
            out.add(new Evidence(ImageRules.VULNERABILITY, v.severity() + " " + v.advisoryId()
                    + (v.aliases().isEmpty() ? "" : " " + v.aliases()) + " in " + v.packageName() + " "
                    + v.installed() + (v.fixed() != null ? ", fixed in " + v.fixed() : ", no fix yet"), allowed));
        }
        return out;
    }

    static ImagePolicy.VulnerabilitySeverity severity(String s) {
        try {
            return ImagePolicy.VulnerabilitySeverity.valueOf(s.toLowerCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return ImagePolicy.VulnerabilitySeverity.unknown;
        }
    }

    private List<Evidence> complianceEvidence(ComplianceResult compliance) {
        List<Evidence> out = new ArrayList<>();
        switch (compliance.status()) {
            case FAILED -> compliance.rules().stream().filter(r -> r.result().equals("fail") || r.result().equals("error"))
                    .forEach(r -> out.add(new Evidence(ImageRules.COMPLIANCE, r.ruleId() + " (" + r.severity()
                            + "): " + r.title() + " — " + r.result(), null)));
            case ERROR -> out.add(new Evidence(ImageRules.COMPLIANCE, "the compliance evaluation failed: "
                    + compliance.message(), null));
            case NOT_RUN -> {
                if (properties.complianceRequired()) {
                    out.add(new Evidence(ImageRules.COMPLIANCE, "compliance was not run: " + compliance.message(),
                            null));
                }
            }
            default -> {
            }
        }
        return out;
    }

    private void record(BuiltImage image, ImageFacts facts, Optional<ImageFacts> base, int baseLayers,
            ImageChecks.ResolvedUser user, Packages.Distro distro, List<Packages.Package> packages,
            List<VulnerabilityMatcher.Vulnerability> vulnerabilities, String sbom, ComplianceResult compliance,
            Evaluation verdict, Map<String, Long> timings, Instant now, String stoppedBecause,
            boolean matchAgain) {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("user", user.configured());
        config.put("uid", user.uid());
        config.put("exposedPorts", facts.exposedPorts().stream().sorted().toList());
        config.put("entrypoint", facts.entrypoint());
        config.put("cmd", facts.cmd());
        config.put("envNames", facts.env().stream().map(e -> e.contains("=") ? e.substring(0, e.indexOf('=')) : e)
                .toList());
        config.put("labels", facts.labels());
        config.put("os", facts.os());
        config.put("architecture", facts.architecture());
        config.put("layers", facts.layers().size());
        UUID buildId = UUID.fromString(image.job().buildId());
        ScanStore.Scan scan = new ScanStore.Scan(buildId, facts.id(), null, image.job().repository(),
                image.job().tag(), image.job().team(), now, verdict.passed(), verdict.policyDigest(),
                image.job().baseImage(), base.map(ImageFacts::id).orElse(null),
                base.map(b -> ImageChecks.baseDigest(image.job().pinnedBaseImage(), b)).orElse(null), baseLayers,
                json.writeValueAsString(config), json.writeValueAsString(verdict.findings()),
                distro == null ? null : distro.prettyName(), compliance.status().name().toLowerCase(Locale.ROOT),
                json.writeValueAsString(compliance.rules()), compliance.message(), json.writeValueAsString(timings));
        // Recorded once the database is back, if it is away (a restart): the verdict does not depend on it.
        io.buildgateway.shared.DatabaseUnavailable.retrying(() -> tx.executeWithoutResult(s -> {
            store.holdAdvisories(false);
            if (matchAgain) {
                List<VulnerabilityMatcher.Vulnerability> fresh = advisories.matcherFor(packages).match(packages);
                if (!new java.util.HashSet<>(fresh).equals(new java.util.HashSet<>(vulnerabilities))) {
                    throw new AdvisoriesMoved(fresh); // rolled back; judged again and recorded
                }
            }
            store.insert(scan, sbom, compliance.arfs(), packages, vulnerabilities);
            if (compliance.composedWith() != null) {
                store.composedWith(buildId, json.writeValueAsString(compliance.composedWith()));
            }
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("imageId", facts.id());
            details.put("repository", image.job().repository());
            details.put("tag", image.job().tag());
            details.put("baseImage", image.job().baseImage());
            details.put("packages", packages.size());
            details.put("vulnerabilities", vulnerabilities.size());
            details.put("compliance", scan.complianceStatus());
            if (compliance.composedWith() != null) {
                details.put("complianceComposedWith", compliance.composedWith().baseKey());
            }
            details.put("policyDigest", verdict.policyDigest());
            if (stoppedBecause != null) {
                details.put("stopped", stoppedBecause);
            }
            details.put("findings", verdict.findings().stream().filter(f -> !Boolean.TRUE.equals(f.waived()))
                    .map(Finding::rule).distinct().toList());
            events.publishEvent(new AuditRecord(verdict.passed() ? "image.verified" : "image.refused",
                    "build/" + buildId, verdict.passed() ? AuditRecord.Outcome.SUCCESS : AuditRecord.Outcome.REJECTED,
                    details, RequestInfo.system()));
        }), java.time.Duration.ofMinutes(5), "recording the scan of build " + image.job().buildId());
    }

    /** The advisories matched differently where the scan was to be recorded than when it was judged. */
    private static final class AdvisoriesMoved extends RuntimeException {
        final transient List<VulnerabilityMatcher.Vulnerability> fresh;

        AdvisoriesMoved(List<VulnerabilityMatcher.Vulnerability> fresh) {
            super(null, null, false, false);
            this.fresh = fresh;
        }
    }

    private static void report(BuiltImage image, List<Packages.Package> packages,
            List<VulnerabilityMatcher.Vulnerability> vulnerabilities, ComplianceResult compliance,
            Evaluation verdict, Map<String, Long> timings) {
        StringBuilder out = new StringBuilder();
        out.append("SBOM: ").append(packages.size()).append(" packages; vulnerabilities: ")
                .append(vulnerabilities.size()).append("; compliance: ")
                .append(compliance.status().name().toLowerCase(Locale.ROOT))
                .append(compliance.status() == ComplianceResult.Status.NOT_RUN ? " (" + compliance.message() + ")" : "")
                .append(compliance.composedWith() == null ? "" : " (composed over the base's evaluation of "
                        + compliance.composedWith().baseLayers() + " layer(s))")
                .append('\n');
        for (Finding f : verdict.findings()) {
            out.append("  ").append(f.severity()).append(' ').append(f.rule()).append(": ").append(f.message())
                    .append(Boolean.TRUE.equals(f.waived()) ? " [waived]" : "").append('\n');
        }
        out.append(verdict.passed() ? "Verification passed" : "Verification FAILED: the image is not pushed")
                .append(" (").append(timings.get("totalMs")).append(" ms)\n");
        image.output().accept(out.toString());
    }

    @Override
    public void pushed(BuiltImage image, String manifestDigest) {
        // After the push, the image is in the registry: its scan row learns the digest even across a restart of the
        // database (a build whose scan row lacks it would not be found by digest in the inventory).
        io.buildgateway.shared.DatabaseUnavailable.retrying(
                () -> store.pushed(UUID.fromString(image.job().buildId()), manifestDigest),
                java.time.Duration.ofMinutes(5), "recording the pushed digest of build " + image.job().buildId());
    }

    private static long ms(long since) {
        return (System.nanoTime() - since) / 1_000_000;
    }
}
