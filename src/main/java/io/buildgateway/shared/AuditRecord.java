package io.buildgateway.shared;

import java.util.List;
import java.util.Map;

/**
 * "Something happened that the trail must show": published by any module as a Spring application event, in the
 * transaction of the change it describes, and appended by the audit module. Details must never hold secrets.
 */
public record AuditRecord(String action, String target, Outcome outcome, Map<String, ?> details, RequestInfo request) {

    public enum Outcome { SUCCESS, DENIED, REJECTED, FAILED }

    public AuditRecord {
        details = details == null ? Map.of() : details;
        request = request == null ? RequestInfo.system() : request;
    }

    /**
     * Several records published together in the transaction of their changes, appended in their order with one
     * statement (a group commit of submissions: one round trip under the chain's lock instead of one per record).
     */
    public record Batch(List<AuditRecord> records) {
        public Batch {
            records = List.copyOf(records);
        }
    }
}
