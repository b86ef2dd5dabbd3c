package io.buildgateway.inventory.notify;

import io.buildgateway.shared.TeamName;
import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.net.URI;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.scheduling.support.CronExpression;
import org.springframework.validation.annotation.Validated;

/**
 * Where and how owners are notified ({@code gateway.notifications}, docs/notifications.md). Checked when the gateway
 * starts: a bad URL, team, address, cron or zone stops start-up with a message naming the key, because a
 * notification that silently goes nowhere is worse than a gateway that refuses to start. Secrets (webhook secrets,
 * the SMTP password) come from the environment and never appear in {@link #toString()}.
 *
 * @param webhooks per team, the URLs that receive signed JSON POSTs
 * @param emails per team, the addresses that get plain-text mail (only when {@code smtp.host} is set)
 * @param smtp the on-prem relay; e-mail is off while its host is unset
 * @param retry the backoff of failed attempts
 * @param pollInterval how often each replica looks for due deliveries (a commit also wakes it at once)
 * @param digestCron when the daily digest is queued (Spring cron, six fields; {@code -} turns it off)
 * @param digestZone the time zone of {@code digestCron} and of the digest's day; empty: the JVM's
 * @param connectTimeout connecting to a webhook receiver or the SMTP relay
 * @param responseTimeout waiting for a receiver's answer or an SMTP reply
 * @param lease how long a claimed delivery is the claiming replica's before another may try it again; at least any
 *     one attempt can take ({@code connect-timeout + 10 × response-timeout}: an SMTP exchange is several replies)
 *     plus 10 s for the replicas' clocks, which set and judge the claim's end. Default: that bound plus 60 s. An
 *     attempt whose outcome could not be recorded (the database gone mid-attempt) is tried again when its lease
 *     ends.
 */
