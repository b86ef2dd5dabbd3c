package io.buildgateway.shared.web;

import java.time.Clock;
import org.springframework.context.ApplicationEventPublisher;

/** For tests of other modules that follow a refusal through the real audit path ({@link ProblemResponses#audit}). */
public final class TestRefusals {

    private TestRefusals() {
    }

    /** Summaries that publish to {@code events} when {@link #flush flushed}. */
    public static RefusalSummaries summaries(ApplicationEventPublisher events) {
        return new RefusalSummaries(events, Clock.systemUTC());
    }

    /** Writes what the summaries counted, as the scheduler does every second. */
    public static void flush(RefusalSummaries summaries) {
        summaries.flush();
    }
}
