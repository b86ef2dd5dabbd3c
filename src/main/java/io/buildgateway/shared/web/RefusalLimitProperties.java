package io.buildgateway.shared.web;

import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Refused requests per source (docs/operations.md, "Refused requests"): a source with {@code limit} refusals (401,
 * 403 and every other 4xx the audit trail records) within {@code window} gets 429 for the rest of the window, before
 * its token is even looked at; the audit trail keeps the first {@code limit} refusals one by one and then one
 * {@code request.rate-limited} row per source and window.
 *
 * @param limit refusals per source and window
 * @param window the window, starting at a source's first refusal
 * @param maxSources sources tracked at once (memory bound); beyond it, untracked sources share one window
 * @param flushInterval how often ended windows are written to the audit trail
 */
@Validated
@ConfigurationProperties("gateway.web.refusal-limit")
public record RefusalLimitProperties(
        @Min(1) @DefaultValue("100") int limit,
        @NotNull @DefaultValue("10s") Duration window,
        @Min(1) @DefaultValue("10000") int maxSources,
        @NotNull @DefaultValue("1s") Duration flushInterval) {
}