@Validated
@ConfigurationProperties("gateway.notifications")
public record NotificationProperties(
        @Valid @DefaultValue List<Webhook> webhooks,
        Map<String, List<String>> emails,
        @Valid @NotNull @DefaultValue Smtp smtp,
        @Valid @NotNull @DefaultValue Retry retry,
        @NotNull @DefaultValue("5s") Duration pollInterval,
        @NotNull @DefaultValue("0 0 7 * * *") String digestCron,
        @DefaultValue("") String digestZone,
        @NotNull @DefaultValue("5s") Duration connectTimeout,
        @NotNull @DefaultValue("10s") Duration responseTimeout,
        Duration lease) {

    /** Webhook secrets shorter than this are refused: they key an HMAC that receivers trust. */
    static final int MIN_SECRET_LENGTH = 16;

    public NotificationProperties {
        webhooks = webhooks == null ? List.of() : List.copyOf(webhooks);
        emails = emails == null ? Map.of() : copy(emails);
        smtp = smtp == null ? new Smtp(null, 25, null, null, null, true) : smtp;
        retry = retry == null ? new Retry(8, Duration.ofSeconds(10), Duration.ofHours(1)) : retry;
        pollInterval = pollInterval == null ? Duration.ofSeconds(5) : pollInterval;
        digestCron = digestCron == null ? "0 0 7 * * *" : digestCron.trim();
        digestZone = digestZone == null ? "" : digestZone.trim();
        connectTimeout = connectTimeout == null ? Duration.ofSeconds(5) : connectTimeout;
        responseTimeout = responseTimeout == null ? Duration.ofSeconds(10) : responseTimeout;
        check(webhooks, emails, smtp, digestCron, digestZone, pollInterval, connectTimeout, responseTimeout);
        Duration longestAttempt = longestAttempt(connectTimeout, responseTimeout);
        if (lease == null) {
            lease = longestAttempt.plusSeconds(60);
        } else if (lease.compareTo(longestAttempt.plus(MIN_LEASE_MARGIN)) < 0) {
            // A shorter lease would let another replica send while this one's attempt still runs: a double. The
            // margin is for the replicas' clocks, by which each sets and judges a claim's end.
            throw new IllegalArgumentException("gateway.notifications.lease (" + lease + ") must be at least the"
                    + " longest attempt, connect-timeout + 10 × response-timeout = " + longestAttempt + ", plus "
                    + MIN_LEASE_MARGIN.toSeconds() + " s for clock differences between replicas");
        }
    }

    /** What a lease must leave beyond the longest attempt: replicas set and judge a claim's end by their clocks. */
    static final Duration MIN_LEASE_MARGIN = Duration.ofSeconds(10);

    /** The longest one attempt can take: connecting, then up to ten replies (an SMTP exchange). */
    static Duration longestAttempt(Duration connectTimeout, Duration responseTimeout) {
        return connectTimeout.plus(responseTimeout.multipliedBy(10));
    }

    /**
     * A receiver of a team's notifications. {@code url} may carry user info (sent as HTTP Basic credentials) and a
     * query; neither is ever shown or stored.
     */
    public record Webhook(String team, String url, String secret) {
        @Override
        public String toString() {
            return "Webhook[team=" + team + ", url=" + (url == null ? null : Targets.redact(url)) + ", secret="
                    + (secret == null || secret.isBlank() ? "unset" : "***") + "]";
        }

        URI uri() {
            return URI.create(url.trim());
        }
    }

    /**
     * @param host the relay; unset: no e-mail
     * @param from the sender address (required with a host)
     * @param username with {@code password}: SMTP AUTH; unset: none
     * @param starttls require STARTTLS before anything is sent (on by default; turn off only for a relay on
     *        localhost or an equally trusted link)
     */
    public record Smtp(String host, @Min(1) @Max(65535) @DefaultValue("25") int port, String from, String username,
            String password, @DefaultValue("true") boolean starttls) {
        public boolean enabled() {
            return host != null && !host.isBlank();
        }

        @Override
        public String toString() {
            return "Smtp[host=" + host + ", port=" + port + ", from=" + from + ", username=" + username
                    + ", password=" + (password == null || password.isEmpty() ? "unset" : "***") + ", starttls="
                    + starttls + "]";
        }
    }

    /**
     * Attempt {@code n} that fails transiently is retried after {@code initialDelay × 2^(n-1)}, at most
     * {@code maxDelay}, until {@code maxAttempts} attempts have been made.
     */
    public record Retry(@Min(1) @Max(100) @DefaultValue("8") int maxAttempts,
            @NotNull @DefaultValue("10s") Duration initialDelay, @NotNull @DefaultValue("1h") Duration maxDelay) {
        public Retry {
            if (maxAttempts < 1) {
                throw new IllegalArgumentException("gateway.notifications.retry.max-attempts must be at least 1");
            }
            if (initialDelay == null || initialDelay.isNegative() || initialDelay.isZero()) {
                throw new IllegalArgumentException("gateway.notifications.retry.initial-delay must be positive");
            }
            if (maxDelay == null || maxDelay.compareTo(initialDelay) < 0) {
                throw new IllegalArgumentException(
                        "gateway.notifications.retry.max-delay must be at least retry.initial-delay");
            }
        }
    }

    /** The zone of the digest's cron and day. */
    ZoneId zone() {
        return digestZone.isEmpty() ? ZoneId.systemDefault() : ZoneId.of(digestZone);
    }

    List<Webhook> webhooksOf(String team) {
        return webhooks.stream().filter(w -> w.team().equals(team)).toList();
    }

    List<String> emailsOf(String team) {
        return smtp.enabled() ? emails.getOrDefault(team, List.of()) : List.of();
    }

    private static Map<String, List<String>> copy(Map<String, List<String>> emails) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        emails.forEach((team, addresses) -> out.put(team, addresses == null ? List.of() : addresses.stream()
                .map(a -> a == null ? null : a.trim()).toList()));
        return Map.copyOf(out);
    }

    private static void check(List<Webhook> webhooks, Map<String, List<String>> emails, Smtp smtp, String digestCron,
            String digestZone, Duration pollInterval, Duration connectTimeout, Duration responseTimeout) {
        String p = "gateway.notifications.";
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < webhooks.size(); i++) {
            Webhook w = webhooks.get(i);
            String key = p + "webhooks[" + i + "]";
            if (w == null) {
                throw new IllegalArgumentException(key + " is empty");
            }
            if (!TeamName.isValid(w.team())) {
                throw new IllegalArgumentException(key + ".team must be a team name ([a-z0-9]+([._-][a-z0-9]+)*),"
                        + " got '" + w.team() + "'");
            }
            String problem = Targets.checkUrl(w.url());
            if (problem != null) {
                throw new IllegalArgumentException(key + ".url " + problem);
            }
            if (w.secret() == null || w.secret().length() < MIN_SECRET_LENGTH) {
                // Not the value: it may be a real secret that is merely too short.
                throw new IllegalArgumentException(key + ".secret must be set, at least " + MIN_SECRET_LENGTH
                        + " characters; write it as ${SOME_ENVIRONMENT_VARIABLE} so it comes from the environment");
            }
            if (!seen.add(w.team() + "\n" + w.url().trim())) {
                throw new IllegalArgumentException(key + " repeats a URL already configured for team " + w.team());
            }
        }
        emails.forEach((team, addresses) -> {
            if (!TeamName.isValid(team)) {
                throw new IllegalArgumentException(p + "emails: '" + team + "' is not a team name");
            }
            for (String address : addresses) {
                checkAddress(p + "emails." + team, address);
            }
        });
        if (smtp.enabled()) {
            if (smtp.from() == null || smtp.from().isBlank()) {
                throw new IllegalArgumentException(p + "smtp.from must be set when smtp.host is");
            }
            checkAddress(p + "smtp.from", smtp.from());
        }
        if (!digestCron.equals("-") && !CronExpression.isValidExpression(digestCron)) {
            throw new IllegalArgumentException(p + "digest-cron '" + digestCron
                    + "' is not a cron expression (six fields: second minute hour day month weekday), nor '-'");
        }
        if (!digestZone.isEmpty()) {
            try {
                ZoneId.of(digestZone);
            } catch (DateTimeException e) {
                throw new IllegalArgumentException(p + "digest-zone '" + digestZone + "' is not a time zone id");
            }
        }
        for (var d : Map.of("poll-interval", pollInterval, "connect-timeout", connectTimeout, "response-timeout",
                responseTimeout).entrySet()) {
            if (d.getValue().isNegative() || d.getValue().isZero()) {
                throw new IllegalArgumentException(p + d.getKey() + " must be positive");
            }
        }
    }

    private static void checkAddress(String key, String address) {
        try {
            if (address == null) {
                throw new AddressException("empty");
            }
            new InternetAddress(address, true).validate();
            if (address.chars().anyMatch(c -> c == '<' || c == ',' || Character.isWhitespace(c))) {
                throw new AddressException("a bare address is expected");
            }
        } catch (AddressException e) {
            throw new IllegalArgumentException(key + ": '" + address + "' is not a plain e-mail address");
        }
    }
}
