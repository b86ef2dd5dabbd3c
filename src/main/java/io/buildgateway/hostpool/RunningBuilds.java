package io.buildgateway.hostpool;

import java.util.List;
import java.util.Set;

/**
 * The builds that run now on any host, by id, as the queue records them (every replica's). A host that comes back is
 * cleaned of the gateway's leftovers; an image or container whose {@link BuildHosts#BUILD_ID_LABEL} names one of these
 * is not a leftover, whatever its creation time says: another replica (or this one) may have started that build on
 * the host since it came back. Nor is an image named in a repository that a build running on that host may pull
 * ({@link #onHost}): a team image pulled by digest as a pinned base has no tag and looks like a leftover. The builds
 * module implements it, so the host pool does not depend on the queue.
 */
public interface RunningBuilds {

    /** The ids of the builds that are RUNNING now; throws when that cannot be read (then nothing is cleaned). */
    Set<String> ids();

    /**
     * The builds RUNNING now on {@code host} (any replica's, any attempt): what each may pull or push there. Throws
     * when that cannot be read (then nothing is cleaned).
     */
    List<Running> onHost(String host);

    /** As {@link #onHost}, without the build {@code buildId} (any attempt): what a lost build's clean-up keeps. */
    default List<Running> onHostBesides(String host, String buildId) {
        return onHost(host);
    }

    /**
     * A running build's repository ({@code team/name}, where it pushes) and the references it was approved to pull
     * (its base alone on rows recorded before the approved pulls were).
     */
    record Running(String repository, List<String> pulls) {
        public Running {
            pulls = List.copyOf(pulls);
        }
    }
}
