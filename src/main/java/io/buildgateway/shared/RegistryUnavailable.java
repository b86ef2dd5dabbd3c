package io.buildgateway.shared;

/**
 * The gateway's registry cannot be reached right now (refused, timed out, or answering 5xx) while a request needs an
 * answer from it to be judged: the ONBUILD triggers of a base image, which the policy must see before a build is
 * accepted (issue #17, the registry down). Not a policy rejection and no fault of the request: 503 with
 * {@code Retry-After}, and no build recorded (no build row, no rejection in the team's history), as when the
 * database is away ({@link DatabaseUnavailable}). The refusal itself is audited, counted in the per-second
 * {@code http.refused-summary} (outcome FAILED): through an outage every CI runner retries, and a row each would load
 * the audit chain exactly when the gateway can least afford it. The upload is
 * left to context retention, as a quota refusal's is (a retry of the same bytes may be storing it at this moment).
 * Carries no cause: the reason ({@link #reason()}) is logged by whoever answers the request, never shown to the
 * client.
 */
public final class RegistryUnavailable extends Problem {

    /** How long a client should wait before trying again: a registry restart, or one retry of a push's backoff. */
    public static final long RETRY_AFTER_SECONDS = 10;

    private final String what;
    private final String reason;

    /** What was to be read from the registry, as the detail names it. */
    public String what() {
        return what;
    }

    /** Why the registry could not be asked, for the gateway's log only (never rendered); may be null. */
    public String reason() {
        return reason;
    }

    /** {@code what}: what was to be read from the registry, as the detail names it. */
    public RegistryUnavailable(String what) {
        this(what, null);
    }

    /** With the reason, for the log of whoever answers the request (which may redact both first). */
    public RegistryUnavailable(String what, String reason) {
        super(503, "registry-unavailable", "Service unavailable", "the gateway's registry cannot be reached right now"
                + " to read " + what + "; no build was recorded; retry after the time in Retry-After");
        this.what = what;
        this.reason = reason;
        with("retryAfterSeconds", RETRY_AFTER_SECONDS);
        auditedAsRefusal();
    }
}
