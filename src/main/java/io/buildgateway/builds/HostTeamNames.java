package io.buildgateway.builds;

import io.buildgateway.hostpool.BuildHosts;
import io.buildgateway.hostpool.RunningBuilds;
import io.buildgateway.hostpool.TeamImages;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.json.JsonMapper;

/**
 * Takes team images' names off a shared (fixed) build host, except those of repositories a build running there (on
 * any replica, any attempt) may still pull or push: after each build ({@link BuildSequence}) and in the periodic
 * sweep ({@link TeamImageSweep}). Decided under the scheduling lock, which every claim takes ({@link BuildDispatcher}),
 * in one transaction with the untags, so no build is claimed for the host between the database's answer and the
 * untags: a build claimed later pulls again (docs/security.md, "BuildKit builds without a session").
 */
@Component
class HostTeamNames {

    private final BuildRepository builds;
    private final BuildHosts hosts;
    private final JsonMapper json;
    private final TransactionTemplate tx;

    HostTeamNames(BuildRepository builds, BuildHosts hosts, JsonMapper json, TransactionTemplate tx) {
        this.builds = builds;
        this.hosts = hosts;
        this.json = json;
        this.tx = tx;
    }

    /**
     * Takes {@code names} (by repository) off {@code host} with {@code forget}, but those of repositories a build
     * running on the host other than {@code besides}'s attempt {@code attempt} may pull or push (null: every running
     * build counts). Joins the caller's transaction, if any. Returns the names taken off.
     */
    List<String> forgetUnused(String host, UUID besides, int attempt, Map<String, List<String>> names,
            Function<Collection<String>, List<String>> forget) {
        if (names.isEmpty()) {
            return List.of();
        }
        String registry = hosts.registry();
        String quarantine = hosts.quarantine();
        return tx.execute(status -> {
            builds.claimLock(BuildDispatcher.SCHEDULING_LOCK);
            List<Object[]> rows = besides == null ? builds.runningOnHost(host)
                    : builds.runningOnHostBesides(host, besides, attempt);
            List<String> off = unused(names, rows, json, registry, quarantine);
            return off.isEmpty() ? List.of() : forget.apply(off);
        });
    }

    /**
     * The names among {@code names} (by repository) that may come off, given the {@code rows} of the builds running
     * on the host ({@link BuildRepository#runningOnHostBesides}): not those of a repository one of them may pull or
     * push ({@link TeamImages#inUse}), nor those of its run's quarantine copy ({@code quarantine} not empty), which
     * its push and checks name on the host while it runs.
     */
    static List<String> unused(Map<String, List<String>> names, List<Object[]> rows, JsonMapper json, String registry,
            String quarantine) {
        java.util.Set<String> kept = new java.util.HashSet<>(TeamImages.inUse(running(rows, json), registry));
        if (!quarantine.isEmpty()) {
            for (Object[] row : rows) {
                if (row.length > 4 && row[3] != null && row[4] != null) {
                    kept.add(QuarantinePush.quarantineOf(quarantine, (String) row[3], ((Number) row[4]).intValue()));
                }
            }
        }
        return TeamImages.unused(names, kept);
    }

    /**
     * The builds of {@link BuildRepository#runningOnHostBesides} rows ({@code image, allowed_pulls, base_image}): each
     * one's repository and its approved pulls (a JSON array), or its base alone on rows older than V10.
     */
    static List<RunningBuilds.Running> running(List<Object[]> rows, JsonMapper json) {
        List<RunningBuilds.Running> running = new ArrayList<>();
        for (Object[] row : rows) {
            List<String> pulls = new ArrayList<>();
            if (row[1] != null) {
                pulls.addAll(List.of(json.readValue((String) row[1], String[].class)));
            } else if (row[2] != null) {
                pulls.add((String) row[2]);
            }
            running.add(new RunningBuilds.Running((String) row[0], pulls));
        }
        return running;
    }
}
