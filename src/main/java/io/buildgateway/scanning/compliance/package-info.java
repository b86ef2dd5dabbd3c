/**
 * Compliance scanning of a built image's root filesystem with OpenSCAP: runs {@code oscap xccdf eval} with
 * {@code OSCAP_PROBE_ROOT} on every XCCDF or SCAP data stream file of the content folder ({@code config/compliance}),
 * reads the XCCDF results, and keeps the ARF reports. Plain Java, no Spring. Front door:
 * {@link io.buildgateway.scanning.compliance.OpenScap}.
 */
package io.buildgateway.scanning.compliance;
