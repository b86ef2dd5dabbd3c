package io.buildgateway.scanning;

import io.buildgateway.hostpool.BuiltImage;
import io.buildgateway.hostpool.ImageFacts;
import io.buildgateway.hostpool.ImageGate;
import io.buildgateway.policy.Evaluation;
import io.buildgateway.policy.Finding;
import io.buildgateway.policy.ImagePolicy;
import io.buildgateway.policy.ImageRules;
import io.buildgateway.policy.PolicyEvaluator;
import io.buildgateway.policy.PolicyEvaluator.Evidence;
import io.buildgateway.scanning.compliance.ComplianceResult;
import io.buildgateway.scanning.compliance.OpenScap;
import io.buildgateway.scanning.compliance.RuleResult;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.RequestInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
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
    private final ScanningProperties properties;
    private final TransactionTemplate tx;
    private final ApplicationEventPublisher events;
    private final JsonMapper json;
    private final Clock clock;
    private final ExecutorService workers = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "image-compliance");
        t.setDaemon(true);
        return t;
    });

    ImageScanner(PolicyEvaluator policy, Advisories advisories, ScanStore store, OpenScap openScap,
            ScanningProperties properties, TransactionTemplate tx, ApplicationEventPublisher events, JsonMapper json,
            Clock clock) {
        this.policy = policy;
        this.advisories = advisories;
        this.store = store;
        this.openScap = openScap;
        this.properties = properties;
        this.tx = tx;
        this.events = events;
        this.json = json;
        this.clock = clock;
    }

    @Override
    public Verdict examine(BuiltImage image) throws InterruptedException {
        try {
            return scan(image);
        } catch (RuntimeException e) {
            log.error("verification of build {} failed", image.job().buildId(), e);
            image.output().accept("Verification error: the image could not be verified; it is not pushed\n");
            return Verdict.refuse("the image could not be verified (internal error); it was not pushed");
        }
    }

    private Verdict scan(BuiltImage image) throws InterruptedException {
        long start = System.nanoTime();
        Map<String, Long> timings = new LinkedHashMap<>();
        ImagePolicy imagePolicy = policy.imagePolicy();
        ImageFacts facts = image.facts();
        String repository = image.job().repository();
        image.output().accept("Verifying " + facts.id() + " (lineage, layers, configuration, SBOM, "
                + "vulnerabilities, compliance)\n");
        List<Evidence> evidence = new ArrayList<>();

        Optional<ImageFacts> base = Optional.empty();
        try {
            base = image.base();
        } catch (IOException e) {
            evidence.add(new Evidence(ImageRules.UNREADABLE, e.getMessage(), null));
        }
        int baseLayers = ImageChecks.lineage(facts, base, image.job().baseImage(), evidence);

        // The filesystem for OpenSCAP comes from a second stream (export); it is read, extracted and evaluated while
        // this thread reads the layers, so the two daemon streams and oscap overlap.
        long t = System.nanoTime();
        Future<TimedCompliance> compliance = openScap.available()
                ? workers.submit(() -> compliance(image))
                : CompletableFuture.completedFuture(new TimedCompliance(ComplianceResult.notRun(
                        "oscap is not available on this gateway (" + properties.oscapCommand() + ")"), 0));

        Map<String, LayerAudit.Layer> layers = new LinkedHashMap<>();
        try {
            LayerAudit audit = new LayerAudit(imagePolicy);
            image.save(in -> layers.putAll(audit.read(in)));
        } catch (IOException e) {
            evidence.add(new Evidence(ImageRules.UNREADABLE, "the image's layers could not be read: " + e.getMessage(),
                    null));
        }
        evidence.addAll(ImageChecks.addedLayers(facts, baseLayers, layers));
        LayerAudit.Flattened files = LayerAudit.flatten(facts.layers(), layers);
        timings.put("layersMs", ms(t));

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
        evidence.addAll(vulnerabilityEvidence(vulnerabilities, imagePolicy));
        timings.put("matchMs", ms(t));

        t = System.nanoTime();
        ComplianceResult result;
        long complianceMs = 0;
        try {
            TimedCompliance timed = compliance.get();
            result = timed.result();
            complianceMs = timed.ms();
        } catch (ExecutionException e) {
            log.error("compliance evaluation of build {} failed", image.job().buildId(), e.getCause());
            result = new ComplianceResult(ComplianceResult.Status.ERROR, List.of(), List.of(),
                    "the compliance evaluation failed: " + e.getCause().getClass().getSimpleName());
        } catch (InterruptedException e) {
            compliance.cancel(true);
            throw e;
        }
        evidence.addAll(complianceEvidence(result));
        timings.put("complianceWaitMs", ms(t));
        timings.put("complianceMs", complianceMs);

        Evaluation verdict = policy.judge(image.job().team(), repository, evidence);
        timings.put("totalMs", ms(start));
        record(image, facts, base, baseLayers, user, distro, packages, vulnerabilities, sbom, result, verdict,
                timings, now);
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

    /** Exports the image's filesystem into the work folder, evaluates the compliance content on it, removes it. */
    private TimedCompliance compliance(BuiltImage image) {
        long t = System.nanoTime();
        Path work = properties.workDir().resolve(image.job().buildId());
        try {
            Path rootfs = Files.createDirectories(work.resolve("rootfs"));
            RootfsReader reader = new RootfsReader();
            image.export(in -> reader.read(in, rootfs));
            return new TimedCompliance(openScap.evaluate(rootfs), ms(t));
        } catch (IOException e) {
            return new TimedCompliance(new ComplianceResult(ComplianceResult.Status.ERROR, List.of(), List.of(),
                    "the image's filesystem could not be read for compliance: " + e.getMessage()), ms(t));
        } finally {
            deleteQuietly(work);
        }
    }

    /** A compliance result with the time its export, extraction and evaluation took. */
    private record TimedCompliance(ComplianceResult result, long ms) {
    }

    @jakarta.annotation.PreDestroy
    void stop() {
        workers.shutdownNow();
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
            Evaluation verdict, Map<String, Long> timings, Instant now) {
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
                base.map(b -> ImageChecks.baseDigest(image.job().baseImage(), b)).orElse(null), baseLayers,
                json.writeValueAsString(config), json.writeValueAsString(verdict.findings()),
                distro == null ? null : distro.prettyName(), compliance.status().name().toLowerCase(Locale.ROOT),
                json.writeValueAsString(compliance.rules()), compliance.message(), json.writeValueAsString(timings));
        tx.executeWithoutResult(s -> {
            store.insert(scan, sbom, compliance.arfs(), packages, vulnerabilities);
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("imageId", facts.id());
            details.put("repository", image.job().repository());
            details.put("tag", image.job().tag());
            details.put("baseImage", image.job().baseImage());
            details.put("packages", packages.size());
            details.put("vulnerabilities", vulnerabilities.size());
            details.put("compliance", scan.complianceStatus());
            details.put("policyDigest", verdict.policyDigest());
            details.put("findings", verdict.findings().stream().filter(f -> !Boolean.TRUE.equals(f.waived()))
                    .map(Finding::rule).distinct().toList());
            events.publishEvent(new AuditRecord(verdict.passed() ? "image.verified" : "image.refused",
                    "build/" + buildId, verdict.passed() ? AuditRecord.Outcome.SUCCESS : AuditRecord.Outcome.REJECTED,
                    details, RequestInfo.system()));
        });
    }

    private static void report(BuiltImage image, List<Packages.Package> packages,
            List<VulnerabilityMatcher.Vulnerability> vulnerabilities, ComplianceResult compliance,
            Evaluation verdict, Map<String, Long> timings) {
        StringBuilder out = new StringBuilder();
        out.append("SBOM: ").append(packages.size()).append(" packages; vulnerabilities: ")
                .append(vulnerabilities.size()).append("; compliance: ")
                .append(compliance.status().name().toLowerCase(Locale.ROOT))
                .append(compliance.status() == ComplianceResult.Status.NOT_RUN ? " (" + compliance.message() + ")" : "")
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
        store.pushed(UUID.fromString(image.job().buildId()), manifestDigest);
    }

    private static long ms(long since) {
        return (System.nanoTime() - since) / 1_000_000;
    }

    private static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // removed on the next scan's cleanup or by the operator; logged below if the folder stays
                }
            });
        } catch (IOException e) {
            log.warn("could not remove scan folder {}", dir, e);
        }
    }
}
