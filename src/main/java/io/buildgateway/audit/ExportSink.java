package io.buildgateway.audit;

import java.io.IOException;
import java.util.List;

/** A destination of the SIEM export. A send either delivers the whole batch or throws; the cursor moves only then. */
interface ExportSink extends AutoCloseable {

    /** The name of this sink's row in {@code audit_export_cursor}. */
    String cursor();

    /** For logs: where the events go (never with credentials). */
    String describe();

    void send(List<AuditEvent> events) throws IOException;

    /** A signed checkpoint, sent at once (best effort; the table and the checkpoint file have it too). */
    default void checkpoint(Checkpoint checkpoint) throws IOException {
    }

    @Override
    void close();
}
