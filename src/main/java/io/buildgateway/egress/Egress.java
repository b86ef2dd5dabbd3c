package io.buildgateway.egress;

import java.util.function.Consumer;

/**
 * The gateway's egress proxy, as the build side sees it: one session per build whose policy allows any egress. The
 * session hands out a proxy URL with credentials that are valid until it is closed, and records what passed.
 */
public interface Egress {

    /**
     * Opens a session for one build.
     *
     * @param grant what the build may reach, decided from the policy at submission
     * @param buildLog where refusal lines go (the build's own log, as the user reads it)
     */
    EgressSession open(EgressGrant grant, Consumer<String> buildLog);
}
