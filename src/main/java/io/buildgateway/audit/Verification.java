package io.buildgateway.audit;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/**
 * The answer of {@code GET /api/v1/audit/verify}.
 *
 * @param valid the chain is intact and agrees with every signed checkpoint
 * @param events how many events were read
 * @param head the hash of the last event of the intact prefix of the chain
 * @param firstBrokenSeq the first sequence number that is changed, missing or no longer the one a checkpoint signed
 * @param reason what is wrong, when something is
 * @param checkpoint the newest checkpoint (from the file outside the database when one is configured, else from the
 *     table) and whether it is genuine and agrees with the chain
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Verification(boolean valid, long events, String head, Long firstBrokenSeq, String reason,
        CheckpointStatus checkpoint) {

    /**
     * @param source {@code file} or {@code table}
     * @param verified signed by the gateway's key and equal to the chain's event at {@code seq}
     */
    public record CheckpointStatus(long seq, String hash, Instant at, String keyId, String source, boolean verified) {
    }
}
