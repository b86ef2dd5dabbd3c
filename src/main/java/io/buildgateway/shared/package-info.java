/**
 * Tiny value types every module shares — {@link io.buildgateway.shared.Digest}, {@link io.buildgateway.shared.ImageName},
 * {@link io.buildgateway.shared.TeamName} — plus the request-scoped {@link io.buildgateway.shared.RequestInfo}.
 * Each type validates on construction, so a value that exists is a valid value. Depends on nothing.
 */
package io.buildgateway.shared;
