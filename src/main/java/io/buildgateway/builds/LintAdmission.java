package io.buildgateway.builds;

import io.buildgateway.shared.Problem;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * Lint requests under way at once, per caller and on this replica: a lint reads the caller's Dockerfile or whole
 * context (up to the upload limit) and runs every rule and, on request, ShellCheck, on a request thread. One caller
 * holds at most {@code gateway.builds.lint.max-per-caller} (more: 429, counted in the audit trail's per-second
 * refusal summary), all callers at most {@code gateway.builds.lint.max-total} (more: 503), both with
 * {@code Retry-After}. Before (the 2026-12-06 reviews' open item), one caller could hold every request thread with
 * slow lint uploads. The lints under way on this replica are the gauge {@code gateway.builds.lint.under.way}.
 */
@Component
class LintAdmission {

    private final int maxPerCaller;
    private final CallerSlots slots;

    LintAdmission(@Value("${gateway.builds.lint.max-per-caller:4}") int maxPerCaller,
            @Value("${gateway.builds.lint.max-total:32}") int maxTotal, MeterRegistry meters) {
        if (maxPerCaller < 1 || maxTotal < maxPerCaller) {
            throw new IllegalArgumentException("gateway.builds.lint.max-per-caller (" + maxPerCaller + ") must be at"
                    + " least 1 and at most gateway.builds.lint.max-total (" + maxTotal + ")");
        }
        this.maxPerCaller = maxPerCaller;
        this.slots = new CallerSlots(maxPerCaller, maxTotal);
        Gauge.builder("gateway.builds.lint.under.way", slots, CallerSlots::total)
                .description("lint requests admitted and not yet answered, on this replica").register(meters);
    }

    /** Lint requests admitted and not yet answered, on this replica (all callers). */
    int underWay() {
        return slots.total();
    }

    /** Admits one lint of the caller, or refuses it; an admitted lint must be {@link #release released}. */
    void admit(String caller) {
        slots.take(caller, mine -> new Problem(429, "too-many-lints", "Too many requests", "you already have " + mine
                + " lint requests under way, the most one caller may (gateway.builds.lint.max-per-caller); send the"
                + " next when one has been answered")
                .with("maxPerCaller", maxPerCaller).with("retryAfterSeconds", 1).summarisedInAudit(),
                total -> new Problem(503, "lint-busy", "Service unavailable", "the gateway is linting " + total
                        + " requests, the most it takes at once (gateway.builds.lint.max-total); try again shortly")
                        .with("retryAfterSeconds", 1).auditedAsRefusal());
    }

    void release(String caller) {
        slots.give(caller);
    }
}
