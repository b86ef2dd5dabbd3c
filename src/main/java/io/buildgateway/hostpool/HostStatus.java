package io.buildgateway.hostpool;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/**
 * A host as API.md's {@code GET /api/v1/hosts} shows it; {@code buildCacheBytes} once a BuildKit host's cache was
 * read, {@code buildCacheMax} when the host has a cap.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record HostStatus(String name, String endpoint, boolean healthy, boolean usernsRemap, int activeBuilds,
        int capacity, Instant lastCheckedAt, String lastError, Long buildCacheBytes, Long buildCacheMax) {
}
