/**
 * Verification and scanning of every built image before it is pushed: configuration checks, lineage against the
 * approved base, what the build's own layers add or remove, the SBOM, vulnerability matching against imported OSV
 * advisories, and OpenSCAP compliance. Implements the host pool's {@code ImageGate}; the policy module judges the
 * evidence. Every scan is bounded ({@code ScanBudget}: image size, file count, metadata bytes, archive nesting, the
 * build's deadline); going over stops it and fails the image with the limit's reason.
 */
package io.buildgateway.scanning;
