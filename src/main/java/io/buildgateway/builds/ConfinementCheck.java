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

    ConfinementCheck(Consumer<Object> events) {
        this.events = events;
    }

    /**
     * Null when the daemon stayed inside what was granted; otherwise the failed outcome (audited). What the daemon
     * reported (step names, references and errors after substitution) can hold a build arg's value or the egress
     * secret: {@code redact} (the build's redactor) is applied before any of it reaches the log, the build log or
     * the audit trail.
     */
    BuildOutcome check(BuildJob job, BuildHost host, HostBuild built, Consumer<String> output,
            java.util.function.UnaryOperator<String> redact) {
        List<String> violations = host.violations(built).stream().map(redact).toList();
        if (violations.isEmpty()) {
            return null;
        }
        for (String v : violations) {
            output.accept("CONFINEMENT: " + v + "\n");
        }
        log.warn("build {} on {} left its confinement: {}", job.buildId(), job.host(), violations);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("host", job.host());
        details.put("team", job.team());
        details.put("repository", job.repository());
        details.put("violations", violations);
        details.put("granted", host.granted().stream().map(redact).toList());
        details.put("pulled", built.pulled().stream().map(p -> redact.apply(p.reference() + "@" + p.digest()))
                .toList());
        events.accept(new AuditRecord("build.confinement-violation", "build/" + job.buildId(), Outcome.DENIED,
                details, RequestInfo.system()));
        String reason = "confinement violation: " + String.join("; ", violations);
        if (built.stepReason() != null) {
            reason += " (" + redact.apply(built.stepReason()) + ")";
        }
        return new BuildOutcome(BuildOutcome.Result.FAILED, null, null, null, reason, built.refusedRun(job.host()));
    }
}
