package io.buildgateway.audit;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The audit trail's checkpoints and its export to the SIEM ({@code gateway.audit}, docs/audit.md). Checked at start:
 * a syslog sink without a port, or TLS without a trust file, stops start-up with the key's name.
 *
 * @param checkpointInterval how often the chain's head is signed and written out (also at start and at shutdown)
 * @param checkpointFile the file outside the database that receives every checkpoint as a JSON line; empty: none
 *     (then verify compares with the database's checkpoint table only)
 * @param export where events are sent as they happen
 */
@Validated
@ConfigurationProperties("gateway.audit")
public record AuditProperties(
        @NotNull @DefaultValue("5m") Duration checkpointInterval,
        Path checkpointFile,
        @Valid @NotNull @DefaultValue Export export) {

    public AuditProperties {
        if (checkpointInterval != null && (checkpointInterval.isZero() || checkpointInterval.isNegative())) {
            throw new IllegalArgumentException("gateway.audit.checkpoint-interval must be positive");
        }
    }

    /**
     * The SIEM export. Each sink has a cursor row in {@code audit_export_cursor} (the last seq it delivered), so an
     * export resumes where it stopped after a restart or an outage of the receiver (at least once).
     *
     * @param pollInterval how often each replica looks for new events (a commit of this replica wakes it at once)
     * @param batchSize events read and sent per round
     * @param retryMax the longest wait between attempts while a receiver is unreachable (doubling from pollInterval)
     * @param file JSON lines appended to a file
     * @param syslog RFC 5424 messages over TCP (RFC 6587 octet counting) or TLS (RFC 5425)
     */
    public record Export(
            @NotNull @DefaultValue("1s") Duration pollInterval,
            @Min(1) @Max(10000) @DefaultValue("500") int batchSize,
            @NotNull @DefaultValue("1m") Duration retryMax,
            @Valid @NotNull @DefaultValue FileSink file,
            @Valid @NotNull @DefaultValue Syslog syslog) {
    }

    /**
     * @param path the file; empty: no file export
     * @param cursor the cursor's name: replicas sharing it share the work (each event is written by one of them);
     *     give each replica its own name for a complete file per replica
     */
    public record FileSink(Path path, @NotNull @DefaultValue("file") String cursor) {
        boolean enabled() {
            return path != null && !path.toString().isBlank();
        }
    }

    /**
     * @param host the receiver; empty: no syslog export
     * @param port its port (601 is syslog over TCP, 6514 syslog over TLS)
     * @param tls RFC 5425: TLS with the receiver's certificate checked against {@code trustCertificates} and its
     *     host name
     * @param trustCertificates a PEM file of the certificate(s) (CA or the receiver's own) to trust; empty with TLS:
     *     the JVM's trust store
     * @param facility the RFC 5424 facility (default 13, "log audit")
     * @param appName the APP-NAME field
     * @param hostname the HOSTNAME field; empty: this machine's name
     * @param cursor the cursor's name (one shared row: the replicas take turns, the receiver gets every event)
     * @param connectTimeout connecting and TLS handshake
     * @param confirmWait after a batch, how long to wait for the receiver to close or reset the connection before
     *     the batch counts as delivered (TCP syslog has no acknowledgement)
     * @param checkpoints also send each signed checkpoint (MSGID {@code checkpoint}) at once
     */
    public record Syslog(
            String host,
            @Min(1) @Max(65535) @DefaultValue("6514") int port,
            @DefaultValue("false") boolean tls,
            Path trustCertificates,
            @Min(0) @Max(23) @DefaultValue("13") int facility,
            @NotNull @DefaultValue("build-gateway") String appName,
            String hostname,
            @NotNull @DefaultValue("syslog") String cursor,
            @NotNull @DefaultValue("5s") Duration connectTimeout,
            @NotNull @DefaultValue("50ms") Duration confirmWait,
            @DefaultValue("true") boolean checkpoints) {

        public Syslog {
            if (appName != null && !appName.matches("[!-~]{1,48}")) {
                throw new IllegalArgumentException("gateway.audit.export.syslog.app-name must be 1 to 48 printable"
                        + " ASCII characters without spaces (RFC 5424 APP-NAME)");
            }
            if (hostname != null && !hostname.isBlank() && !hostname.matches("[!-~]{1,255}")) {
                throw new IllegalArgumentException("gateway.audit.export.syslog.hostname must be printable ASCII"
                        + " without spaces (RFC 5424 HOSTNAME)");
            }
        }

        boolean enabled() {
            return host != null && !host.isBlank();
        }
    }
}
