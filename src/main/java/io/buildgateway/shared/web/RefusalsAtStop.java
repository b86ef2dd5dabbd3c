package io.buildgateway.shared.web;

import org.springframework.boot.web.server.context.WebServerGracefulShutdownLifecycle;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Writes the refusals counted in memory ({@link RefusalSummaries}, the windows of {@link RefusalRateLimitFilter}) once
 * the web server has stopped. Their {@code ContextClosedEvent} flush runs before any bean stops, so a request refused
 * while the web server drains (graceful shutdown: it still answers the requests under way, and refuses some) was
 * counted after the last flush and its summary never written: a denied request missing from the audit trail.
 *
 * <p>The phase makes this bean stop after both of the web server's lifecycles (its graceful drain at
 * {@link WebServerGracefulShutdownLifecycle#SMART_LIFECYCLE_PHASE}, then its stop 1024 lower: a lower phase stops
 * later) and, like every lifecycle's stop, before the beans are destroyed, so the audit trail and its data source are
 * still there. Nothing is answered after the web server's stop, so nothing is counted after this flush.
 */
@Component
class RefusalsAtStop implements SmartLifecycle {

    /** Below the web server's stop ({@code SMART_LIFECYCLE_PHASE - 1024}), with room between for others. */
    static final int PHASE = WebServerGracefulShutdownLifecycle.SMART_LIFECYCLE_PHASE - 2048;

    private final RefusalSummaries summaries;
    private final RefusalRateLimitFilter rateLimit;
    private volatile boolean running;

    RefusalsAtStop(RefusalSummaries summaries, RefusalRateLimitFilter rateLimit) {
        this.summaries = summaries;
        this.rateLimit = rateLimit;
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        running = false;
        summaries.flush();
        rateLimit.flushAll();
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /**
     * Not stopped on a pause of the context (Spring's test context cache), as the web server is not: it stays up and
     * what it counts is written by the periodic flushes; a flush here would end the open rate-limit windows early.
     */
    @Override
    public boolean isPauseable() {
        return false;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
