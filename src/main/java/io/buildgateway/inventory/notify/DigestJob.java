package io.buildgateway.inventory.notify;

import io.buildgateway.shared.TeamName;
import java.time.Clock;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The daily digest: at {@code gateway.notifications.digest-cron}, asks every {@link DigestSource} bean what is stale
 * per team and queues one digest per team that has anything. Every replica's cron fires; the first to record the
 * day (in its zone) does the work, in one transaction with the digests it queues, so a team gets one digest a day.
 */
@Component
class DigestJob {

    private static final Logger log = LoggerFactory.getLogger(DigestJob.class);

    private final ObjectProvider<DigestSource> sources;
    private final Notifications notifications;
    private final DeliveryStore store;
    private final NotificationProperties properties;
    private final TransactionTemplate tx;
    private final Clock clock;

    DigestJob(ObjectProvider<DigestSource> sources, Notifications notifications, DeliveryStore store,
            NotificationProperties properties, TransactionTemplate tx, Clock clock) {
        this.sources = sources;
        this.notifications = notifications;
        this.store = store;
        this.properties = properties;
        this.tx = tx;
        this.clock = clock;
    }

    @Scheduled(cron = "${gateway.notifications.digest-cron:0 0 7 * * *}",
            zone = "${gateway.notifications.digest-zone:}")
    void scheduled() {
        try {
            Result result = run();
            log.info("daily digest: {}", result);
        } catch (RuntimeException e) {
            log.error("daily digest failed; nothing was queued for today", e);
        }
    }

    /** What a run did: the teams that got a digest, or that another replica had already run today. */
    record Result(LocalDate day, boolean alreadyRan, List<String> teams) {
    }

    Result run() {
        LocalDate day = LocalDate.now(clock.withZone(properties.zone()));
        List<DigestSource> all = sources.orderedStream().toList();
        if (all.isEmpty()) {
            return new Result(day, false, List.of());
        }
        return tx.execute(s -> {
            if (!store.claimDigestDay(day, clock.instant())) {
                return new Result(day, true, List.of());
            }
            Map<String, List<Map<String, Object>>> byTeam = new TreeMap<>();
            for (DigestSource source : all) {
                Map<String, List<Map<String, Object>>> stale = source.staleByTeam();
                if (stale != null) {
                    stale.forEach((team, items) -> {
                        if (items != null && !items.isEmpty()) {
                            byTeam.computeIfAbsent(team, t -> new ArrayList<>()).addAll(items);
                        }
                    });
                }
            }
            // Checked here, not left to digest(): its refusal would doom the whole day's transaction.
            byTeam.keySet().removeIf(team -> {
                boolean invalid = !TeamName.isValid(team);
                if (invalid) {
                    log.warn("daily digest: a digest source named '{}', which is not a team; skipped", team);
                }
                return invalid;
            });
            byTeam.forEach((team, items) -> notifications.digest(team, subject(items.size()), items));
            return new Result(day, false, List.copyOf(byTeam.keySet()));
        });
    }

    static String subject(int count) {
        return "Build Gateway daily digest: " + count + (count == 1 ? " item needs" : " items need") + " attention";
    }
}
