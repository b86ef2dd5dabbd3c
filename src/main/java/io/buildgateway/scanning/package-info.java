/**
 * Verification and scanning of every built image before it is pushed: configuration checks, lineage against the
 * approved base, what the build's own layers add or remove, the SBOM, vulnerability matching against imported OSV
 * advisories, and OpenSCAP compliance. Implements the host pool's {@code ImageGate}; the policy module judges the
 * evidence.
 */
package io.buildgateway.scanning;
