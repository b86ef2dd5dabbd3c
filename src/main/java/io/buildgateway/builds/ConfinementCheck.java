package io.buildgateway.builds;

import io.buildgateway.hostpool.BuildHost;
import io.buildgateway.hostpool.BuildJob;
import io.buildgateway.hostpool.BuildOutcome;
import io.buildgateway.hostpool.HostBuild;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.RequestInfo;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The confinement check of a build (docs/security.md, layer B): what the daemon pulled, used and fetched for it
 * ({@link HostBuild}'s evidence, judged by {@link BuildHost#violations}) against what was granted. A violation fails
 * the build before verification and push and is audited as {@code build.confinement-violation}; it is checked on a
 * failed build too, whose error may show an attempt the confinement stopped.
 */
final class ConfinementCheck {

    private static final Logger log = LoggerFactory.getLogger(ConfinementCheck.class);

    private final Consumer<Object> events;
    /**
     * Violation events whose append failed (the database away), by run: they are written in the transaction that
     * records the build's failure, which is retried while the database is away ({@code BuildDispatcher.finish}), or
     * on their own when that outcome is not recorded. The violation's consequences (the images removed, the build
     * failed with the violation as its reason) never depend on the append.
     */
    private final Map<String, AuditRecord> unwritten = new ConcurrentHashMap<>();

    ConfinementCheck(Consumer<Object> events) {
        this.events = events;
    }

    /**
     * Null when the daemon stayed inside what was granted; otherwise the failed outcome (audited). What the daemon
     * reported (step names, references and errors after substitution) can hold a build arg's value or the egress
     * secret: {@code redact} (the build's redactor) is applied before any of it reaches the log, the build log or
     * the audit trail.
     */
    BuildOutcome check(BuildJob job, int attempt, BuildHost host, HostBuild built, Consumer<String> output,
            java.util.function.UnaryOperator<String> redact) {
        List<String> violations = host.violations(built).stream().map(redact).toList();
        if (violations.isEmpty()) {
            return null;
        }
        return violated(job, attempt, violations, host.granted().stream().map(redact).toList(),
                built.pulled().stream().map(p -> redact.apply(p.reference() + "@" + p.digest())).toList(),
                built.stepReason() == null ? null : redact.apply(built.stepReason()), built.refusedRun(job.host()),
                output);
    }

    /** The failed outcome of a run that left its confinement (everything already redacted), and its event. */
    BuildOutcome violated(BuildJob job, int attempt, List<String> violations, List<String> granted,
            List<String> pulled, String stepReason, BuildOutcome.HostRun run, Consumer<String> output) {
        for (String v : violations) {
            output.accept("CONFINEMENT: " + v + "\n");
        }
        log.warn("build {} on {} left its confinement: {}", job.buildId(), job.host(), violations);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("host", job.host());
        details.put("team", job.team());
        details.put("repository", job.repository());
        details.put("violations", violations);
        details.put("granted", granted);
        details.put("pulled", pulled);
        AuditRecord event = new AuditRecord("build.confinement-violation", "build/" + job.buildId(), Outcome.DENIED,
                details, RequestInfo.system());
        try {
            events.accept(event);
        } catch (RuntimeException e) {
            // Before (a review's finding, 2026-12-07) this failure became "build host error: <db error>": the
            // violation hidden, and the escaped images left on the host.
            log.error("build {}: its confinement violation could not be written to the audit trail now ({}); it is"
                    + " written with the build's failure", job.buildId(), e.toString());
            unwritten.put(key(job.buildId(), attempt), event);
        }
        String reason = "confinement violation: " + String.join("; ", violations);
        if (stepReason != null) {
            reason += " (" + stepReason + ")";
        }
        return new BuildOutcome(BuildOutcome.Result.FAILED, null, null, null, reason, run);
    }

    /** The violation event of this run whose append failed, to be written with the build's failure; or null. */
    AuditRecord unwritten(String buildId, int attempt) {
        return unwritten.get(key(buildId, attempt));
    }

    /** The run's event was committed (with the build's failure): nothing left to write. */
    void written(String buildId, int attempt) {
        unwritten.remove(key(buildId, attempt));
    }

    /**
     * Writes the run's unwritten event on its own, when the build's failure was not recorded by this run (its lease
     * lapsed, another replica decided); a failure now is logged at ERROR with the event, the last resort.
     */
    void writeAlone(String buildId, int attempt) {
        AuditRecord event = unwritten.remove(key(buildId, attempt));
        if (event == null) {
            return;
        }
        try {
            events.accept(event);
        } catch (RuntimeException e) {
            log.error("build {}: its confinement violation could not be written to the audit trail: {} {}", buildId,
                    event, e.toString());
        }
    }

    private static String key(String buildId, int attempt) {
        return buildId + "/" + attempt;
    }
}
