package io.buildgateway.shared;

/**
 * Who is asking, from where, under which request id: what every audit event of a request carries.
 * Built by the web layer for each request; {@link #system()} is for work the gateway does on its own.
 * {@code tokenId}: the id of the gateway token the caller authenticated with (null for anyone else). Token names are
 * chosen by an ADMIN and need not be unique, so the trail tells two tokens of one name apart by this id; the audit
 * module writes it into the event's details as {@value #ACTOR_TOKEN_ID}.
 */
public record RequestInfo(String actor, String sourceIp, String requestId, String tokenId) {

    public static final String SYSTEM = "system";
    /** The details key under which an event made by a token-authenticated request names the token's id. */
    public static final String ACTOR_TOKEN_ID = "actorTokenId";

    public RequestInfo(String actor, String sourceIp, String requestId) {
        this(actor, sourceIp, requestId, null);
    }

    public static RequestInfo system() {
        return new RequestInfo(SYSTEM, null, null);
    }
}
