package io.buildgateway.builds;

import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The warm-up before readiness ({@link WarmUp}, docs/operations.md "Warm-up before readiness").
 *
 * @param enabled whether a starting replica rehearses its hot request paths before its readiness probe says UP
 * @param maxDuration the most the warm-up takes; readiness waits at most this long for it (a replica that cannot
 *        finish its rounds in time goes ready anyway)
 * @param rounds the rounds after which it ends earlier: each round is one token check, one status read, one
 *        submission (quota counts, the archive's inspection and re-pack in memory, the policy; in the first
 *        {@value WarmUp#RECORD_ROUNDS} rounds its record too, rolled back), one lint and one probe request over
 *        HTTP; in the first {@value WarmUp#HTTP_ROUNDS}, also a lint, a refused submission and a status read over
 *        HTTP with the warm-up's own credential. HotSpot's C2 compiles a method after some 5,000 calls (tier 4
 *        thresholds), so a few thousand rounds leave the request paths at C1; 10,000 took 49-54 s per replica on the
 *        shared 2-core VM of docs/benchmarks.md ("Load", 2026-12-03 23:32, 12,000 rounds)
 */
@Validated
@ConfigurationProperties("gateway.warmup")
public record WarmUpProperties(
        @DefaultValue("true") boolean enabled,
        @NotNull @DefaultValue("60s") Duration maxDuration,
        @Min(1) @DefaultValue("10000") int rounds) {
}
