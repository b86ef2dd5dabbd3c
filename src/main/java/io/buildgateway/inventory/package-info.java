/**
 * The security team's control room: every pushed image (with its tag history, base, packages, vulnerabilities and
 * deployments), the deployments that need action and why, rebuilds by selector, and the watch on the approved base
 * tags. Listens for {@code builds.BuildSucceeded}; asks {@code builds} to queue rebuilds; reads the scanning module's
 * results.
 */
package io.buildgateway.inventory;
