package io.buildgateway.inventory;

import io.buildgateway.builds.BuildSucceeded;
import io.buildgateway.inventory.notify.DigestSource;
import io.buildgateway.inventory.notify.Notifications;
import io.buildgateway.scanning.AdvisoriesMatched;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;
import org.springframework.context.event.EventListener;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * Tells image owners what needs their action, through their team's notification channels: images to rebuild or
 * redeploy because their base moved or an advisory now affects them, and rebuilds of their images that someone else
 * started and that finished. Also the source of the daily digest of stale deployments. Notifications are recorded in
 * the transaction of the change that caused them, so a rolled-back change notifies no one.
 */
@Component
class OwnerNotices implements DigestSource {

    private final JdbcClient db;
    private final Notifications notifications;
    private final Deployments deployments;

    OwnerNotices(JdbcClient db, Notifications notifications, Deployments deployments) {
        this.db = db;
        this.notifications = notifications;
        this.deployments = deployments;
    }

    @EventListener
    void rebuilt(BuildSucceeded b) {
        if (b.rebuildOf() == null) {
            return;
        }
        String originalRequester = db.sql("select requested_by from build where id = ?").param(b.rebuildOf())
                .query(String.class).optional().orElse(null);
        if (Objects.equals(originalRequester, b.requestedBy())) {
            return; // they started it themselves
        }
        Map<String, Object> payload = new LinkedHashMap<>();
        payload.put("buildId", b.buildId().toString());
        payload.put("rebuildOf", b.rebuildOf().toString());
        payload.put("repository", b.repository());
        payload.put("tag", b.tag());
        payload.put("imageDigest", b.imageDigest());
        payload.put("requestedBy", b.requestedBy());
        payload.put("action", "redeploy the new digest where the old one runs");
        notifications.notify(b.team(), "rebuild.finished", payload);
    }

    /** The base tag moved: every team with images on it is told which images need a rebuild and redeploy. */
    void baseChanged(String ref, String from, String to) {
        Map<String, Object> payload = new LinkedHashMap<>();
        payload.put("reason", "base-changed");
        payload.put("base", ref);
        payload.put("from", from);
        payload.put("to", to);
        payload.put("action", "rebuild these images, then redeploy them");
        notifyOwners("image.rebuild-needed", payload, "base_ref = ?", List.of(ref));
    }

    @EventListener
    void vulnerable(AdvisoriesMatched matched) {
        Map<String, Object> payload = new LinkedHashMap<>();
        payload.put("reason", "advisory");
        payload.put("advisories", matched.advisoryIds());
        payload.put("action", "rebuild with the fixed packages where a fix exists, then redeploy");
        notifyOwners("image.vulnerable", payload, "build_id = any (?)",
                List.of((Object) matched.buildIds().toArray(new UUID[0])));
    }

    /** One notification per team owning images that match {@code where}, listing that team's images. */
    private void notifyOwners(String event, Map<String, Object> common, String where, List<Object> params) {
        Map<String, List<Map<String, Object>>> byTeam = new TreeMap<>();
        db.sql("select team, digest, repository from image where team is not null and " + where + " order by digest")
                .params(params).query(rs -> {
                    Map<String, Object> image = new LinkedHashMap<>();
                    image.put("digest", rs.getString(2));
                    image.put("repository", rs.getString(3));
                    byTeam.computeIfAbsent(rs.getString(1), t -> new ArrayList<>()).add(image);
                });
        byTeam.forEach((team, images) -> {
            Map<String, Object> payload = new LinkedHashMap<>(common);
            payload.put("images", images);
            notifications.notify(team, event, payload);
        });
    }

    @Override
    public Map<String, List<Map<String, Object>>> staleByTeam() {
        Map<String, List<Map<String, Object>>> out = new TreeMap<>();
        for (Deployments.View d : deployments.allStale()) {
            if (d.team() == null) {
                continue; // unknown provenance: the security team's list, not an owner's
            }
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("environment", d.environment());
            item.put("cluster", d.cluster());
            item.put("namespace", d.namespace());
            item.put("workload", d.workload());
            item.put("image", d.image());
            item.put("reasons", d.reasons());
            out.computeIfAbsent(d.team(), t -> new ArrayList<>()).add(item);
        }
        return out;
    }
}
