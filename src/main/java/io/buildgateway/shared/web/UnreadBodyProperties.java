package io.buildgateway.shared.web;

import jakarta.validation.constraints.Min;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Refused requests whose body is still on its way ({@link UnreadBodyValve}; docs/operations.md, "Refused requests"):
 * at most {@code maxPerSource} of them per source address and {@code maxTotal} on the replica are read to their end,
 * so that the client reads its answer and keeps its connection; beyond, the answer is sent and the connection closed.
 *
 * @param maxPerSource refused requests of one source address whose rest of body is read at once
 * @param maxTotal the same, all sources together (well below the connector's threads: 200 by default)
 */
@Validated
@ConfigurationProperties("gateway.web.unread-body")
public record UnreadBodyProperties(
        @Min(0) @DefaultValue("8") int maxPerSource,
        @Min(0) @DefaultValue("64") int maxTotal) {
}
