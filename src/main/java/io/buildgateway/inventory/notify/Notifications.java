package io.buildgateway.inventory.notify;

import io.buildgateway.inventory.notify.NotificationProperties.Webhook;
import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.AuditRecord.Outcome;
import io.buildgateway.shared.TeamName;
import io.buildgateway.shared.web.RequestInfos;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Tells image owners what they must know (an image needs a rebuild or a redeploy, a rebuild they did not start
 * finished, the daily digest). Each call records one delivery per channel target of the team, in the caller's
 * transaction, so a change that rolls back notifies no one; the deliveries are attempted after the commit, off the
 * caller's thread, and retried with backoff ({@link DeliveryWorker}). docs/notifications.md describes what receivers
 * get.
 */
@Service
public class Notifications {

    /** The event of {@link #digest}. */
    public static final String DIGEST_EVENT = "digest";
    private static final Pattern EVENT = Pattern.compile("[a-z0-9]+([._-][a-z0-9]+)*");

    private final NotificationProperties properties;
    private final DeliveryStore store;
    private final Messages messages;
    private final EmailSender email;
    private final DeliveryWorker worker;
    private final NotificationMetrics metrics;
    private final ApplicationEventPublisher events;
    private final Clock clock;

    Notifications(NotificationProperties properties, DeliveryStore store, Messages messages, EmailSender email,
            DeliveryWorker worker, NotificationMetrics metrics, ApplicationEventPublisher events, Clock clock) {
        this.properties = properties;
        this.store = store;
        this.messages = messages;
        this.email = email;
        this.worker = worker;
        this.metrics = metrics;
        this.events = events;
        this.clock = clock;
    }

    /**
     * Queues {@code event} (lowercase, dot or dash separated, e.g. {@code image.rebuild-needed}) with its payload
     * for every webhook and e-mail address configured for {@code team}. The payload must not hold secrets: it is
     * stored and sent as is.
     */
    @Transactional
    public void notify(String team, String event, Map<String, Object> payload) {
        check(team, event);
        Map<String, Object> values = payload == null ? Map.of() : payload;
        UUID id = UUID.randomUUID();
        Instant now = now();
        queue(id, team, event, now, messages.webhookBody(id, event, team, now, values), Messages.subject(event, team),
                messages.text(id, event, team, now, values));
    }

    /**
     * Queues a digest for {@code team}: event {@value #DIGEST_EVENT}, payload {@code {"subject", "items": [...]}},
     * and an e-mail with {@code subject} that lists the items. Nothing to report, nothing sent.
     */
    @Transactional
    public void digest(String team, String subject, List<Map<String, Object>> items) {
        if (items == null || items.isEmpty()) {
            return;
        }
        check(team, DIGEST_EVENT);
        if (subject == null || subject.isBlank()) {
            throw new IllegalArgumentException("a digest needs a subject");
        }
        UUID id = UUID.randomUUID();
        Instant now = now();
        Map<String, Object> payload = new LinkedHashMap<>();
        payload.put("subject", subject);
        payload.put("items", items);
        queue(id, team, DIGEST_EVENT, now, messages.webhookBody(id, DIGEST_EVENT, team, now, payload),
                Messages.oneLine(subject), messages.digestText(id, team, now, subject, items));
    }

    private void queue(UUID id, String team, String event, Instant now, String webhookBody, String subject,
            String text) {
        List<Delivery> deliveries = new ArrayList<>();
        for (Webhook w : properties.webhooksOf(team)) {
            deliveries.add(new Delivery(UUID.randomUUID(), id, team, Channel.WEBHOOK, Targets.endpointKey(w.url()),
                    Targets.redact(w.url()), event, null, webhookBody, 0, now));
        }
        if (email.enabled()) {
            for (String address : properties.emailsOf(team)) {
                deliveries.add(new Delivery(UUID.randomUUID(), id, team, Channel.EMAIL, address, address, event,
                        subject, text, 0, now));
            }
        }
        deliveries.forEach(d -> store.insert(d, now));
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("team", team);
        details.put("event", event);
        details.put("deliveries", deliveries.stream().map(d -> Map.of("id", d.id().toString(),
                "channel", d.channel().value(), "target", d.target())).toList());
        // Audited even when the team has no channel: the trail then shows that nobody could be told.
        events.publishEvent(new AuditRecord("notification.queued", "notification/" + id, Outcome.SUCCESS, details,
                RequestInfos.current()));
        if (!deliveries.isEmpty()) {
            TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
                @Override
                public void afterCommit() {
                    deliveries.forEach(d -> metrics.count(d.channel(), "queued"));
                    worker.wake();
                }
            });
        }
    }

    private static void check(String team, String event) {
        if (!TeamName.isValid(team)) {
            throw new IllegalArgumentException("'" + team + "' is not a team name");
        }
        if (event == null || event.length() > 100 || !EVENT.matcher(event).matches()) {
            throw new IllegalArgumentException("an event is lowercase words joined by '.', '_' or '-' (at most 100"
                    + " characters), got '" + event + "'");
        }
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
