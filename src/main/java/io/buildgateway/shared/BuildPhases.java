package io.buildgateway.shared;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.springframework.stereotype.Component;

/**
 * How long each phase of a build took, wherever the phase runs: the Micrometer timer {@code gateway.build.phase}
 * (tag {@code phase}) for every build, and, per build, the times the dispatcher writes into the build's log (a line
 * per phase) when the build ends. Phases are those of {@link #PHASES}; each module records its own. The per-build times
 * live in this replica's memory until the build's log takes them (at most {@link #MAX_BUILDS} builds; a build
 * submitted on one replica and run on another has its intake and policy times in the metrics only). Thread-safe.
 */
@Component
public class BuildPhases {

    public static final String INTAKE = "intake";
    public static final String POLICY = "policy";
    public static final String BUILD = "build";
    public static final String VERIFY = "verify";
    public static final String SBOM = "sbom";
    public static final String VULNERABILITIES = "vulnerabilities";
    public static final String OPENSCAP = "openscap";
    public static final String PUSH = "push";
    public static final String PROVENANCE = "provenance";
    /** In the order a build passes them (verification's parts overlap: OpenSCAP runs beside SBOM and matching). */
    public static final List<String> PHASES = List.of(INTAKE, POLICY, BUILD, VERIFY, SBOM, VULNERABILITIES, OPENSCAP,
            PUSH, PROVENANCE);
    static final int MAX_BUILDS = 10_000;

    private final MeterRegistry meters;
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();
    private final Map<String, Map<String, Long>> byBuild = new ConcurrentHashMap<>();

    public BuildPhases(MeterRegistry meters) {
        this.meters = meters;
    }

    /** Records that {@code phase} of build {@code buildId} took {@code nanos}. */
    public void record(String buildId, String phase, long nanos) {
        if (!PHASES.contains(phase)) {
            throw new IllegalArgumentException("unknown build phase: " + phase);
        }
        timers.computeIfAbsent(phase, p -> Timer.builder("gateway.build.phase").tag("phase", p)
                .description("time of one phase of a build").register(meters))
                .record(nanos, TimeUnit.NANOSECONDS);
        if (byBuild.size() >= MAX_BUILDS && !byBuild.containsKey(buildId)) {
            return; // builds whose logs never took their times (another replica ran them): the metrics have them
        }
        byBuild.computeIfAbsent(buildId, b -> new ConcurrentHashMap<>()).merge(phase,
                TimeUnit.NANOSECONDS.toMillis(nanos), Long::sum);
    }

    /** The times recorded for the build so far, in phase order, in milliseconds; forgets them. */
    public Map<String, Long> take(String buildId) {
        Map<String, Long> recorded = byBuild.remove(buildId);
        Map<String, Long> ordered = new LinkedHashMap<>();
        if (recorded != null) {
            for (String p : PHASES) {
                Long ms = recorded.get(p);
                if (ms != null) {
                    ordered.put(p, ms);
                }
            }
        }
        return ordered;
    }

    /** Log lines for the times: {@code Phase build: 812 ms}. */
    public static String lines(Map<String, Long> times) {
        StringBuilder out = new StringBuilder();
        times.forEach((phase, ms) -> out.append("Phase ").append(phase).append(": ").append(ms).append(" ms\n"));
        return out.toString();
    }
}
