package io.buildgateway.hostpool;

import java.util.Map;

/**
 * Where a build's host comes from (issue #16). {@link FixedHosts}: the configured, long-lived daemons, shared by
 * consecutive builds; {@link EphemeralHosts}: a host started for one build and destroyed after it, locally
 * ({@link LocalEphemeralHosts}, a fresh dockerd) or in Kubernetes ({@link KubernetesEphemeralHosts}, a Pod).
 * {@link BuildHosts} asks for a lease before a build and returns it afterwards, whatever the build's outcome.
 */
public interface BuildHostProvider {

    /**
     * A host given to one build.
     *
     * @param pool the name the build queue knows the host by ({@code build.host})
     * @param host how to reach the daemon
     * @param instance for an ephemeral host, its own id (different for every build); null for a fixed host
     * @param daemonId the daemon's {@code ID} from {@code /info} when it was handed out (ephemeral hosts)
     * @param facts what else identifies the host (a Pod's name and UID, the node), for provenance and audit
     */
    record Lease(String pool, HostPoolProperties.Host host, String instance, String daemonId,
            Map<String, String> facts) {

        public Lease {
            facts = facts == null ? Map.of() : Map.copyOf(facts);
        }

        public boolean ephemeral() {
            return instance != null;
        }
    }

    /** A host could not be given (none started in time, the daemon failed its check). */
    final class Unavailable extends Exception {
        public Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** A host for the build {@code buildId} queued to {@code pool}. Blocks while a host starts. */
    Lease acquire(String pool, String buildId) throws Unavailable;

    /** The build is over: a fixed host stays, an ephemeral one is destroyed (not necessarily before this returns). */
    void release(Lease lease);
}
