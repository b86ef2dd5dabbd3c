package io.buildgateway.hostpool;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/** A host as API.md's {@code GET /api/v1/hosts} shows it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record HostStatus(String name, String endpoint, boolean healthy, boolean usernsRemap, int activeBuilds,
        int capacity, Instant lastCheckedAt, String lastError) {
}
