package io.buildgateway.shared;

/**
 * Who is asking, from where, under which request id: what every audit event of a request carries.
 * Built by the web layer for each request; {@link #system()} is for work the gateway does on its own.
 */
public record RequestInfo(String actor, String sourceIp, String requestId) {

    public static final String SYSTEM = "system";

    public static RequestInfo system() {
        return new RequestInfo(SYSTEM, null, null);
    }
}
