/**
 * The security policy every Dockerfile must pass before a daemon sees it. Front door:
 * {@link io.buildgateway.policy.PolicyEvaluator}; results are {@link io.buildgateway.policy.Finding}s and an
 * {@link io.buildgateway.policy.Evaluation} carrying the policy digest. Uses {@code dockerfile} and {@code shared}.
 */
package io.buildgateway.policy;
