package io.buildgateway.inventory.notify;

import java.util.List;
import java.util.Map;

/**
 * What the daily digest reports, supplied by whoever knows (the inventory's staleness check). Every bean of this
 * type is asked once per day; a team whose lists are all empty gets no digest.
 */
public interface DigestSource {

    /** Per team, the items to report (for example stale deployments), each a small JSON-able map. */
    Map<String, List<Map<String, Object>>> staleByTeam();
}
